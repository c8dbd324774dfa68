package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend"
	"github.com/scimgate/scimgate/ldapbackend/scimldap"
	"github.com/scimgate/scimgate/scim"
)

// The demo directory's sync profile and connector (testdata/demo/directory.ldif).
const (
	demoProfile   = "default-sync"
	demoConnector = "hr-connector"
	connectorDN   = "cn=hr-connector,ou=Connectors,dc=example,dc=com"
)

// TestSyncTypesConfig: the two sync types come with their schema URNs,
// default base DNs under the suffix, and the sync_profiles / connectors
// overrides of the configuration file. No directory needed.
func TestSyncTypesConfig(t *testing.T) {
	if scim.SyncProfileType().Schema.ID != scimldap.SyncProfileURN || scim.ConnectorType().Schema.ID != scimldap.ConnectorURN {
		t.Fatal("the schema URNs of package scim and the mappings' URNs differ")
	}
	c := &Config{}
	c.LDAP.Suffix = "dc=example,dc=com"
	if errs := c.validateTypes(); len(errs) > 0 {
		t.Fatalf("default mappings: %v", errs)
	}
	byID := map[string]ldapbackend.TypeBinding{}
	bs, err := c.bindings()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		byID[b.Type.ID] = b
	}
	for id, base := range map[string]string{"SyncProfile": "ou=SyncProfiles,dc=example,dc=com", "Connector": "ou=Connectors,dc=example,dc=com"} {
		b, ok := byID[id]
		if !ok {
			t.Fatalf("no %s binding", id)
		}
		if b.Mapping.BaseDN != base || b.Mapping.RDNAttr != "cn" || b.Mapping.IDAttr != "entryUUID" {
			t.Errorf("%s mapping: base %q rdn %q id %q", id, b.Mapping.BaseDN, b.Mapping.RDNAttr, b.Mapping.IDAttr)
		}
	}

	c.SyncProfiles.BaseDN = "ou=Profiles,o=sync"
	c.Connectors.BaseDN = "ou=Agents,o=sync"
	c.Connectors.Attributes = []*scimldap.AttrMapping{{SCIM: "name", LDAP: "cn"}, {SCIM: "status.state", LDAP: "scimConnectorState"}}
	c.SyncProfiles.RDNAttribute = "scimSyncProfileName"
	tcs := c.typeConfigs()
	profiles, connectors := tcs[2].m, tcs[3].m
	if profiles.RDNAttr != "scimSyncProfileName" {
		t.Errorf("sync_profiles.rdn_attribute not applied: %q", profiles.RDNAttr)
	}
	if profiles.BaseDN != "ou=Profiles,o=sync" || connectors.BaseDN != "ou=Agents,o=sync" || len(connectors.Attrs) != 2 || len(profiles.Attrs) == 0 {
		t.Fatalf("overrides not applied: %q %q %d", profiles.BaseDN, connectors.BaseDN, len(connectors.Attrs))
	}
	// A broken override is reported under its section.
	c.Connectors.Attributes = []*scimldap.AttrMapping{{SCIM: "status.usersSynced", LDAP: "scimConnectorUsersSynced", KindName: "number"}}
	errs := c.validateTypes()
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "connectors: ") {
		t.Fatalf("errors: %v", errs)
	}
}

// strs returns a decoded list of strings.
func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// TestSyncConnectorRun plays a directory sync connector holding all five
// scopes: it reads its sync profile and its own configuration, reports a
// run starting, pushes a user and a group and changes the membership, and
// reports the run's outcome, which reads back as sent and is stored in the
// directory's own syntaxes.
func TestSyncConnectorRun(t *testing.T) {
	e := startEnv(t)
	c := "connector"

	// 1. The sync profile, found by name.
	r := e.must(200, "GET", "/SyncProfiles?filter="+q(`name eq "`+demoProfile+`"`), c, nil)
	if num(r.body, "totalResults") != 1 {
		t.Fatalf("profile lookup: %s", r.raw)
	}
	pid := str(r.body, "Resources[0].id")
	r = e.must(200, "GET", "/SyncProfiles/"+pid, c, nil)
	p := r.body
	if str(p, "schemas") != `["`+scim.SyncProfileSchemaURN+`"]` || str(p, "meta.resourceType") != "SyncProfile" ||
		str(p, "meta.location") != e.base+"/SyncProfiles/"+pid || r.header.Get("ETag") == "" {
		t.Fatalf("profile envelope: %s", r.raw)
	}
	if str(p, "name") != demoProfile || str(p, "sourceBase") != "ou=Employees,o=HR" ||
		str(p, "filter") != "(&(objectClass=person)(!(employeeType=contractor)))" || str(p, "schedule") != "*/15 * * * *" ||
		str(p, "enabled") != "true" || str(p, "externalId") != "sync-0001" || !strings.HasPrefix(str(p, "description"), "Employees") {
		t.Fatalf("profile: %s", r.raw)
	}
	maps := strs(p["attributeMappings"])
	if len(maps) != 7 || !slices.Contains(maps, "userName=uid") || !slices.Contains(maps, `emails[type eq "work"].value=mail`) {
		t.Fatalf("attributeMappings: %q", maps)
	}
	// The other attributes filter too; a profile is not writable by any scope.
	if got := e.firstID("/SyncProfiles", `enabled eq true and attributeMappings co "userName="`, c); got != pid {
		t.Fatalf("filter on enabled and attributeMappings found %s", got)
	}
	e.must(403, "PATCH", "/SyncProfiles/"+pid, c, patchOp("replace", "enabled", false))
	e.must(403, "POST", "/SyncProfiles", c, map[string]any{"schemas": []string{scim.SyncProfileSchemaURN}, "name": "rogue"})
	e.must(403, "DELETE", "/SyncProfiles/"+pid, c, nil)

	// 2. Its connector: configuration, profile reference and last status.
	cid := e.firstID("/Connectors", `name eq "`+demoConnector+`"`, c)
	if got := e.firstID("/Connectors", fmt.Sprintf(`syncProfile.value eq "%s"`, pid), c); got != cid {
		t.Fatalf("filter on syncProfile.value found %s", got)
	}
	if got := e.firstID("/Connectors", `status.state eq "idle" and status.usersSynced ge 40`, c); got != cid {
		t.Fatalf("filter on status found %s", got)
	}
	r = e.must(200, "GET", "/Connectors/"+cid, c, nil)
	k := r.body
	if str(k, "schemas") != `["`+scim.ConnectorSchemaURN+`"]` || str(k, "meta.resourceType") != "Connector" ||
		str(k, "name") != demoConnector || str(k, "type") != "csv" || str(k, "enabled") != "true" || str(k, "externalId") != "conn-0001" {
		t.Fatalf("connector: %s", r.raw)
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(str(k, "config")), &cfg); err != nil || cfg["keyColumn"] != "employeeNumber" {
		t.Fatalf("config is not the JSON document stored: %q (%v)", str(k, "config"), err)
	}
	if str(k, "syncProfile.value") != pid || str(k, "syncProfile.$ref") != e.base+"/SyncProfiles/"+pid || str(k, "syncProfile.display") != demoProfile {
		t.Fatalf("syncProfile reference: %s", str(k, "syncProfile"))
	}
	if str(k, "status.lastRun") != "2025-01-01T02:00:00Z" || str(k, "status.state") != "idle" || num(k, "status.usersSynced") != 40 ||
		num(k, "status.groupsSynced") != 6 || num(k, "status.errorCount") != 0 || str(k, "status.lastError") != "" {
		t.Fatalf("status: %s", str(k, "status"))
	}

	// 3. A run starts: one sub-attribute of status changes, the others stay.
	r = e.must(200, "PATCH", "/Connectors/"+cid, c, patchOp("replace", "status.state", "running"))
	if str(r.body, "status.state") != "running" || num(r.body, "status.usersSynced") != 40 || str(r.body, "status.lastRun") != "2025-01-01T02:00:00Z" {
		t.Fatalf("after status.state: %s", str(r.body, "status"))
	}

	// 4. The run pushes a user, a group with that member, and a membership change.
	u := e.must(201, "POST", "/Users", c, map[string]any{
		"schemas": []string{userURN}, "userName": "kim.sync", "externalId": "hr-9001",
		"name":   map[string]any{"givenName": "Kim", "familyName": "Sync"},
		"emails": []any{map[string]any{"value": "kim.sync@example.com", "type": "work", "primary": true}},
	})
	uid := str(u.body, "id")
	alice := e.firstID("/Users", `userName eq "alice"`, c)
	g := e.must(201, "POST", "/Groups", c, map[string]any{
		"schemas": []string{groupURN}, "displayName": "hr-synced", "externalId": "hr-grp-1",
		"members": []any{map[string]any{"value": uid}},
	})
	gid := str(g.body, "id")
	if str(g.body, "members[0].value") != uid || str(g.body, "members[1].value") != "" {
		t.Fatalf("group created: %s", g.raw)
	}
	e.must(200, "PATCH", "/Groups/"+gid, c, patchOps(
		map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": alice}}},
		map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, uid)},
	))
	r = e.must(200, "GET", "/Groups/"+gid, c, nil)
	if str(r.body, "members[0].value") != alice || str(r.body, "members[1].value") != "" {
		t.Fatalf("membership after PATCH: %s", r.raw)
	}
	e.must(200, "PATCH", "/Groups/"+gid, c, patchOp("add", "members", []any{map[string]any{"value": uid}}))
	if str(e.must(200, "GET", "/Users/"+uid, c, nil).body, "groups[0].value") != gid {
		t.Fatal("the pushed user does not list its group")
	}

	// 5. The run ends: the whole status in one replace, then read back.
	r = e.must(200, "PATCH", "/Connectors/"+cid, c, patchOp("replace", "status", map[string]any{
		"lastRun": "2025-06-01T02:03:04Z", "state": "failed", "usersSynced": 1, "groupsSynced": 1,
		"errorCount": 2, "lastError": "row 17: no employeeNumber",
	}))
	want := map[string]string{"lastRun": "2025-06-01T02:03:04Z", "state": "failed", "usersSynced": "1", "groupsSynced": "1", "errorCount": "2", "lastError": "row 17: no employeeNumber"}
	for _, rr := range []response{r, e.must(200, "GET", "/Connectors/"+cid, c, nil)} {
		for sub, v := range want {
			if got := str(rr.body, "status."+sub); got != v {
				t.Errorf("status.%s = %q, want %q", sub, got, v)
			}
		}
		if str(rr.body, "syncProfile.value") != pid || str(rr.body, "type") != "csv" {
			t.Errorf("a status report touched other attributes: %s", rr.raw)
		}
	}
	// Stored in the directory's syntaxes: generalizedTime and integers.
	ldapVals := e.ldapEntry(connectorDN, "scimConnectorLastRun", "scimConnectorState", "scimConnectorErrorCount", "scimConnectorLastError")
	if ldapVals["scimConnectorLastRun"] != "20250601020304Z" || ldapVals["scimConnectorState"] != "failed" ||
		ldapVals["scimConnectorErrorCount"] != "2" || ldapVals["scimConnectorLastError"] != "row 17: no employeeNumber" {
		t.Fatalf("in LDAP: %v", ldapVals)
	}
	// A time with an offset is stored in UTC.
	r = e.must(200, "PATCH", "/Connectors/"+cid, c, patchOp("replace", "status.lastRun", "2025-06-01T04:03:04+02:00"))
	if str(r.body, "status.lastRun") != "2025-06-01T02:03:04Z" {
		t.Fatalf("lastRun with an offset: %s", str(r.body, "status"))
	}

	// 6. The next clean run: a pathless replace in which null clears
	// lastError; sub-attributes left out (usersSynced) keep their value.
	r = e.must(200, "PATCH", "/Connectors/"+cid, c, patchOp("replace", "", map[string]any{
		"status": map[string]any{"state": "idle", "errorCount": 0, "lastRun": "2025-06-01T03:00:00Z", "lastError": nil},
	}))
	if str(r.body, "status.state") != "idle" || num(r.body, "status.errorCount") != 0 || str(r.body, "status.lastError") != "" ||
		str(r.body, "status.lastRun") != "2025-06-01T03:00:00Z" || num(r.body, "status.usersSynced") != 1 {
		t.Fatalf("after the clean run: %s", str(r.body, "status"))
	}
	if _, has := e.ldapEntry(connectorDN, "scimConnectorLastError")["scimConnectorLastError"]; has {
		t.Fatal("lastError still in the directory")
	}
	e.must(400, "PATCH", "/Connectors/"+cid, c, patchOp("remove", "status.lastError", nil)) // noTarget
	// Monitoring filters and sorts on the status.
	if got := e.firstID("/Connectors", `status.lastRun gt "2025-06-01T02:59:59Z" and status.errorCount eq 0`, c); got != cid {
		t.Fatalf("filter on lastRun found %s", got)
	}
	if n := num(e.must(200, "GET", "/Connectors?filter="+q(`status.lastRun lt "2025-06-01T03:00:00Z"`), c, nil).body, "totalResults"); n != 0 {
		t.Fatalf("lastRun lt matched %d", n)
	}
	e.must(200, "GET", "/Connectors?sortBy=status.lastRun&sortOrder=descending", c, nil)

	// Bad status values are 400 and change nothing.
	for _, op := range []map[string]any{
		patchOp("replace", "status.usersSynced", "many"),
		patchOp("replace", "status.lastRun", "yesterday"),
		patchOp("replace", "status.errorCount", 1.5),
		patchOp("replace", "status.speed", 3),
		patchOp("replace", "syncProfile", map[string]any{"value": "no-such-profile"}),
	} {
		if r := e.do("PATCH", "/Connectors/"+cid, c, op); r.status != 400 {
			t.Errorf("%v: status %d, want 400: %s", op["Operations"], r.status, r.raw)
		}
	}
	if r := e.must(200, "GET", "/Connectors/"+cid, c, nil); str(r.body, "status.state") != "idle" || str(r.body, "syncProfile.value") != pid {
		t.Fatalf("a refused PATCH changed the connector: %s", r.raw)
	}

	// connector:write manages connectors: create one running the same
	// profile, rename it, refuse a duplicate name, delete it.
	r = e.must(201, "POST", "/Connectors", c, map[string]any{
		"schemas": []string{scim.ConnectorSchemaURN}, "name": "ldap-connector", "type": "ldap", "enabled": false,
		"config": `{"url":"ldaps://hr.example.com"}`, "syncProfile": map[string]any{"value": pid},
		"status": map[string]any{"state": "new", "usersSynced": 0},
	})
	nid := str(r.body, "id")
	if r.header.Get("Location") != e.base+"/Connectors/"+nid || str(r.body, "enabled") != "false" ||
		str(r.body, "syncProfile.display") != demoProfile || str(r.body, "status.state") != "new" || num(r.body, "status.usersSynced") != 0 {
		t.Fatalf("created connector: %s", r.raw)
	}
	e.must(409, "POST", "/Connectors", c, map[string]any{"schemas": []string{scim.ConnectorSchemaURN}, "name": demoConnector})
	e.must(400, "POST", "/Connectors", c, map[string]any{"schemas": []string{scim.ConnectorSchemaURN}, "type": "csv"})
	r = e.must(200, "PATCH", "/Connectors/"+nid, c, patchOp("replace", "name", "ldap-connector-2"))
	if str(r.body, "name") != "ldap-connector-2" || str(r.body, "id") != nid {
		t.Fatalf("rename: %s", r.raw)
	}
	e.must(204, "DELETE", "/Connectors/"+nid, c, nil)
	e.must(404, "GET", "/Connectors/"+nid, c, nil)
	e.must(204, "DELETE", "/Groups/"+gid, c, nil)
	e.must(204, "DELETE", "/Users/"+uid, c, nil)
}

// ldapEntry reads attributes of an entry as the directory's admin: the
// first value of each, absent when the entry has none.
func (e *testEnv) ldapEntry(dn string, attrs ...string) map[string]string {
	e.t.Helper()
	conn, err := e.ldap.Conn(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", attrs, nil))
	if err != nil || len(res.Entries) != 1 {
		e.t.Fatalf("read %s: %v", dn, err)
	}
	out := map[string]string{}
	for _, a := range attrs {
		if v := res.Entries[0].GetAttributeValues(a); len(v) > 0 {
			out[a] = v[0]
		}
	}
	return out
}

// TestSyncReporting: a reporting integration holding scim:read only reads
// users and groups, and nothing else exists for it: sync profiles and
// connectors list empty and read as 404, and every write is refused, 403
// where it may read the target, 404 where it may not.
func TestSyncReporting(t *testing.T) {
	e := startEnv(t)
	rep := "reporting"
	pid := e.firstID("/SyncProfiles", `name eq "`+demoProfile+`"`, "connector")
	cid := e.firstID("/Connectors", `name eq "`+demoConnector+`"`, "connector")
	alice := e.firstID("/Users", `userName eq "alice"`, rep)
	olivia := e.firstID("/Users", `userName eq "olivia"`, rep) // not in engineering
	eng := e.firstID("/Groups", `displayName eq "engineering"`, rep)

	if n := num(e.must(200, "GET", "/Users?count=1", rep, nil).body, "totalResults"); n != 40 {
		t.Fatalf("reporting sees %d users, want 40", n)
	}
	if n := num(e.must(200, "GET", "/Groups", rep, nil).body, "totalResults"); n != 6 {
		t.Fatalf("reporting sees %d groups, want 6", n)
	}
	if r := e.must(200, "GET", "/Groups/"+eng, rep, nil); str(r.body, "displayName") != "engineering" || str(r.body, "members[0].value") == "" {
		t.Fatalf("engineering: %s", r.raw)
	}
	e.must(200, "GET", "/Users/"+alice, rep, nil)

	for _, ep := range []struct{ path, filter string }{
		{"/SyncProfiles", `name eq "` + demoProfile + `"`},
		{"/Connectors", `name eq "` + demoConnector + `"`},
	} {
		for _, url := range []string{ep.path, ep.path + "?filter=" + q(ep.filter)} {
			r := e.must(200, "GET", url, rep, nil)
			if num(r.body, "totalResults") != 0 || str(r.body, "Resources") != "[]" {
				t.Errorf("%s as reporting: %s", url, r.raw)
			}
		}
		r := e.must(200, "POST", ep.path+"/.search", rep, map[string]any{
			"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "filter": ep.filter})
		if num(r.body, "totalResults") != 0 {
			t.Errorf("%s/.search as reporting: %s", ep.path, r.raw)
		}
	}
	e.must(404, "GET", "/SyncProfiles/"+pid, rep, nil)
	e.must(404, "GET", "/Connectors/"+cid, rep, nil)

	// Writes: not readable is 404, readable but not writable is 403, and
	// a create needs the add right, which it lacks everywhere.
	e.must(404, "PATCH", "/Connectors/"+cid, rep, patchOp("replace", "status.state", "running"))
	e.must(404, "PUT", "/Connectors/"+cid, rep, map[string]any{"schemas": []string{scim.ConnectorSchemaURN}, "name": demoConnector})
	e.must(404, "DELETE", "/Connectors/"+cid, rep, nil)
	e.must(404, "PATCH", "/SyncProfiles/"+pid, rep, patchOp("replace", "enabled", false))
	e.must(404, "DELETE", "/SyncProfiles/"+pid, rep, nil)
	e.must(403, "POST", "/Connectors", rep, map[string]any{"schemas": []string{scim.ConnectorSchemaURN}, "name": "rogue"})
	e.must(403, "POST", "/SyncProfiles", rep, map[string]any{"schemas": []string{scim.SyncProfileSchemaURN}, "name": "rogue"})
	e.must(403, "PATCH", "/Users/"+alice, rep, patchOp("replace", "title", "CEO"))
	e.must(403, "POST", "/Users", rep, map[string]any{"schemas": []string{userURN}, "userName": "rogue"})
	e.must(403, "DELETE", "/Users/"+alice, rep, nil)
	e.must(403, "PATCH", "/Groups/"+eng, rep, patchOp("add", "members", []any{map[string]any{"value": olivia}}))
	e.must(403, "POST", "/Groups", rep, map[string]any{"schemas": []string{groupURN}, "displayName": "rogue"})
	e.must(403, "DELETE", "/Groups/"+eng, rep, nil)

	// Nothing changed.
	r := e.must(200, "GET", "/Connectors/"+cid, "connector", nil)
	if str(r.body, "status.state") != "idle" || str(r.body, "name") != demoConnector {
		t.Fatalf("connector after reporting's attempts: %s", r.raw)
	}
}

// TestSyncScopes: each sync scope grants its own row of the scope table
// and nothing more.
func TestSyncScopes(t *testing.T) {
	e := startEnv(t)
	pid := e.firstID("/SyncProfiles", `name eq "`+demoProfile+`"`, "connector")
	cid := e.firstID("/Connectors", `name eq "`+demoConnector+`"`, "connector")
	connRead := e.token("monitor", "connector:read")
	profRead := e.token("profile-reader", "sync:profile:read")
	connWrite := e.token("writer-blind", "connector:write")

	// connector:read sees connectors but no sync profile, and writes nothing.
	e.must(200, "GET", "/Connectors/"+cid, connRead, nil)
	if n := num(e.must(200, "GET", "/Connectors", connRead, nil).body, "totalResults"); n != 1 {
		t.Fatalf("connector:read sees %d connectors", n)
	}
	e.must(404, "GET", "/SyncProfiles/"+pid, connRead, nil)
	if r := e.must(200, "GET", "/SyncProfiles", connRead, nil); num(r.body, "totalResults") != 0 {
		t.Fatalf("connector:read sees sync profiles: %s", r.raw)
	}
	if n := num(e.must(200, "GET", "/SyncProfiles?filter="+q(`name eq "`+demoProfile+`"`), connRead, nil).body, "totalResults"); n != 0 {
		t.Fatalf("connector:read finds %d sync profiles by name", n)
	}
	e.must(403, "PATCH", "/Connectors/"+cid, connRead, patchOp("replace", "status.state", "running"))
	e.must(403, "DELETE", "/Connectors/"+cid, connRead, nil)
	if n := num(e.must(200, "GET", "/Users", connRead, nil).body, "totalResults"); n != 0 {
		t.Fatalf("connector:read sees %d users", n)
	}

	// sync:profile:read sees the profile but no connector, and writes nothing.
	e.must(200, "GET", "/SyncProfiles/"+pid, profRead, nil)
	if n := num(e.must(200, "GET", "/Connectors", profRead, nil).body, "totalResults"); n != 0 {
		t.Fatalf("sync:profile:read sees %d connectors", n)
	}
	e.must(404, "GET", "/Connectors/"+cid, profRead, nil)
	e.must(403, "PATCH", "/SyncProfiles/"+pid, profRead, patchOp("replace", "enabled", false))

	// connector:write without connector:read may create, but may not
	// touch what it cannot see.
	e.must(404, "PATCH", "/Connectors/"+cid, connWrite, patchOp("replace", "status.state", "running"))
	e.must(404, "DELETE", "/Connectors/"+cid, connWrite, nil)
}

// TestSyncDiscovery: /ResourceTypes and /Schemas describe the two types.
func TestSyncDiscovery(t *testing.T) {
	e := startEnv(t)
	c := "connector"
	r := e.must(200, "GET", "/ResourceTypes", c, nil)
	found := map[string]map[string]any{}
	for _, v := range r.body["Resources"].([]any) {
		m := v.(map[string]any)
		found[str(m, "id")] = m
	}
	for id, want := range map[string][2]string{
		"SyncProfile": {"/SyncProfiles", scim.SyncProfileSchemaURN},
		"Connector":   {"/Connectors", scim.ConnectorSchemaURN},
	} {
		m, ok := found[id]
		if !ok || str(m, "endpoint") != want[0] || str(m, "schema") != want[1] || str(m, "name") != id {
			t.Errorf("resource type %s: %v", id, m)
		}
		if str(e.must(200, "GET", "/ResourceTypes/"+id, c, nil).body, "schema") != want[1] {
			t.Errorf("/ResourceTypes/%s", id)
		}
	}
	if len(found) != 4 {
		t.Errorf("resource types %v, want User, Group, SyncProfile, Connector", found)
	}

	r = e.must(200, "GET", "/Schemas", c, nil)
	ids := map[string]bool{}
	for _, v := range r.body["Resources"].([]any) {
		ids[str(v, "id")] = true
	}
	if !ids[scim.SyncProfileSchemaURN] || !ids[scim.ConnectorSchemaURN] {
		t.Fatalf("schemas: %v", ids)
	}
	r = e.must(200, "GET", "/Schemas/"+scim.ConnectorSchemaURN, c, nil)
	attrs := map[string]map[string]any{}
	for _, v := range r.body["attributes"].([]any) {
		m := v.(map[string]any)
		attrs[str(m, "name")] = m
	}
	if str(attrs["name"], "required") != "true" || str(attrs["name"], "uniqueness") != "server" || str(attrs["enabled"], "type") != "boolean" {
		t.Fatalf("connector attributes: %s", r.raw)
	}
	subs := map[string]string{}
	for _, v := range attrs["status"]["subAttributes"].([]any) {
		subs[str(v, "name")] = str(v, "type")
	}
	wantSubs := map[string]string{"lastRun": "dateTime", "state": "string", "usersSynced": "integer", "groupsSynced": "integer", "errorCount": "integer", "lastError": "string"}
	for k, v := range wantSubs {
		if subs[k] != v {
			t.Errorf("status.%s type %q, want %q", k, subs[k], v)
		}
	}
	if str(attrs["status"], "type") != "complex" || str(attrs["status"], "multiValued") != "false" || str(attrs["syncProfile"], "type") != "complex" {
		t.Errorf("status/syncProfile: %v %v", attrs["status"], attrs["syncProfile"])
	}
	r = e.must(200, "GET", "/Schemas/"+scim.SyncProfileSchemaURN, c, nil)
	for _, v := range r.body["attributes"].([]any) {
		if str(v, "name") == "attributeMappings" && str(v, "multiValued") != "true" {
			t.Errorf("attributeMappings: %v", v)
		}
	}
}
