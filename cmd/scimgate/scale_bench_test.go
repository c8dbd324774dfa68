package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// scaleSizes are the directory sizes BenchmarkListScale measures: with
// -short only the smallest; SCIMGATE_BENCH_MAX_USERS caps them (the
// million-user directory takes slapadd about a minute and slapd a few GB).
func scaleSizes(b *testing.B) []int {
	sizes := []int{10000, 100000, 1000000}
	if testing.Short() {
		return sizes[:1]
	}
	if v := os.Getenv("SCIMGATE_BENCH_MAX_USERS"); v != "" {
		limit, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("SCIMGATE_BENCH_MAX_USERS: %v", err)
		}
		var out []int
		for _, s := range sizes {
			if s <= limit {
				out = append(out, s)
			}
		}
		return out
	}
	return sizes
}

// BenchmarkListScale measures what paging through users costs as the
// directory grows, 100 users a page, with the default configuration, under
// three sets of ACIs: the demo's (the same for every entry), a targetfilter
// deny that tells entries apart (compiled into the listing's filter), and,
// in the mapped mode, a userattr grant (a manager sees her reports). For
// the first two, by startIndex and by cursor: the first page of a walk (by
// startIndex the directory sorts and counts every match; by cursor it
// pages in its own order), a page further on in a walk (from the list
// sorted for the first page; by cursor, the paged search's next page),
// whole walks, and a raw Simple Paged Results search of the same entries
// beside them; what a walk leaves in the heap. SCIMGATE_BENCH_WALK_MAX_USERS caps the
// sizes at which whole walks run (a million users: several minutes).
func BenchmarkListScale(b *testing.B) {
	const hideDirectors = `(targetfilter="(title=Director)")(targetattr="*")(version 3.0; acl "reporting does not see directors"; deny (read,search,compare) oauthscope="scim:read" and not oauthscope="scim:write";)`
	const managers = `(targetattr="*")(version 3.0; acl "managers see their reports"; allow (read,search) userattr="manager#USERDN";)`
	wholeMax := math.MaxInt
	if v := os.Getenv("SCIMGATE_BENCH_WALK_MAX_USERS"); v != "" {
		var err error
		if wholeMax, err = strconv.Atoi(v); err != nil {
			b.Fatalf("SCIMGATE_BENCH_WALK_MAX_USERS: %v", err)
		}
	}
	for _, size := range scaleSizes(b) {
		start := time.Now()
		s := startBenchServer(b, size)
		if err := s.env.ldap.LDAPModify(b.Context(), "dn: ou=People,dc=example,dc=com\nchangetype: modify\nadd: aci\naci: "+hideDirectors+"\naci: "+managers+"\n"); err != nil {
			b.Fatal(err)
		}
		// A mapped gateway on the same directory; the first generated
		// user manages the next 49.
		m := startGateway(b, s.env.ldap.URL, "dc=example,dc=com", func(c *Config) {
			c.Mapping = "required"
			c.Log.Level = "warn"
		})
		m.tokens["lead"] = m.token(s.users[0].uid, "")
		// Another gateway on the same directory, configured as the first.
		elsewhere := startGateway(b, s.env.ldap.URL, "dc=example,dc=com", benchConfig(freeAddr(b)))
		elsewhere.logs.Discard()
		b.Logf("users=%d ready in %v", size, time.Since(start).Round(time.Second))
		time.Sleep(1500 * time.Millisecond) // the ACIs become live
		raw := map[string]time.Duration{}
		for _, c := range []struct {
			name, tok, rawFilter string
		}{
			{"demo-acis", "connector", "(objectClass=inetOrgPerson)"},
			{"targetfilter", "reporting", "(&(objectClass=inetOrgPerson)(!(title=Director)))"},
		} {
			env := s.env
			pages := newPager(b, env, c.tok)
			for _, byCursor := range []bool{false, true} {
				way := map[bool]string{false: "startIndex", true: "cursor"}[byCursor]
				b.Run(fmt.Sprintf("users=%d/%s/first-page/%s", size, c.name, way), func(b *testing.B) {
					for b.Loop() {
						pages.first(byCursor)
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
				})
			}
			for _, byCursor := range []bool{false, true} {
				way := map[bool]string{false: "startIndex", true: "cursor"}[byCursor]
				b.Run(fmt.Sprintf("users=%d/%s/walk-page/%s", size, c.name, way), func(b *testing.B) {
					// One walk for the whole benchmark (b.Loop runs the
					// function once): a benchmark that began a walk for
					// each of its runs would fill limits.walks with walks
					// still protected for the clients going on with them.
					b.StopTimer()
					pages.first(byCursor)
					b.StartTimer()
					n := 0
					for b.Loop() {
						n++
						if !pages.next() {
							b.StopTimer()
							pages.first(byCursor)
							b.StartTimer()
						}
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(n), "ms/page")
				})
			}
			if c.name == "demo-acis" {
				b.Run(fmt.Sprintf("users=%d/%s/seek-page/cursor", size, c.name), func(b *testing.B) {
					// The page after half of a cursor walk, asked of a
					// gateway that holds no walk for it (no sticky
					// sessions): it reads the ids before it (a seek).
					b.StopTimer()
					pages.first(true)
					for range size / 200 {
						pages.next()
					}
					seeker := newPager(b, elsewhere, c.tok)
					b.StartTimer()
					n := 0
					for b.Loop() {
						n++
						seeker.byCursor, seeker.cursor = true, pages.cursor
						seeker.page()
					}
					b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(n), "ms/page")
				})
			}
			if c.name == "demo-acis" {
				b.Run(fmt.Sprintf("users=%d/%s/deep-page/startIndex", size, c.name), func(b *testing.B) {
					// Pages anywhere in the listing, asked of a gateway
					// that holds no walk for them (a client whose pages
					// go to several gateways, or that jumps about): after
					// the first, which sorts, windows of the list sorted
					// for it (OpenLDAP's sssvlv), or pages of the
					// listing's ids while it has at most
					// limits.lookthrough matches.
					jumper := newPager(b, elsewhere, c.tok)
					rng := rand.New(rand.NewPCG(uint64(size), 13))
					b.StopTimer()
					jumper.start = size/200*100 + 1
					jumper.page()
					b.StartTimer()
					n := 0
					for b.Loop() {
						n++
						jumper.start = rng.IntN(size/100)*100 + 1
						jumper.page()
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(n), "ms/page")
				})
			}
			if size > wholeMax {
				continue
			}
			b.Run(fmt.Sprintf("users=%d/%s/raw-paged-search", size, c.name), func(b *testing.B) {
				for b.Loop() {
					rawPagedWalk(b, env, c.rawFilter)
				}
				raw[c.name] = b.Elapsed() / time.Duration(b.N)
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/walk")
			})
			for _, byCursor := range []bool{false, true} {
				way := map[bool]string{false: "startIndex", true: "cursor"}[byCursor]
				b.Run(fmt.Sprintf("users=%d/%s/whole-walk/%s", size, c.name, way), func(b *testing.B) {
					heap := func() float64 {
						runtime.GC()
						var ms runtime.MemStats
						runtime.ReadMemStats(&ms)
						return float64(ms.HeapAlloc) / (1 << 20)
					}
					before, sortsBefore := heap(), sortedPages(b, s)
					n := 0
					for b.Loop() {
						n = 1
						for pages.first(byCursor); pages.next(); n++ {
						}
					}
					per := b.Elapsed() / time.Duration(b.N)
					b.ReportMetric(float64(per.Milliseconds()), "ms/walk")
					b.ReportMetric(float64(n), "pages")
					// Pages for which the directory sorted every match (or
					// that were served from a listing's ids, read with one
					// sort): one a walk when walks go on.
					b.ReportMetric(float64(sortedPages(b, s)-sortsBefore)/float64(b.N), "sorts/walk")
					if r := raw[c.name]; r > 0 {
						b.ReportMetric(float64(per)/float64(r), "x-raw")
					}
					// What the walks left in the heap (the process also
					// holds the benchmark's own list of every user).
					b.ReportMetric(heap()-before, "MB-heap-growth")
				})
			}
		}
		if w := s.env.logs.String(); w != "" {
			b.Logf("users=%d: the server's warnings and errors:\n%s", size, tail(w, 4000))
		}
		b.Run(fmt.Sprintf("users=%d/userattr-mapped/page", size), func(b *testing.B) {
			for b.Loop() {
				if r := m.must(200, "GET", "/Users?attributes=userName&count=100", "lead", nil); num(r.body, "itemsPerPage") == 0 {
					b.Fatal("the lead sees no reports")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/page")
		})
	}
}

// sortedPages is how many list pages the server has had the directory
// sort every match for, or read every match itself, so far.
func sortedPages(b *testing.B, s *benchServer) int {
	status, _, body := rawGet(s.metrics, "", 5*time.Second)
	if status != 200 {
		b.Fatalf("metrics: %d", status)
	}
	n := 0
	for _, how := range []string{"sorted", "ids", "lookthrough"} {
		v, _ := strconv.Atoi(metricValue(body, `scimgate_list_pages_total{served="`+how+`"}`))
		n += v
	}
	return n
}

// pager walks /Users 100 at a time, by startIndex or by cursor, as a
// lean client would: the benchmarks' own HTTP client, reading of each
// page only what paging needs.
type pager struct {
	b        *testing.B
	load     *loadClient
	byCursor bool
	start    int    // the next startIndex
	cursor   string // the next cursor
	total    int
}

func newPager(b *testing.B, env *testEnv, tok string) *pager {
	return &pager{b: b, load: newLoadClient(b, env.base, "Bearer "+env.tokens[tok])}
}

// first reads a walk's first page.
func (p *pager) first(byCursor bool) {
	p.byCursor, p.start, p.cursor = byCursor, 1, ""
	if !p.page() {
		p.b.Fatal("a walk's first page is its last")
	}
}

// next reads the walk's next page; false when the walk is over.
func (p *pager) next() bool {
	if p.byCursor && p.cursor == "" || !p.byCursor && p.start > p.total {
		return false
	}
	p.page()
	return true
}

func (p *pager) page() (more bool) {
	path := fmt.Sprintf("/Users?attributes=userName&count=100&startIndex=%d", p.start)
	if p.byCursor {
		path = "/Users?attributes=userName&count=100&cursor=" + url.QueryEscape(p.cursor)
	}
	var r struct {
		TotalResults, ItemsPerPage int
		NextCursor                 string
	}
	err := p.load.get(path, func(status int, body []byte) error {
		if status != 200 {
			return fmt.Errorf("%s: %d %.300s", path, status, body)
		}
		return json.Unmarshal(body, &r)
	})
	if err != nil {
		p.b.Fatal(err)
	}
	if r.ItemsPerPage == 0 && r.TotalResults > 0 {
		p.b.Fatalf("%s: an empty page", path)
	}
	p.total, p.cursor = r.TotalResults, r.NextCursor
	p.start += 100
	if p.byCursor {
		return p.cursor != ""
	}
	return p.start <= p.total
}

// rawPagedWalk reads every match of filter under ou=People, 100 at a time
// (Simple Paged Results), with what a page of userName needs, a page at a
// time as a lean client would.
func rawPagedWalk(b *testing.B, env *testEnv, filter string) {
	c, err := env.ldap.Bind(b.Context(), serviceDN, servicePass)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	paging := ldap.NewControlPaging(100)
	req := ldap.NewSearchRequest("ou=People,dc=example,dc=com", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		filter, []string{"uid", "entryUUID", "objectClass"}, []ldap.Control{paging})
	for {
		res, err := c.Search(req)
		if err != nil {
			b.Fatal(err)
		}
		pc, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok || len(pc.Cookie) == 0 {
			return
		}
		paging.SetCookie(pc.Cookie)
	}
}
