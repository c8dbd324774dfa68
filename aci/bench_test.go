package aci_test

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldif"
)

// The benchmark tree: dc=example,dc=com > 100 ou=oN > 10 ou=dM > 100 users
// = 100,000 entries. ACIs sit on the suffix (4), on the path's ou=o (6) and
// ou=d (9), and the rest are spread over other ou=o, ou=d and user entries,
// so about 20 ACIs lie on any user's path whatever the total.
var benchTemplates = []string{
	`(targetattr!="userPassword")(version 3.0; acl "read-%d"; allow (read,search,compare) oauthscope="scim:read";)`,
	`(targetattr="*")(version 3.0; acl "write-%d"; allow (add,write,delete) oauthscope="scim:write";)`,
	`(targetattr="userPassword")(version 3.0; acl "pw-%d"; deny (read,search,compare) userdn="ldap:///anyone";)`,
	`(targetattr="telephoneNumber || mail")(version 3.0; acl "self-%d"; allow (write) userdn="ldap:///self" and oauthscope="scim:write";)`,
	`(targetattr="cn || sn")(targetfilter="(objectClass=inetOrgPerson)")(version 3.0; acl "filtered-%d"; allow (read) userdn="ldap:///all" and oauthscope="sync:*";)`,
	`(targetattr="description")(version 3.0; acl "deny-%d"; deny (read) oauthscope!="scim:read" and ip!="127.0.0.1";)`,
	`(targetattr="cn")(version 3.0; acl "grp-%d"; allow (read) groupdn="ldap:///cn=admins,dc=example,dc=com";)`,
	`(targetattr="cn || sn || mail")(version 3.0; acl "mixed-%d"; deny (write) not oauthscope="scim:write";)`,
	`(targetattr="cn")(version 3.0; acl "net-%d"; allow (read) ip="10.0.0.0/8" and userdn="ldap:///all";)`,
}

func benchSet(b *testing.B, total int) *aci.Set {
	bl := aci.NewBuilder()
	n := 0
	add := func(dn string) {
		bl.Add(dn, fmt.Sprintf(benchTemplates[n%len(benchTemplates)], n))
		n++
	}
	for i := 0; i < 4; i++ {
		add("dc=example,dc=com")
	}
	for i := 0; i < 6; i++ {
		add("ou=o7,dc=example,dc=com")
	}
	for i := 0; i < 9; i++ {
		add("ou=d3,ou=o7,dc=example,dc=com")
	}
	// Fill the rest away from the benchmark's path.
	onPath := map[string]bool{"ou=o7,dc=example,dc=com": true, "ou=d3,ou=o7,dc=example,dc=com": true, "uid=u42,ou=d3,ou=o7,dc=example,dc=com": true}
	for k := 0; n < total; k++ {
		o, d, u := k%100, (k/100)%10, (k/1000)%100
		var dn string
		switch k % 3 {
		case 0:
			dn = fmt.Sprintf("ou=o%d,dc=example,dc=com", o)
		case 1:
			dn = fmt.Sprintf("ou=d%d,ou=o%d,dc=example,dc=com", d, o)
		default:
			dn = fmt.Sprintf("uid=u%d,ou=d%d,ou=o%d,dc=example,dc=com", u, d, o)
		}
		if !onPath[dn] {
			add(dn)
		}
	}
	set, errs := bl.Build()
	if errs != nil {
		b.Fatal(errs)
	}
	if set.Len() != total {
		b.Fatalf("built %d ACIs, want %d", set.Len(), total)
	}
	return set
}

func BenchmarkDecision(b *testing.B) {
	target := "uid=u42,ou=d3,ou=o7,dc=example,dc=com"
	entry, _ := ldif.NewEntry(target, map[string][]string{"objectClass": {"top", "person", "inetOrgPerson"}, "uid": {"u42"}, "cn": {"User 42"}})
	for _, total := range []int{100, 1000, 10000} {
		set := benchSet(b, total)
		subj := &aci.Subject{DN: "cn=scimgate,ou=services,dc=example,dc=com", HasToken: true, Scopes: []string{"scim:read", "connector:read"}, IP: netip.MustParseAddr("127.0.0.1")}
		for _, op := range []struct {
			name  string
			right aci.Right
			attr  string
			allow bool
		}{{"read-allowed", aci.RightRead, "cn", true}, {"write-denied", aci.RightWrite, "mail", false}} {
			req := &aci.Request{Subject: subj, TargetDN: target, Entry: entry, Right: op.right, Attr: op.attr}
			if set.Evaluate(req, nil).Allowed != op.allow {
				b.Fatalf("%s: wrong decision", op.name)
			}
			runtime.GC() // settle the garbage of building the set before timing
			b.Run(fmt.Sprintf("acis=%d/%s", total, op.name), func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					set.Evaluate(req, nil)
				}
			})
		}
	}
}

func BenchmarkParse(b *testing.B) {
	src := `(target="ldap:///uid=*,ou=People,dc=example,dc=com")(targetattr="cn || sn || mail || telephoneNumber")(targetfilter="(objectClass=inetOrgPerson)")(version 3.0; acl "bench"; allow (read,search,compare) userdn="ldap:///all" and oauthscope="scim:read || sync:*" and ip="10.0.0.0/8, 127.0.0.1";)`
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for i := 0; i < b.N; i++ {
		if _, err := aci.Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuild10k(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		benchSet(b, 10000)
	}
}
