package acisource

import (
	"slices"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci"
)

// TestAdaptHolds: what an adapted entry says it holds, by what the search
// asked for and what the directory returned under which name.
func TestAdaptHolds(t *testing.T) {
	type attr = ldap.EntryAttribute
	cases := []struct {
		name      string
		requested []string
		returned  []*attr
		held      []string // Holds true
		notHeld   []string // Holds false
		warned    []string // returned names reported as unexpected
	}{{
		name:      "asked and returned by the same name",
		requested: []string{"objectClass", "employeeType", "co"},
		returned:  []*attr{{Name: "objectClass", Values: []string{"person"}}, {Name: "employeeType", Values: []string{"contractor"}}},
		held:      []string{"objectclass", "employeetype", "co"},
	}, {
		name:      "long name asked, short name returned: both canonical cn",
		requested: []string{"objectClass", "commonName"},
		returned:  []*attr{{Name: "objectClass", Values: []string{"person"}}, {Name: "cn", Values: []string{"x"}}},
		held:      []string{"cn", "commonName"},
	}, {
		name:      "OID asked, primary name returned",
		requested: []string{"objectClass", "2.16.840.1.113730.3.1.4", "mail"},
		returned:  []*attr{{Name: "objectClass", Values: []string{"person"}}, {Name: "employeeType", Values: []string{"contractor"}}},
		held:      []string{"objectclass"},
		notHeld:   []string{"2.16.840.1.113730.3.1.4", "mail"},
		warned:    []string{"employeeType"},
	}, {
		name:      "unknown alias asked, primary name returned",
		requested: []string{"objectClass", "friendlyCountryName"},
		returned:  []*attr{{Name: "objectClass", Values: []string{"person"}}, {Name: "co", Values: []string{"France"}}},
		held:      []string{"objectclass"},
		notHeld:   []string{"friendlyCountryName"},
		warned:    []string{"co"},
	}, {
		name:      "OID asked, attribute absent: not held (the directory never answers under it)",
		requested: []string{"objectClass", "2.16.840.1.113730.3.1.4"},
		returned:  []*attr{{Name: "objectClass", Values: []string{"person"}}},
		notHeld:   []string{"2.16.840.1.113730.3.1.4"},
	}, {
		name:      "OID asked, its name asked too (by a mapping) and returned: not held",
		requested: []string{"objectClass", "employeeType", "2.16.840.1.113730.3.1.4"},
		returned:  []*attr{{Name: "objectClass", Values: []string{"person"}}, {Name: "employeeType", Values: []string{"contractor"}}},
		held:      []string{"employeeType"},
		notHeld:   []string{"2.16.840.1.113730.3.1.4"},
	}, {
		name:      "OID returned under the OID (no name in the schema): held",
		requested: []string{"objectClass", "1.2.3.4"},
		returned:  []*attr{{Name: "objectClass", Values: []string{"person"}}, {Name: "1.2.3.4", Values: []string{"x"}}},
		held:      []string{"1.2.3.4"},
	}, {
		name:      "operational attribute under +: expected",
		requested: []string{"objectClass", "+"},
		returned:  []*attr{{Name: "objectClass", Values: []string{"person"}}, {Name: "entryCSN", Values: []string{"1"}}},
		held:      []string{"objectclass", "entrycsn"},
	}, {
		name:      "user attribute under + only: unexpected",
		requested: []string{"objectClass", "seeAlso", "+"},
		returned:  []*attr{{Name: "objectClass", Values: []string{"person"}}, {Name: "title", Values: []string{"x"}}},
		notHeld:   []string{"seealso"},
		warned:    []string{"title"},
	}, {
		name:      "ranged values (Active Directory)",
		requested: []string{"objectClass", "member"},
		returned:  []*attr{{Name: "objectClass", Values: []string{"group"}}, {Name: "member;range=0-1499", Values: []string{"cn=a"}}},
		held:      []string{"objectclass"},
		notHeld:   []string{"member"},
	}, {
		name:      "ranged values, option after another",
		requested: []string{"objectClass", "member"},
		returned:  []*attr{{Name: "objectClass", Values: []string{"group"}}, {Name: "member;binary;Range=1500-*", Values: []string{"cn=b"}}},
		notHeld:   []string{"member"},
	}, {
		name:      "language option is not a range",
		requested: []string{"objectClass", "cn"},
		returned:  []*attr{{Name: "objectClass", Values: []string{"person"}}, {Name: "cn;lang-en", Values: []string{"x"}}},
		held:      []string{"cn"},
	}, {
		name:      "OID under * only: held if returned under it",
		requested: []string{"*"},
		returned:  []*attr{{Name: "objectClass", Values: []string{"person"}}, {Name: "1.2.3.4", Values: []string{"x"}}},
		held:      []string{"objectclass", "1.2.3.4", "title"},
		notHeld:   []string{"2.16.840.1.113730.3.1.4"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			var warned []string
			read := NewReadSet(c.requested).OnUnexpected(func(returned string, _ []string) {
				mu.Lock()
				defer mu.Unlock()
				warned = append(warned, returned)
			})
			e := Adapt(&ldap.Entry{DN: "uid=x,dc=example,dc=com", Attributes: c.returned}, read)
			for _, a := range c.held {
				if !e.Holds(a) {
					t.Errorf("Holds(%q) = false, want true", a)
				}
			}
			for _, a := range c.notHeld {
				if e.Holds(a) {
					t.Errorf("Holds(%q) = true, want false", a)
				}
			}
			if !slices.Equal(warned, c.warned) {
				t.Errorf("unexpected attributes reported %q, want %q", warned, c.warned)
			}
		})
	}
}

// TestAdaptRenamedDenies: a targetfilter deny naming employeeType by OID
// is not bypassed when the directory returns the value as employeeType;
// the decision fails closed and names the attribute.
func TestAdaptRenamedDenies(t *testing.T) {
	ab := aci.NewBuilder()
	ab.AddGlobal(
		`(targetattr="*")(version 3.0; acl "read"; allow (read) userdn="ldap:///anyone";)`,
		`(targetfilter="(2.16.840.1.113730.3.1.4=contractor)")(targetattr="*")(version 3.0; acl "no contractors"; deny (read) userdn="ldap:///anyone";)`,
	)
	set, errs := ab.Build()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	requested := append([]string{"objectClass"}, set.EntryAttributes()...)
	le := &ldap.Entry{DN: "uid=c,dc=example,dc=com", Attributes: []*ldap.EntryAttribute{
		{Name: "objectClass", Values: []string{"person"}}, {Name: "employeeType", Values: []string{"contractor"}}}}
	req := &aci.Request{Subject: &aci.Subject{DN: "uid=r,dc=example,dc=com"}, TargetDN: "uid=c,dc=example,dc=com",
		Entry: Adapt(le, NewReadSet(requested)), Right: aci.RightRead, Attr: "objectclass"}
	d := set.Evaluate(req, nil)
	if d.Allowed || d.Incomplete == "" {
		t.Fatalf("decision %+v: want denied and incomplete", d)
	}
}

// TestReadSetFiltered: an entry read under proxied authorization holds
// none of the attributes the ACIs read, and says it was filtered.
func TestReadSetFiltered(t *testing.T) {
	le := &ldap.Entry{DN: "uid=c,dc=example,dc=com", Attributes: []*ldap.EntryAttribute{
		{Name: "objectClass", Values: []string{"person"}}, {Name: "employeeType", Values: []string{"staff"}}}}
	plain := Adapt(le, NewReadSet([]string{"objectClass", "employeeType", "title"}))
	if !plain.Holds("employeeType") || plain.Filtered() {
		t.Fatal("a plain read holds employeeType and is not filtered")
	}
	f := Adapt(le, NewReadSet([]string{"objectClass", "employeeType", "title"}).Filtered([]string{"employeeType"}))
	if f.Holds("employeeType") || !f.Holds("title") || !f.Holds("objectClass") || !f.Filtered() {
		t.Fatalf("filtered read: employeeType %v title %v filtered %v", f.Holds("employeeType"), f.Holds("title"), f.Filtered())
	}
	if got := f.Values("employeeType"); !slices.Equal(got, []string{"staff"}) {
		t.Fatalf("values kept for rendering: %q", got)
	}
}

// TestCompletedKeepsRenames: the service account's view that completes an
// entry read under proxied authorization (read with "*" and "+", where an
// alias cannot be told from an absent attribute) does not hold what the
// read by name showed renamed.
func TestCompletedKeepsRenames(t *testing.T) {
	proxiedRead := Adapt(&ldap.Entry{DN: "uid=c,dc=example,dc=com", Attributes: []*ldap.EntryAttribute{
		{Name: "objectClass", Values: []string{"person"}}, {Name: "co", Values: []string{"France"}}}},
		NewReadSet([]string{"objectClass", "friendlyCountryName"}).Filtered([]string{"friendlyCountryName"}))
	full := Adapt(&ldap.Entry{DN: "uid=c,dc=example,dc=com", Attributes: []*ldap.EntryAttribute{
		{Name: "objectClass", Values: []string{"person"}}, {Name: "co", Values: []string{"France"}}}},
		NewReadSet([]string{"*", "+"}))
	if !full.Holds("friendlyCountryName") {
		t.Fatal("the test meant the wildcard view to hold the alias")
	}
	c := proxiedRead.Completed(full)
	if c.(aci.PartialEntry).Holds("friendlyCountryName") {
		t.Error("the completed entry holds the renamed attribute")
	}
	if !c.(aci.PartialEntry).Holds("title") || !slices.Equal(c.Values("co"), []string{"France"}) {
		t.Error("the completed entry lost what the full view holds")
	}
}
