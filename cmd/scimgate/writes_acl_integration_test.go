package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// entryExists reads dn as the directory manager: whether it exists, and its
// telephoneNumber and title values.
func entryExists(t *testing.T, e *testEnv, dn string) (bool, []string, []string) {
	t.Helper()
	conn, err := e.ldap.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(&ldap.SearchRequest{BaseDN: dn, Scope: ldap.ScopeBaseObject, Filter: "(objectClass=*)",
		Attributes: []string{"telephoneNumber", "title"}})
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return false, nil, nil
	}
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read %s: %v", dn, err)
	}
	return true, res.Entries[0].GetAttributeValues("telephoneNumber"), res.Entries[0].GetAttributeValues("title")
}

// TestRenameIsOneOutcome: a PATCH that renames (userName is the RDN) and
// modifies either does both or neither, whichever of the two LDAP
// operations the directory refuses.
func TestRenameIsOneOutcome(t *testing.T) {
	e := startEnv(t)
	conn := e.token("connector", allScopes)
	r := e.must(201, "POST", "/Users", conn, map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": "rita", "name": map[string]any{"givenName": "Rita", "familyName": "R"},
		"title":        "clerk",
		"phoneNumbers": []any{map[string]any{"type": "work", "value": "+1 555 0100"}},
	})
	id := str(r.body, "id")
	const ritaDN = "uid=rita,ou=People,dc=example,dc=com"

	// The modify fails after the rename (slapd refuses the value's
	// syntax): the rename is undone.
	r = e.do("PATCH", "/Users/"+id, conn, patchOps(
		map[string]any{"op": "replace", "path": "userName", "value": "rita-renamed"},
		map[string]any{"op": "replace", "path": `phoneNumbers[type eq "work"].value`, "value": "☎"},
	))
	if r.status != 400 {
		t.Fatalf("rename + bad phone: %d %s", r.status, r.raw)
	}
	if ok, phone, _ := entryExists(t, e, ritaDN); !ok || len(phone) != 1 || phone[0] != "+1 555 0100" {
		t.Fatalf("after a refused PATCH: %s exists %v, phone %q", ritaDN, ok, phone)
	}
	if ok, _, _ := entryExists(t, e, "uid=rita-renamed,ou=People,dc=example,dc=com"); ok {
		t.Fatal("the refused PATCH left the rename behind")
	}
	if got := str(e.must(200, "GET", "/Users/"+id, conn, nil).body, "userName"); got != "rita" {
		t.Fatalf("userName after a refused PATCH = %q", got)
	}

	// Both succeed: both show.
	r = e.must(200, "PATCH", "/Users/"+id, conn, patchOps(
		map[string]any{"op": "replace", "path": "userName", "value": "rita-2"},
		map[string]any{"op": "replace", "path": "title", "value": "manager"},
	))
	if str(r.body, "userName") != "rita-2" || str(r.body, "title") != "manager" {
		t.Fatalf("rename + title: %s", r.raw)
	}
	if ok, _, title := entryExists(t, e, "uid=rita-2,ou=People,dc=example,dc=com"); !ok || len(title) != 1 || title[0] != "manager" {
		t.Fatalf("after rename + title: exists %v, title %q", ok, title)
	}
}

// TestDirectoryRefusesRename: with proxied authorization the directory's
// own access control refuses the rename itself (slapd lets users read
// only): nothing is written, the answer is 403, and the audit line and a
// warning say that the directory refused it, not the ACIs.
func TestDirectoryRefusesRename(t *testing.T) {
	e := startEnvWith(t, func(c *Config) {
		c.Mapping = "required"
		c.LDAP.ProxiedAuthz = true
	})
	setupIdentity(t, e)
	const selfRename = `dn: ou=People,dc=example,dc=com
changetype: modify
add: aci
aci: (targetattr="uid || telephoneNumber")(version 3.0; acl "users rename themselves"; allow (write) userdn="ldap:///self";)
`
	if err := e.ldap.LDAPModify(t.Context(), selfRename); err != nil {
		t.Fatal(err)
	}
	const aliceDN = "uid=alice,ou=People,dc=example,dc=com"
	_, before, _ := entryExists(t, e, aliceDN)
	body := patchOps(
		map[string]any{"op": "replace", "path": "userName", "value": "alice-x"},
		map[string]any{"op": "replace", "path": `phoneNumbers[type eq "work"].value`, "value": "+1 555 0199"},
	)
	// The new ACI takes effect within the refresh interval; until then the
	// gateway itself refuses (also 403), so wait for the directory's word.
	deadline := time.Now().Add(3 * time.Second)
	for {
		r := e.do("PATCH", "/Me", "alice", body)
		if r.status != 403 {
			t.Fatalf("PATCH /Me rename as alice: %d %s", r.status, r.raw)
		}
		if strings.Contains(e.logs.String(), "refused by the directory") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit line says the directory refused the rename:\n%s", tail(e.logs.String(), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	ok, after, _ := entryExists(t, e, aliceDN)
	if !ok || strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("after a refused rename: exists %v, phone %q (was %q)", ok, after, before)
	}
	logs := e.logs.String()
	var audit, warn bool
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"aci_decision":"refused by the directory`) && strings.Contains(line, `"status":403`) {
			audit = true
		}
		if strings.Contains(line, `"level":"warn"`) && strings.Contains(line, "refused by the directory") && strings.Contains(line, "proxied") {
			warn = true
		}
	}
	if !audit || !warn {
		t.Fatalf("audit line %v, warning %v:\n%s", audit, warn, tail(logs, 3000))
	}
}

// TestRemovedMemberLosesGroupRights: a member removed from a group through
// the gateway loses what groupdn granted on the very next request, not
// when the directory cache expires.
func TestRemovedMemberLosesGroupRights(t *testing.T) {
	e := startEnvWith(t, func(c *Config) {
		c.Mapping = "required"
		c.LDAP.CacheTTL = time.Minute // longer than the test: only the write's flush can help
	})
	setupIdentity(t, e)
	// In a mapped mode the connector is a directory user too: carol, with
	// every scope.
	e.tokens["carol-connector"] = e.token("carol", allScopes)
	conn := "carol-connector"
	id := func(path string) string {
		r := e.must(200, "GET", path, conn, nil)
		if num(r.body, "totalResults") != 1 {
			t.Fatalf("%s: %s", path, r.raw)
		}
		return str(r.body, "Resources[0].id")
	}
	bob := id(`/Users?filter=userName%20eq%20%22bob%22`)
	sybil := id(`/Users?filter=userName%20eq%20%22sybil%22`)
	sales := id(`/Groups?filter=displayName%20eq%20%22sales%22`)
	// sybil is in sales, which is in all-staff: she may set titles.
	e.tokens["sybil"] = e.token("sybil", "scim:read")
	e.must(200, "PATCH", "/Users/"+bob, "sybil", patchOp("replace", "title", "Staff Engineer"))
	e.must(200, "PATCH", "/Groups/"+sales, conn, patchOp("remove", `members[value eq "`+sybil+`"]`, nil))
	e.must(403, "PATCH", "/Users/"+bob, "sybil", patchOp("replace", "title", "Chief Engineer"))

	// Changed in the directory itself: within about a second (the change
	// marker's poll), still not when the cache expires.
	const member = "dn: cn=sales,ou=Groups,dc=example,dc=com\nchangetype: modify\n%s: member\nmember: uid=sybil,ou=People,dc=example,dc=com\n"
	for _, step := range []struct {
		op   string
		want int
	}{{"add", 200}, {"delete", 403}} {
		if err := e.ldap.LDAPModify(t.Context(), fmt.Sprintf(member, step.op)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(3 * time.Second)
		for {
			r := e.do("PATCH", "/Users/"+bob, "sybil", patchOp("replace", "title", "Engineer "+step.op))
			if r.status == step.want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after the member %s in LDAP: still %d after 3 s", step.op, r.status)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
