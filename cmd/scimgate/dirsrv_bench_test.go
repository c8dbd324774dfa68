package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/scimgate/scimgate/ldapbackend/dirsrv"
	"github.com/scimgate/scimgate/ldapbackend/dirsrv/dirsrvtest"
)

// BenchmarkBrowsingIndex389 measures a page of users by startIndex on 389
// DS, 100 a page, with and without the browsing index of the listing
// (ldap.browsing_indexes, scimgate vlv-indexes): the first page, and a page
// deep in the listing that no walk reaches (another gateway's). 389 loads
// users over LDAP at some hundreds a second, so the sizes are 2,000 and
// 20,000; each page served from the index costs the same at both, where
// without it the first page sorts every match.
func BenchmarkBrowsingIndex389(b *testing.B) {
	for _, size := range []int{2000, 20000} {
		d := dirsrvtest.StartT(b, dirsrv.Options{SeedLDIF: []string{"../../testdata/demo/directory-389.ldif", writeUsersLDIF(b, size)},
			StartTimeout: 5 * time.Minute})
		gateway := func(indexed bool) *testEnv {
			return startGateway(b, d.URL, d.Suffix, func(c *Config) {
				c.LDAP.Directory, c.LDAP.BrowsingIndexes = "389", indexed
				c.Log.Level = "info"
				c.Limits.Lookthrough = 100000
			})
		}
		plain := gateway(false)
		if err := addBrowsingIndexes(b.Context(), d, plain.cfg); err != nil {
			b.Fatal(err)
		}
		indexed := gateway(true)
		waitFor(b, 5*time.Second, "every listing has its browsing index", func() (bool, string) {
			return strings.Contains(indexed.logs.String(), "every listing has its browsing index"), tail(indexed.logs.String(), 500)
		})
		plain.logs.Discard() // format every audit line as in production, keep none
		indexed.logs.Discard()
		for _, c := range []struct {
			name string
			g    *testEnv
		}{{"browsing-index", indexed}, {"no-index", plain}} {
			for _, where := range []struct {
				name  string
				start int
			}{{"first-page", 1}, {"deep-page", size/2 + 1}} {
				b.Run(fmt.Sprintf("users=%d/%s/%s", size, c.name, where.name), func(b *testing.B) {
					n := 0
					for b.Loop() {
						// A new walk every time (a walk goes on only with its
						// next page): the first page of one, or a page no walk
						// of this gateway reaches, at a page boundary.
						r := c.g.must(200, "GET", fmt.Sprintf("/Users?attributes=userName&count=100&startIndex=%d", where.start), "connector", nil)
						if num(r.body, "itemsPerPage") != 100 {
							b.Fatalf("a page of %d users", num(r.body, "itemsPerPage"))
						}
						n++
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(n), "ms/page")
				})
			}
		}
	}
}
