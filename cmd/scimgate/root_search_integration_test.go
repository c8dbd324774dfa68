package main

import (
	"fmt"
	"testing"
)

// TestRootSearch: GET on the base URL and POST /.search search every
// resource type (RFC 7644 §3.4.2.1, §3.4.3): totalResults is what the
// caller may see across types, each resource is decided by the ACIs as on
// its own endpoint, pages run across the types' boundaries, and a filter
// one type cannot take matches nothing of that type.
func TestRootSearch(t *testing.T) {
	e := startEnv(t)
	count := func(tok, path string) int {
		t.Helper()
		return num(e.must(200, "GET", path, tok, nil).body, "totalResults")
	}
	for _, tok := range []string{"connector", "reporting", "none"} {
		want := 0
		for _, ep := range []string{"/Users", "/Groups", "/SyncProfiles", "/Connectors"} {
			if r := e.do("GET", ep+"?count=0", tok, nil); r.status == 200 {
				want += num(r.body, "totalResults")
			}
		}
		if got := count(tok, "/?count=0"); got != want {
			t.Errorf("%s: totalResults %d across types, want %d", tok, got, want)
		}
	}
	users, groups := count("reporting", "/Users?count=0"), count("reporting", "/Groups?count=0")
	if users == 0 || groups == 0 || count("reporting", "/?count=0") != users+groups {
		t.Fatalf("the reporting token sees %d users and %d groups, and %d across types", users, groups, count("reporting", "/?count=0"))
	}

	// A page across the boundary between users and groups.
	r := e.must(200, "GET", fmt.Sprintf("/?startIndex=%d&count=4", users-1), "reporting", nil)
	if num(r.body, "itemsPerPage") != 4 || num(r.body, "startIndex") != users-1 {
		t.Fatalf("page across types: %s", r.raw)
	}
	for i, want := range []string{"User", "User", "Group", "Group"} {
		if got := str(r.body, fmt.Sprintf("Resources[%d].meta.resourceType", i)); got != want {
			t.Errorf("resource %d of the page is a %q, want %s", i, got, want)
		}
	}

	// A filter both types take (displayName), and one only users take.
	r = e.must(200, "GET", "/?filter="+q(`displayName eq "engineering"`), "reporting", nil)
	if num(r.body, "totalResults") != 1 || str(r.body, "Resources[0].meta.resourceType") != "Group" {
		t.Errorf("displayName across types: %s", r.raw)
	}
	if n := count("reporting", "/?filter="+q(`userName eq "alice"`)); n != 1 {
		t.Errorf("userName across types: %d", n)
	}
	r = e.must(400, "GET", "/?filter="+q(`noSuchAttribute eq "x"`), "reporting", nil)
	if str(r.body, "scimType") != "invalidFilter" {
		t.Errorf("a filter no type takes: %s", r.raw)
	}

	// POST /.search, the same.
	r = e.must(200, "POST", "/.search", "reporting", map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
		"filter": `userName eq "alice"`, "attributes": []string{"userName"}})
	if num(r.body, "totalResults") != 1 || str(r.body, "Resources[0].userName") != "alice" {
		t.Errorf("POST /.search: %s", r.raw)
	}
	for _, bad := range []string{"/?sortBy=userName", "/?cursor="} {
		if r := e.must(400, "GET", bad, "reporting", nil); str(r.body, "scimType") != "invalidValue" {
			t.Errorf("%s: %s", bad, r.raw)
		}
	}
}
