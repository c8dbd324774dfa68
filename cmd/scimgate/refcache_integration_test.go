package main

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimgate/scimgate/ldapbackend/scimldap"
)

// TestReferenceCacheFollowsChanges: what a reference names (bob's manager,
// alice: her id and display name) is read once and, while the directory is
// at rest, not read again when cache_ttl has passed; a change to alice
// shows within the change check's interval plus cache_ttl.
func TestReferenceCacheFollowsChanges(t *testing.T) {
	const ttl = 300 * time.Millisecond // the harness checks for changes every 200 ms
	e := startEnvWith(t, func(c *Config) {
		withMetrics(t)(c)
		c.LDAP.CacheTTL = ttl
	})
	r := e.must(200, "GET", "/Users?filter="+url.QueryEscape(`userName eq "bob"`), "connector", nil)
	id := str(r.body, "Resources[0].id")
	manager := func() (string, float64) {
		t.Helper()
		before := ldapSearches(t, e)
		r := e.must(200, "GET", "/Users/"+id, "connector", nil)
		ext, _ := r.body[scimldap.EnterpriseUserURN].(map[string]any)
		m, _ := ext["manager"].(map[string]any)
		name, _ := m["displayName"].(string)
		return name, ldapSearches(t, e) - before
	}

	if name, _ := manager(); name != "Alice Anderson" {
		t.Fatalf("manager displayName %q, want Alice Anderson", name)
	}
	time.Sleep(3 * ttl)
	if name, n := manager(); name != "Alice Anderson" || n != 1 {
		t.Errorf("at rest, past cache_ttl: manager %q with %v LDAP searches, want Alice Anderson with 1 (bob's entry only)", name, n)
	}

	if err := e.ldap.LDAPModify(t.Context(), `dn: uid=alice,ou=People,dc=example,dc=com
changetype: modify
replace: displayName
displayName: Alice Renamed
`); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 2*time.Second, "the manager's new name", func() (bool, string) {
		name, _ := manager()
		return name == "Alice Renamed", name
	})
	t.Logf("the new name showed after %v", took.Round(time.Millisecond))
}

// ldapSearches is the gateway's count of LDAP searches so far.
func ldapSearches(t *testing.T, e *testEnv) float64 {
	t.Helper()
	var sum float64
	for _, l := range metricLines(e.scrape(), "scimgate_ldap_operation_duration_seconds_count") {
		if !strings.Contains(l, `op="search"`) {
			continue
		}
		v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", l, err)
		}
		sum += v
	}
	return sum
}
