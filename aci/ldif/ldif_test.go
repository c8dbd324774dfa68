package ldif

import (
	"strings"
	"testing"
)

func TestParseRecords(t *testing.T) {
	src := "version: 1\n# a comment\ndn: dc=example,dc=com\nobjectClass: domain\ndescription:: aGVsbG8gd29ybGQ=\n\n" +
		"dn: cn=long,dc=example,dc=com\ncn: long\naci: (targetattr=\"cn\")(version 3.0; acl \"x\";\n  allow (read) userdn=\"ldap:///all\";)\n\n\n" +
		"dn: cn=change,dc=example,dc=com\nchangetype: modify\nadd: aci\naci: x\n-\n"
	recs, err := Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records", len(recs))
	}
	if recs[0].DN != "dc=example,dc=com" || recs[0].Line != 3 || recs[0].Attrs[1].Value != "hello world" {
		t.Errorf("record 0: %+v", recs[0])
	}
	a := recs[1].Attrs[1]
	if a.Value != `(targetattr="cn")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";)` {
		t.Errorf("unfolded value %q", a.Value)
	}
	// Offset of "allow" in the value maps to line 10, column 3 (after the
	// fold's leading space and the space that belongs to the value).
	off := strings.Index(a.Value, "allow")
	if l, c := a.Position(off); l != 10 || c != 3 {
		t.Errorf("Position(%d) = %d:%d, want 10:3", off, l, c)
	}
	if l, c := a.Position(0); l != 9 || c != 6 {
		t.Errorf("Position(0) = %d:%d, want 9:6", l, c)
	}
	if !recs[2].Change {
		t.Error("changetype record not marked")
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"cn: x\n", "1: record does not start with dn:"},
		{" folded\n", "1: continuation line with nothing to continue"},
		{"dn: dc=x\nnocolon\n", "2: expected \"attribute: value\""},
		{"dn: dc=x\ncn:: !!!\n", "2: invalid base64"},
		{"dn: dc=x\ncn:< file:///etc/passwd\n", "2: URL values"},
	} {
		_, err := Parse(strings.NewReader(tc.src))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %s", tc.src, err, tc.want)
		}
	}
}

func TestTree(t *testing.T) {
	recs, _ := Parse(strings.NewReader("dn: dc=x\ndc: x\n\ndn: cn=g,dc=x\nuniqueMember: cn=u,dc=x#'0101'B\nmember: CN=U2, DC=X\n\ndn: cn=d,dc=x\nmemberURL: ldap:///dc=x??sub?(cn=u)\n"))
	tree, err := NewTree(recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"cn=u,dc=x", "cn=u2,dc=x"} {
		if g, _ := tree.ParentGroups(m); len(g) != 1 || g[0] != "cn=g,dc=x" {
			t.Errorf("ParentGroups(%s) = %v", m, g)
		}
	}
	if d, _ := tree.DynamicGroups(); len(d) != 1 || d[0] != "cn=d,dc=x" {
		t.Errorf("DynamicGroups = %v", d)
	}
	e, _ := tree.Entry("cn=g,dc=x")
	if len(e.Values("UNIQUEMEMBER")) != 1 {
		t.Error("attribute lookup must ignore case")
	}
	if _, err := NewTree(append(recs, recs[0])); err == nil || !strings.Contains(err.Error(), "appears twice") {
		t.Errorf("duplicate entry: %v", err)
	}
}
