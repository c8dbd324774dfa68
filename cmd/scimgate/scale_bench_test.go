package main

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"
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

// BenchmarkListScale measures what one page of 100 users costs as the
// directory grows, with the default configuration, under three sets of
// ACIs: the demo's (the same for every entry), a targetfilter deny that
// tells entries apart (compiled into the listing's filter), and, in the
// mapped mode, a userattr grant (a manager sees her reports). Pages are
// read by startIndex in the middle of the listing and by cursor (the
// second page of a walk). Each figure is the time of one page through the
// gateway.
func BenchmarkListScale(b *testing.B) {
	const hideDirectors = `(targetfilter="(title=Director)")(targetattr="*")(version 3.0; acl "reporting does not see directors"; deny (read,search,compare) oauthscope="scim:read" and not oauthscope="scim:write";)`
	const managers = `(targetattr="*")(version 3.0; acl "managers see their reports"; allow (read,search) userattr="manager#USERDN";)`
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
		b.Logf("users=%d ready in %v", size, time.Since(start).Round(time.Second))
		time.Sleep(1500 * time.Millisecond) // the ACIs become live
		cases := []struct {
			name, tok string
			env       *testEnv
			path      string
		}{
			{"demo-acis/startIndex", "connector", s.env, fmt.Sprintf("/Users?attributes=userName&count=100&startIndex=%d", size/2)},
			{"demo-acis/cursor", "connector", s.env, "/Users?attributes=userName&count=100&cursor="},
			{"targetfilter/startIndex", "reporting", s.env, fmt.Sprintf("/Users?attributes=userName&count=100&startIndex=%d", size/3)},
			{"targetfilter/cursor", "reporting", s.env, "/Users?attributes=userName&count=100&cursor="},
			{"userattr-mapped/startIndex", "lead", m, "/Users?attributes=userName&count=100&startIndex=1"},
		}
		for _, c := range cases {
			path := c.path
			if u, _ := url.Parse(path); u.Query().Has("cursor") {
				// The second page of a walk: what every further page costs.
				r := c.env.must(200, "GET", path, c.tok, nil)
				path += url.QueryEscape(str(r.body, "nextCursor"))
			}
			// The page must be full (or the lead's 49 reports) and allowed.
			r := c.env.must(200, "GET", path, c.tok, nil)
			if n := num(r.body, "itemsPerPage"); n == 0 {
				b.Fatalf("%s: an empty page: %.300s", c.name, r.raw)
			}
			b.Run(fmt.Sprintf("users=%d/%s", size, c.name), func(b *testing.B) {
				for b.Loop() {
					c.env.must(200, "GET", path, c.tok, nil)
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/page")
			})
		}
	}
}
