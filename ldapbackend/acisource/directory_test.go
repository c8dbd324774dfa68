package acisource

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/ldapbackend/slapd"
)

// groupsLDIF adds to the demo directory a groupOfUniqueNames nesting the
// engineering group, and a dynamic group.
const groupsLDIF = `dn: cn=uniq,ou=Groups,dc=example,dc=com
objectClass: groupOfUniqueNames
cn: uniq
uniqueMember: cn=engineering,ou=Groups,dc=example,dc=com

dn: cn=inner,ou=Groups,dc=example,dc=com
objectClass: groupOfUniqueNames
cn: inner
uniqueMember: uid=zach,ou=People,dc=example,dc=com

dn: cn=outer,ou=Groups,dc=example,dc=com
objectClass: groupOfNames
cn: outer
member: cn=inner,ou=Groups,dc=example,dc=com

dn: cn=engineers-by-department,ou=Groups,dc=example,dc=com
objectClass: groupOfURLs
cn: engineers-by-department
memberURL: ldap:///ou=People,dc=example,dc=com??sub?(departmentNumber=Engineering)
`

func TestDirectory(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "groups.ldif")
	if err := os.WriteFile(seed, []byte(groupsLDIF), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startDemo(t, slapd.Options{ExtraSchema: []string{filepath.Join(slapd.DefaultSystemSchema, "dyngroup.schema")}}, seed)
	cfg := testConfig(s)
	cfg.CacheTTL = 300 * time.Millisecond
	p := newTestPool(t, cfg)
	d := NewDirectory(p, cfg, testLogger(t))
	dir := d.WithContext(t.Context())

	const alice = "uid=alice,ou=people,dc=example,dc=com"
	t.Run("Entry", func(t *testing.T) {
		e, err := dir.Entry(alice)
		if err != nil || e == nil {
			t.Fatalf("Entry = %v, %v", e, err)
		}
		if e.DN() != alice {
			t.Errorf("DN %q, want normalized %q", e.DN(), alice)
		}
		for attr, want := range map[string]string{
			"cn": "Alice Anderson", "commonName": "Alice Anderson", "CN": "Alice Anderson",
			"givenname": "Alice", "mail": "alice@example.com",
			"memberof": "cn=engineering,ou=Groups,dc=example,dc=com",
		} {
			if !slices.Contains(e.Values(attr), want) {
				t.Errorf("Values(%q) = %q, want %q among them", attr, e.Values(attr), want)
			}
		}
		if len(e.Values("entryuuid")) != 1 {
			t.Errorf("entryUUID = %q", e.Values("entryuuid"))
		}
		if v := e.Values("userpassword"); len(v) != 0 {
			t.Errorf("cached entry keeps userPassword %q", v)
		}
		missing, err := dir.Entry("uid=nobody,ou=people,dc=example,dc=com")
		if err != nil || missing != nil {
			t.Errorf("missing entry = %v, %v; want nil, nil", missing, err)
		}
	})

	t.Run("ParentGroups", func(t *testing.T) {
		tests := []struct {
			dn   string
			want []string
		}{
			{alice, []string{"cn=engineering,ou=groups,dc=example,dc=com", "cn=managers,ou=groups,dc=example,dc=com"}},
			{"cn=platform-team,ou=groups,dc=example,dc=com", []string{"cn=engineering,ou=groups,dc=example,dc=com"}},
			{"cn=engineering,ou=groups,dc=example,dc=com", []string{"cn=all-staff,ou=groups,dc=example,dc=com", "cn=uniq,ou=groups,dc=example,dc=com"}},
			{"uid=zach,ou=people,dc=example,dc=com", []string{"cn=inner,ou=groups,dc=example,dc=com", "cn=support,ou=groups,dc=example,dc=com"}},
			{"uid=nobody,ou=people,dc=example,dc=com", []string{}},
			// A value needing escapes in the filter finds nothing rather than breaking it.
			{`cn=a\29(objectclass=*),dc=example,dc=com`, []string{}},
		}
		for _, tt := range tests {
			got, err := dir.ParentGroups(tt.dn)
			if err != nil {
				t.Fatalf("ParentGroups(%q): %v", tt.dn, err)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("ParentGroups(%q) = %q, want %q", tt.dn, got, tt.want)
			}
		}
	})

	t.Run("DynamicGroups", func(t *testing.T) {
		got, err := dir.DynamicGroups()
		if err != nil || !slices.Equal(got, []string{"cn=engineers-by-department,ou=groups,dc=example,dc=com"}) {
			t.Errorf("DynamicGroups = %q, %v", got, err)
		}
	})

	t.Run("groupdn through the engine", func(t *testing.T) {
		// Nested static (member and uniqueMember) and dynamic membership, as the
		// ACI engine resolves it over this Directory.
		b := aci.NewBuilder()
		b.Add("ou=People,dc=example,dc=com",
			`(targetattr="title")(version 3.0; acl "all staff"; allow (read) groupdn="ldap:///cn=all-staff,ou=Groups,dc=example,dc=com";)`,
			`(targetattr="mail")(version 3.0; acl "outer"; allow (read) groupdn="ldap:///cn=outer,ou=Groups,dc=example,dc=com";)`,
			`(targetattr="cn")(version 3.0; acl "dynamic"; allow (read) groupdn="ldap:///cn=engineers-by-department,ou=Groups,dc=example,dc=com";)`)
		set, errs := b.Build()
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		check := func(subject, attr string, want bool) {
			t.Helper()
			req := &aci.Request{Subject: &aci.Subject{DN: subject}, TargetDN: alice, Right: aci.RightRead, Attr: attr}
			if got := set.Evaluate(req, d.WithContext(t.Context())); got.Allowed != want {
				t.Errorf("%s reads %s: %v, want %v (%s)", subject, attr, got.Allowed, want, got.Reason())
			}
		}
		check("uid=carol,ou=people,dc=example,dc=com", "title", true) // platform-team > engineering > all-staff
		check("uid=carol,ou=people,dc=example,dc=com", "mail", false)
		check("uid=zach,ou=people,dc=example,dc=com", "mail", true) // uniqueMember of inner, member of outer
		check("uid=bob,ou=people,dc=example,dc=com", "cn", true)    // departmentNumber=Engineering
		check("uid=olivia,ou=people,dc=example,dc=com", "cn", false)
	})

	t.Run("cache", func(t *testing.T) {
		d.Flush()
		n := d.Searches()
		for range 5 {
			if _, err := dir.Entry(alice); err != nil {
				t.Fatal(err)
			}
			if _, err := dir.ParentGroups(alice); err != nil {
				t.Fatal(err)
			}
			if _, err := dir.DynamicGroups(); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Entry("uid=nobody,ou=people,dc=example,dc=com"); err != nil {
				t.Fatal(err)
			}
		}
		if got := d.Searches() - n; got != 4 {
			t.Errorf("%d searches for 4 distinct lookups repeated 5 times, want 4", got)
		}
		time.Sleep(cfg.CacheTTL + 50*time.Millisecond)
		if _, err := dir.Entry(alice); err != nil {
			t.Fatal(err)
		}
		if got := d.Searches() - n; got != 5 {
			t.Errorf("expired entry not searched again: %d searches", got)
		}
	})

	t.Run("context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if e, err := d.WithContext(ctx).Entry("uid=bob,ou=people,dc=example,dc=com"); err == nil {
			t.Errorf("Entry with a cancelled context = %v, nil; want an error", e)
		}
	})
}

func TestNewEntry(t *testing.T) {
	e := NewEntry(&ldap.Entry{DN: "UID=Alice, OU=People,DC=Example,DC=Com", Attributes: []*ldap.EntryAttribute{
		{Name: "commonName", Values: []string{"Alice"}},
		{Name: "CN;lang-en", Values: []string{"Alice E"}},
		{Name: "userPassword", Values: []string{"secret"}},
		{Name: "objectClass", Values: []string{"top", "person"}},
	}}, []string{"*"})
	if e.DN() != "uid=alice,ou=people,dc=example,dc=com" {
		t.Errorf("DN = %q", e.DN())
	}
	for _, name := range []string{"cn", "CN", "commonname", "2.5.4.3", "cn;lang-de"} {
		if got := e.Values(name); !slices.Equal(got, []string{"Alice", "Alice E"}) {
			t.Errorf("Values(%q) = %q", name, got)
		}
	}
	if got := e.Values("userpassword"); len(got) != 1 {
		t.Errorf("NewEntry must keep every attribute; userPassword = %q", got)
	}
	if got := e.Values("objectclass"); len(got) != 2 {
		t.Errorf("objectClass = %q", got)
	}
}

// TestEntryHolds: an entry says which attributes its search read, so the
// engine never takes "not read" for "no value".
func TestEntryHolds(t *testing.T) {
	le := &ldap.Entry{DN: "uid=alice,ou=people,dc=example,dc=com", Attributes: []*ldap.EntryAttribute{
		{Name: "cn", Values: []string{"Alice"}}, {Name: "userPassword", Values: []string{"secret"}},
	}}
	cases := []struct {
		requested []string
		holds     map[string]bool
	}{
		{[]string{"*"}, map[string]bool{"cn": true, "commonName": true, "employeeType": true, "entryUUID": false, "memberOf": false}},
		{[]string{"+"}, map[string]bool{"cn": false, "entryUUID": true, "memberOf": true, "nsAccountLock": true}},
		// userPassword is asked for too: an attribute returned unasked
		// would make entryUUID, which did not come back, not held (Adapt).
		{[]string{"cn", "entryUUID", "userPassword"}, map[string]bool{"CN": true, "cn;lang-en": true, "entryuuid": true, "sn": false, "employeeType": false}},
		{[]string{"*", "memberOf"}, map[string]bool{"memberof": true, "entrycsn": false, "seeAlso": true}},
		{[]string{"1.1"}, map[string]bool{"cn": false, "objectClass": false}},
	}
	for _, c := range cases {
		e := NewEntry(le, c.requested).(aci.PartialEntry)
		for attr, want := range c.holds {
			if got := e.Holds(attr); got != want {
				t.Errorf("read %v: Holds(%q) = %v, want %v", c.requested, attr, got, want)
			}
		}
	}
	// The directory cache reads everything but keeps no password.
	d := Adapt(le, entryRead)
	if d.Holds("userPassword") || len(d.Values("userpassword")) != 0 || !d.Holds("seeAlso") || !d.Holds("memberOf") {
		t.Errorf("directory entry: holds userPassword %v (values %q), seeAlso %v, memberOf %v",
			d.Holds("userPassword"), d.Values("userpassword"), d.Holds("seeAlso"), d.Holds("memberOf"))
	}
}
