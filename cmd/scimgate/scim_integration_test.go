package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimgate/scimgate/ldapbackend/slapd"
)

func q(s string) string { return url.QueryEscape(s) }

// firstID returns the id of the first resource a filter finds.
func (e *testEnv) firstID(endpoint, filter, tok string) string {
	e.t.Helper()
	r := e.must(200, "GET", endpoint+"?filter="+q(filter), tok, nil)
	id := str(r.body, "Resources[0].id")
	if id == "" {
		e.t.Fatalf("no resource for %s", filter)
	}
	return id
}

// TestScopeTable proves each row of DESIGN.md's scope table over HTTP with
// the demo ACIs and real tokens, and that a token without scopes sees nothing.
func TestScopeTable(t *testing.T) {
	e := startEnv(t)
	alice := e.firstID("/Users", `userName eq "alice"`, "reporting")

	// scim:read reads users and groups, but writes nothing.
	r := e.must(200, "GET", "/Users/"+alice, "reporting", nil)
	if str(r.body, "userName") != "alice" || str(r.body, "emails[0].value") != "alice@example.com" || r.header.Get("ETag") == "" {
		t.Fatalf("alice as seen by reporting: %s", r.raw)
	}
	if strings.Contains(r.raw, "password") || strings.Contains(r.raw, "alice-demo-password") {
		t.Fatal("a password was returned")
	}
	if n := num(e.must(200, "GET", "/Groups", "reporting", nil).body, "totalResults"); n != 6 {
		t.Fatalf("reporting sees %d groups, want 6", n)
	}
	e.must(403, "PATCH", "/Users/"+alice, "reporting", patchOp("replace", "title", "CEO"))
	// A PATCH that would change nothing is refused all the same.
	e.must(403, "PATCH", "/Users/"+alice, "reporting", patchOp("replace", "title", str(r.body, "title")))
	e.must(403, "POST", "/Users", "reporting", map[string]any{"schemas": []string{userURN}, "userName": "mallory"})
	e.must(403, "DELETE", "/Users/"+alice, "reporting", nil)

	// No scope: nothing is visible, so a read is 404 and a list is empty.
	e.must(404, "GET", "/Users/"+alice, "none", nil)
	if n := num(e.must(200, "GET", "/Users", "none", nil).body, "totalResults"); n != 0 {
		t.Fatalf("a token without scopes sees %d users", n)
	}
	e.must(404, "PATCH", "/Users/"+alice, "none", patchOp("replace", "title", "x"))

	// scim:write (the connector holds all five scopes) adds, writes, deletes.
	created := e.must(201, "POST", "/Users", "connector", map[string]any{
		"schemas": []string{userURN}, "userName": "zed", "name": map[string]any{"givenName": "Zed", "familyName": "Zulu"},
		"emails": []any{map[string]any{"value": "zed@example.com", "type": "work", "primary": true}},
	})
	id := str(created.body, "id")
	if id == "" || created.header.Get("Location") != e.base+"/Users/"+id || str(created.body, "meta.location") != e.base+"/Users/"+id {
		t.Fatalf("create: %v %s", created.header, created.raw)
	}
	e.must(200, "PATCH", "/Users/"+id, "connector", patchOp("replace", "title", "Engineer"))
	e.must(204, "DELETE", "/Users/"+id, "connector", nil)
	e.must(404, "GET", "/Users/"+id, "connector", nil)
	if !strings.Contains(e.logs.String(), `"message":"access denied"`) || !strings.Contains(e.logs.String(), `"explanation":{"decision":"deny"`) {
		t.Error("the debug log does not explain the denials")
	}
}

func patchOp(op, path string, value any) map[string]any {
	o := map[string]any{"op": op}
	if path != "" {
		o["path"] = path
	}
	if value != nil {
		o["value"] = value
	}
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": []any{o}}
}

func patchOps(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": list}
}

// TestOktaSequence replays what Okta sends when it provisions users and
// pushes groups.
func TestOktaSequence(t *testing.T) {
	dir := t.TempDir()
	extra := filepath.Join(dir, "users.ldif")
	f, err := os.Create(extra)
	if err != nil {
		t.Fatal(err)
	}
	if err := slapd.GenerateUsersLDIF(f, "dc=example,dc=com", 250); err != nil {
		t.Fatal(err)
	}
	f.Close()
	e := startEnv(t, extra)
	c := "connector"

	// Connection test and lookup of a user that does not exist yet.
	e.must(200, "GET", "/Users?startIndex=1&count=2", c, nil)
	r := e.must(200, "GET", "/Users?filter="+q(`userName eq "test.user@okta.local"`)+"&startIndex=1&count=100", c, nil)
	if num(r.body, "totalResults") != 0 || str(r.body, "Resources") != "[]" {
		t.Fatalf("lookup: %s", r.raw)
	}
	user := map[string]any{
		"schemas": []string{userURN}, "userName": "test.user@okta.local",
		"name":        map[string]any{"givenName": "Test", "familyName": "User"},
		"emails":      []any{map[string]any{"primary": true, "value": "test.user@okta.local", "type": "work"}},
		"displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
		"groups": []any{}, "password": "1mz050nq", "active": true,
	}
	r = e.must(201, "POST", "/Users", c, user)
	id := str(r.body, "id")
	if str(r.body, "active") != "true" || str(r.body, "name.givenName") != "Test" || str(r.body, "externalId") != "00ujl29u0le5T6Aj10h7" || strings.Contains(r.raw, "1mz050nq") {
		t.Fatalf("created user: %s", r.raw)
	}
	e.must(409, "POST", "/Users", c, user)
	// The case-insensitive userName lookup finds it.
	if n := num(e.must(200, "GET", "/Users?filter="+q(`userName eq "TEST.USER@OKTA.LOCAL"`), c, nil).body, "totalResults"); n != 1 {
		t.Fatalf("upper-case userName lookup found %d", n)
	}
	// Profile update: GET, then PUT echoing id, meta and groups.
	r = e.must(200, "GET", "/Users/"+id, c, nil)
	put := r.body
	put["name"] = map[string]any{"givenName": "Tess", "familyName": "User"}
	r = e.must(200, "PUT", "/Users/"+id, c, put)
	if str(r.body, "name.givenName") != "Tess" || str(r.body, "userName") != "test.user@okta.local" {
		t.Fatalf("after PUT: %s", r.raw)
	}
	// Deactivate and reactivate; a deactivated user still answers 200.
	e.must(200, "PATCH", "/Users/"+id, c, patchOp("replace", "", map[string]any{"active": false}))
	if str(e.must(200, "GET", "/Users/"+id, c, nil).body, "active") != "false" {
		t.Fatal("user not deactivated")
	}
	e.must(200, "PATCH", "/Users/"+id, c, patchOp("replace", "", map[string]any{"active": true}))
	if str(e.must(200, "GET", "/Users/"+id, c, nil).body, "active") != "true" {
		t.Fatal("user not reactivated")
	}

	// Group push: create empty, rename and change members in one PATCH.
	g := e.must(201, "POST", "/Groups", c, map[string]any{"schemas": []string{groupURN}, "displayName": "Test SCIMv2", "members": []any{}})
	gid := str(g.body, "id")
	alice := e.firstID("/Users", `userName eq "alice"`, c)
	e.must(200, "PATCH", "/Groups/"+gid, c, patchOps(
		map[string]any{"op": "replace", "value": map[string]any{"id": gid, "displayName": "Test SCIMv2 renamed"}},
		map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id, "display": "test.user@okta.local"}, map[string]any{"value": alice}}},
	))
	e.must(200, "PATCH", "/Groups/"+gid, c, patchOps(
		map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, alice)},
	))
	r = e.must(200, "GET", "/Groups/"+gid, c, nil)
	if str(r.body, "displayName") != "Test SCIMv2 renamed" || str(r.body, "members[0].value") != id || str(r.body, "members[1].value") != "" {
		t.Fatalf("group after push: %s", r.raw)
	}
	// The user now shows the group.
	if str(e.must(200, "GET", "/Users/"+id, c, nil).body, "groups[0].value") != gid {
		t.Fatal("user does not list its group")
	}
	e.must(204, "DELETE", "/Groups/"+gid, c, nil)

	// Paging through every user by 100, in a stable order.
	total := num(e.must(200, "GET", "/Users?count=1", c, nil).body, "totalResults")
	if total < 290 {
		t.Fatalf("total %d users, want 40 demo + 250 generated + 1", total)
	}
	seen := map[string]bool{}
	for start := 1; start <= total; start += 100 {
		r := e.must(200, "GET", fmt.Sprintf("/Users?startIndex=%d&count=100", start), c, nil)
		if num(r.body, "startIndex") != start || num(r.body, "totalResults") != total {
			t.Fatalf("page %d: %s", start, tail(r.raw, 300))
		}
		for i := 0; i < num(r.body, "itemsPerPage"); i++ {
			id := str(r.body, fmt.Sprintf("Resources[%d].id", i))
			if seen[id] {
				t.Fatalf("id %s on two pages", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != total {
		t.Fatalf("paged through %d users, want %d", len(seen), total)
	}
}

// TestEntraSequence replays Microsoft Entra ID's requests.
func TestEntraSequence(t *testing.T) {
	e := startEnv(t)
	c := "connector"
	// Test connection with a random GUID.
	r := e.must(200, "GET", "/Users?filter="+q(`userName eq "5f0b3a4c-1d2e-4f60-8a9b-0c1d2e3f4a5b"`), c, nil)
	if num(r.body, "totalResults") != 0 {
		t.Fatal(r.raw)
	}
	r = e.must(201, "POST", "/Users", c, map[string]any{
		"schemas":    []string{userURN, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		"externalId": "e-42", "userName": "Test_User_ab6490ee@contoso.com", "active": true,
		"emails": []any{map[string]any{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@contoso.com"}},
		"meta":   map[string]any{"resourceType": "User"},
		"name":   map[string]any{"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
		"roles":  []any{},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "Sales", "employeeNumber": "E42"},
	})
	id := str(r.body, "id")
	if got := e.firstID("/Users", `externalId eq "e-42"`, c); got != id {
		t.Fatalf("externalId lookup found %s, want %s", got, id)
	}
	if got := e.firstID("/Users", `emails[type eq "work"].value eq "Test_User_fd0ea19b@contoso.com"`, c); got != id {
		t.Fatal("Entra's emails[type eq work].value filter")
	}
	// Legacy PATCH shapes: capitalised ops, "False" strings, value paths.
	priya := e.firstID("/Users", `userName eq "priya"`, c)
	e.must(200, "PATCH", "/Users/"+id, c, patchOps(
		map[string]any{"op": "Replace", "path": `emails[type eq "work"].value`, "value": "new@contoso.com"},
		map[string]any{"op": "Replace", "path": "name.familyName", "value": "Fam"},
		map[string]any{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": priya},
		map[string]any{"op": "Replace", "path": "active", "value": "False"},
	))
	r = e.must(200, "GET", "/Users/"+id, c, nil)
	ent := "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	if str(r.body, "emails[0].value") != "new@contoso.com" || str(r.body, "name.familyName") != "Fam" || str(r.body, "active") != "false" {
		t.Fatalf("after legacy PATCH: %s", r.raw)
	}
	if m, _ := r.body[ent].(map[string]any); str(m, "manager.value") != priya || str(m, "department") != "Sales" {
		t.Fatalf("enterprise extension: %s", r.raw)
	}
	// A pathless replace with dotted and URN keys.
	e.must(200, "PATCH", "/Users/"+id, c, patchOp("replace", "", map[string]any{
		"displayName": "Bjfe", "name.givenName": "Kkom", ent + ":employeeNumber": "Aklq"}))
	r = e.must(200, "GET", "/Users/"+id, c, nil)
	if str(r.body, "displayName") != "Bjfe" || str(r.body, "name.givenName") != "Kkom" || str(r.body[ent], "employeeNumber") != "Aklq" {
		t.Fatalf("after pathless replace: %s", r.raw)
	}
	// Groups: created empty with Entra's extra schema, members by PATCH.
	r = e.must(201, "POST", "/Groups", c, map[string]any{
		"schemas":    []string{groupURN, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"},
		"externalId": "g-1", "displayName": "Entra Group",
	})
	gid := str(r.body, "id")
	e.must(200, "PATCH", "/Groups/"+gid, c, patchOps(map[string]any{"op": "Add", "path": "members", "value": []any{map[string]any{"$ref": nil, "value": id}}}))
	r = e.must(200, "GET", "/Groups/"+gid+"?excludedAttributes=members", c, nil)
	if _, has := r.body["members"]; has || str(r.body, "displayName") != "Entra Group" {
		t.Fatalf("excludedAttributes=members: %s", r.raw)
	}
	r = e.must(200, "GET", "/Groups?excludedAttributes=members&filter="+q(`displayName eq "Entra Group"`), c, nil)
	if num(r.body, "totalResults") != 1 || strings.Contains(r.raw, `"members"`) {
		t.Fatalf("group lookup: %s", r.raw)
	}
	e.must(200, "PATCH", "/Groups/"+gid, c, patchOps(map[string]any{"op": "Remove", "path": "members", "value": []any{map[string]any{"value": id}}}))
	if str(e.must(200, "GET", "/Groups/"+gid, c, nil).body, "members") != "" {
		t.Fatal("member not removed")
	}
	e.must(204, "DELETE", "/Users/"+id, c, nil)
	e.must(204, "DELETE", "/Groups/"+gid, c, nil)
}

// TestErrors: bad input gets a specific SCIM error, never a 500.
func TestErrors(t *testing.T) {
	e := startEnv(t)
	c := "connector"
	alice := e.firstID("/Users", `userName eq "alice"`, c)
	check := func(r response, status int, scimType string) {
		t.Helper()
		if r.status != status || str(r.body, "scimType") != scimType || str(r.body, "status") != fmt.Sprint(status) || str(r.body, "detail") == "" {
			t.Errorf("got %d %s, want %d %q", r.status, r.raw, status, scimType)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
			t.Errorf("content type %q", ct)
		}
	}
	check(e.do("POST", "/Users", c, `{"userName": `), 400, "invalidSyntax")
	check(e.do("GET", "/Users?filter="+q(`userName eq`), c, nil), 400, "invalidFilter")
	check(e.do("GET", "/Users?filter="+q(`shoeSize eq "42"`), c, nil), 400, "invalidFilter")
	check(e.do("PATCH", "/Users/"+alice, c, patchOp("remove", `emails[type eq "home"]`, nil)), 400, "noTarget")
	check(e.do("POST", "/Users", c, strings.Repeat(" ", 20<<20)), 413, "")
	// Read-only attributes cannot be written.
	check(e.do("PATCH", "/Users/"+alice, c, patchOp("replace", "groups", []any{map[string]any{"value": "x"}})), 400, "mutability")
	check(e.do("PATCH", "/Users/"+alice, c, patchOp("replace", "id", "another-id")), 400, "mutability")
	// Group names are unique too.
	check(e.do("POST", "/Groups", c, map[string]any{"schemas": []string{groupURN}, "displayName": "engineering"}), 409, "uniqueness")
	// A password can be set, never read back, and the directory holds it.
	r := e.must(200, "PATCH", "/Users/"+alice, c, patchOp("replace", "password", "n3w-Secret!"))
	if strings.Contains(r.raw, "n3w-Secret!") || strings.Contains(r.raw, `"password"`) {
		t.Errorf("the password came back: %s", r.raw)
	}
	if conn, err := e.ldap.Bind(t.Context(), "uid=alice,ou=People,dc=example,dc=com", "n3w-Secret!"); err != nil {
		t.Errorf("bind with the new password: %v", err)
	} else {
		conn.Close()
	}
	check(e.do("GET", "/Users?count=ten", c, nil), 400, "invalidValue")
	check(e.do("DELETE", "/Users", c, nil), 405, "")
	check(e.do("GET", "/Users/"+alice, "", nil), 401, "")
	// Injection attempts: the values reach LDAP escaped, so they match nothing.
	for _, f := range []string{`userName eq "*"`, `userName eq "alice)(uid=*"`, `userName eq "*)(|(uid=*"`, `userName eq "\\2a"`} {
		r := e.must(200, "GET", "/Users?filter="+q(f), c, nil)
		if num(r.body, "totalResults") != 0 {
			t.Errorf("filter %s matched %d users", f, num(r.body, "totalResults"))
		}
	}
	for _, id := range []string{"*", "x)(entryUUID=*", url.PathEscape("*)(objectClass=*")} {
		check(e.do("GET", "/Users/"+id, c, nil), 404, "")
	}
	// Endpoint names ignore case; a trailing slash is fine.
	e.must(200, "GET", "/users/"+alice+"/", c, nil)
	e.must(200, "GET", "/serviceproviderconfig", c, nil)
	if !strings.Contains(e.logs.String(), `"aci_decision"`) {
		t.Error("no audit line with the ACI decision")
	}
	// At debug level (the harness's) grants and denials come with the
	// engine's full explanation.
	for _, msg := range []string{`"message":"access granted"`, `"explanation":{"decision":"allow"`} {
		if !strings.Contains(e.logs.String(), msg) {
			t.Errorf("the debug log lacks %s", msg)
		}
	}
	if strings.Contains(e.logs.String(), e.tokens[c]) {
		t.Error("a token reached the log")
	}
}

// TestProductFacts shows DEVELOPERS.md's two facts over HTTP: an ACI
// without oauthscope grants every token, and objectClass read is needed.
func TestProductFacts(t *testing.T) {
	e := startEnv(t)
	ctx := t.Context()
	// Fact 1: an "all authenticated users may read" ACI reaches a token
	// with no scopes, because every request runs as the service account.
	if n := num(e.must(200, "GET", "/Groups", "none", nil).body, "totalResults"); n != 0 {
		t.Fatalf("before: %d groups", n)
	}
	if err := e.ldap.LDAPModify(ctx, "dn: ou=Groups,dc=example,dc=com\nchangetype: modify\nadd: aci\naci: (targetattr=\"*\")(version 3.0; acl \"all read\"; allow (read,search) userdn=\"ldap:///all\";)\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		n := num(e.must(200, "GET", "/Groups", "none", nil).body, "totalResults")
		if n == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new ACI did not apply within 3 s (%d groups)", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Fact 2: without read on objectClass an entry does not exist for SCIM.
	if err := e.ldap.LDAPModify(ctx, "dn: ou=People,dc=example,dc=com\nchangetype: modify\nadd: aci\naci: (targetattr=\"objectClass\")(version 3.0; acl \"hide\"; deny (read) oauthscope=\"scim:read\";)\n"); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(3 * time.Second)
	for {
		n := num(e.must(200, "GET", "/Users", "reporting", nil).body, "totalResults")
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("users still visible without objectClass read: %d", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
