package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/slapd"
)

// TestWritesAsTheDirectorySeesThem reads slapd's own log of writes (the
// accesslog overlay) to show what SCIM writes become: a PATCH of a group's
// members is one modify that adds and deletes member values, never a
// rewrite of the member list; a PUT that echoes a user with one change is
// one modify of that attribute alone.
func TestWritesAsTheDirectorySeesThem(t *testing.T) {
	e := startEnvOn(t, slapd.Options{Overlays: append(slapd.DefaultOverlays(), slapd.OverlayAccessLog)}, nil)
	c := "connector"
	const sales = "cn=sales,ou=Groups,dc=example,dc=com"

	gid := e.firstID("/Groups", `displayName eq "sales"`, c)
	alice := e.firstID("/Users", `userName eq "alice"`, c)
	olivia := e.firstID("/Users", `userName eq "olivia"`, c)
	e.must(200, "PATCH", "/Groups/"+gid, c, patchOps(
		map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": alice}}},
		map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, olivia)},
	))
	mods := e.accessLog(sales)
	if len(mods) != 1 {
		t.Fatalf("the PATCH made %d writes to %s, want one modify: %q", len(mods), sales, mods)
	}
	want := []string{"member:+ uid=alice,ou=People,dc=example,dc=com", "member:- uid=olivia,ou=People,dc=example,dc=com"}
	for _, w := range want {
		if !slices.Contains(mods[0], w) {
			t.Errorf("the modify lacks %q: %q", w, mods[0])
		}
	}
	for _, m := range mods[0] {
		if strings.HasPrefix(m, "member:=") || strings.HasPrefix(m, "member:") && !slices.Contains(want, m) {
			t.Errorf("the modify touches the member list beyond the change: %q", m)
		}
	}

	// PUT echoing bob with a new title.
	const bobDN = "uid=bob,ou=People,dc=example,dc=com"
	bob := e.firstID("/Users", `userName eq "bob"`, c)
	r := e.must(200, "GET", "/Users/"+bob, c, nil)
	before := len(e.accessLog(bobDN))
	body := r.body
	body["title"] = "Head of Engineering"
	e.must(200, "PUT", "/Users/"+bob, c, body)
	mods = e.accessLog(bobDN)[before:]
	if len(mods) != 1 {
		t.Fatalf("the PUT made %d writes to %s, want one modify: %q", len(mods), bobDN, mods)
	}
	for _, m := range mods[0] {
		if attr, _, _ := strings.Cut(m, ":"); !strings.EqualFold(attr, "title") && !isOperational(attr) {
			t.Errorf("the PUT's modify touches %q beyond the title", m)
		}
	}
	if !slices.Contains(mods[0], "title:= Head of Engineering") && !slices.Contains(mods[0], "title:+ Head of Engineering") {
		t.Errorf("the PUT's modify does not set the title: %q", mods[0])
	}
}

// accessLog returns the modifications (reqMod values) of every successful
// modify slapd logged for dn, oldest first.
func (e *testEnv) accessLog(dn string) [][]string {
	e.t.Helper()
	conn, err := e.ldap.Conn(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest(slapd.AccessLogSuffix, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=auditModify)(reqResult=0)(reqDN="+ldap.EscapeFilter(dn)+"))", []string{"reqStart", "reqMod"}, nil))
	if err != nil {
		e.t.Fatalf("reading the accesslog: %v", err)
	}
	slices.SortFunc(res.Entries, func(a, b *ldap.Entry) int {
		return strings.Compare(a.GetAttributeValue("reqStart"), b.GetAttributeValue("reqStart"))
	})
	var out [][]string
	for _, le := range res.Entries {
		out = append(out, le.GetAttributeValues("reqMod"))
	}
	return out
}

// isOperational: attributes slapd itself sets on every modify.
func isOperational(attr string) bool {
	switch strings.ToLower(attr) {
	case "entrycsn", "modifiersname", "modifytimestamp":
		return true
	}
	return false
}
