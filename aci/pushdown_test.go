package aci_test

import (
	"strings"
	"testing"

	"github.com/scimgate/scimgate/aci"
)

// TestPushdownDeclines: what the directory could decide otherwise than the
// engine, or what a filter cannot express, is declined with the ACI and a
// reason, never pushed down approximately. (Exactness of what is pushed
// down is shown in aci/acieval against Evaluate.)
func TestPushdownDeclines(t *testing.T) {
	tree, _ := loadTree(t, partialTree)
	cases := []struct{ aci, why string }{
		{`(targetattr="*")(version 3.0; acl "x"; allow (read) userattr="parent[1].seeAlso#USERDN";)`, "parent levels"},
		{`(targetattr="*")(version 3.0; acl "x"; allow (read) userattr="seeAlso#ldap:///ou=People,dc=example,dc=com??sub?(uid=dora)";)`, "LDAP URL or a value"},
		{`(targetattr="*")(version 3.0; acl "x"; allow (read) userattr="entryDN#USERDN";)`, "entryDN"},
		{`(targetattr="*")(version 3.0; acl "x"; allow (read) userattr="description#USERDN";)`, "not know as a DN attribute"},
		{`(target="ldap:///uid=*,ou=People,dc=example,dc=com")(targetattr="*")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";)`, "DN pattern"},
		{`(targetfilter="(cn~=Smyth)")(targetattr="*")(version 3.0; acl "x"; deny (read) userdn="ldap:///all";)`, "approximate"},
		{`(targetfilter="(name=Smith)")(targetattr="*")(version 3.0; acl "x"; deny (read) userdn="ldap:///all";)`, "supertype"},
		{`(targetfilter="(2.16.840.1.113730.3.1.4=contractor)")(targetattr="*")(version 3.0; acl "x"; deny (read) userdn="ldap:///all";)`, "by OID"},
		{`(targetfilter="(manager=userid=dora,ou=People,dc=example,dc=com)")(targetattr="*")(version 3.0; acl "x"; deny (read) userdn="ldap:///all";)`, "attribute type userid"},
		{`(targetfilter="(uidNumber>=1000)")(targetattr="*")(version 3.0; acl "x"; deny (read) userdn="ldap:///all";)`, "may be undefined"},
	}
	for _, c := range cases {
		b := aci.NewBuilder()
		b.Add("ou=People,dc=example,dc=com", c.aci)
		set, errs := b.Build()
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		req := &aci.Request{Subject: &aci.Subject{DN: dn(t, "uid=dora,ou=People,dc=example,dc=com")}, Right: aci.RightRead, Attr: "objectclass"}
		_, np := set.Pushdown(req, dn(t, "ou=People,dc=example,dc=com"), tree, aci.PushdownOptions{DNMatching: true})
		if np == nil || np.ACI == nil || !strings.Contains(np.Error(), c.why) {
			t.Errorf("%s: declined %v, want a reason with %q", c.aci, np, c.why)
		}
	}
	// Writes are not pushed down at all.
	b := aci.NewBuilder()
	set, _ := b.Build()
	if _, np := set.Pushdown(&aci.Request{Right: aci.RightWrite, Attr: "cn"}, "", tree, aci.PushdownOptions{}); np == nil {
		t.Error("a write was pushed down")
	}
}
