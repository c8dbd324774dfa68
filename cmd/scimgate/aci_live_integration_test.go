package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The contract (DESIGN.md, "Contracts"): ACI changes made in the directory
// take effect within 2 s. These tests run with the refresh interval of the
// shipped demo configuration, so raising it past the contract fails them.
const aciDeadline = 2 * time.Second

const peopleDN = "ou=People,dc=example,dc=com"

// startLiveEnv starts an environment with the demo's refresh interval and
// metrics on.
// The tests using it run in parallel: they mostly wait for refreshes.
func startLiveEnv(t *testing.T) *testEnv {
	t.Helper()
	t.Parallel()
	demo, err := loadConfig("../../testdata/demo/scimgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if demo.LDAP.RefreshInterval <= 0 || demo.LDAP.RefreshInterval > aciDeadline {
		t.Fatalf("the demo's ldap.refresh_interval %v cannot keep the 2 s contract", demo.LDAP.RefreshInterval)
	}
	metrics := withMetrics(t)
	return startEnvWith(t, func(c *Config) {
		c.LDAP.RefreshInterval = demo.LDAP.RefreshInterval
		metrics(c)
	})
}

// modifyACI applies one modify record to dn's aci values; ops are LDIF
// lines such as "add: aci\naci: ...".
func (e *testEnv) modifyACI(dn string, ops ...string) {
	e.t.Helper()
	ldif := "dn: " + dn + "\nchangetype: modify\n" + strings.Join(ops, "\n-\n") + "\n"
	if err := e.ldap.LDAPModify(e.t.Context(), ldif); err != nil {
		e.t.Fatal(err)
	}
}

// statusOf sends a request and returns only its status.
func (e *testEnv) statusOf(method, path, tok string, body any) int {
	e.t.Helper()
	return e.do(method, path, tok, body).status
}

// TestLiveACIChanges: an ACI added to the directory with an invented scope
// grants over HTTP within 2 s; changing it moves the grant within 2 s;
// removing it revokes within 2 s. The server is never restarted.
func TestLiveACIChanges(t *testing.T) {
	e := startLiveEnv(t)
	// An invented scope, on top of scim:read so that alice is readable
	// (not readable would be 404, not 403).
	e.tokens["editor"] = e.token("title-editor", "scim:read reporting:title")
	alice := e.firstID("/Users", `userName eq "alice"`, "connector")
	// Each PATCH writes a value never written before: a PATCH that changes
	// nothing is answered 200 without any write check, so it would prove nothing.
	n := 0
	patchTitle := func(tok, v string) int {
		n++
		return e.statusOf("PATCH", "/Users/"+alice, tok, patchOp("replace", "title", fmt.Sprintf("%s #%d", v, n)))
	}
	patchDisplay := func(tok, v string) int {
		n++
		return e.statusOf("PATCH", "/Users/"+alice, tok, patchOp("replace", "displayName", fmt.Sprintf("%s #%d", v, n)))
	}

	if s := patchTitle("editor", "Editor-0"); s != 403 {
		t.Fatalf("before any ACI: PATCH title as editor = %d, want 403", s)
	}
	grantTitle := `(targetattr="title")(version 3.0; acl "reporting edits titles"; allow (write) oauthscope="reporting:title";)`
	grantDisplay := `(targetattr="displayName")(version 3.0; acl "reporting edits titles"; allow (write) oauthscope="reporting:title";)`

	// Add.
	e.modifyACI(peopleDN, "add: aci\naci: "+grantTitle)
	took := waitFor(t, aciDeadline, "the added ACI", func() (bool, string) {
		s := patchTitle("editor", "Editor-1")
		return s == 200, fmt.Sprintf("PATCH title %d", s)
	})
	t.Logf("added ACI effective after %v", took.Round(time.Millisecond))
	title := str(e.must(200, "GET", "/Users/"+alice, "connector", nil).body, "title")
	if !strings.HasPrefix(title, "Editor-1 #") {
		t.Fatalf("title after the granted PATCH: %q", title)
	}
	if s := patchDisplay("editor", "x"); s != 403 {
		t.Errorf("the title ACI granted displayName too: %d", s)
	}
	if s := patchTitle("reporting", "x"); s != 403 {
		t.Errorf("a token without reporting:title may write titles: %d", s)
	}
	// A token holding only the new scope cannot read alice, so it gets 404.
	e.tokens["title-only"] = e.token("title-only", "reporting:title")
	if s := patchTitle("title-only", "x"); s != 404 {
		t.Errorf("write without read: %d, want 404", s)
	}

	// Change: one modify replaces the value.
	e.modifyACI(peopleDN, "delete: aci\naci: "+grantTitle, "add: aci\naci: "+grantDisplay)
	took = waitFor(t, aciDeadline, "the changed ACI", func() (bool, string) {
		st, sd := patchTitle("editor", "Editor-2"), patchDisplay("editor", "Alice (edited)")
		return st == 403 && sd == 200, fmt.Sprintf("PATCH title %d, displayName %d", st, sd)
	})
	t.Logf("changed ACI effective after %v", took.Round(time.Millisecond))
	// Titles written in the window before the reload are fine; none after.
	title = str(e.must(200, "GET", "/Users/"+alice, "connector", nil).body, "title")
	if s := patchTitle("editor", "Editor-3"); s != 403 {
		t.Fatalf("title PATCH after the change: %d", s)
	}
	if got := str(e.must(200, "GET", "/Users/"+alice, "connector", nil).body, "title"); got != title {
		t.Fatalf("title written after the grant moved away: %q", got)
	}

	// Remove.
	e.modifyACI(peopleDN, "delete: aci\naci: "+grantDisplay)
	took = waitFor(t, aciDeadline, "the removed ACI", func() (bool, string) {
		s := patchDisplay("editor", "Alice again")
		return s == 403, fmt.Sprintf("PATCH displayName %d", s)
	})
	t.Logf("removed ACI revoked after %v", took.Round(time.Millisecond))
	if s := patchTitle("editor", "x"); s != 403 {
		t.Errorf("title after removal: %d", s)
	}
	// The shipped grants are untouched.
	e.must(200, "PATCH", "/Users/"+alice, "connector", patchOp("replace", "title", "VP Engineering"))
	if n := num(e.must(200, "GET", "/Users", "reporting", nil).body, "totalResults"); n != 40 {
		t.Errorf("reporting sees %d users", n)
	}
}

// TestACILockdown: a malformed ACI stored in ou=People makes every SCIM
// resource request answer 503 within 2 s, with a detail naming the entry and
// the position of the error; /readyz is 503, scimgate_aci_lockdown is 1, the
// log names the entry and position; nothing is written meanwhile. Removing
// the value lifts the lockdown within 2 s without a restart.
func TestACILockdown(t *testing.T) {
	e := startLiveEnv(t)
	c := "connector"
	alice := e.firstID("/Users", `userName eq "alice"`, c)
	group := e.firstID("/Groups", `displayName eq "engineering"`, c)
	if v := metricValue(e.scrape(), "scimgate_aci_lockdown"); v != "0" {
		t.Fatalf("scimgate_aci_lockdown before: %q", v)
	}

	bad := `(targetattr="title")(version 3.0; acl "broken"; allow (frob) oauthscope="scim:write";)`
	pos := fmt.Sprintf("1:%d", strings.Index(bad, "frob")+1) // where `scimgate aci lint` puts it too
	e.modifyACI(peopleDN, "add: aci\naci: "+bad)
	took := waitFor(t, aciDeadline, "lockdown", func() (bool, string) {
		r := e.do("GET", "/Users", c, nil)
		return r.status == 503, fmt.Sprintf("%d %s", r.status, tail(r.raw, 200))
	})
	t.Logf("lockdown after %v", took.Round(time.Millisecond))

	d := scimError(t, e.do("GET", "/Users", c, nil), 503, "")
	if !strings.Contains(strings.ToLower(d), "ou=people,dc=example,dc=com") || !strings.Contains(d, pos) {
		t.Errorf("lockdown detail does not name the entry and %s: %q", pos, d)
	}
	// Every resource operation, whatever the token and the subtree.
	for _, rq := range []struct {
		method, path, tok string
		body              any
	}{
		{"GET", "/Users/" + alice, c, nil},
		{"GET", "/Users?filter=" + q(`userName eq "alice"`), "reporting", nil},
		{"GET", "/Users", "none", nil},
		{"GET", "/Groups", "reporting", nil},
		{"GET", "/Groups/" + group, c, nil},
		{"GET", "/SyncProfiles", c, nil},
		{"GET", "/Connectors", c, nil},
		{"POST", "/Users/.search", c, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}}},
		{"POST", "/Users", c, map[string]any{"schemas": []string{userURN}, "userName": "during-lockdown", "name": map[string]any{"familyName": "L"}}},
		{"PATCH", "/Users/" + alice, c, patchOp("replace", "title", "Locked")},
		{"PUT", "/Users/" + alice, c, map[string]any{"schemas": []string{userURN}, "userName": "alice", "title": "Locked"}},
		{"DELETE", "/Users/" + alice, c, nil},
		{"PATCH", "/Groups/" + group, c, patchOp("replace", "displayName", "Locked")},
	} {
		r := e.do(rq.method, rq.path, rq.tok, rq.body)
		if r.status != 503 {
			t.Errorf("%s %s as %s during lockdown: %d %s", rq.method, rq.path, rq.tok, r.status, tail(r.raw, 200))
		}
	}
	if s, _, b := rawGet(e.root+"/readyz", "", 5*time.Second); s != 503 {
		t.Errorf("/readyz during lockdown: %d %s", s, b)
	}
	if s, _, _ := rawGet(e.root+"/healthz", "", 5*time.Second); s != 200 {
		t.Errorf("/healthz during lockdown: %d", s)
	}
	if v := metricValue(e.scrape(), "scimgate_aci_lockdown"); v != "1" {
		t.Errorf("scimgate_aci_lockdown during lockdown: %q", v)
	}
	logs := e.logs.String()
	if !regexp.MustCompile(`(?i)"entry":"ou=people,dc=example,dc=com".*` + regexp.QuoteMeta(pos)).MatchString(logs) {
		t.Errorf("no log line naming the entry and %s", pos)
	}

	// Fix it: remove the bad value.
	e.modifyACI(peopleDN, "delete: aci\naci: "+bad)
	took = waitFor(t, aciDeadline, "lockdown lifted", func() (bool, string) {
		r := e.do("GET", "/Users", c, nil)
		rs, _, _ := rawGet(e.root+"/readyz", "", 5*time.Second)
		return r.status == 200 && rs == 200, fmt.Sprintf("/Users %d, /readyz %d", r.status, rs)
	})
	t.Logf("lockdown lifted after %v", took.Round(time.Millisecond))
	if v := metricValue(e.scrape(), "scimgate_aci_lockdown"); v != "0" {
		t.Errorf("scimgate_aci_lockdown after the fix: %q", v)
	}
	r := e.must(200, "GET", "/Users/"+alice, c, nil)
	if str(r.body, "title") != "VP Engineering" {
		t.Errorf("alice was changed during the lockdown: %s", r.raw)
	}
	if n := num(e.must(200, "GET", "/Users?filter="+q(`userName eq "during-lockdown"`), c, nil).body, "totalResults"); n != 0 {
		t.Error("a user was created during the lockdown")
	}
	if n := num(e.must(200, "GET", "/Users", "none", nil).body, "totalResults"); n != 0 {
		t.Errorf("after the lockdown a token without scopes sees %d users", n)
	}
}

// TestACILockdownOtherSubtree: a malformed ACI anywhere under the ACL bases,
// even on an entry no SCIM type exposes, locks everything down (fail
// closed); the detail names that entry.
func TestACILockdownOtherSubtree(t *testing.T) {
	e := startLiveEnv(t)
	bad := `(targetattr="*")(version 3.0; acl "typo" allow (read) userdn="ldap:///anyone";)` // missing ';' after the name
	e.modifyACI("ou=Services,dc=example,dc=com", "add: objectClass\nobjectClass: aciHolder", "add: aci\naci: "+bad)
	waitFor(t, aciDeadline, "lockdown", func() (bool, string) {
		r := e.do("GET", "/Groups", "reporting", nil)
		return r.status == 503, fmt.Sprintf("%d %s", r.status, tail(r.raw, 200))
	})
	d := scimError(t, e.do("GET", "/Groups", "reporting", nil), 503, "")
	if !strings.Contains(strings.ToLower(d), "ou=services,dc=example,dc=com") || !regexp.MustCompile(`\b1:\d+\b`).MatchString(d) {
		t.Errorf("detail: %q", d)
	}
	e.modifyACI("ou=Services,dc=example,dc=com", "delete: aci\naci: "+bad)
	waitFor(t, aciDeadline, "lockdown lifted", func() (bool, string) {
		r := e.do("GET", "/Groups", "reporting", nil)
		return r.status == 200, fmt.Sprintf("%d", r.status)
	})
}

// TestACIFollowsRename: renaming an entry that holds an ACI (modrdn of a
// non-leaf) moves the ACI with it: what it granted is granted at the new
// place within 2 s.
func TestACIFollowsRename(t *testing.T) {
	e := startLiveEnv(t)
	e.tokens["temp"] = e.token("temp-reader", "temp:read")
	if err := e.ldap.LDAPModify(t.Context(), `dn: ou=Temp,ou=People,dc=example,dc=com
objectClass: organizationalUnit
objectClass: aciHolder
ou: Temp
aci: (targetattr!="userPassword")(version 3.0; acl "temp readers"; allow (read,search,compare) oauthscope="temp:read";)

dn: uid=tempuser,ou=Temp,ou=People,dc=example,dc=com
objectClass: inetOrgPerson
objectClass: scimResource
objectClass: scimAccount
uid: tempuser
cn: Temp User
sn: User
scimAccountActive: TRUE
`); err != nil {
		t.Fatal(err)
	}
	visible := func() (bool, string) {
		r := e.do("GET", "/Users", "temp", nil)
		return r.status == 200 && num(r.body, "totalResults") == 1 && str(r.body, "Resources[0].userName") == "tempuser",
			fmt.Sprintf("%d %s", r.status, tail(r.raw, 200))
	}
	waitFor(t, aciDeadline, "the new ACI", visible)
	id := e.firstID("/Users", `userName eq "tempuser"`, "temp")

	// Rename ou=Temp (with its child) to ou=Moved. Were the ACI still
	// placed at ou=Temp, uid=tempuser,ou=Moved,... would be invisible.
	if err := e.ldap.LDAPModify(t.Context(), "dn: ou=Temp,ou=People,dc=example,dc=com\nchangetype: modrdn\nnewrdn: ou=Moved\ndeleteoldrdn: 1\n"); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, aciDeadline, "the ACI at the new name", visible)
	t.Logf("ACI followed the rename after %v", took.Round(time.Millisecond))
	r := e.must(200, "GET", "/Users/"+id, "temp", nil)
	if str(r.body, "userName") != "tempuser" {
		t.Fatalf("tempuser after the rename: %s", r.raw)
	}
	// It stays so (no flapping back to the old place on later refreshes).
	time.Sleep(1200 * time.Millisecond)
	if ok, last := visible(); !ok {
		t.Fatalf("after another refresh: %s", last)
	}
	// And the ACI still covers only its subtree.
	if n := num(e.must(200, "GET", "/Groups", "temp", nil).body, "totalResults"); n != 0 {
		t.Errorf("temp:read sees %d groups", n)
	}
}
