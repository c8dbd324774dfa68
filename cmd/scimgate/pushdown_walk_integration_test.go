package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/aci/ldif"
)

// walkUsers is how many generated users TestPushdownWalk pages through:
// twice the default lookthrough limit, which a listing the directory cuts
// must not meet.
const walkUsers = 20000

// walkLDIF writes walkUsers users under ou=People: every seventh a
// contractor, every fiftieth managed by alice.
func walkLDIF(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for i := range walkUsers {
		kind := "staff"
		if i%7 == 0 {
			kind = "contractor"
		}
		fmt.Fprintf(&b, "dn: uid=pw-%05d,ou=People,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: pw-%05d\ncn: Walker %d\nsn: %d\nemployeeType: %s\n",
			i, i, i, i, kind)
		if i%50 == 0 {
			b.WriteString("manager: uid=alice,ou=People,dc=example,dc=com\n")
		}
		b.WriteString("\n")
	}
	p := filepath.Join(t.TempDir(), "walk.ldif")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// walkACIs are added to ou=People: the reporting token does not see
// contractors, and a user sees the users she manages.
var walkACIs = []string{
	`(targetfilter="(employeeType=contractor)")(targetattr="*")(version 3.0; acl "reporting does not see contractors"; deny (read,search,compare) oauthscope="scim:read" and not oauthscope="scim:write";)`,
	`(targetattr="*")(version 3.0; acl "managers see their reports"; allow (read,search) userattr="manager#USERDN";)`,
}

// engineUsers is what the engine allows the subject to see (read on
// objectClass) among the users under ou=People of the demo directory plus
// the generated ones, with walkACIs added: their userNames, sorted.
func engineUsers(t *testing.T, extra string, subj *aci.Subject) []string {
	t.Helper()
	var recs []*ldif.Record
	for _, p := range []string{demoLDIF, extra} {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ldif.Parse(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r...)
	}
	tree, err := ldif.NewTree(recs)
	if err != nil {
		t.Fatal(err)
	}
	b := aci.NewBuilder()
	tree.ACIs(b)
	b.Add("ou=People,dc=example,dc=com", walkACIs...)
	set, errs := b.Build()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	people := "ou=people,dc=example,dc=com"
	var out []string
	for _, dn := range tree.DNs() {
		if dn == people || !ldapfilter.IsDescendant(dn, people) {
			continue
		}
		e, _ := tree.Entry(dn)
		if !slices.ContainsFunc(e.Values("objectclass"), func(v string) bool { return strings.EqualFold(v, "inetOrgPerson") }) {
			continue
		}
		s := *subj
		if set.Evaluate(&aci.Request{Subject: &s, TargetDN: dn, Entry: e, Right: aci.RightRead, Attr: "objectclass"}, tree).Allowed {
			out = append(out, e.Values("uid")[0])
		}
	}
	slices.Sort(out)
	return out
}

// TestPushdownWalk pages through twice the default lookthrough limit of
// users, with the default configuration, under ACIs that tell users apart
// (a targetfilter deny on an unmapped attribute; userattr in a mapped
// mode): each walk returns exactly the users the engine allows, once each,
// totalResults agrees, and the directory cuts every page (the ACIs are
// compiled into the listing's filter), so no listing meets the limit.
func TestPushdownWalk(t *testing.T) {
	seed := walkLDIF(t)
	quiet := func(c *Config) { c.Log.Level = "info" }
	e := startEnvWith(t, func(c *Config) { quiet(c); withMetrics(t)(c) }, seed)
	mod := "dn: ou=People,dc=example,dc=com\nchangetype: modify\nadd: aci\n"
	for _, a := range walkACIs {
		mod += "aci: " + a + "\n"
	}
	if err := e.ldap.LDAPModify(t.Context(), mod); err != nil {
		t.Fatal(err)
	}
	svc := func(scopes ...string) *aci.Subject {
		return &aci.Subject{DN: serviceDN, AuthMethod: "simple", HasToken: true, Scopes: scopes}
	}
	wantReporting := engineUsers(t, seed, svc("scim:read"))
	wantConnector := engineUsers(t, seed, svc(strings.Fields(allScopes)...))
	if len(wantConnector) <= walkUsers || len(wantReporting) >= len(wantConnector)-walkUsers/8 {
		t.Fatalf("engine: connector sees %d, reporting %d: the scenario is not what it should be", len(wantConnector), len(wantReporting))
	}
	waitFor(t, 5*time.Second, "the walk ACIs", func() (bool, string) {
		n := num(e.must(200, "GET", "/Users?count=0", "reporting", nil).body, "totalResults")
		return n == len(wantReporting), fmt.Sprint(n)
	})

	walk := func(env *testEnv, tok string) ([]string, int, float64) {
		t.Helper()
		var got []string
		total, pages := 0, 0
		before := ldapSearches(t, e)
		for start := 1; ; start += 100 {
			r := env.must(200, "GET", fmt.Sprintf("/Users?attributes=userName&startIndex=%d&count=100", start), tok, nil)
			pages++
			total = num(r.body, "totalResults")
			n := num(r.body, "itemsPerPage")
			for i := range n {
				got = append(got, str(r.body, fmt.Sprintf("Resources[%d].userName", i)))
			}
			if n < 100 {
				break
			}
		}
		return got, total, (ldapSearches(t, e) - before) / float64(pages)
	}
	check := func(who string, got []string, total int, perPage float64, want []string) {
		t.Helper()
		if total != len(want) || len(got) != len(want) {
			t.Errorf("%s: walked %d users, totalResults %d, want %d", who, len(got), total, len(want))
		}
		sorted := slices.Clone(got)
		slices.Sort(sorted)
		if !slices.Equal(sorted, want) {
			missing, extra := 0, 0
			for _, u := range want {
				if _, ok := slices.BinarySearch(sorted, u); !ok {
					missing++
				}
			}
			for _, u := range sorted {
				if _, ok := slices.BinarySearch(want, u); !ok {
					extra++
				}
			}
			t.Errorf("%s: the walk differs from what the engine allows: %d missing, %d not allowed or repeated", who, missing, extra)
		}
		t.Logf("%s: %d users, %.2f LDAP searches a page", who, len(got), perPage)
		if perPage > 2.5 {
			t.Errorf("%s: %.1f LDAP searches per page: the directory does not cut the pages", who, perPage)
		}
	}
	got, total, perPage := walk(e, "reporting")
	check("reporting", got, total, perPage, wantReporting)
	got, total, perPage = walk(e, "connector")
	check("connector", got, total, perPage, wantConnector)

	// Mapped mode, a second gateway on the same directory: alice sees the
	// users she manages (userattr), nobody else.
	m := startGateway(t, e.ldap.URL, "dc=example,dc=com", func(c *Config) {
		quiet(c)
		c.Mapping = "required"
	})
	m.tokens["alice"] = m.token("alice", "")
	wantAlice := engineUsers(t, seed, &aci.Subject{DN: "uid=alice,ou=people,dc=example,dc=com", AuthMethod: "simple", HasToken: true})
	if len(wantAlice) < walkUsers/50 {
		t.Fatalf("engine: alice sees %d users", len(wantAlice))
	}
	got, total, _ = walk(m, "alice")
	check("alice (mapped)", got, total, 0, wantAlice)
}
