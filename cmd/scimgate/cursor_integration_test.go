package main

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
)

// TestCursorPaging: RFC 9865 cursors over slapd. A walk returns every
// user once, in id order, with totalResults as at its start and no
// startIndex; users removed before their turn do not show, users present
// throughout all show once although others are added and removed during
// the walk; cursors work across GET and POST .search of the same query;
// a foreign, altered or misused cursor is refused.
func TestCursorPaging(t *testing.T) {
	e := startEnv(t)
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

	// page reads one cursor page.
	page := func(cursor string) (ids []string, total int, next string) {
		t.Helper()
		r := e.must(200, "GET", "/Users?attributes=userName&count=7&cursor="+url.QueryEscape(cursor), c, nil)
		if _, has := r.body["startIndex"]; has {
			t.Fatalf("a cursor page has startIndex: %s", r.raw)
		}
		for i := range num(r.body, "itemsPerPage") {
			ids = append(ids, str(r.body, fmt.Sprintf("Resources[%d].id", i)))
		}
		return ids, num(r.body, "totalResults"), str(r.body, "nextCursor")
	}

	// A quiet walk: everything once, in id order.
	var walked []string
	cursor, pages := "", 0
	for {
		ids, total, next := page(cursor)
		if total != len(before) {
			t.Fatalf("totalResults %d, want %d", total, len(before))
		}
		walked = append(walked, ids...)
		pages++
		if next == "" {
			break
		}
		cursor = next
	}
	if !slices.IsSorted(walked) || !slices.Equal(walked, slices.Sorted(slices.Values(before))) {
		t.Fatalf("the walk (%d ids over %d pages) is not every user once in id order", len(walked), pages)
	}

	// A walk while users come and go: after the first page, delete one not
	// yet served, add three.
	first, _, next := page("")
	rest := slices.Sorted(slices.Values(before))[len(first):]
	gone := rest[len(rest)/2]
	e.must(204, "DELETE", "/Users/"+gone, c, nil)
	for i := range 3 {
		e.must(201, "POST", "/Users", c, map[string]any{"schemas": []string{userURN}, "userName": fmt.Sprintf("cursor-new-%d", i)})
	}
	seen := map[string]int{}
	for _, id := range first {
		seen[id]++
	}
	for next != "" {
		var ids []string
		ids, _, next = page(next)
		for _, id := range ids {
			seen[id]++
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("%s served %d times", id, n)
		}
	}
	if seen[gone] != 0 {
		t.Errorf("a user deleted before its turn was served")
	}
	for _, id := range before {
		if id != gone && seen[id] != 1 {
			t.Errorf("%s, present throughout, was served %d times", id, seen[id])
		}
	}

	// POST .search with a cursor, then GET with the cursor it gave.
	r := e.must(200, "POST", "/Users/.search", c, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
		"cursor": "", "count": 2, "attributes": []string{"userName"}})
	if str(r.body, "nextCursor") == "" || num(r.body, "itemsPerPage") != 2 {
		t.Fatalf(".search with a cursor: %s", r.raw)
	}
	if ids, _, _ := page(str(r.body, "nextCursor")); len(ids) == 0 || ids[0] <= str(r.body, "Resources[1].id") {
		t.Errorf("the .search cursor did not continue after its page: %v", ids)
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
	_, _, other := page("")
	r = e.must(400, "GET", "/Users?filter="+q(`userName sw "a"`)+"&cursor="+url.QueryEscape(other), c, nil)
	if str(r.body, "scimType") != "invalidCursor" {
		t.Errorf("another query's cursor: %s", r.raw)
	}
}
