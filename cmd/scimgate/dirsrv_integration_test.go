package main

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/dirsrv"
	"github.com/scimgate/scimgate/ldapbackend/dirsrv/dirsrvtest"
)

// TestOn389 runs the gateway against 389 Directory Server with
// ldap.directory: 389: scimgate's ACIs in scimgateAci (oauthscope
// included), entryUUID ids, entryusn versions, 389's memberOf, sorting
// without a named matching rule, If-Match checked before the write, and an
// ACI change picked up live.
func TestOn389(t *testing.T) {
	d := dirsrvtest.StartT(t, dirsrv.Options{SeedLDIF: []string{"../../testdata/demo/directory-389.ldif"}})
	e := startGateway(t, d.URL, d.Suffix, func(c *Config) {
		c.LDAP.Directory = "389"
		c.LDAP.RefreshInterval = 200 * time.Millisecond
	})
	c := "connector"

	// The scope table, as on OpenLDAP.
	alice := e.firstID("/Users", `userName eq "alice"`, "reporting")
	r := e.must(200, "GET", "/Users/"+alice, "reporting", nil)
	if str(r.body, "userName") != "alice" || r.header.Get("ETag") == "" {
		t.Fatalf("alice on 389: %s", r.raw)
	}
	e.must(403, "PATCH", "/Users/"+alice, "reporting", patchOp("replace", "title", "x"))
	if n := num(e.must(200, "GET", "/Users", "none", nil).body, "totalResults"); n != 0 {
		t.Fatalf("a token without scopes sees %d users", n)
	}

	// Create, group membership (389's memberOf), rename, delete.
	u := e.must(201, "POST", "/Users", c, map[string]any{"schemas": []string{userURN}, "userName": "ds-user",
		"name": map[string]any{"givenName": "Dee", "familyName": "Ess"}})
	uid := str(u.body, "id")
	g := e.must(201, "POST", "/Groups", c, map[string]any{"schemas": []string{groupURN}, "displayName": "ds-group"})
	gid := str(g.body, "id")
	e.must(200, "PATCH", "/Groups/"+gid, c, patchOp("add", "members", []any{map[string]any{"value": uid}}))
	r = e.must(200, "GET", "/Users/"+uid, c, nil)
	if str(r.body, "groups[0].value") != gid {
		t.Fatalf("groups from 389's memberOf: %s", r.raw)
	}
	e.must(200, "PATCH", "/Groups/"+gid, c, patchOp("replace", "displayName", "ds-group-renamed"))
	if got := str(e.must(200, "GET", "/Groups/"+gid, c, nil).body, "displayName"); got != "ds-group-renamed" {
		t.Fatalf("rename: %q", got)
	}

	// Versions from entryusn; If-Match refuses a stale version.
	tag := e.must(200, "GET", "/Users/"+uid, c, nil).header.Get("ETag")
	r = e.must(200, "PATCH", "/Users/"+uid, c, patchOp("replace", "title", "v1"), "If-Match", tag)
	if r.header.Get("ETag") == tag {
		t.Fatal("the version did not change")
	}
	e.must(412, "PATCH", "/Users/"+uid, c, patchOp("replace", "title", "stale"), "If-Match", tag)

	// Sorting, both ways, by the directory's own ordering rule.
	asc := e.must(200, "GET", "/Users?sortBy=userName&count=3&attributes=userName", c, nil)
	desc := e.must(200, "GET", "/Users?sortBy=userName&sortOrder=descending&count=3&attributes=userName", c, nil)
	if str(asc.body, "Resources[0].userName") >= str(asc.body, "Resources[1].userName") ||
		str(desc.body, "Resources[0].userName") <= str(desc.body, "Resources[1].userName") {
		t.Fatalf("sort on 389: %s / %s", asc.raw, desc.raw)
	}

	// A scimgateAci change takes effect live.
	if err := d.LDAPModify(t.Context(), "dn: ou=Groups,dc=example,dc=com\nchangetype: modify\nadd: scimgateAci\nscimgateAci: (targetattr=\"*\")(version 3.0; acl \"all read\"; allow (read,search) userdn=\"ldap:///all\";)\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for num(e.must(200, "GET", "/Groups", "none", nil).body, "totalResults") < 6 {
		if time.Now().After(deadline) {
			t.Fatal("the new scimgateAci did not apply within 3 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.must(204, "DELETE", "/Users/"+uid, c, nil)
	e.must(204, "DELETE", "/Groups/"+gid, c, nil)
	e.must(404, "GET", "/Users/"+uid, c, nil)
}

// TestCursorOn389: a cursor walk on 389 DS serves every user once, in
// 389's own order.
func TestCursorOn389(t *testing.T) {
	d := dirsrvtest.StartT(t, dirsrv.Options{SeedLDIF: []string{"../../testdata/demo/directory-389.ldif"}})
	e := startGateway(t, d.URL, d.Suffix, func(c *Config) { c.LDAP.Directory = "389" })
	total := num(e.must(200, "GET", "/Users?count=0", "connector", nil).body, "totalResults")
	var ids []string
	cursor := ""
	for range 100 {
		r := e.must(200, "GET", "/Users?attributes=userName&count=9&cursor="+cursor, "connector", nil)
		for i := range num(r.body, "itemsPerPage") {
			ids = append(ids, str(r.body, fmt.Sprintf("Resources[%d].id", i)))
		}
		if cursor = str(r.body, "nextCursor"); cursor == "" {
			break
		}
	}
	if len(ids) != total || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != total {
		t.Fatalf("cursor walk on 389: %d ids, want %d distinct", len(ids), total)
	}
}

// TestACILookthroughOn389: with the service account's look-through limit
// far below the directory's size, the ACIs still load on 389 DS, because
// the instance indexes scimgateAci for presence; without that index the
// reload fails and the log says what to change.
func TestACILookthroughOn389(t *testing.T) {
	d := dirsrvtest.StartT(t, dirsrv.Options{SeedLDIF: []string{"../../testdata/demo/directory-389.ldif"}})
	admin, err := d.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	limit := ldap.NewModifyRequest(serviceDN, nil)
	limit.Replace("nsLookThroughLimit", []string{"10"})
	limit.Replace("nsPagedLookThroughLimit", []string{"10"})
	if err := admin.Modify(limit); err != nil {
		t.Fatal(err)
	}
	e := startGateway(t, d.URL, d.Suffix, func(c *Config) {
		c.LDAP.Directory = "389"
		c.LDAP.RefreshInterval = 200 * time.Millisecond
	})
	if n := num(e.must(200, "GET", "/Users?filter="+q(`userName eq "alice"`), "reporting", nil).body, "totalResults"); n != 1 {
		t.Fatalf("with a look-through limit of 10 and the index: %d users named alice", n)
	}
	// Without the index, the next reload meets the limit.
	if err := admin.Del(ldap.NewDelRequest("cn=scimgateAci,cn=index,cn="+dirsrv.BackendName+",cn=ldbm database,cn=plugins,cn=config", nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the look-through advice in the log", func() (bool, string) {
		return strings.Contains(e.logs.String(), "index scimgateAci for presence"), tail(e.logs.String(), 500)
	})
}

// TestWalksOn389: on 389 DS, which has no Virtual List View without an
// index per search, a listing far larger than limits.lookthrough is paged
// through by startIndex, with a sorted Simple Paged Results search held
// for the walk, each page after the first served from the list 389 sorted
// for it: every user comes once, in id order, with the count of the
// walk's start as totalResults. A walk may also begin further on, up to
// limits.lookthrough deep. By cursor, an unsorted paged search: every user
// once, in 389's own order, also through two gateways.
func TestWalksOn389(t *testing.T) {
	const users, count = 400, 50
	d := dirsrvtest.StartT(t, dirsrv.Options{SeedLDIF: []string{"../../testdata/demo/directory-389.ldif", writeUsersLDIF(t, users)}})
	e := startGateway(t, d.URL, d.Suffix, func(c *Config) {
		c.LDAP.Directory = "389"
		c.Log.Level = "info"
		c.Limits.DefaultPageSize, c.Limits.MaxPageSize, c.Limits.Lookthrough = count, count, 2*count
		withMetrics(t)(c)
	})
	c := "connector"
	ids := func(r response) []string {
		var out []string
		for i := range num(r.body, "itemsPerPage") {
			out = append(out, str(r.body, fmt.Sprintf("Resources[%d].id", i)))
		}
		return out
	}
	walkServed := func() int {
		n, _ := strconv.Atoi(metricValue(e.scrape(), `scimgate_list_pages_total{served="walk"}`))
		return n
	}
	var byIndex []string
	total := 0
	before := walkServed()
	for start := 1; ; start += count {
		r := e.must(200, "GET", fmt.Sprintf("/Users?attributes=userName&startIndex=%d&count=%d", start, count), c, nil)
		byIndex = append(byIndex, ids(r)...)
		if total = num(r.body, "totalResults"); start+count > total {
			break
		}
	}
	pages := (total + count - 1) / count
	if total < users || len(byIndex) != total || !slices.IsSorted(byIndex) || len(slices.Compact(slices.Clone(byIndex))) != total {
		t.Fatalf("startIndex walk on 389: %d ids (sorted %v), totalResults %d, want %d distinct users", len(byIndex), slices.IsSorted(byIndex), total, total)
	}
	if n := walkServed() - before; n != pages-1 {
		t.Errorf("startIndex walk of %d pages: %d served from the walk, want %d", pages, n, pages-1)
	}
	// By cursor: 389's own order (unsorted paged results), uncounted; then
	// the same walk going back and forth with another gateway, each
	// finding where the walk is for every page it serves.
	byCursor := func(other *testEnv) []string {
		var got []string
		cursor := ""
		for page := 0; page < 100; page++ {
			g := e
			if other != nil && page%2 == 1 {
				g = other
			}
			r := g.must(200, "GET", fmt.Sprintf("/Users?attributes=userName&count=%d&cursor=%s", count, cursor), c, nil)
			got = append(got, ids(r)...)
			if _, has := r.body["totalResults"]; has {
				t.Fatalf("cursor walk on 389: a page has totalResults: %s", tail(r.raw, 300))
			}
			if cursor = str(r.body, "nextCursor"); cursor == "" {
				break
			}
		}
		return got
	}
	before = walkServed()
	ref := byCursor(nil)
	if !slices.Equal(slices.Sorted(slices.Values(ref)), byIndex) {
		t.Errorf("cursor walk on 389: %d ids, want the %d of the startIndex walk, once each", len(ref), len(byIndex))
	}
	if n := walkServed() - before; n != pages-1 {
		t.Errorf("cursor walk of %d pages: %d served from the walk, want %d", pages, n, pages-1)
	}
	other := startGateway(t, d.URL, d.Suffix, func(c *Config) {
		c.LDAP.Directory = "389"
		c.Limits.DefaultPageSize, c.Limits.MaxPageSize, c.Limits.Lookthrough = count, count, 2*count
	})
	if got := byCursor(other); !slices.Equal(got, ref) {
		t.Errorf("cursor walk on 389 across two gateways: %d ids, want the %d of a walk on one, in the same order", len(got), len(ref))
	}
	// A page further on, no walk to go on with: a walk begins there,
	// reaching it in pages of DNs alone, up to limits.lookthrough deep.
	mid := e.must(200, "GET", fmt.Sprintf("/Users?attributes=userName&startIndex=%d&count=%d", 2*count+1, count), c, nil)
	if got := ids(mid); !slices.Equal(got, byIndex[2*count:3*count]) {
		t.Errorf("a page further on on 389: %d ids, not the walk's", len(got))
	}
	next := e.must(200, "GET", fmt.Sprintf("/Users?attributes=userName&startIndex=%d&count=%d", 3*count+1, count), c, nil)
	if got := ids(next); !slices.Equal(got, byIndex[3*count:4*count]) {
		t.Errorf("the page after it on 389: %d ids, not the walk's", len(got))
	}
}

// TestIfMatchAtomicOn389: 389 DS has no Assertion control, so the gateway
// makes If-Match atomic by exchanging the entry's write token (scimVersion)
// in the modify itself. Eight clients through two gateways each add one to
// a counter four times, reading it and writing it back with If-Match and
// trying again on 412: no increment is lost, as none is on OpenLDAP.
func TestIfMatchAtomicOn389(t *testing.T) {
	d := dirsrvtest.StartT(t, dirsrv.Options{SeedLDIF: []string{"../../testdata/demo/directory-389.ldif"}})
	adjust := func(c *Config) {
		c.LDAP.Directory = "389"
		c.Log.Level = "info"
	}
	e := startGateway(t, d.URL, d.Suffix, adjust)
	e2 := startGateway(t, d.URL, d.Suffix, adjust)
	c := "connector"
	id := str(e.must(201, "POST", "/Users", c, map[string]any{"schemas": []string{userURN}, "userName": "counter", "title": "0"}).body, "id")
	const clients, each = 8, 4
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env := e
			if i%2 == 1 {
				env = e2
			}
			for done := 0; done < each; {
				g := env.do("GET", "/Users/"+id+"?attributes=title", c, nil)
				n, err := strconv.Atoi(str(g.body, "title"))
				if g.status != 200 || err != nil {
					t.Errorf("read the counter: %d %s", g.status, g.raw)
					return
				}
				p := env.do("PATCH", "/Users/"+id, c, patchOp("replace", "title", strconv.Itoa(n+1)), "If-Match", g.header.Get("ETag"))
				mu.Lock()
				codes[p.status]++
				mu.Unlock()
				switch p.status {
				case 200:
					done++
				case 412:
				default:
					t.Errorf("increment: %d %s", p.status, p.raw)
					return
				}
			}
		}()
	}
	wg.Wait()
	got := str(e.must(200, "GET", "/Users/"+id, c, nil).body, "title")
	if got != strconv.Itoa(clients*each) {
		t.Errorf("the counter is %s after %d increments (statuses %v): updates were lost", got, clients*each, codes)
	}
	t.Logf("statuses %v", codes)
}

// TestBrowsingIndexesOn389: with the browsing indexes "scimgate
// vlv-indexes" prints added and built, and ldap.browsing_indexes set, 389
// DS cuts every page of a type's whole listing by startIndex, and counts
// it, from the index: no walk is held, a page anywhere in the listing is
// served at once by a gateway that served none before it (no sticky
// sessions needed), every user comes once in id order with the exact
// totalResults, and a user added shows at once. A filtered listing, which
// no index covers, is still paged by a walk.
func TestBrowsingIndexesOn389(t *testing.T) {
	const users, count = 400, 50
	d := dirsrvtest.StartT(t, dirsrv.Options{SeedLDIF: []string{"../../testdata/demo/directory-389.ldif", writeUsersLDIF(t, users)}})
	gateway := func(browse bool) *testEnv {
		return startGateway(t, d.URL, d.Suffix, func(c *Config) {
			c.LDAP.Directory, c.LDAP.BrowsingIndexes = "389", browse
			c.Log.Level = "info"
			c.Limits.DefaultPageSize, c.Limits.MaxPageSize, c.Limits.Lookthrough = count, count, 2*count
			withMetrics(t)(c)
		})
	}
	// Without the indexes, a gateway told they are there finds that
	// they are not, says so, and pages by walks.
	missing := gateway(true)
	waitFor(t, 5*time.Second, "the warning of a listing without its index", func() (bool, string) {
		return strings.Contains(missing.logs.String(), "no built browsing index"), tail(missing.logs.String(), 500)
	})
	if r := missing.must(200, "GET", fmt.Sprintf("/Users?attributes=userName&count=%d", count), "connector", nil); num(r.body, "itemsPerPage") != count ||
		metricValue(missing.scrape(), `scimgate_list_pages_total{served="indexed"}`) != "" {
		t.Errorf("without the indexes: %d users, indexed pages %q", num(r.body, "itemsPerPage"), metricValue(missing.scrape(), `scimgate_list_pages_total{served="indexed"}`))
	}
	if err := addBrowsingIndexes(t.Context(), d, missing.cfg); err != nil {
		t.Fatal(err)
	}
	e, other := gateway(true), gateway(true)
	for _, g := range []*testEnv{e, other} {
		waitFor(t, 5*time.Second, "every listing has its browsing index", func() (bool, string) {
			return strings.Contains(g.logs.String(), "every listing has its browsing index"), tail(g.logs.String(), 500)
		})
	}
	c := "connector"
	ids := func(r response) (out []string) {
		for i := range num(r.body, "itemsPerPage") {
			out = append(out, str(r.body, fmt.Sprintf("Resources[%d].id", i)))
		}
		return out
	}
	indexed := func(g *testEnv) int {
		n, _ := strconv.Atoi(metricValue(g.scrape(), `scimgate_list_pages_total{served="indexed"}`))
		return n
	}
	var all []string
	total := 0
	for start, i := 1, 0; ; start, i = start+count, i+1 {
		g := []*testEnv{e, other}[i%2] // no gateway sees two pages in a row
		r := g.must(200, "GET", fmt.Sprintf("/Users?attributes=userName&startIndex=%d&count=%d", start, count), c, nil)
		all = append(all, ids(r)...)
		if total = num(r.body, "totalResults"); start+count > total {
			break
		}
	}
	if total < users || len(all) != total || !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != total {
		t.Fatalf("a walk through two gateways by the index: %d ids (in id order %v), totalResults %d, want %d distinct", len(all), slices.IsSorted(all), total, total)
	}
	pages := (total + count - 1) / count
	if n := indexed(e) + indexed(other); n != pages {
		t.Errorf("%d pages, %d served from the index", pages, n)
	}
	for _, g := range []*testEnv{e, other} {
		if v := metricValue(g.scrape(), "scimgate_list_walks"); v != "0" {
			t.Errorf("walks held after a walk by the index: %s", v)
		}
	}
	// A page deep in the listing, then the count alone, after a user is
	// added: both from the index, both showing the user.
	e.must(201, "POST", "/Users", c, map[string]any{"schemas": []string{userURN}, "userName": "browsing-added"})
	deep := other.must(200, "GET", fmt.Sprintf("/Users?attributes=userName&startIndex=%d&count=%d", total-count+2, count), c, nil)
	if num(deep.body, "totalResults") != total+1 || num(deep.body, "itemsPerPage") != count {
		t.Errorf("a deep page after an add: totalResults %d (want %d), %d users", num(deep.body, "totalResults"), total+1, num(deep.body, "itemsPerPage"))
	}
	if n := num(other.must(200, "GET", "/Users?count=0", c, nil).body, "totalResults"); n != total+1 {
		t.Errorf("the count after an add: %d, want %d", n, total+1)
	}
	// A filtered listing has no index: it is paged by a walk.
	before := indexed(e)
	r := e.must(200, "GET", fmt.Sprintf("/Users?filter=%s&attributes=userName&count=%d", url.QueryEscape(`active eq true`), count), c, nil)
	if num(r.body, "itemsPerPage") != count || indexed(e) != before {
		t.Errorf("a filtered listing: %d users, %d pages from the index", num(r.body, "itemsPerPage"), indexed(e)-before)
	}
}
