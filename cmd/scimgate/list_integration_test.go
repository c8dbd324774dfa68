package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestListPages: with the demo ACIs a caller's access is the same for
// every user, so the gateway never reads more than a page's entries: the
// directory cuts the first page (sort + Virtual List View), and a client
// that goes on paging gets the next pages from the list the directory
// sorted for the first (a walk, TestWalks). A page then costs one LDAP
// search whatever the directory's size. Pages are stable and complete in
// either order; a change in the directory shows at once; past the end a
// page is empty and count=0 gives the total. An ACI that tells users apart
// (here a targetfilter hiding directors) makes the gateway check every
// match again, and the listing shows exactly what the caller may see; one
// that tells them apart on one attribute only (directors' titles) keeps
// pages cheap and decides that attribute user by user.
func TestListPages(t *testing.T) {
	const generated = 250
	e := startEnvWith(t, withMetrics(t), writeUsersLDIF(t, generated))
	c := "connector"
	total := num(e.must(200, "GET", "/Users?count=0", c, nil).body, "totalResults")
	if total < generated+40 {
		t.Fatalf("totalResults %d, want at least %d", total, generated+40)
	}

	// walk reads every page of query and returns the values of field, the
	// pages' totalResults, and the LDAP searches beyond one per page.
	walk := func(query, field string) ([]string, int, float64) {
		t.Helper()
		var got []string
		var searches float64
		pages, tot := 0, 0
		for start := 1; ; start += 100 {
			before := ldapSearches(t, e)
			r := e.must(200, "GET", fmt.Sprintf("/Users?%s&startIndex=%d&count=100", query, start), c, nil)
			searches += ldapSearches(t, e) - before
			pages++
			tot = num(r.body, "totalResults")
			n := num(r.body, "itemsPerPage")
			for i := range n {
				got = append(got, str(r.body, fmt.Sprintf("Resources[%d].%s", i, field)))
			}
			if n < 100 {
				break
			}
		}
		return got, tot, searches - float64(pages)
	}

	ids, tot, extra := walk("attributes=userName", "id")
	if len(ids) != total || tot != total {
		t.Fatalf("paged through %d users (totalResults %d), want %d", len(ids), tot, total)
	}
	if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Fatal("pages are not in id order without duplicates")
	}
	if extra != 0 {
		t.Errorf("%v LDAP searches beyond one per page, want 0", extra)
	}
	again, _, extra := walk("attributes=userName", "id")
	if !slices.Equal(again, ids) || extra != 0 {
		t.Errorf("walking again: same pages %v, %v searches beyond one per page, want 0", slices.Equal(again, ids), extra)
	}

	names, _, _ := walk("attributes=userName&sortBy=userName&sortOrder=descending", "userName")
	if len(names) != total || !slices.IsSortedFunc(names, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Fatalf("userName descending: %d names, sorted %v", len(names), slices.IsSortedFunc(names, func(a, b string) int { return strings.Compare(b, a) }))
	}

	r := e.must(200, "GET", fmt.Sprintf("/Users?startIndex=%d&count=10", total+1), c, nil)
	if str(r.body, "Resources") != "[]" || num(r.body, "totalResults") != total {
		t.Fatalf("past the end: %s", r.raw)
	}
	r = e.must(200, "GET", fmt.Sprintf("/Users?startIndex=%d&count=10&attributes=userName", total), c, nil)
	if num(r.body, "itemsPerPage") != 1 || str(r.body, "Resources[0].id") != ids[total-1] {
		t.Fatalf("the last user alone: %s", r.raw)
	}

	// A new user shows in the next walk: the directory changed.
	e.must(201, "POST", "/Users", c, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "paging-newcomer"})
	waitFor(t, 3*time.Second, "the new user in the listing", func() (bool, string) {
		got, tot, _ := walk("attributes=userName", "userName")
		return tot == total+1 && len(got) == total+1 && slices.Contains(got, "paging-newcomer"), fmt.Sprint(tot)
	})
	total++

	directors := num(e.must(200, "GET", "/Users?count=0&filter="+q(`title eq "Director"`), c, nil).body, "totalResults")
	if directors == 0 {
		t.Fatal("no directors among the generated users")
	}
	addACI := func(aci string) {
		t.Helper()
		if err := e.ldap.LDAPModify(t.Context(), "dn: ou=People,dc=example,dc=com\nchangetype: modify\nadd: aci\naci: "+aci+"\n"); err != nil {
			t.Fatal(err)
		}
	}

	// Hide the directors' titles only: every user is still visible alike,
	// so pages stay cheap, but the title is decided user by user.
	addACI(`(targetfilter="(title=Director)")(targetattr="title")(version 3.0; acl "hide director titles"; deny (read,search,compare) userdn="ldap:///anyone";)`)
	waitFor(t, 3*e.cfg.LDAP.RefreshInterval+2*time.Second, "the title ACI", func() (bool, string) {
		n := num(e.must(200, "GET", "/Users?count=0&filter="+q(`title eq "Director"`), c, nil).body, "totalResults")
		return n == 0, fmt.Sprint(n)
	})
	titles, tot, extra := walk("attributes=userName,title", "title")
	if len(titles) != total || tot != total || slices.Contains(titles, "Director") || !slices.Contains(titles, "Manager") {
		t.Fatalf("with directors' titles hidden: %d users (totalResults %d), want %d, no director's title", len(titles), tot, total)
	}
	if extra > 1 {
		t.Errorf("%v LDAP searches beyond one per page with an ACI on one attribute, want at most 1", extra)
	}

	// Hide the directors: the ACIs now tell users apart.
	addACI(`(targetfilter="(title=Director)")(targetattr="*")(version 3.0; acl "hide directors"; deny (read,search,compare) userdn="ldap:///anyone";)`)
	waitFor(t, 3*e.cfg.LDAP.RefreshInterval+2*time.Second, "the new ACI", func() (bool, string) {
		n := num(e.must(200, "GET", "/Users?count=0", c, nil).body, "totalResults")
		return n == total-directors, fmt.Sprint(n)
	})
	visible, tot, extra := walk("attributes=userName,title", "title")
	if len(visible) != total-directors || tot != total-directors || slices.Contains(visible, "Director") {
		t.Fatalf("with directors hidden: %d users (totalResults %d), want %d without directors", len(visible), tot, total-directors)
	}
	// The ACI is compiled into the listing's filter (pushdown): the
	// directory still cuts the pages.
	if extra > 1 {
		t.Errorf("%v LDAP searches beyond one per page with an entry-dependent ACI the directory can apply, want at most 1", extra)
	}
}
