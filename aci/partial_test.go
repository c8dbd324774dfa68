package aci_test

import (
	"net/netip"
	"testing"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// partialTree has ACIs that read target-entry attributes a SCIM mapping
// would not fetch: a targetfilter on employeeType (deny and allow),
// userattr on seeAlso, and targattrfilters on title.
const partialTree = `
dn: dc=example,dc=com
objectClass: domain

dn: ou=People,dc=example,dc=com
objectClass: organizationalUnit
aci: (targetattr="*")(version 3.0; acl "read"; allow (read,search,compare) oauthscope="scim:read";)
aci: (targetattr="*")(version 3.0; acl "write"; allow (add,write,delete) oauthscope="scim:write";)
aci: (targetfilter="(employeeType=contractor)")(targetattr="*")(version 3.0; acl "hide contractors"; deny (read,search,compare) oauthscope="scim:read" and not oauthscope="scim:write";)
aci: (targetfilter="(employeeType=contractor)")(targetattr="*")(version 3.0; acl "keep contractors"; deny (write,delete) oauthscope="scim:write";)
aci: (targetfilter="(employeeType=staff)")(targetattr="*")(version 3.0; acl "sync sees staff"; allow (read,search) oauthscope="sync:profile:read";)
aci: (targetattr="telephoneNumber")(version 3.0; acl "buddies"; allow (read,write) userattr="seeAlso#USERDN";)
aci: (targetattr="*")(version 3.0; acl "parents"; deny (delete) userattr="parent[0,1].businessCategory#GROUPDN";)
aci: (targattrfilters="add=title:(title=junior*)")(version 3.0; acl "juniors"; allow (write) oauthscope="hr";)

dn: uid=carl,ou=People,dc=example,dc=com
objectClass: inetOrgPerson
uid: carl
cn: Carl
sn: C
employeeType: contractor
title: junior engineer
seeAlso: uid=dora,ou=People,dc=example,dc=com

dn: uid=dora,ou=People,dc=example,dc=com
objectClass: inetOrgPerson
uid: dora
cn: Dora
sn: D
employeeType: staff
businessCategory: cn=admins,ou=People,dc=example,dc=com

dn: cn=admins,ou=People,dc=example,dc=com
objectClass: groupOfNames
cn: admins
member: uid=dora,ou=People,dc=example,dc=com
`

// partial is an entry read with some attributes only.
type partial struct {
	ldapfilter.MapEntry
	held map[string]bool
}

func (p partial) Holds(attr string) bool { return p.held[attr] }

// partialAttrs are the attributes of the test entries.
var partialAttrs = []string{"objectclass", "uid", "cn", "sn", "employeetype", "title", "seealso", "businesscategory", "telephonenumber"}

// without returns e as read with every attribute but drop ("" = none).
func without(e aci.Entry, drop string) partial {
	p := partial{MapEntry: ldapfilter.MapEntry{Name: e.DN(), Attrs: map[string][]string{}}, held: map[string]bool{}}
	for _, a := range partialAttrs {
		if a == drop {
			continue
		}
		p.held[a] = true
		if v := e.Values(a); len(v) > 0 {
			p.Attrs[a] = v
		}
	}
	return p
}

// TestPartialEntriesFailClosed: a decision made on an entry lacking an
// attribute some ACI reads never allows what the full entry would not,
// names the attribute when it mattered, and equals the full decision when
// the entry holds everything Set.EntryAttributes lists.
func TestPartialEntriesFailClosed(t *testing.T) {
	tree, set := loadTree(t, partialTree)
	need := set.EntryAttributes()
	for _, want := range []string{"businesscategory", "employeetype", "seealso", "title"} {
		found := false
		for _, a := range need {
			found = found || a == want
		}
		if !found {
			t.Fatalf("EntryAttributes() = %v, lacks %s", need, want)
		}
	}
	svc := dn(t, "cn=svc,ou=Services,dc=example,dc=com")
	dora := dn(t, "uid=dora,ou=People,dc=example,dc=com")
	subjects := map[string]*aci.Subject{
		"reporting": {DN: svc, HasToken: true, Scopes: []string{"scim:read"}},
		"connector": {DN: svc, HasToken: true, Scopes: []string{"scim:read", "scim:write", "sync:profile:read"}},
		"sync":      {DN: svc, HasToken: true, Scopes: []string{"sync:profile:read"}},
		"hr":        {DN: svc, HasToken: true, Scopes: []string{"hr"}},
		"dora":      {DN: dora, HasToken: true},
	}
	type ask struct {
		right aci.Right
		attr  string
		value string
	}
	asks := []ask{
		{aci.RightRead, "objectclass", ""}, {aci.RightSearch, "uid", ""}, {aci.RightRead, "telephonenumber", ""},
		{aci.RightWrite, "title", "junior analyst"}, {aci.RightWrite, "telephonenumber", "1"}, {aci.RightDelete, "", ""},
	}
	entries := []string{"uid=carl,ou=People,dc=example,dc=com", "uid=dora,ou=People,dc=example,dc=com"}
	checked, mattered := 0, 0
	for _, target := range entries {
		tdn := dn(t, target)
		full, err := tree.Entry(tdn)
		if err != nil || full == nil {
			t.Fatalf("%s: %v", target, err)
		}
		fm := without(full, "")
		for name, subj := range subjects {
			for _, a := range asks {
				req := func(e aci.Entry) *aci.Request {
					return &aci.Request{Subject: subj, TargetDN: tdn, Entry: e, Right: a.right, Attr: a.attr,
						Value: a.value, HasValue: a.value != ""}
				}
				want := set.Evaluate(req(fm), tree)
				if want.Incomplete != "" {
					t.Fatalf("full entry reported incomplete: %s", want.Incomplete)
				}
				// Everything the set reads: the same decision.
				if got := set.Evaluate(req(without(fm, "")), tree); got.Allowed != want.Allowed || got.Incomplete != "" {
					t.Errorf("%s %s %v %s: complete partial entry gave %v (%s), full %v", target, name, a.right, a.attr, got.Allowed, got.Incomplete, want.Allowed)
				}
				for _, drop := range need {
					got := set.Evaluate(req(without(fm, drop)), tree)
					checked++
					if got.Allowed && !want.Allowed {
						t.Errorf("%s %s %v %s without %s: allowed, full entry denied", target, name, a.right, a.attr, drop)
					}
					if got.Allowed != want.Allowed {
						mattered++
						if got.Incomplete != drop {
							t.Errorf("%s %s %v %s without %s: decision changed but Incomplete = %q", target, name, a.right, a.attr, drop, got.Incomplete)
						}
					}
					if got.Incomplete == "" && got.Allowed != want.Allowed {
						t.Errorf("%s %s %v %s without %s: differs with no Incomplete", target, name, a.right, a.attr, drop)
					}
				}
			}
		}
	}
	if mattered == 0 {
		t.Fatalf("no missing attribute changed any of %d decisions: the test proves nothing", checked)
	}
}

// TestPartialEntryExplained: the explanation names the missing attribute.
func TestPartialEntryExplained(t *testing.T) {
	tree, set := loadTree(t, partialTree)
	carl := dn(t, "uid=carl,ou=People,dc=example,dc=com")
	full, _ := tree.Entry(carl)
	req := &aci.Request{Subject: &aci.Subject{DN: dn(t, "cn=svc,ou=Services,dc=example,dc=com"), HasToken: true, Scopes: []string{"scim:read"},
		IP: netip.MustParseAddr("127.0.0.1")}, TargetDN: carl, Entry: without(full, "employeetype"),
		Right: aci.RightRead, Attr: "objectclass"}
	d, exp := set.Explain(req, tree)
	if d.Allowed || d.Incomplete != "employeetype" || exp.Incomplete != "employeetype" {
		t.Fatalf("decision %+v, explanation incomplete %q", d, exp.Incomplete)
	}
}
