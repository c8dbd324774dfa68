package main

import (
	"testing"

	"github.com/go-ldap/ldap/v3"
	"gopkg.in/yaml.v3"
)

// TestUniquenessOutsideTheName: userName stays unique when the mapping
// keeps it outside the entry's name (here mail, with entries named by cn),
// where the directory's unique DNs do not keep it so: a create and a PATCH
// to a taken userName are 409 uniqueness, through either of two gateways.
// (Two gateways creating one userName at the very same moment can both
// pass this check: see the README's notes on uniqueness.)
func TestUniquenessOutsideTheName(t *testing.T) {
	staff := func(c *Config) {
		if err := yaml.Unmarshal([]byte(staffMapping), c); err != nil {
			t.Fatal(err)
		}
		c.Log.Level = "info"
	}
	e := startEnvWith(t, staff, "../../testdata/demo/staff.ldif")
	e2 := startGateway(t, e.ldap.URL, "dc=example,dc=com", staff)
	c := "connector"
	user := func(name, display string) map[string]any {
		return map[string]any{"schemas": []string{userURN}, "userName": name, "displayName": display}
	}
	e.must(201, "POST", "/Users", c, user("uma@example.com", "Uma One"))
	scimError(t, e.do("POST", "/Users", c, user("uma@example.com", "Uma Two")), 409, "uniqueness")
	scimError(t, e2.do("POST", "/Users", c, user("UMA@example.com", "Uma Three")), 409, "uniqueness")

	other := str(e2.must(201, "POST", "/Users", c, user("vera@example.com", "Vera Four")).body, "id")
	scimError(t, e2.do("PATCH", "/Users/"+other, c, patchOp("replace", "userName", "uma@example.com")), 409, "uniqueness")
	scimError(t, e.do("PUT", "/Users/"+other, c, user("uma@example.com", "Vera Four")), 409, "uniqueness")
	r := e.must(200, "GET", "/Users/"+other, c, nil)
	if str(r.body, "userName") != "vera@example.com" {
		t.Errorf("after the refused changes, userName is %q", str(r.body, "userName"))
	}
	conn, err := e.ldap.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest("ou=Staff,dc=example,dc=com", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(mail=uma@example.com)", []string{"1.1"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Errorf("entries with userName uma@example.com: %d %v, want 1", len(res.Entries), err)
	}
}
