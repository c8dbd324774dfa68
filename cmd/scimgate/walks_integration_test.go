package main

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// pagesServed reads how many list pages the gateway served, by how
// (scimgate_list_pages_total).
func pagesServed(t *testing.T, e *testEnv) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, l := range metricLines(e.scrape(), "scimgate_list_pages_total") {
		how := l[strings.Index(l, `"`)+1 : strings.LastIndex(l, `"`)]
		n, err := strconv.Atoi(l[strings.LastIndexByte(l, ' ')+1:])
		if err != nil {
			t.Fatalf("metric line %q: %v", l, err)
		}
		out[how] = n
	}
	return out
}

// TestWalks: a client paging on through a listing by startIndex is served
// each page after the first from the list slapd sorted for the walk's
// first page (sssvlv keeps it on the walk's connection); by cursor, from
// an unsorted paged search in slapd's own order, the first page too; so a
// page costs its own entries whatever the directory's size. What a walk
// returns: the users that matched when it began, once each, in its order,
// each as it is now: a user deleted or changed so that the filter no
// longer matches before its page is left out; one added meanwhile waits
// for the next index walk (whose totalResults stays the walk's) and comes
// last in a cursor walk. The gateway's own write ends the index walks (its
// next listing shows the write) and not the cursor walks; a walk whose
// connection dies (slapd restarted) goes on after its last id; a cursor
// walk goes on through two gateways in turn; and limits.walks and
// limits.cursor_walks -1 keep none (cursor pages are then in id order).
func TestWalks(t *testing.T) {
	const users, count = 600, 100
	quiet := func(c *Config) { c.Log.Level = "info"; withMetrics(t)(c) }
	e := startEnvWith(t, quiet, writeUsersLDIF(t, users))
	c := "connector"
	served := func(env ...*testEnv) map[string]int {
		from := e
		if len(env) > 0 {
			from = env[0]
		}
		return pagesServed(t, from)
	}
	since := func(before map[string]int) map[string]int {
		out := map[string]int{}
		for k, v := range served() {
			if d := v - before[k]; d != 0 {
				out[k] = d
			}
		}
		return out
	}
	ids := func(r response) []string {
		var out []string
		for i := range num(r.body, "itemsPerPage") {
			out = append(out, str(r.body, fmt.Sprintf("Resources[%d].id", i)))
		}
		return out
	}
	const filter = `active eq true`
	// byIndex walks query by startIndex; between runs before each page
	// after the first. It returns the ids and every page's totalResults.
	byIndex := func(query string, between func(page int)) (got []string, totals []int) {
		t.Helper()
		for start, page := 1, 1; ; start, page = start+count, page+1 {
			if page > 1 && between != nil {
				between(page)
			}
			r := e.must(200, "GET", fmt.Sprintf("/Users?%s&attributes=userName&startIndex=%d&count=%d", query, start, count), c, nil)
			got = append(got, ids(r)...)
			totals = append(totals, num(r.body, "totalResults"))
			if start+count > num(r.body, "totalResults") {
				return got, totals
			}
		}
	}
	byCursor := func(query string, between func(page int)) (got []string, totals []int) {
		t.Helper()
		cursor := ""
		for page := 1; ; page++ {
			if page > 1 && between != nil {
				between(page)
			}
			r := e.must(200, "GET", fmt.Sprintf("/Users?%s&attributes=userName&count=%d&cursor=%s", query, count, url.QueryEscape(cursor)), c, nil)
			got = append(got, ids(r)...)
			totals = append(totals, num(r.body, "totalResults"))
			if cursor = str(r.body, "nextCursor"); cursor == "" {
				return got, totals
			}
		}
	}
	q := "filter=" + url.QueryEscape(filter)

	for _, w := range []struct {
		name string
		walk func(string, func(int)) ([]string, []int)
	}{{"startIndex", byIndex}, {"cursor", byCursor}} {
		t.Run(w.name, func(t *testing.T) {
			cursor := w.name == "cursor"
			indexRef, _ := byIndex(q, nil)
			before, held := served(), metricValue(e.scrape(), "scimgate_list_walks")
			ref, totals := w.walk(q, nil)
			pages := len(totals)
			// By cursor: in the directory's own order, uncounted.
			if cursor {
				if !slices.Equal(slices.Sorted(slices.Values(ref)), indexRef) || slices.ContainsFunc(totals, func(n int) bool { return n != 0 }) {
					t.Fatalf("a quiet cursor walk: %d users, totalResults %v; want the %d of an index walk, uncounted", len(ref), totals, len(indexRef))
				}
			} else if !slices.IsSorted(ref) || len(slices.Compact(slices.Clone(ref))) != len(ref) || len(ref) != totals[0] || len(ref) < users*8/10 {
				t.Fatalf("a quiet walk: %d users in id order %v, totalResults %v", len(ref), slices.IsSorted(ref), totals)
			}
			firstHow := map[bool]string{false: "sorted", true: "paged"}[cursor]
			if got := since(before); got[firstHow] != 1 || got["walk"] != pages-1 {
				t.Errorf("a quiet walk of %d pages was served %v, want 1 %s and the rest from the walk", pages, got, firstHow)
			}
			// The walk ended with the listing: no connection stays held
			// for it; a first page holds one for the next.
			if v := metricValue(e.scrape(), "scimgate_list_walks"); v != held {
				t.Errorf("scimgate_list_walks after a finished walk: %q, want %q as before it", v, held)
			}
			if first := e.must(200, "GET", "/Users?"+q+"&attributes=userName&count="+strconv.Itoa(count), c, nil); num(first.body, "itemsPerPage") != count {
				t.Fatalf("a first page: %s", first.raw)
			}
			if n, _ := strconv.Atoi(held); metricValue(e.scrape(), "scimgate_list_walks") != strconv.Itoa(n+1) {
				t.Errorf("scimgate_list_walks after a first page: %q, want %d", metricValue(e.scrape(), "scimgate_list_walks"), n+1)
			}

			// Changes in the directory, not through the gateway, during
			// the next walk: before page 3, a user of page 4 is
			// deactivated (the filter no longer matches), one of page 5
			// deleted, and a user added.
			gone := []string{ref[3*count+10], ref[4*count+20]}
			uidOf := func(id string) string {
				return str(e.must(200, "GET", "/Users/"+id, c, nil).body, "userName")
			}
			deactivate, del := uidOf(gone[0]), uidOf(gone[1])
			before = served()
			got, totals := w.walk(q, func(page int) {
				if page != 3 {
					return
				}
				mod := fmt.Sprintf("dn: uid=%s,ou=People,dc=example,dc=com\nchangetype: modify\nreplace: scimAccountActive\nscimAccountActive: FALSE\n\n", deactivate)
				mod += fmt.Sprintf("dn: uid=%s,ou=People,dc=example,dc=com\nchangetype: delete\n\n", del)
				mod += fmt.Sprintf("dn: uid=walk-added-%s,ou=People,dc=example,dc=com\nchangetype: add\nobjectClass: inetOrgPerson\nobjectClass: scimResource\nobjectClass: scimAccount\ncn: x\nsn: x\nuid: walk-added-%s\nscimAccountActive: TRUE\n", w.name, w.name)
				if err := e.ldap.LDAPModify(t.Context(), mod); err != nil {
					t.Fatal(err)
				}
			})
			want := slices.DeleteFunc(slices.Clone(ref), func(id string) bool { return slices.Contains(gone, id) })
			if cursor && len(got) == len(want)+1 {
				// slapd reads each page of a walk in its own order as the
				// directory is then: the user added comes last.
				added := e.must(200, "GET", "/Users?filter="+url.QueryEscape(`userName eq "walk-added-cursor"`), c, nil)
				if last := got[len(got)-1]; last != str(added.body, "Resources[0].id") {
					t.Errorf("the cursor walk during changes ended with %s, not the user added", last)
				}
				got = got[:len(want)]
			}
			if !slices.Equal(got, want) {
				t.Errorf("the walk during changes returned %d users, want the %d that matched throughout, once each in order", len(got), len(want))
			}
			if slices.ContainsFunc(totals, func(n int) bool { return n != totals[0] }) && w.name == "startIndex" {
				t.Errorf("totalResults changed during an index walk: %v", totals)
			}
			if got := since(before); got[firstHow] != 1 || got["walk"] != len(totals)-1 {
				t.Errorf("the walk during changes was served %v", got)
			}
			after, _ := w.walk(q, nil)
			if len(after) != len(want)+1 || slices.Contains(after, gone[0]) || slices.Contains(after, gone[1]) {
				t.Errorf("the next walk has %d users, want %d: the added one and not the changed ones", len(after), len(want)+1)
			}

			// The gateway's own write ends the walk: the next page is
			// sorted again and the listing shows the write.
			before = served()
			total := num(e.must(200, "GET", "/Users?"+q+"&count=0", c, nil).body, "totalResults")
			firstPage := "/Users?" + q + "&attributes=userName&count=" + strconv.Itoa(count)
			if cursor {
				firstPage += "&cursor="
			}
			first := e.must(200, "GET", firstPage, c, nil)
			e.must(201, "POST", "/Users", c, map[string]any{
				"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "walk-write-" + w.name})
			next := fmt.Sprintf("/Users?%s&attributes=userName&count=%d&startIndex=%d", q, count, count+1)
			if w.name == "cursor" {
				next = fmt.Sprintf("/Users?%s&attributes=userName&count=%d&cursor=%s", q, count, url.QueryEscape(str(first.body, "nextCursor")))
			}
			r := e.must(200, "GET", next, c, nil)
			if got := since(before); !cursor && got["walk"] != 0 {
				t.Errorf("after the gateway's own write, a page came from the walk begun before it: %v", got)
			} else if cursor && got["walk"] != 1 {
				// A walk in the directory's order reads each page as the
				// directory is then, and goes on.
				t.Errorf("after the gateway's own write, a cursor walk did not go on: %v", got)
			}
			if w.name == "startIndex" && num(r.body, "totalResults") != total+1 {
				t.Errorf("after the gateway's own create: totalResults %d, want %d", num(r.body, "totalResults"), total+1)
			}
		})
	}

	t.Run("restart", func(t *testing.T) {
		// slapd restarts in the middle of an index walk: the walk's
		// connection is gone, and the walk goes on from its last id in a
		// new one, one sort later; the client sees the same pages.
		ref, _ := byIndex(q, nil)
		before := served()
		got, totals := byIndex(q, func(page int) {
			if page == 3 {
				if err := e.ldap.Restart(t.Context()); err != nil {
					t.Fatal(err)
				}
				e.waitReady()
			}
		})
		if !slices.Equal(got, ref) || slices.ContainsFunc(totals, func(n int) bool { return n != len(ref) }) {
			t.Errorf("a walk across a restart of slapd: %d users, totals %v, want the %d of a quiet walk", len(got), totals, len(ref))
		}
		if s := since(before); s["sorted"] != 2 || s["walk"] != len(totals)-2 {
			t.Errorf("a walk across a restart of slapd was served %v, want 2 sorted (the first page, the page after the restart)", s)
		}
		// The same by cursor: the page after the restart finds where the
		// walk was (a seek), and the walk goes on from there.
		ref, _ = byCursor(q, nil)
		before = served()
		got, totals = byCursor(q, func(page int) {
			if page == 3 {
				if err := e.ldap.Restart(t.Context()); err != nil {
					t.Fatal(err)
				}
				e.waitReady()
			}
		})
		if !slices.Equal(got, ref) {
			t.Errorf("a cursor walk across a restart of slapd: %d users, want the %d of a quiet walk in the same order", len(got), len(ref))
		}
		if s := since(before); s["paged"] != 2 || s["walk"] != len(totals)-2 {
			t.Errorf("a cursor walk across a restart of slapd was served %v, want 2 paged (the first page, the page after the restart)", s)
		}
	})

	t.Run("off", func(t *testing.T) {
		off := startGateway(t, e.ldap.URL, "dc=example,dc=com", func(c *Config) {
			c.Limits.Walks, c.Limits.CursorWalks = -1, -1
			quiet(c)
		})
		var got []string
		for start := 1; start <= 3*count; start += count {
			got = append(got, ids(off.must(200, "GET", fmt.Sprintf("/Users?%s&attributes=userName&startIndex=%d&count=%d", q, start, count), c, nil))...)
		}
		if s := served(off); len(got) != 3*count || s["walk"] != 0 {
			t.Errorf("limits.walks -1: three pages of %d users served %v, want none from a walk", len(got), s)
		}
		// By cursor, a gateway that keeps no cursor walks pages in id order
		// (the listing sorted anew for every page), and cannot go on with
		// a walk in the directory's order.
		var sorted []string
		cursor := ""
		for {
			r := off.must(200, "GET", fmt.Sprintf("/Users?%s&attributes=userName&count=%d&cursor=%s", q, count, url.QueryEscape(cursor)), c, nil)
			sorted = append(sorted, ids(r)...)
			if cursor = str(r.body, "nextCursor"); cursor == "" {
				break
			}
		}
		ref, _ := byCursor(q, nil)
		if !slices.IsSorted(sorted) || !slices.Equal(sorted, slices.Sorted(slices.Values(ref))) {
			t.Errorf("limits.walks -1: a cursor walk of %d users (in id order %v), want the %d of a walk", len(sorted), slices.IsSorted(sorted), len(ref))
		}
		first := e.must(200, "GET", fmt.Sprintf("/Users?%s&attributes=userName&count=%d&cursor=", q, count), c, nil)
		if r := off.must(400, "GET", fmt.Sprintf("/Users?%s&attributes=userName&count=%d&cursor=%s", q, count, url.QueryEscape(str(first.body, "nextCursor"))), c, nil); str(r.body, "scimType") != "invalidCursor" {
			t.Errorf("limits.walks -1: a cursor in the directory's order: %s", r.raw)
		}
	})

	t.Run("two gateways", func(t *testing.T) {
		// A cursor walk that goes back and forth between two gateways:
		// neither has the walk where the cursor is, and each finds it for
		// every page it serves (a seek: the ids before it, 250 at a time
		// for pages this small, then what follows from the ids read past
		// it and the directory's next page): the same users in the same
		// order, full pages, every page a seek.
		const small = 7
		other := startGateway(t, e.ldap.URL, "dc=example,dc=com", func(c *Config) { quiet(c) })
		walk := func(gateways ...*testEnv) (got []string) {
			cursor := ""
			for page := 0; ; page++ {
				g := gateways[page%len(gateways)]
				r := g.must(200, "GET", fmt.Sprintf("/Users?%s&attributes=userName&count=%d&cursor=%s", q, small, url.QueryEscape(cursor)), c, nil)
				got = append(got, ids(r)...)
				if cursor = str(r.body, "nextCursor"); cursor == "" {
					return got
				}
				if n := num(r.body, "itemsPerPage"); n != small {
					t.Errorf("page %d of a cursor walk has %d users, want %d", page+1, n, small)
				}
			}
		}
		ref := walk(e)
		before, otherBefore := served(), served(other)
		mixed := walk(e, other)
		if !slices.Equal(mixed, ref) || len(ref) < 250 {
			t.Errorf("a cursor walk across two gateways: %d users, want the %d of a walk on one, in the same order", len(mixed), len(ref))
		}
		pages := (len(ref) + small - 1) / small
		if got, gotOther := since(before), served(other)["paged"]-otherBefore["paged"]; got["walk"] != 0 || got["paged"]+gotOther < pages {
			t.Errorf("a cursor walk of %d pages across two gateways was served %v here and %d paged there, want every page paged (a seek)", pages, got, gotOther)
		}
	})
}
