package main

import (
	"strings"
	"testing"
	"time"
)

// identityACIs are added to ou=People for the identity-mode tests: users
// read themselves, change their own telephone number with the scim:me
// scope, and members of all-staff (nested: sales is a member of it) may set
// titles.
const identityACIs = `dn: ou=People,dc=example,dc=com
changetype: modify
add: aci
aci: (targetattr="*")(version 3.0; acl "users read themselves"; allow (read,search) userdn="ldap:///self";)
aci: (targetattr="telephoneNumber")(version 3.0; acl "users change their phone"; allow (write) userdn="ldap:///self" and oauthscope="scim:me";)
aci: (targetattr="title")(version 3.0; acl "staff set titles"; allow (write) groupdn="ldap:///cn=all-staff,ou=Groups,dc=example,dc=com";)
`

const loner = `dn: uid=loner,ou=People,dc=example,dc=com
changetype: add
objectClass: inetOrgPerson
uid: loner
cn: Lone Wolf
sn: Wolf
`

// setupIdentity adds the test ACIs and a user in no group, and waits until
// the ACIs are live (alice, mapped, can read herself without any scope).
func setupIdentity(t *testing.T, e *testEnv) {
	t.Helper()
	if err := e.ldap.LDAPModify(t.Context(), identityACIs); err != nil {
		t.Fatal(err)
	}
	if err := e.ldap.LDAPModify(t.Context(), loner); err != nil {
		t.Fatal(err)
	}
	e.tokens["alice"] = e.token("alice", "scim:me")
	deadline := time.Now().Add(3 * time.Second)
	for e.do("GET", "/Me", "alice", nil).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the identity ACIs did not apply in 3 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestMappingRequired(t *testing.T) {
	e := startEnvWith(t, func(c *Config) { c.Mapping = "required" })
	setupIdentity(t, e)

	// /Me serves the mapped user, who reads herself without any scope...
	r := e.must(200, "GET", "/Me", "alice", nil)
	if str(r.body, "userName") != "alice" {
		t.Fatalf("/Me: %s", r.raw)
	}
	aliceID := str(r.body, "id")
	// ...but nobody else: bob is invisible to her.
	e.tokens["carol-reader"] = e.token("carol", "scim:read")
	bob := e.firstID("/Users", `userName eq "bob"`, "carol-reader")
	e.must(404, "GET", "/Users/"+bob, "alice", nil)

	// userdn=self: her own telephone number may change, through /Me and
	// /Users/{id}; another's may not (bob is readable with scim:read).
	e.must(200, "PATCH", "/Me", "alice", patchOp("replace", `phoneNumbers[type eq "work"].value`, "+1 555 0199"))
	if got := str(e.must(200, "GET", "/Users/"+aliceID, "alice", nil).body, "phoneNumbers[0].value"); got != "+1 555 0199" {
		t.Fatalf("phone after PATCH /Me: %q", got)
	}
	e.tokens["alice-read"] = e.token("alice", "scim:me scim:read")
	e.must(403, "PATCH", "/Users/"+bob, "alice-read", patchOp("replace", `phoneNumbers[type eq "work"].value`, "+1 555 0000"))
	// Without the scim:me scope the same self write is refused.
	e.tokens["alice-noscope"] = e.token("alice", "")
	e.must(403, "PATCH", "/Me", "alice-noscope", patchOp("replace", `phoneNumbers[type eq "work"].value`, "+1 555 0198"))

	// groupdn through nesting: sybil is in sales, which is in all-staff.
	e.tokens["sybil"] = e.token("sybil", "scim:read")
	e.must(200, "PATCH", "/Users/"+bob, "sybil", patchOp("replace", "title", "Staff Engineer"))
	e.tokens["loner"] = e.token("loner", "scim:read")
	e.must(403, "PATCH", "/Users/"+bob, "loner", patchOp("replace", "title", "Nobody"))

	// selfwrite: anyone may add or remove themselves as a group member,
	// nobody else.
	if err := e.ldap.LDAPModify(t.Context(), "dn: ou=Groups,dc=example,dc=com\nchangetype: modify\nadd: aci\naci: (targetattr=\"member\")(version 3.0; acl \"join\"; allow (selfwrite) userdn=\"ldap:///all\";)\n"); err != nil {
		t.Fatal(err)
	}
	sales := e.firstID("/Groups", `displayName eq "sales"`, "carol-reader")
	deadline := time.Now().Add(3 * time.Second)
	for e.do("PATCH", "/Groups/"+sales, "alice-read", patchOp("add", "members", []any{map[string]any{"value": aliceID}})).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("alice could not add herself to sales")
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.must(403, "PATCH", "/Groups/"+sales, "alice-read", patchOp("add", "members", []any{map[string]any{"value": bob}}))
	e.must(200, "PATCH", "/Groups/"+sales, "alice-read", patchOp("remove", `members[value eq "`+aliceID+`"]`, nil))

	// An unknown subject is refused with an RFC 6750 challenge.
	e.tokens["ghost"] = e.token("ghost", "scim:read")
	r = e.must(401, "GET", "/Users", "ghost", nil)
	if h := r.header.Get("WWW-Authenticate"); !strings.Contains(h, `error="invalid_token"`) {
		t.Fatalf("challenge %q", h)
	}
	if !strings.Contains(e.logs.String(), `"mapped_dn":"uid=alice,ou=people,dc=example,dc=com"`) {
		t.Error("the audit line does not carry the mapped DN")
	}
}

func TestMappingOptional(t *testing.T) {
	e := startEnvWith(t, func(c *Config) { c.Mapping = "optional" })
	setupIdentity(t, e)
	// An unknown subject falls back to the service account: its scopes decide.
	e.tokens["ghost"] = e.token("ghost", "scim:read")
	if n := num(e.must(200, "GET", "/Users", "ghost", nil).body, "totalResults"); n < 40 {
		t.Fatalf("fallback to the service account sees %d users", n)
	}
	e.must(404, "GET", "/Me", "ghost", nil)
	e.must(200, "GET", "/Me", "alice", nil)
}

func TestMappingDisabledMe(t *testing.T) {
	e := startEnv(t)
	r := e.must(501, "GET", "/Me", "connector", nil)
	if !strings.Contains(str(r.body, "detail"), "mapping") {
		t.Fatalf("501 detail: %s", r.raw)
	}
}

// With proxied authorization the directory's own access control applies
// too: slapd lets users read but not modify entries, so a write the ACIs
// allow is still refused by the directory.
func TestProxiedAuthorization(t *testing.T) {
	e := startEnvWith(t, func(c *Config) {
		c.Mapping = "required"
		c.LDAP.ProxiedAuthz = true
	})
	setupIdentity(t, e)
	if str(e.must(200, "GET", "/Me", "alice", nil).body, "userName") != "alice" {
		t.Fatal("read through proxied authorization")
	}
	e.must(403, "PATCH", "/Me", "alice", patchOp("replace", `phoneNumbers[type eq "work"].value`, "+1 555 0197"))
}
