package aci_test

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/aci/ldif"
)

const evalTree = `
dn: dc=example,dc=com
objectClass: domain
aci: (targetattr="userPassword")(version 3.0; acl "no passwords"; deny (read,search,compare) userdn="ldap:///anyone";)

dn: ou=People,dc=example,dc=com
objectClass: organizationalUnit
aci: (targetattr!="userPassword")(version 3.0; acl "scim read"; allow (read,search,compare) oauthscope="scim:read";)
aci: (targetattr="*")(version 3.0; acl "scim write"; allow (add,write,delete) oauthscope="scim:write";)
aci: (targetattr="member")(version 3.0; acl "join"; allow (selfwrite) userdn="ldap:///all";)
aci: (targetattr="mail")(version 3.0; acl "deny without token"; deny (write) oauthscope!="scim:write";)

dn: uid=alice,ou=People,dc=example,dc=com
objectClass: inetOrgPerson
uid: alice
cn: Alice
userPassword: secret

dn: cn=g1,ou=People,dc=example,dc=com
objectClass: groupOfNames
cn: g1
member: cn=g2,ou=People,dc=example,dc=com

dn: cn=g2,ou=People,dc=example,dc=com
objectClass: groupOfNames
cn: g2
member: cn=g1,ou=People,dc=example,dc=com
member: uid=alice,ou=People,dc=example,dc=com
`

func loadTree(t testing.TB, src string) (*ldif.Tree, *aci.Set) {
	t.Helper()
	recs, err := ldif.Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	tree, err := ldif.NewTree(recs)
	if err != nil {
		t.Fatal(err)
	}
	b := aci.NewBuilder()
	tree.ACIs(b)
	set, errs := b.Build()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return tree, set
}

func dn(t testing.TB, s string) string {
	n, err := ldapfilter.NormalizeDN(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEvaluate(t *testing.T) {
	tree, set := loadTree(t, evalTree)
	alice := dn(t, "uid=alice,ou=People,dc=example,dc=com")
	svc := dn(t, "cn=svc,ou=Services,dc=example,dc=com")
	tok := func(scopes ...string) *aci.Subject {
		return &aci.Subject{DN: svc, HasToken: true, Scopes: scopes, IP: netip.MustParseAddr("127.0.0.1")}
	}
	cases := []struct {
		name  string
		subj  *aci.Subject
		right aci.Right
		attr  string
		value *string
		del   bool
		allow bool
		by    string // name of the deciding ACI, "" = none
		undef bool
	}{
		{"read with scope", tok("scim:read"), aci.RightRead, "cn", nil, false, true, "scim read", false},
		{"read without scope", tok("connector:read"), aci.RightRead, "cn", nil, false, false, "", false},
		{"read without token", &aci.Subject{DN: svc}, aci.RightRead, "cn", nil, false, false, "", false},
		{"password never readable", tok("scim:read", "scim:write"), aci.RightRead, "userPassword", nil, false, false, "no passwords", false},
		{"operational not in !=", tok("scim:read"), aci.RightRead, "entryUUID", nil, false, false, "", false},
		{"write with scope", tok("scim:write"), aci.RightWrite, "cn", nil, false, true, "scim write", false},
		{"deny by undefined scope", &aci.Subject{DN: svc}, aci.RightWrite, "mail", nil, false, false, "deny without token", true},
		{"deny by != scope", tok("scim:read"), aci.RightWrite, "mail", nil, false, false, "deny without token", false},
		{"selfwrite own DN", &aci.Subject{DN: alice}, aci.RightWrite, "member", &alice, false, true, "join", false},
		{"selfwrite removing own DN", &aci.Subject{DN: alice}, aci.RightWrite, "member", &alice, true, true, "join", false},
		{"selfwrite another DN", &aci.Subject{DN: alice}, aci.RightWrite, "member", &svc, false, false, "", false},
		{"entry-level delete", tok("scim:write"), aci.RightDelete, "", nil, false, true, "scim write", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &aci.Request{Subject: tc.subj, TargetDN: alice, Right: tc.right, Attr: tc.attr, DeleteValue: tc.del}
			if tc.value != nil {
				req.Value, req.HasValue = *tc.value, true
			}
			d := set.Evaluate(req, tree)
			d2, exp := set.Explain(req, tree)
			if d.Allowed != tc.allow || d2.Allowed != tc.allow {
				t.Fatalf("Allowed = %v (explain %v), want %v\n%+v", d.Allowed, d2.Allowed, tc.allow, exp)
			}
			by := ""
			if d.By != nil {
				by = d.By.Name()
			}
			if by != tc.by || d.Undefined != tc.undef {
				t.Fatalf("decided by %q (undefined %v), want %q (%v)", by, d.Undefined, tc.by, tc.undef)
			}
			if exp.Decision != map[bool]string{true: "allow", false: "deny"}[tc.allow] || exp.Reason == "" {
				t.Fatalf("explanation %+v", exp)
			}
		})
	}
}

func TestExplainSaysWhyNot(t *testing.T) {
	tree, set := loadTree(t, evalTree)
	req := &aci.Request{Subject: &aci.Subject{DN: "cn=x", HasToken: true}, TargetDN: dn(t, "uid=alice,ou=People,dc=example,dc=com"), Right: aci.RightRead, Attr: "cn"}
	_, exp := set.Explain(req, tree)
	var statuses []string
	for _, a := range exp.ACIs {
		statuses = append(statuses, a.Name+": "+a.Status)
	}
	got := strings.Join(statuses, "\n")
	for _, want := range []string{
		"scim read: applies, but no rule holds",
		"scim write: not applicable: its rights do not include the right asked for",
		"join: not applicable: its rights do not include",
		"no passwords: not applicable: its targetattr does not cover the attribute",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("explanation lacks %q:\n%s", want, got)
		}
	}
	if exp.Reason != "no ACI allowed" {
		t.Errorf("reason %q", exp.Reason)
	}
}

func TestNestedGroupsWithCycle(t *testing.T) {
	tree, _ := loadTree(t, evalTree)
	b := aci.NewBuilder()
	b.Add("dc=example,dc=com", `(targetattr="cn")(version 3.0; acl "g"; allow (read) groupdn="ldap:///cn=g1,ou=People,dc=example,dc=com";)`)
	set, _ := b.Build()
	for _, tc := range []struct {
		who   string
		allow bool
	}{{"uid=alice,ou=People,dc=example,dc=com", true}, {"uid=bob,ou=People,dc=example,dc=com", false}} {
		req := &aci.Request{Subject: &aci.Subject{DN: dn(t, tc.who)}, TargetDN: dn(t, "dc=example,dc=com"), Right: aci.RightRead, Attr: "cn"}
		if d := set.Evaluate(req, tree); d.Allowed != tc.allow {
			t.Errorf("%s: allowed %v, want %v", tc.who, d.Allowed, tc.allow)
		}
	}
}

// failingDir fails every lookup: rules that need one become undefined.
type failingDir struct{}

var errDown = errors.New("directory down")

func (failingDir) Entry(string) (aci.Entry, error)       { return nil, errDown }
func (failingDir) ParentGroups(string) ([]string, error) { return nil, errDown }
func (failingDir) DynamicGroups() ([]string, error)      { return nil, errDown }

func TestLookupFailureFailsClosed(t *testing.T) {
	b := aci.NewBuilder()
	b.Add("dc=example,dc=com",
		`(targetattr="cn")(version 3.0; acl "all"; allow (read,write) userdn="ldap:///all";)`,
		`(targetattr="cn")(version 3.0; acl "not in group"; deny (write) groupdn!="ldap:///cn=admins,dc=example,dc=com";)`,
		`(targetattr="sn")(version 3.0; acl "group grant"; allow (read) groupdn="ldap:///cn=admins,dc=example,dc=com";)`,
		`(targetattr="cn")(targetfilter="(objectClass=secret)")(version 3.0; acl "filtered deny"; deny (read) userdn="ldap:///all";)`,
	)
	set, errs := b.Build()
	if errs != nil {
		t.Fatal(errs)
	}
	subj := &aci.Subject{DN: "uid=a,dc=example,dc=com"}
	target := "uid=a,dc=example,dc=com"
	for _, tc := range []struct {
		right aci.Right
		attr  string
		why   string
	}{
		{aci.RightWrite, "cn", "groupdn != undefined must deny"},
		{aci.RightRead, "sn", "groupdn undefined must not grant"},
		{aci.RightRead, "cn", "undefined targetfilter on a deny must deny"},
	} {
		d := set.Evaluate(&aci.Request{Subject: subj, TargetDN: target, Right: tc.right, Attr: tc.attr}, failingDir{})
		if d.Allowed {
			t.Errorf("%s: allowed", tc.why)
		}
	}
}

func TestTimeAndAddress(t *testing.T) {
	b := aci.NewBuilder()
	b.Add("dc=example,dc=com", `(targetattr="cn")(version 3.0; acl "office"; allow (read) timeofday>="0800" and timeofday<"1800" and dayofweek="mon,tue,wed,thu,fri" and (ip="10.0.0.0/8" or ip="::1");)`)
	set, _ := b.Build()
	at := func(ts, ip string) bool {
		tm, _ := time.Parse(time.RFC3339, ts)
		s := &aci.Subject{DN: "uid=a,dc=example,dc=com", Time: tm, IP: netip.MustParseAddr(ip)}
		return set.Evaluate(&aci.Request{Subject: s, TargetDN: "dc=example,dc=com", Right: aci.RightRead, Attr: "cn"}, nil).Allowed
	}
	if !at("2026-03-04T09:30:00Z", "10.1.2.3") || !at("2026-03-04T17:59:00+02:00", "::1") {
		t.Error("office hours from the office must be allowed")
	}
	if at("2026-03-04T18:00:00Z", "10.1.2.3") || at("2026-03-07T10:00:00Z", "10.1.2.3") || at("2026-03-04T10:00:00Z", "192.0.2.1") {
		t.Error("evening, weekend and foreign address must be denied")
	}
}

func TestConcurrentEvaluate(t *testing.T) {
	tree, set := loadTree(t, evalTree)
	target := dn(t, "uid=alice,ou=People,dc=example,dc=com")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				s := &aci.Subject{DN: target, HasToken: true, Scopes: []string{"scim:read"}}
				if !set.Evaluate(&aci.Request{Subject: s, TargetDN: target, Right: aci.RightRead, Attr: "cn"}, tree).Allowed {
					t.Error("read denied")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestSetWithEntry(t *testing.T) {
	_, set := loadTree(t, evalTree)
	people := dn(t, "ou=People,dc=example,dc=com")
	n := set.Len()
	ns, errs := set.WithEntry(people, []string{`(targetattr="cn")(version 3.0; acl "only"; allow (read) userdn="ldap:///all";)`, `broken`})
	if len(errs) != 1 {
		t.Fatalf("want one load error, got %v", errs)
	}
	if set.Len() != n || ns.Len() != n-4+1 {
		t.Fatalf("lengths %d -> %d", n, ns.Len())
	}
	if got := ns.WithoutSubtree(people).Len(); got != 1 {
		t.Fatalf("without subtree: %d ACIs, want 1 (the suffix's)", got)
	}
}

// A deny with targattrfilters applies when any value of the new entry
// matches: putting a forbidden value beside an innocent one must not
// escape it, while an allow needs every value to pass.
func TestTargAttrFiltersDenyAnyValue(t *testing.T) {
	b := aci.NewBuilder()
	b.Add("ou=People,dc=example,dc=com",
		`(targetattr="*")(version 3.0; acl "add people"; allow (add) userdn="ldap:///all";)`,
		`(targattrfilters="add=title:(title=admin)")(version 3.0; acl "no admins"; deny (add) userdn="ldap:///all";)`,
		`(targattrfilters="add=ou:(|(ou=sales)(ou=support))")(version 3.0; acl "known units"; allow (add) userdn="ldap:///all";)`,
	)
	set, errs := b.Build()
	if errs != nil {
		t.Fatal(errs)
	}
	add := func(attrs map[string][]string) aci.Decision {
		e, _ := ldif.NewEntry("uid=n,ou=People,dc=example,dc=com", attrs)
		return set.Evaluate(&aci.Request{Subject: &aci.Subject{DN: "uid=a,dc=example,dc=com"}, TargetDN: e.DN(), Entry: e, Right: aci.RightAdd}, nil)
	}
	if d := add(map[string][]string{"title": {"staff", "admin"}}); d.Allowed || d.By == nil || d.By.Name() != "no admins" {
		t.Errorf("admin beside staff: %v by %v, want denied by no admins", d.Allowed, d.Reason())
	}
	if d := add(map[string][]string{"title": {"staff"}}); !d.Allowed {
		t.Errorf("staff only: %s", d.Reason())
	}
	if d := add(map[string][]string{"title": {"staff"}, "ou": {"sales", "support"}}); !d.Allowed {
		t.Errorf("known units: %s", d.Reason())
	}
}

func TestEntryAttributes(t *testing.T) {
	b := aci.NewBuilder()
	b.Add("dc=example,dc=com",
		`(targetattr="cn")(targetfilter="(&(objectClass=person)(l=Paris))")(version 3.0; acl "a"; allow (read) userdn="ldap:///all";)`,
		`(targattrfilters="add=title:(title=x)")(version 3.0; acl "b"; allow (write) userattr="parent[0,1].Manager#USERDN";)`)
	b.AddGlobal(`(targetattr="sn")(version 3.0; acl "c"; allow (read) userattr="departmentNumber#42";)`)
	set, errs := b.Build()
	if errs != nil {
		t.Fatal(errs)
	}
	got := strings.Join(set.EntryAttributes(), ",")
	if got != "departmentnumber,l,manager,objectclass,title" {
		t.Fatalf("EntryAttributes = %s", got)
	}
}

// An attribute holding ACIs under another name is operational for the set
// that says so: "*" and "!=" never expose it, "+" and its name do.
func TestExtraOperational(t *testing.T) {
	b := aci.NewBuilder()
	b.Operational("scimgateAci")
	b.Add("dc=example,dc=com",
		`(targetattr="*")(version 3.0; acl "all user"; allow (read) userdn="ldap:///all";)`,
		`(targetattr!="cn")(version 3.0; acl "ne"; allow (compare) userdn="ldap:///all";)`,
		`(targetattr="+")(version 3.0; acl "oper"; allow (search) userdn="ldap:///all";)`)
	set, _ := b.Build()
	ask := func(r aci.Right, attr string) bool {
		return set.Evaluate(&aci.Request{Subject: &aci.Subject{DN: "cn=x"}, TargetDN: "dc=example,dc=com", Right: r, Attr: attr}, nil).Allowed
	}
	if ask(aci.RightRead, "scimgateAci") || ask(aci.RightCompare, "scimgateaci") || !ask(aci.RightSearch, "scimgateAci") {
		t.Error("scimgateAci must count as operational")
	}
	if !ask(aci.RightRead, "sn") || !ask(aci.RightCompare, "sn") {
		t.Error("user attributes are still covered")
	}
	ns, _ := set.WithEntry("dc=example,dc=com", []string{`(targetattr="*")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";)`})
	if ns.Evaluate(&aci.Request{Subject: &aci.Subject{DN: "cn=x"}, TargetDN: "dc=example,dc=com", Right: aci.RightRead, Attr: "scimgateAci"}, nil).Allowed {
		t.Error("a derived set forgot the extra operational attribute")
	}
}
