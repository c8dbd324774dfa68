package main

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// TestWindows: pages by startIndex that continue no walk kept by their
// gateway (a client whose pages alternate between two gateways, or that
// jumps about) are windows of a list the directory sorted for an earlier
// page on that gateway (sssvlv's Virtual List View by context): each
// gateway sorts the listing once, not once a page, and every page is the
// one a walk on a single gateway serves, with the same totalResults. The
// gateway's own write ends the list: the next page sorts again and shows
// the write.
func TestWindows(t *testing.T) {
	const users, count = 600, 50
	// A lookthrough below the listing's size: the listing's ids are not
	// read whole for pages after the first (listCache), as in a directory
	// of millions.
	quiet := func(c *Config) {
		c.Log.Level = "info"
		c.Limits.Lookthrough, c.Limits.MaxPageSize = 200, 200
		withMetrics(t)(c)
	}
	e := startEnvWith(t, quiet, writeUsersLDIF(t, users))
	other := startGateway(t, e.ldap.URL, "dc=example,dc=com", quiet)
	const c = "connector"
	other.tokens[c] = e.tokens[c]
	page := func(g *testEnv, start int) (ids []string, total int) {
		t.Helper()
		r := g.must(200, "GET", fmt.Sprintf("/Users?attributes=userName&startIndex=%d&count=%d", start, count), c, nil)
		for i := range num(r.body, "itemsPerPage") {
			ids = append(ids, str(r.body, fmt.Sprintf("Resources[%d].id", i)))
		}
		return ids, num(r.body, "totalResults")
	}
	since := func(g *testEnv, before map[string]int) map[string]int {
		out := map[string]int{}
		for k, v := range pagesServed(t, g) {
			if d := v - before[k]; d != 0 {
				out[k] = d
			}
		}
		return out
	}

	// The reference: a walk on one gateway.
	var ref [][]string
	total := 0
	for start := 1; start == 1 || start <= total; start += count {
		ids, n := page(e, start)
		ref, total = append(ref, ids), n
	}
	if total < users || len(ref) < 10 {
		t.Fatalf("%d users in %d pages", total, len(ref))
	}

	// The same walk, its pages alternating between the gateways.
	before, otherBefore := pagesServed(t, e), pagesServed(t, other)
	for i := range ref {
		g := []*testEnv{e, other}[i%2]
		ids, n := page(g, 1+i*count)
		if !slices.Equal(ids, ref[i]) || n != total {
			t.Fatalf("page %d on gateway %d: %d users (totalResults %d), want the %d of the walk on one gateway (%d)", i+1, i%2+1, len(ids), n, len(ref[i]), total)
		}
	}
	// The first gateway sorted for the first page (its walk) and for the
	// third (the walk was at the second); the other for the second. Every
	// other page is a window of those lists.
	here, there := since(e, before), since(other, otherBefore)
	if here["sorted"] != 2 || there["sorted"] != 1 || here["window"]+there["window"] != len(ref)-3 {
		t.Errorf("a walk of %d pages alternating between two gateways was served %v and %v: want 2 and 1 sorted, the rest windows", len(ref), here, there)
	}

	// Requests for the listing at once, on a gateway that has no window
	// of it: one sorts, the others wait for its window and take it in
	// turn.
	third := startGateway(t, e.ldap.URL, "dc=example,dc=com", quiet)
	third.tokens[c] = e.tokens[c]
	before = pagesServed(t, third)
	var wg sync.WaitGroup
	for i := 2; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := third.do("GET", fmt.Sprintf("/Users?attributes=userName&startIndex=%d&count=%d", 1+i*count, count), c, nil)
			if r.status != 200 || num(r.body, "totalResults") != total || str(r.body, "Resources[0].id") != ref[i][0] {
				t.Errorf("page %d asked at once with others: %d %s", i+1, r.status, tail(r.raw, 120))
			}
		}()
	}
	wg.Wait()
	if got := since(third, before); got["sorted"] != 1 || got["window"] != 7 {
		t.Errorf("eight pages asked at once were served %v: want one sort and seven windows", got)
	}

	// A client jumping about on one gateway: back, forward, another
	// count, past the end; no sort.
	before = pagesServed(t, other)
	for _, i := range []int{len(ref) - 1, 0, 5, 2, len(ref) - 2} {
		if ids, n := page(other, 1+i*count); !slices.Equal(ids, ref[i]) || n != total {
			t.Errorf("jumping to page %d: %d users (%d)", i+1, len(ids), n)
		}
	}
	r := other.must(200, "GET", fmt.Sprintf("/Users?attributes=userName&startIndex=%d&count=%d", 1+3*count, 2*count), c, nil)
	if num(r.body, "itemsPerPage") != 2*count || str(r.body, "Resources[0].id") != ref[3][0] || str(r.body, fmt.Sprintf("Resources[%d].id", count)) != ref[4][0] {
		t.Errorf("a page of %d from %d: %s", 2*count, 1+3*count, tail(r.raw, 200))
	}
	if _, n := page(other, total+5); n != total {
		t.Errorf("a page past the end: totalResults %d, want %d", n, total)
	}
	// The first page begins a walk of its own (sorted); the rest are
	// windows.
	if got := since(other, before); got["sorted"] != 1 || got["window"] != 6 || len(got) != 2 {
		t.Errorf("a client jumping about was served %v, want one sort (its first page) and the rest windows", got)
	}

	// Every user of a page deleted in the directory itself (no write
	// through the gateway, so the window stays): the window's page would
	// be empty, which would read as the end of the list, so the listing
	// is sorted again and the page holds the users after them.
	var del string
	for _, id := range ref[6] {
		del += fmt.Sprintf("dn: uid=%s,ou=People,dc=example,dc=com\nchangetype: delete\n\n", str(other.must(200, "GET", "/Users/"+id, c, nil).body, "userName"))
	}
	if err := e.ldap.LDAPModify(t.Context(), del); err != nil {
		t.Fatal(err)
	}
	before = pagesServed(t, other)
	if ids, n := page(other, 1+6*count); !slices.Equal(ids, ref[7]) || n != total-count {
		t.Errorf("the page whose users were all deleted: %d users (totalResults %d), want the next page's %d (%d)", len(ids), n, len(ref[7]), total-count)
	}
	if got := since(other, before); got["sorted"] != 1 || len(got) != 1 {
		t.Errorf("the page whose users were all deleted was served %v, want sorted again", got)
	}
	total -= count

	// The gateway's own write: the next page that continues no walk sorts
	// again, and counts the user written.
	other.must(201, "POST", "/Users", c, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "window-write"})
	before = pagesServed(t, other)
	if _, n := page(other, 1+4*count); n != total+1 {
		t.Errorf("after the gateway's write, totalResults %d, want %d", n, total+1)
	}
	if got := since(other, before); got["sorted"] != 1 || len(got) != 1 {
		t.Errorf("the page after the gateway's write was served %v, want sorted again", got)
	}
}
