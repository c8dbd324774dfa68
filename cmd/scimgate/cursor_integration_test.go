package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"testing"
)

// TestCursorPaging: RFC 9865 cursors over slapd. A walk goes through the
// users in the directory's own order and returns every one once, without
// totalResults (nothing counts every match) and without startIndex; users
// removed before their turn do not show, users present throughout all
// show once although others are added and removed during the walk; a
// cursor goes on through another gateway (which finds where the walk
// was), also when the users it names were deleted; cursors work across
// GET and POST .search of the same query; a foreign, altered or misused
// cursor is refused.
func TestCursorPaging(t *testing.T) {
	e := startEnv(t)
	other := startGateway(t, e.ldap.URL, "dc=example,dc=com", nil)
	c := "connector"
	spc := e.must(200, "GET", "/ServiceProviderConfig", c, nil)
	if str(spc.body, "pagination.cursor") != "true" || str(spc.body, "pagination.index") != "true" ||
		str(spc.body, "pagination.defaultPaginationMethod") != "index" || num(spc.body, "pagination.cursorTimeout") <= 0 {
		t.Fatalf("ServiceProviderConfig pagination: %s", spc.raw)
	}
	all := func() []string {
		r := e.must(200, "GET", "/Users?count=1000&attributes=userName", c, nil)
		var ids []string
		for i := range num(r.body, "itemsPerPage") {
			ids = append(ids, str(r.body, fmt.Sprintf("Resources[%d].id", i)))
		}
		return ids
	}
	before := all()

	// page reads one cursor page through gateway g.
	page := func(g *testEnv, cursor string) (ids []string, next string) {
		t.Helper()
		r := g.must(200, "GET", "/Users?attributes=userName&count=7&cursor="+url.QueryEscape(cursor), c, nil)
		if _, has := r.body["startIndex"]; has {
			t.Fatalf("a cursor page has startIndex: %s", r.raw)
		}
		if _, has := r.body["totalResults"]; has {
			t.Fatalf("a page of a longer cursor walk has totalResults: %s", r.raw)
		}
		for i := range num(r.body, "itemsPerPage") {
			ids = append(ids, str(r.body, fmt.Sprintf("Resources[%d].id", i)))
		}
		return ids, str(r.body, "nextCursor")
	}
	// walk goes on from next to the end, alternating between the two
	// gateways when switch is set, and counts what it serves.
	walk := func(next string, seen map[string]int, alternate bool) {
		t.Helper()
		for i := 0; next != ""; i++ {
			g := e
			if alternate && i%2 == 0 {
				g = other
			}
			var ids []string
			ids, next = page(g, next)
			for _, id := range ids {
				seen[id]++
			}
		}
	}
	once := func(what string, seen map[string]int, want []string) {
		t.Helper()
		for id, n := range seen {
			if n > 1 {
				t.Errorf("%s: %s served %d times", what, id, n)
			}
		}
		for _, id := range want {
			if seen[id] != 1 {
				t.Errorf("%s: %s, present throughout, was served %d times", what, id, seen[id])
			}
		}
	}

	// A quiet walk: everything once, on one gateway and across two.
	for _, alternate := range []bool{false, true} {
		first, next := page(e, "")
		seen := map[string]int{}
		for _, id := range first {
			seen[id]++
		}
		walk(next, seen, alternate)
		once(fmt.Sprintf("quiet walk (two gateways %v)", alternate), seen, before)
		if len(seen) != len(before) {
			t.Errorf("quiet walk: %d users, want %d", len(seen), len(before))
		}
	}

	// A walk while users come and go: after the first page, delete one not
	// yet served and the last one served, add three; the rest of the walk
	// alternates between the gateways.
	first, next := page(e, "")
	var rest []string
	for _, id := range before {
		if !slices.Contains(first, id) {
			rest = append(rest, id)
		}
	}
	gone, lastServed := rest[len(rest)/2], first[len(first)-1]
	e.must(204, "DELETE", "/Users/"+gone, c, nil)
	e.must(204, "DELETE", "/Users/"+lastServed, c, nil)
	for i := range 3 {
		e.must(201, "POST", "/Users", c, map[string]any{"schemas": []string{userURN}, "userName": fmt.Sprintf("cursor-new-%d", i)})
	}
	seen := map[string]int{}
	for _, id := range first {
		seen[id]++
	}
	walk(next, seen, true)
	if seen[gone] != 0 {
		t.Errorf("a user deleted before its turn was served")
	}
	once("changing walk", seen, slices.DeleteFunc(slices.Clone(before), func(id string) bool { return id == gone || id == lastServed }))

	// POST .search with a cursor, then GET with the cursor it gave.
	r := e.must(200, "POST", "/Users/.search", c, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
		"cursor": "", "count": 2, "attributes": []string{"userName"}})
	if str(r.body, "nextCursor") == "" || num(r.body, "itemsPerPage") != 2 {
		t.Fatalf(".search with a cursor: %s", r.raw)
	}
	if ids, _ := page(e, str(r.body, "nextCursor")); len(ids) == 0 || slices.Contains(ids, str(r.body, "Resources[1].id")) {
		t.Errorf("the .search cursor did not continue after its page: %v", ids)
	}

	// A walk that fits its first page has totalResults.
	r = e.must(200, "GET", "/Users?count=1000&cursor=", c, nil)
	if num(r.body, "totalResults") != num(r.body, "itemsPerPage") || str(r.body, "nextCursor") != "" {
		t.Errorf("a one-page cursor walk: totalResults %d for %d users, nextCursor %q", num(r.body, "totalResults"), num(r.body, "itemsPerPage"), str(r.body, "nextCursor"))
	}

	// A cursor whose users are all gone: the walk cannot go on.
	r = e.must(200, "GET", "/Users?attributes=userName&count=2&cursor=", c, nil)
	for i := range 2 {
		e.must(204, "DELETE", "/Users/"+str(r.body, fmt.Sprintf("Resources[%d].id", i)), c, nil)
	}
	r = other.must(400, "GET", "/Users?attributes=userName&count=2&cursor="+url.QueryEscape(str(r.body, "nextCursor")), c, nil)
	if str(r.body, "scimType") != "invalidCursor" {
		t.Errorf("a cursor whose users are gone: %s", r.raw)
	}

	// A cursor whose server is another: the walk cannot go on there.
	_, next = page(e, "")
	raw, err := base64.RawURLEncoding.DecodeString(next)
	if err != nil {
		t.Fatal(err)
	}
	var cur map[string]any
	if err := json.Unmarshal(raw, &cur); err != nil || cur["s"] == nil {
		t.Fatalf("cursor %s: %v", raw, err)
	}
	cur["s"] = "000000000000"
	raw, _ = json.Marshal(cur)
	r = other.must(400, "GET", "/Users?attributes=userName&count=7&cursor="+base64.RawURLEncoding.EncodeToString(raw), c, nil)
	if str(r.body, "scimType") != "invalidCursor" {
		t.Errorf("a cursor of another server: %s", r.raw)
	}

	// Refusals.
	for _, tc := range []struct{ query, scimType string }{
		{"cursor=not-a-cursor", "invalidCursor"},
		{"cursor=" + url.QueryEscape(next+"x"), "invalidCursor"},
		{"cursor=&startIndex=2", "invalidValue"},
		{"cursor=&sortBy=userName", "invalidValue"},
	} {
		r := e.must(400, "GET", "/Users?"+tc.query, c, nil)
		if str(r.body, "scimType") != tc.scimType {
			t.Errorf("%s: %s", tc.query, r.raw)
		}
	}
	// A cursor of another query.
	_, foreign := page(e, "")
	r = e.must(400, "GET", "/Users?filter="+q(`userName sw "a"`)+"&cursor="+url.QueryEscape(foreign), c, nil)
	if str(r.body, "scimType") != "invalidCursor" {
		t.Errorf("another query's cursor: %s", r.raw)
	}
}
