package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
	e := startEnvWith(t, func(c *Config) {
		c.Mapping = "optional"
		c.Identity.ServiceClients = []string{"reports"}
	})
	setupIdentity(t, e)
	// A client's own token (its subject is its client id) whose subject
	// maps to no entry runs as the service account: its scopes decide.
	e.tokens["ghost"] = e.token("ghost", "scim:read")
	if n := num(e.must(200, "GET", "/Users", "ghost", nil).body, "totalResults"); n < 40 {
		t.Fatalf("fallback to the service account sees %d users", n)
	}
	e.must(404, "GET", "/Me", "ghost", nil)
	// So does any token of a client named in identity.service_clients.
	e.tokens["reports-app"] = e.tokenFrom("0f3c-service-principal", "reports", "scim:read")
	e.must(200, "GET", "/Users", "reports-app", nil)
	// A user's token is mapped, and refused when its subject maps to no
	// entry (a user deleted from the directory, say): never the service
	// account's rights.
	e.tokens["alice-okta"] = e.tokenFrom("alice", "okta", "scim:me")
	e.must(200, "GET", "/Me", "alice-okta", nil)
	e.tokens["ghost-okta"] = e.tokenFrom("ghost", "okta", "scim:read")
	r := e.must(401, "GET", "/Users", "ghost-okta", nil)
	if h := r.header.Get("WWW-Authenticate"); !strings.Contains(h, `error="invalid_token"`) {
		t.Fatalf("challenge %q", h)
	}
	e.must(401, "GET", "/Me", "ghost-okta", nil)
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

// formerOU is where TestIdentityDeprovision moves a user out of ou=People.
const formerOU = `dn: ou=Former,dc=example,dc=com
changetype: add
objectClass: organizationalUnit
ou: Former
`

// leaver is an active user, %[1]s, that TestIdentityDeprovision removes.
const leaver = `
dn: uid=%[1]s,ou=People,dc=example,dc=com
changetype: add
objectClass: inetOrgPerson
objectClass: scimAccount
uid: %[1]s
cn: Leaver %[1]s
sn: %[1]s
telephoneNumber: +1 555 0100
scimAccountActive: TRUE
`

// stopsWithin is how soon a change made in the directory itself must stop
// a token: the change marker is polled every refresh_interval (200 ms in
// the tests, 1 s by default), and requests need time of their own.
const stopsWithin = 3 * time.Second

// TestIdentityDeprovision: in both mapped modes, a user deactivated
// through the gateway (as Okta and Entra deprovision) loses access on the
// very next request, and one deleted, renamed, moved out of ou=People or
// deactivated in the directory directly within about a second. An inactive
// user is refused with 401 even in optional mode, never run as the
// service account; a user who merely stops mapping falls back to it there
// (/Me is then 404). Reactivation maps again.
func TestIdentityDeprovision(t *testing.T) {
	const activeFalse = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
	const activeTrue = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":true}}]}`
	// Changes made in the directory directly, not through the gateway.
	direct := []struct {
		name, user string
		change     string // LDIF; %[1]s is the user
		inactive   bool   // the user is still found, deactivated
		renamedTo  string // the uid the entry has afterwards, which maps
	}{
		{"deleted", "dora", "dn: uid=%[1]s,ou=People,dc=example,dc=com\nchangetype: delete\n", false, ""},
		{"renamed", "remy", "dn: uid=%[1]s,ou=People,dc=example,dc=com\nchangetype: modrdn\nnewrdn: uid=%[1]s-renamed\ndeleteoldrdn: 1\n", false, "remy-renamed"},
		{"moved out of ou=People", "mo", "dn: uid=%[1]s,ou=People,dc=example,dc=com\nchangetype: modrdn\nnewrdn: uid=%[1]s\ndeleteoldrdn: 1\nnewsuperior: ou=Former,dc=example,dc=com\n", false, ""},
		{"deactivated", "dee", "dn: uid=%[1]s,ou=People,dc=example,dc=com\nchangetype: modify\nreplace: scimAccountActive\nscimAccountActive: FALSE\n", true, ""},
		{"locked by an administrator (ppolicy)", "lou", "dn: uid=%[1]s,ou=People,dc=example,dc=com\nchangetype: modify\nreplace: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n", true, ""},
	}
	for _, mode := range []string{"required", "optional"} {
		t.Run(mode, func(t *testing.T) {
			e := startEnvWith(t, func(c *Config) { c.Mapping = mode })
			setupIdentity(t, e)
			seed := formerOU
			for _, d := range direct {
				seed += fmt.Sprintf(leaver, d.user)
			}
			if err := e.ldap.LDAPModify(t.Context(), seed); err != nil {
				t.Fatal(err)
			}
			// A subject that no longer maps is refused in both modes: the
			// tokens here are users' (issued to the "okta" client), and in
			// optional mode only a client's own token runs as the service
			// account for want of an entry.
			const gone = 401
			// An administrator (a mapped user with scim:write) deprovisions.
			e.tokens["admin"] = e.token("priya", "scim:read scim:write")
			phone := func(n string) map[string]any {
				return patchOp("replace", `phoneNumbers[type eq "work"].value`, "+1 555 01"+n)
			}

			t.Run("deactivated through the gateway", func(t *testing.T) {
				e := e.in(t)
				e.tokens["alice-read"] = e.token("alice", "scim:me scim:read")
				id := str(e.must(200, "GET", "/Me", "alice", nil).body, "id")
				e.must(200, "PATCH", "/Me", "alice", phone("71"))
				e.must(200, "GET", "/Users", "alice-read", nil)

				e.must(200, "PATCH", "/Users/"+id, "admin", activeFalse)
				// The very next request, read or write, is refused: the
				// gateway's write dropped the cached mapping.
				r := e.must(401, "GET", "/Me", "alice", nil)
				if h := r.header.Get("WWW-Authenticate"); !strings.Contains(h, `error="invalid_token"`) {
					t.Errorf("challenge %q", h)
				}
				e.must(401, "PATCH", "/Me", "alice", phone("72"))
				// Not the service account's rights either, in optional mode.
				e.must(401, "GET", "/Users", "alice-read", nil)
				e.must(401, "PATCH", "/Users/"+id, "alice-read", phone("73"))

				e.must(200, "PATCH", "/Users/"+id, "admin", activeTrue)
				if got := str(e.must(200, "GET", "/Me", "alice", nil).body, "userName"); got != "alice" {
					t.Errorf("/Me after reactivation: %q", got)
				}
				e.must(200, "PATCH", "/Me", "alice", phone("74"))
			})

			for _, d := range direct {
				t.Run(d.name+" in the directory", func(t *testing.T) {
					e := e.in(t)
					e.tokens[d.user] = e.tokenFrom(d.user, "okta", "scim:me")
					// It works before. The write drops the cached mappings
					// and moves the change marker: once the marker has
					// settled, reads cache the mapping again.
					e.must(200, "PATCH", "/Me", d.user, phone("81"))
					time.Sleep(3 * e.cfg.LDAP.RefreshInterval)
					for range 3 {
						if s, dn := e.meAs(d.user); s != 200 || dn != userDN(d.user) {
							t.Fatalf("/Me answered %d mapped to %q before the change", s, dn)
						}
					}

					if err := e.ldap.LDAPModify(t.Context(), fmt.Sprintf(d.change, d.user)); err != nil {
						t.Fatal(err)
					}
					want := gone
					if d.inactive {
						want = 401
					}
					// Until the change is seen the subject may still map
					// to the entry's old DN, where /Me finds nothing (404).
					start := time.Now()
					for {
						s, dn := e.meAs(d.user)
						if dn == "" && s == want {
							break
						}
						if dn != userDN(d.user) || s != 200 && s != 404 {
							t.Fatalf("/Me answered %d mapped to %q: want %d unmapped, or the old mapping until then", s, dn, want)
						}
						if time.Since(start) > stopsWithin {
							t.Fatalf("the token still maps to %s %s after the change", dn, stopsWithin)
						}
						time.Sleep(50 * time.Millisecond)
					}
					t.Logf("stopped after %s", time.Since(start).Round(time.Millisecond))
					// For good: a later poll brings nothing back.
					time.Sleep(3 * e.cfg.LDAP.RefreshInterval)
					if s, dn := e.meAs(d.user); s != want || dn != "" {
						t.Fatalf("later, /Me answered %d mapped to %q", s, dn)
					}
					e.must(want, "PATCH", "/Me", d.user, phone("82"))
					if d.renamedTo != "" {
						e.tokens[d.renamedTo] = e.token(d.renamedTo, "scim:me")
						if got := str(e.must(200, "GET", "/Me", d.renamedTo, nil).body, "userName"); got != d.renamedTo {
							t.Errorf("the new name maps to %q", got)
						}
					}
				})
			}

			t.Run("reactivated in the directory", func(t *testing.T) {
				e := e.in(t)
				if err := e.ldap.LDAPModify(t.Context(), "dn: uid=dee,ou=People,dc=example,dc=com\nchangetype: modify\nreplace: scimAccountActive\nscimAccountActive: TRUE\n"); err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(stopsWithin)
				for e.do("GET", "/Me", "dee", nil).status != 200 {
					if time.Now().After(deadline) {
						t.Fatalf("dee does not map %s after reactivation", stopsWithin)
					}
					time.Sleep(50 * time.Millisecond)
				}
			})
		})
	}
}

// userDN is the DN of the user uid in ou=People, as the mapper gives it.
func userDN(uid string) string { return "uid=" + uid + ",ou=people,dc=example,dc=com" }

// meAs sends GET /Me with the named token and returns the status and the
// DN the request ran as, from its audit line ("" when the subject mapped
// to none).
func (e *testEnv) meAs(tok string) (status int, dn string) {
	e.t.Helper()
	id := fmt.Sprintf("me-as-%s-%d", tok, time.Now().UnixNano())
	status = e.do("GET", "/Me", tok, nil, "X-Request-ID", id).status
	// The audit line is written when the handler returns, which the
	// response may precede by a little.
	deadline := time.Now().Add(2 * time.Second)
	for {
		for _, line := range strings.Split(e.logs.String(), "\n") {
			if !strings.Contains(line, `"request_id":"`+id+`"`) || !strings.Contains(line, `"message":"scim request"`) {
				continue
			}
			var audit struct {
				MappedDN string `json:"mapped_dn"`
			}
			if err := json.Unmarshal([]byte(line), &audit); err != nil {
				e.t.Fatalf("audit line %s: %v", line, err)
			}
			return status, audit.MappedDN
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no audit line for request %s", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// in returns e reporting to t, for a subtest: a failure ends the subtest,
// not its parent.
func (e *testEnv) in(t *testing.T) *testEnv {
	c := *e
	c.t = t
	return &c
}

// TestACILintIdentityAttr: `aci lint` reports ACIs that let users write the
// attribute token subjects are mapped by: uid unless --identity-attr or
// --config's identity filter says otherwise, and with --config only where
// identities are searched.
func TestACILintIdentityAttr(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	uidACI := write("uid.aci", `(targetattr="uid")(version 3.0; acl "self uid"; allow (write) userdn="ldap:///self" and oauthscope="scim:me";)`+"\n")
	mailACI := write("mail.aci", `(targetattr="mail")(version 3.0; acl "self mail"; allow (write) userdn="ldap:///self" and oauthscope="scim:me";)`+"\n")
	tree := write("tree.ldif", `dn: dc=example,dc=com
objectClass: domain

dn: ou=People,dc=example,dc=com
objectClass: organizationalUnit
aci: (targetattr="mail")(version 3.0; acl "people"; allow (write) groupdn="ldap:///cn=hr,ou=Groups,dc=example,dc=com";)

dn: ou=Groups,dc=example,dc=com
objectClass: organizationalUnit
aci: (targetattr="mail")(version 3.0; acl "groups"; allow (write) groupdn="ldap:///cn=hr,ou=Groups,dc=example,dc=com";)
`)
	byMail := write("mail.yaml", "mapping: required\nldap:\n  suffix: dc=example,dc=com\nidentity:\n  filter: (&(objectClass=inetOrgPerson)(mail={}))\n")
	disabled := write("disabled.yaml", "ldap:\n  suffix: dc=example,dc=com\n")
	cases := []struct {
		name string
		args []string
		code int
		want []string // the positions of the identity warnings
	}{
		{"uid by default", []string{uidACI, mailACI}, 0, []string{"uid.aci:1:49"}},
		{"another attribute", []string{"--identity-attr", "mail", uidACI, mailACI}, 0, []string{"mail.aci:1:51"}},
		{"two attributes", []string{"--identity-attr", "uid,mail", uidACI, mailACI}, 0, []string{"uid.aci:1:49", "mail.aci:1:51"}},
		{"turned off", []string{"--identity-attr", "", uidACI}, 0, nil},
		{"strict", []string{"--strict", uidACI}, 1, []string{"uid.aci:1:49"}},
		{"the configuration's filter", []string{"--config", byMail, uidACI, mailACI}, 0, []string{"mail.aci:1:51"}},
		{"the configuration's search base", []string{"--config", byMail, tree}, 0, []string{"tree.ldif:6:53"}},
		{"a flag overrides the configuration", []string{"--config", byMail, "--identity-attr", "uid", uidACI, mailACI}, 0, []string{"uid.aci:1:49"}},
		{"mapping disabled", []string{"--config", disabled, uidACI, mailACI}, 0, nil},
		{"no such configuration", []string{"--config", filepath.Join(dir, "missing.yaml"), uidACI}, 2, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(append([]string{"aci", "lint"}, tc.args...), nil, &out, &errOut)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, errOut.String())
			}
			var got []string
			for _, line := range strings.Split(out.String(), "\n") {
				if strings.Contains(line, "which token subjects are mapped to entries by") {
					at, _, _ := strings.Cut(strings.TrimPrefix(line, dir+string(filepath.Separator)), ": warning:")
					got = append(got, at)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("identity warnings at %v, want %v\n%s", got, tc.want, out.String())
			}
		})
	}
}
