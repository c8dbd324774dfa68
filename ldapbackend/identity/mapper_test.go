package identity

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/scimldap"
)

// TestCachedIdentityFresh: a mapping holds within cache_ttl while the
// change marker is the one it was read under; a new marker ends it at
// once; an unknown marker (now, or when it was read) leaves it
// unknownMarkerTTL at most.
func TestCachedIdentityFresh(t *testing.T) {
	read := time.Unix(1000, 0)
	ttl := 30 * time.Second
	cases := []struct {
		name       string
		readMarker string
		ttl        time.Duration
		age        time.Duration
		marker     string
		want       bool
	}{
		{"same marker, young", "m1", ttl, time.Second, "m1", true},
		{"same marker, just under ttl", "m1", ttl, ttl - time.Millisecond, "m1", true},
		{"same marker, at ttl", "m1", ttl, ttl, "m1", false},
		{"same marker, past ttl", "m1", ttl, time.Hour, "m1", false},
		{"marker changed, at once", "m1", ttl, 0, "m2", false},
		{"marker changed, later", "m1", ttl, 10 * time.Second, "m2", false},
		{"marker lost, within unknownMarkerTTL", "m1", ttl, unknownMarkerTTL / 2, "", true},
		{"marker lost, past unknownMarkerTTL", "m1", ttl, unknownMarkerTTL, "", false},
		{"read without marker, within unknownMarkerTTL", "", ttl, unknownMarkerTTL / 2, "", true},
		{"read without marker, past unknownMarkerTTL", "", ttl, 2 * unknownMarkerTTL, "", false},
		{"read without marker, marker known since", "", ttl, 0, "m1", false},
		{"ttl shorter than unknownMarkerTTL", "", 100 * time.Millisecond, 200 * time.Millisecond, "", false},
		{"clock went back", "m1", ttl, -time.Second, "m1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			marker, now := tc.readMarker, read
			m, err := NewMapper(nil, Config{Filter: "(uid={})", CacheTTL: tc.ttl},
				Options{ChangeMarker: func() string { return marker }})
			if err != nil {
				t.Fatal(err)
			}
			m.cache.SetClock(func() time.Time { return now })
			_, _, mark := m.cache.Get("a")
			m.cache.Put("a", cachedIdentity{dn: "uid=a"}, mark)
			marker, now = tc.marker, read.Add(tc.age)
			if _, got, _ := m.cache.Get("a"); got != tc.want {
				t.Errorf("fresh = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestIdentityFilter: the template is parsed once; the value takes the
// placeholder's place in the tree and is escaped once, when printed.
func TestIdentityFilter(t *testing.T) {
	cases := []struct {
		template, value string
		want            string   // the filter sent
		attrs           []string // SubjectAttributes
	}{
		{"(uid={})", "alice", "(uid=alice)", []string{"uid"}},
		{"(uid={})", "a*)(uid=*", `(uid=a\2a\29\28uid=\2a)`, []string{"uid"}},
		{"(uid={})", `back\slash`, `(uid=back\5cslash)`, []string{"uid"}},
		{"(uid={})", "ünï", "(uid=ünï)", []string{"uid"}},
		{"(uid={})", "\x00nul", `(uid=\00nul)`, []string{"uid"}},
		{"(&(objectClass=inetOrgPerson)(mail={}))", "a@example.com", "(&(objectClass=inetOrgPerson)(mail=a@example.com))", []string{"mail"}},
		{"(|(uid={}@corp)(cn=x))", "bob", "(|(uid=bob@corp)(cn=x))", []string{"uid"}},
		{"(cn=*{}*)", "a*b", `(cn=*a\2ab*)`, []string{"cn"}},
		{"(cn={}*)", "a", "(cn=a*)", []string{"cn"}},
		{"(!(employeeNumber;x-opt={}))", "7", "(!(employeeNumber;x-opt=7))", []string{"employeenumber"}},
		{"(UID:caseExactMatch:={})", "Al", "(UID:caseExactMatch:=Al)", []string{"uid"}},
	}
	for _, tc := range cases {
		f, err := parseIdentityFilter(tc.template)
		if err != nil {
			t.Errorf("%s: %v", tc.template, err)
			continue
		}
		_ = f.with("an-earlier-value") // leaves the tree as it was
		if got := f.with(tc.value).String(); got != tc.want {
			t.Errorf("%s with %q = %s, want %s", tc.template, tc.value, got, tc.want)
		}
		if _, err := ldap.CompileFilter(f.with(tc.value).String()); err != nil {
			t.Errorf("%s with %q: go-ldap refuses it: %v", tc.template, tc.value, err)
		}
		if !slices.Equal(f.attrs, tc.attrs) {
			t.Errorf("%s: attributes %v, want %v", tc.template, f.attrs, tc.attrs)
		}
	}
}

func TestIdentityFilterErrors(t *testing.T) {
	cases := []struct{ template, want string }{
		{"(uid=x)", "exactly once"},
		{"(|(uid={})(cn={}))", "exactly once"},
		{"(uid={}", "offset 7"},   // in the template, not in the text parsed
		{"(uid={})x", "offset 8"}, // past the placeholder
		{"({}=x)", "offset 1"},    // the placeholder is no attribute
		{`(uid={}\00scimgate-subject\00)`, "exactly once"},
		{"(uid=*)", "exactly once"},
	}
	for _, tc := range cases {
		_, err := parseIdentityFilter(tc.template)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want ...%s...", tc.template, err, tc.want)
		}
	}
	c := Config{Filter: "(uid=x)", SearchBase: "ou=People,dc=example,dc=com", CacheTTL: -1}
	if errs := c.Validate("identity"); len(errs) != 2 {
		t.Errorf("Validate: %v, want the filter and cache_ttl", errs)
	}
}

func TestIdentityDefaults(t *testing.T) {
	var c Config
	c.Defaults("ou=People,dc=example,dc=com")
	want := Config{SubjectClaim: "sub", SearchBase: "ou=People,dc=example,dc=com", Filter: "(uid={})", CacheTTL: 30 * time.Second}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults %+v, want %+v", c, want)
	}
	if errs := c.Validate("identity"); errs != nil {
		t.Errorf("the defaults do not validate: %v", errs)
	}
	if a, err := c.SubjectAttributes(); err != nil || !slices.Equal(a, []string{"uid"}) {
		t.Errorf("SubjectAttributes = %v, %v", a, err)
	}
}

// TestIdentityInactive: FALSE (any case) in the active attribute, TRUE in
// nsAccountLock or ppolicy's administrative lock is inactive; a missing
// value, or a lockout after failed binds, is active.
func TestIdentityInactive(t *testing.T) {
	cases := []struct {
		name   string
		active string // ActiveAttr
		attrs  map[string][]string
		want   bool
	}{
		{"no attributes", "scimAccountActive", nil, false},
		{"TRUE", "scimAccountActive", map[string][]string{"scimAccountActive": {"TRUE"}}, false},
		{"FALSE", "scimAccountActive", map[string][]string{"scimAccountActive": {"FALSE"}}, true},
		{"false, other case of the name", "scimAccountActive", map[string][]string{"scimaccountactive": {"false"}}, true},
		{"one FALSE among values", "scimAccountActive", map[string][]string{"scimAccountActive": {"TRUE", "FALSE"}}, true},
		{"no active attribute mapped", "", map[string][]string{"scimAccountActive": {"FALSE"}}, false},
		{"nsAccountLock true", "scimAccountActive", map[string][]string{"nsAccountLock": {"true"}}, true},
		{"nsAccountLock false", "scimAccountActive", map[string][]string{"nsAccountLock": {"false"}}, false},
		{"nsAccountLock without active attribute", "", map[string][]string{"nsaccountlock": {"TRUE"}}, true},
		{"ppolicy administrative lock", "scimAccountActive", map[string][]string{"pwdAccountLockedTime": {"000001010000Z"}}, true},
		{"ppolicy lockout after failed binds", "scimAccountActive", map[string][]string{"pwdAccountLockedTime": {"20261207120000Z"}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &Mapper{opt: Options{ActiveAttr: tc.active}}
			if got := m.inactive(ldap.NewEntry("uid=a,ou=People,dc=example,dc=com", tc.attrs)); got != tc.want {
				t.Errorf("inactive = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestIdentityForget: Forget empties the cache, and a lookup that began
// before it does not install what it read.
func TestIdentityForget(t *testing.T) {
	marker := "m1"
	m, err := NewMapper(nil, Config{Filter: "(uid={})", CacheTTL: time.Minute}, Options{ChangeMarker: func() string { return marker }})
	if err != nil {
		t.Fatal(err)
	}
	_, _, mark := m.cache.Get("alice")
	m.cache.Put("alice", cachedIdentity{dn: "uid=alice"}, mark)
	if dn, err := m.Map(context.Background(), "alice"); dn != "uid=alice" || err != nil {
		t.Fatalf("a cached mapping: %q, %v", dn, err)
	}
	_, _, began := m.cache.Get("bob") // a lookup begins
	m.Forget()
	if m.cache.Len() != 0 {
		t.Fatalf("after Forget: %d cached", m.cache.Len())
	}
	m.cache.Put("bob", cachedIdentity{dn: "uid=bob"}, began)
	if m.cache.Len() != 0 {
		t.Fatal("a lookup that began before Forget installed what it read")
	}
	if dn, err := m.Map(context.Background(), ""); dn != "" || err != ErrNoIdentity {
		t.Fatalf("an empty subject: %q, %v", dn, err)
	}
}

func TestActiveAttr(t *testing.T) {
	m := scimldap.DefaultUserMapping("ou=People,dc=example,dc=com")
	if errs := m.Compile(scimldap.CoreUserURN); errs != nil {
		t.Fatal(errs)
	}
	if got := ActiveAttr(m); got != "scimAccountActive" {
		t.Errorf("default User mapping: %q", got)
	}
	other := &scimldap.TypeMapping{Name: "User", BaseDN: "ou=Staff,dc=example,dc=com", RDNAttr: "cn", ObjectClasses: []string{"inetOrgPerson"},
		Attrs: []*scimldap.AttrMapping{{SCIM: "userName", LDAP: "mail"}, {SCIM: scimldap.CoreUserURN + ":active", LDAP: "employeeActive", KindName: "boolean"}}}
	if errs := other.Compile(scimldap.CoreUserURN); errs != nil {
		t.Fatal(errs)
	}
	if got := ActiveAttr(other); got != "employeeActive" {
		t.Errorf("active by its full URN: %q", got)
	}
	none := &scimldap.TypeMapping{Name: "User", BaseDN: "ou=Staff,dc=example,dc=com", RDNAttr: "cn", ObjectClasses: []string{"inetOrgPerson"},
		Attrs: []*scimldap.AttrMapping{{SCIM: "userName", LDAP: "mail"}}}
	none.Compile(scimldap.CoreUserURN)
	if got := ActiveAttr(none); got != "" {
		t.Errorf("no active mapped: %q", got)
	}
}

func TestTimeLimit(t *testing.T) {
	if got := timeLimit(context.Background()); got != 0 {
		t.Errorf("no deadline: %d", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	if got := timeLimit(ctx); got != 3 {
		t.Errorf("2.5 s left: %d, want 3", got)
	}
	ctx2, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	if got := timeLimit(ctx2); got != 1 {
		t.Errorf("past the deadline: %d, want 1", got)
	}
}
