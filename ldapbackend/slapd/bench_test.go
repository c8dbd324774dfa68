package slapd

import (
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// BenchmarkStart10k measures Start with the demo directory plus 10,000 generated users
// (slapadd, then slapd up and answering).
func BenchmarkStart10k(b *testing.B) {
	p := usersLDIF(b, 10000)
	for b.Loop() {
		s, err := Start(b.Context(), Options{SeedLDIF: []string{demoLDIF, p}})
		if err != nil {
			b.Fatal(err)
		}
		s.Stop()
	}
}

// BenchmarkSearchUID10k measures an indexed subtree lookup by uid among 10,000 users.
func BenchmarkSearchUID10k(b *testing.B) {
	p := usersLDIF(b, 10000)
	s := StartT(b, Options{SeedLDIF: []string{demoLDIF, p}})
	conn, err := s.Conn(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	i := 0
	for b.Loop() {
		i = i%10000 + 1
		req := ldap.NewSearchRequest(people, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(uid="+ldap.EscapeFilter(userUID(i))+")", []string{"cn"}, nil)
		res, err := conn.Search(req)
		if err != nil || len(res.Entries) != 1 {
			b.Fatalf("%v, %v", res, err)
		}
	}
}
