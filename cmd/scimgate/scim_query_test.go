package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestETags: If-Match makes concurrent writers safe (412, never a lost
// update) and If-None-Match answers 304.
func TestETags(t *testing.T) {
	e := startEnv(t)
	c := "connector"
	id := e.firstID("/Users", `userName eq "alice"`, c)
	r := e.must(200, "GET", "/Users/"+id, c, nil)
	tag := r.header.Get("ETag")
	if !strings.HasPrefix(tag, `W/"`) || str(r.body, "meta.version") != tag {
		t.Fatalf("ETag %q, meta.version %q", tag, str(r.body, "meta.version"))
	}
	e.must(304, "GET", "/Users/"+id, c, nil, "If-None-Match", tag)
	r = e.must(200, "PATCH", "/Users/"+id, c, patchOp("replace", "title", "v1"), "If-Match", tag)
	newTag := r.header.Get("ETag")
	if newTag == tag {
		t.Fatal("the ETag did not change with the resource")
	}
	e.must(412, "PATCH", "/Users/"+id, c, patchOp("replace", "title", "stale"), "If-Match", tag)
	e.must(412, "PUT", "/Users/"+id, c, map[string]any{"schemas": []string{userURN}, "userName": "alice"}, "If-Match", tag)
	e.must(412, "DELETE", "/Users/"+id, c, nil, "If-Match", tag)
	if got := str(e.must(200, "GET", "/Users/"+id, c, nil).body, "title"); got != "v1" {
		t.Fatalf("title %q after stale writes, want v1", got)
	}

	// Concurrent writers, each reading the version and writing with
	// If-Match: exactly the writers whose version was current succeed, and
	// the final title is one that a successful writer wrote.
	const writers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := map[string]bool{}
	codes := map[int]int{}
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			g := e.do("GET", "/Users/"+id, c, nil)
			title := fmt.Sprintf("writer-%d", i)
			p := e.do("PATCH", "/Users/"+id, c, patchOp("replace", "title", title), "If-Match", g.header.Get("ETag"))
			mu.Lock()
			defer mu.Unlock()
			codes[p.status]++
			if p.status == 200 {
				won[title] = true
			}
		}(i)
	}
	wg.Wait()
	if codes[200] < 1 || codes[200]+codes[412] != writers {
		t.Fatalf("statuses %v: every writer must get 200 or 412, at least one 200", codes)
	}
	final := str(e.must(200, "GET", "/Users/"+id, c, nil).body, "title")
	if !won[final] {
		t.Fatalf("final title %q was not written by a writer that got 200 (%v)", final, won)
	}
}

// TestQueries: projection, sorting, paging edges and POST .search.
func TestQueries(t *testing.T) {
	e := startEnv(t)
	c := "connector"
	id := e.firstID("/Users", `userName eq "alice"`, c)
	r := e.must(200, "GET", "/Users/"+id+"?attributes=userName,name.familyName", c, nil)
	if str(r.body, "userName") != "alice" || str(r.body, "name.familyName") == "" || str(r.body, "name.givenName") != "" || str(r.body, "emails") != "" || str(r.body, "id") != id {
		t.Fatalf("attributes=userName,name.familyName: %s", r.raw)
	}
	r = e.must(200, "GET", "/Users/"+id+"?excludedAttributes=emails,groups", c, nil)
	if str(r.body, "emails") != "" || str(r.body, "groups") != "" || str(r.body, "userName") != "alice" {
		t.Fatalf("excludedAttributes: %s", r.raw)
	}
	e.must(400, "GET", "/Users?attributes=userName&excludedAttributes=emails", c, nil)

	// Sorting by userName, both ways, stable.
	asc := e.must(200, "GET", "/Users?sortBy=userName&count=5&attributes=userName", c, nil)
	desc := e.must(200, "GET", "/Users?sortBy=userName&sortOrder=descending&count=5&attributes=userName", c, nil)
	if str(asc.body, "Resources[0].userName") >= str(asc.body, "Resources[1].userName") ||
		str(desc.body, "Resources[0].userName") <= str(desc.body, "Resources[1].userName") {
		t.Fatalf("sort: %s / %s", asc.raw, desc.raw)
	}
	e.must(400, "GET", "/Users?sortOrder=sideways", c, nil)

	// Integer keys sort as numbers (the directory sorts with
	// integerOrderingMatch): 9 before 10, where text order would differ.
	for _, n := range []int{10, 9} {
		e.must(201, "POST", "/Connectors", c, map[string]any{
			"schemas": []string{"urn:scimgate:params:scim:schemas:core:1.0:Connector"},
			"name":    fmt.Sprintf("sort-%d", n), "status": map[string]any{"usersSynced": n},
		})
	}
	r = e.must(200, "GET", "/Connectors?filter="+q(`name sw "sort-"`)+"&sortBy=status.usersSynced", c, nil)
	if str(r.body, "Resources[0].name") != "sort-9" || str(r.body, "Resources[1].name") != "sort-10" {
		t.Fatalf("integer sort: %s", r.raw)
	}
	r = e.must(200, "GET", "/Connectors?filter="+q(`name sw "sort-"`)+"&sortBy=status.usersSynced&sortOrder=descending", c, nil)
	if str(r.body, "Resources[0].name") != "sort-10" {
		t.Fatalf("integer sort descending: %s", r.raw)
	}

	// count=0 gives the total only; a startIndex past the end an empty page.
	r = e.must(200, "GET", "/Users?count=0", c, nil)
	if num(r.body, "totalResults") < 40 || str(r.body, "Resources") != "[]" || num(r.body, "itemsPerPage") != 0 {
		t.Fatalf("count=0: %s", r.raw)
	}
	r = e.must(200, "GET", "/Users?startIndex=100000", c, nil)
	if str(r.body, "Resources") != "[]" || num(r.body, "startIndex") != 100000 {
		t.Fatalf("startIndex past the end: %s", r.raw)
	}

	// POST .search with a filter and a projection.
	r = e.must(200, "POST", "/Users/.search", c, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
		"filter":  `name.familyName sw "And" and active eq true`, "attributes": []string{"userName"}, "count": 10,
	})
	if num(r.body, "totalResults") < 1 || str(r.body, "Resources[0].userName") == "" || str(r.body, "Resources[0].emails") != "" {
		t.Fatalf(".search: %s", r.raw)
	}
	e.must(400, "POST", "/Users/.search", c, map[string]any{"filter": `userName eq "x"`})

	// Filters with every operator and logical form run in the directory.
	for f, min := range map[string]int{
		`userName eq "alice"`:                           1,
		`userName ne "alice"`:                           39,
		`emails.value co "@example.com"`:                40,
		`userName sw "al"`:                              1,
		`emails.value ew "example.com"`:                 40,
		`title pr`:                                      1,
		`not (userName eq "alice") and userName sw "b"`: 1,
		`(userName eq "alice" or userName eq "bob")`:    2,
		`meta.lastModified gt "2000-01-01T00:00:00Z"`:   40,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Engineering"`: 1,
		`id eq "` + id + `"`:      1,
		`externalId eq "hr-1001"`: 1,
	} {
		r := e.must(200, "GET", "/Users?filter="+q(f)+"&count=0", c, nil)
		if n := num(r.body, "totalResults"); n < min {
			t.Errorf("filter %s: %d results, want at least %d", f, n, min)
		}
	}
	// Discovery endpoints.
	r = e.must(200, "GET", "/Schemas", c, nil)
	if !strings.Contains(r.raw, "urn:ietf:params:scim:schemas:core:2.0:Group") || !strings.Contains(r.raw, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User") {
		t.Fatalf("/Schemas lacks the Group schema or the enterprise extension")
	}
	r = e.must(200, "GET", "/ServiceProviderConfig", c, nil)
	if str(r.body, "patch.supported") != "true" || str(r.body, "etag.supported") != "true" || str(r.body, "bulk.supported") != "false" {
		t.Fatalf("SPC: %s", r.raw)
	}
	e.must(200, "GET", "/ResourceTypes/User", c, nil)
	e.must(405, "POST", "/ServiceProviderConfig", c, map[string]any{})
}

// TestLookthrough: a listing whose pages the directory cuts meets no size
// limit; one the gateway must examine itself (an ACI that cannot be
// compiled into the filter) is 400 tooMany beyond the lookthrough limit;
// a narrower filter still works.
func TestLookthrough(t *testing.T) {
	e := startEnvWith(t, func(c *Config) {
		c.Limits.Lookthrough, c.Limits.MaxPageSize, c.Limits.DefaultPageSize = 20, 10, 10
	})
	if n := num(e.must(200, "GET", "/Users", "connector", nil).body, "totalResults"); n <= 20 {
		t.Fatalf("totalResults %d: the demo has more users than the limit", n)
	}
	// A target DN pattern cannot be a filter: the gateway reads every match.
	if err := e.ldap.LDAPModify(t.Context(), `dn: ou=People,dc=example,dc=com
changetype: modify
add: aci
aci: (target="ldap:///uid=*,ou=People,dc=example,dc=com")(targetattr="*")(version 3.0; acl "pattern"; allow (read,search) oauthscope="nobody:has";)
`); err != nil {
		t.Fatal(err)
	}
	var r response
	waitFor(t, 3*time.Second, "the pattern ACI", func() (bool, string) {
		r = e.do("GET", "/Users", "connector", nil)
		return r.status == 400, fmt.Sprint(r.status)
	})
	if str(r.body, "scimType") != "tooMany" {
		t.Fatalf("over the lookthrough limit: %s", r.raw)
	}
	e.must(200, "GET", "/Users?filter="+q(`userName sw "a"`), "connector", nil)
	if n := num(e.must(200, "GET", "/Groups?count=50", "connector", nil).body, "itemsPerPage"); n != 6 {
		t.Fatalf("groups page: %d", n)
	}
}

// TestAddRights: by default a create needs add on every attribute of the
// new entry; add_any_attribute relaxes that to at least one.
func TestAddRights(t *testing.T) {
	const acis = `dn: ou=People,dc=example,dc=com
changetype: modify
add: aci
aci: (targetattr="uid || cn || sn || objectClass")(version 3.0; acl "onboarding"; allow (add) oauthscope="onboard";)
`
	for _, anyAttr := range []bool{false, true} {
		e := startEnvWith(t, func(c *Config) { c.AddAnyAttribute = anyAttr })
		if err := e.ldap.LDAPModify(t.Context(), acis); err != nil {
			t.Fatal(err)
		}
		e.tokens["onboard"] = e.token("hr", "onboard")
		user := func(name string, title bool) map[string]any {
			u := map[string]any{"schemas": []string{userURN}, "userName": name, "name": map[string]any{"familyName": "X"}}
			if title {
				u["title"] = "Engineer" // not covered by the ACI
			}
			return u
		}
		// The ACI takes effect within the refresh interval.
		deadline := time.Now().Add(3 * time.Second)
		for e.do("POST", "/Users", "onboard", user(fmt.Sprintf("plain-%v", anyAttr), false)).status != 201 {
			if time.Now().After(deadline) {
				t.Fatal("the onboarding ACI did not apply")
			}
			time.Sleep(100 * time.Millisecond)
		}
		want := 403
		if anyAttr {
			want = 201
		}
		e.must(want, "POST", "/Users", "onboard", user(fmt.Sprintf("titled-%v", anyAttr), true))
	}
}

// TestListMeta: a list page renders meta (version, created, lastModified)
// by default and when the client names it, as GET by id does, and leaves
// it out when the client names other attributes only (the page's entries
// are then read without it).
func TestListMeta(t *testing.T) {
	e := startEnv(t)
	c := "connector"
	id := e.firstID("/Users", `userName eq "alice"`, c)
	version := e.must(200, "GET", "/Users/"+id, c, nil).header.Get("ETag")
	for _, query := range []string{"", "&attributes=userName,meta", "&attributes=meta.version,userName", "&excludedAttributes=title"} {
		r := e.must(200, "GET", "/Users?filter="+q(`userName eq "alice"`)+query, c, nil)
		if str(r.body, "Resources[0].meta.version") != version || !strings.Contains(query, "meta.version") && str(r.body, "Resources[0].meta.resourceType") != "User" {
			t.Errorf("%q: meta %s, want version %s", query, str(r.body, "Resources[0].meta"), version)
		}
		if !strings.Contains(query, "meta.version") && (str(r.body, "Resources[0].meta.created") == "" || str(r.body, "Resources[0].meta.lastModified") == "") {
			t.Errorf("%q: meta without timestamps: %s", query, str(r.body, "Resources[0].meta"))
		}
	}
	for _, query := range []string{"&attributes=userName", "&excludedAttributes=meta"} {
		r := e.must(200, "GET", "/Users?count=5"+query, c, nil)
		if _, has := r.body["Resources"].([]any)[0].(map[string]any)["meta"]; has || str(r.body, "Resources[0].id") == "" {
			t.Errorf("%q: %s", query, r.raw[:min(len(r.raw), 300)])
		}
	}
}
