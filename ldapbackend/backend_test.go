package ldapbackend

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldif"
	"github.com/scimgate/scimgate/ldapbackend/acisource"
	"github.com/scimgate/scimgate/ldapbackend/internal/memdir"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/ldapbackend/scimldap"
	"github.com/scimgate/scimgate/scim"
	"github.com/scimgate/scimgate/scim/resource"
)

// Unit tests of the backend against the demo directory held in memory
// (internal/memdir); the integration tests in cmd/scimgate run the same
// operations against slapd and 389 DS.

const (
	peopleDN = "ou=People,dc=example,dc=com"
	groupsDN = "ou=Groups,dc=example,dc=com"
)

// staticACIs is an ACI source whose set never changes; with a marker, it
// says the directory's state is known and polled every interval.
type staticACIs struct {
	set      *aci.Set
	marker   string
	interval time.Duration
}

func (s staticACIs) Current() (*aci.Set, error) { return s.set, nil }
func (s staticACIs) ChangeMarker() string       { return s.marker }
func (s staticACIs) Interval() time.Duration    { return s.interval }
func (s staticACIs) Covers(string) bool         { return s.marker != "" }

// memEnv is a backend over the demo directory in memory.
type memEnv struct {
	b            *Backend
	dir          *memdir.Dir
	users, group *resource.Type
}

func newMemEnv(t *testing.T, tune func(*Options)) *memEnv {
	t.Helper()
	data, err := os.ReadFile(demoLDIF)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := memdir.Load(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	set := demoACIs(t, data)
	users, groups := scimldap.DefaultUserMapping(peopleDN), scimldap.DefaultGroupMapping(groupsDN)
	if errs := users.Compile(scimldap.CoreUserURN); errs != nil {
		t.Fatal(errs)
	}
	if errs := groups.Compile(scimldap.CoreGroupURN); errs != nil {
		t.Fatal(errs)
	}
	cfg := ldapconn.LDAPConfig{Suffix: "dc=example,dc=com"}
	cfg.Defaults()
	servedUsers, err := users.Serve(scim.UserType())
	if err != nil {
		t.Fatal(err)
	}
	servedGroups, err := groups.Serve(scim.GroupType())
	if err != nil {
		t.Fatal(err)
	}
	env := &memEnv{dir: dir, users: servedUsers, group: servedGroups}
	opt := Options{
		Conn: dir, ACIs: staticACIs{set: set}, Directory: acisource.NewDirectory(dir, cfg, zerolog.Nop()),
		Types:     []TypeBinding{{Type: env.users, Mapping: users}, {Type: env.group, Mapping: groups}},
		ServiceDN: "cn=scimgate,ou=Services,dc=example,dc=com", Log: zerolog.Nop(), RefCacheTTL: time.Minute,
	}
	if tune != nil {
		tune(&opt)
	}
	if env.b, err = New(opt); err != nil {
		t.Fatal(err)
	}
	return env
}

// demoACIs is the ACI set of the LDIF data plus global ACIs.
func demoACIs(t *testing.T, data []byte, globals ...string) *aci.Set {
	t.Helper()
	recs, err := ldif.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tree, err := ldif.NewTree(recs)
	if err != nil {
		t.Fatal(err)
	}
	ab := aci.NewBuilder()
	tree.ACIs(ab)
	ab.AddGlobal(globals...)
	set, errs := ab.Build()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return set
}

// as is a request context of a caller with scopes.
func as(scopes ...string) context.Context {
	return resource.WithCaller(context.Background(), &resource.Caller{
		Scopes: scopes, HasToken: true, IP: netip.MustParseAddr("127.0.0.1"), RequestID: "test"})
}

// id is the SCIM id of the entry dn.
func (env *memEnv) id(t *testing.T, dn string) string {
	t.Helper()
	e := env.dir.Entry(dn)
	if e == nil {
		t.Fatalf("no entry %s", dn)
	}
	return e.GetAttributeValue("entryUUID")
}

// status is the HTTP status of a backend error (0 for nil).
func status(err error) int {
	if err == nil {
		return 0
	}
	var re *resource.Error
	if errors.As(err, &re) {
		return re.Status
	}
	return -1
}

func mustPath(t *testing.T, s string) *resource.PatchOp {
	t.Helper()
	p, err := resource.ParsePath(s)
	if err != nil {
		t.Fatal(err)
	}
	return &resource.PatchOp{Path: p}
}

// TestBackendGet: what a caller sees of a user, by its scopes and the
// projection; everything else is 404.
func TestBackendGet(t *testing.T) {
	env := newMemEnv(t, nil)
	alice := env.id(t, "uid=alice,"+peopleDN)
	bob := env.id(t, "uid=bob,"+peopleDN)
	cases := []struct {
		name    string
		ctx     context.Context
		id      string
		p       resource.Projection
		status  int
		present []string
		absent  []string
	}{
		{"whole resource", as("scim:read"), alice, resource.Projection{}, 0, []string{"userName", "name", "emails"}, []string{"password"}},
		{"attributes", as("scim:read"), alice, resource.Projection{Attributes: []string{"userName"}}, 0, []string{"userName"}, []string{"name", "emails"}},
		{"excludedAttributes", as("scim:read"), alice, resource.Projection{ExcludedAttributes: []string{"emails"}}, 0, []string{"userName", "name"}, []string{"emails"}},
		{"manager resolved to an id", as("scim:read"), bob, resource.Projection{}, 0, []string{scimldap.EnterpriseUserURN}, nil},
		{"no scope: not there", as(), alice, resource.Projection{}, 404, nil, nil},
		{"another service's scope", as("connector:read"), alice, resource.Projection{}, 404, nil, nil},
		{"unknown id", as("scim:read"), "no-such-id", resource.Projection{}, 404, nil, nil},
		{"empty id", as("scim:read"), "", resource.Projection{}, 404, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := env.b.Get(tc.ctx, env.users, tc.id, tc.p)
			if status(err) != tc.status {
				t.Fatalf("status %d (%v), want %d", status(err), err, tc.status)
			}
			if err != nil {
				return
			}
			if r.ID != tc.id || r.Meta.Version == "" || r.Meta.ResourceType != "User" {
				t.Errorf("id %q version %q type %q", r.ID, r.Meta.Version, r.Meta.ResourceType)
			}
			for _, a := range tc.present {
				if _, ok := r.Attrs[a]; !ok {
					t.Errorf("%s missing: %v", a, r.Attrs)
				}
			}
			for _, a := range tc.absent {
				if _, ok := r.Attrs[a]; ok {
					t.Errorf("%s present", a)
				}
			}
		})
	}
	// bob's manager is alice, by id.
	r, err := env.b.Get(as("scim:read"), env.users, bob, resource.Projection{})
	if err != nil {
		t.Fatal(err)
	}
	ext, _ := r.Attrs[scimldap.EnterpriseUserURN].(map[string]any)
	m, _ := ext["manager"].(map[string]any)
	if m["value"] != alice || m["displayName"] == nil {
		t.Errorf("bob's manager: %v, want alice (%s) with her name", ext["manager"], alice)
	}
}

// TestBackendGroupMembers: a group's members become ids and names; adding
// and removing one by PATCH adds and deletes that member value, never
// rewriting the list.
func TestBackendGroupMembers(t *testing.T) {
	env := newMemEnv(t, nil)
	const teamDN = "cn=platform-team," + groupsDN
	team, alice, carol := env.id(t, teamDN), env.id(t, "uid=alice,"+peopleDN), env.id(t, "uid=carol,"+peopleDN)
	r, err := env.b.Get(as("scim:read"), env.group, team, resource.Projection{})
	if err != nil {
		t.Fatal(err)
	}
	members, _ := r.Attrs["members"].([]any)
	var ids []string
	for _, m := range members {
		ids = append(ids, m.(map[string]any)["value"].(string))
	}
	if len(ids) != len(env.dir.Entry(teamDN).GetAttributeValues("member")) || !slices.Contains(ids, carol) {
		t.Fatalf("members %v, want every member with carol (%s)", ids, carol)
	}

	add := mustPath(t, "members")
	add.Op, add.Value = "add", []any{map[string]any{"value": alice}}
	del := mustPath(t, `members[value eq "`+carol+`"]`)
	del.Op = "remove"
	modifies := env.dir.Count("modify")
	if _, err := env.b.Patch(as("scim:read", "scim:write"), env.group, team, []resource.PatchOp{*add, *del}, resource.Conditions{}, resource.Projection{}); err != nil {
		t.Fatal(err)
	}
	if n := env.dir.Count("modify") - modifies; n != 1 {
		t.Errorf("%d modifies, want 1", n)
	}
	got := env.dir.Entry(teamDN).GetAttributeValues("member")
	if !slices.Contains(got, "uid=alice,ou=People,dc=example,dc=com") || slices.Contains(got, "uid=carol,ou=People,dc=example,dc=com") {
		t.Errorf("members after PATCH: %v", got)
	}
}

// TestBackendPatch: PATCH operations become one LDAP modify of the mapped
// attributes; what the caller may not write is 403 and changes nothing.
func TestBackendPatch(t *testing.T) {
	const aliceDN = "uid=alice," + peopleDN
	cases := []struct {
		name   string
		ctx    context.Context
		op     string
		path   string
		value  any
		status int
		attr   string   // the LDAP attribute to check
		want   []string // its values after
	}{
		{"replace title", as("scim:read", "scim:write"), "replace", "title", "Chief", 0, "title", []string{"Chief"}},
		{"replace a sub-attribute", as("scim:read", "scim:write"), "replace", "name.familyName", "Anders", 0, "sn", []string{"Anders"}},
		{"remove title", as("scim:read", "scim:write"), "remove", "title", nil, 0, "title", nil},
		{"read only: 403", as("scim:read"), "replace", "title", "Chief", 403, "title", []string{"__unchanged__"}},
		{"not even read: 404", as(), "replace", "title", "Chief", 404, "title", []string{"__unchanged__"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newMemEnv(t, nil)
			before := env.dir.Entry(aliceDN).GetAttributeValues(tc.attr)
			op := mustPath(t, tc.path)
			op.Op, op.Value = tc.op, tc.value
			_, err := env.b.Patch(tc.ctx, env.users, env.id(t, aliceDN), []resource.PatchOp{*op}, resource.Conditions{}, resource.Projection{})
			if status(err) != tc.status {
				t.Fatalf("status %d (%v), want %d", status(err), err, tc.status)
			}
			want := tc.want
			if slices.Equal(want, []string{"__unchanged__"}) {
				want = before
			}
			if got := env.dir.Entry(aliceDN).GetAttributeValues(tc.attr); !slices.Equal(got, want) {
				t.Errorf("%s = %q, want %q", tc.attr, got, want)
			}
		})
	}
}

// TestBackendErrors: what the directory answers becomes the SCIM error a
// client gets.
func TestBackendErrors(t *testing.T) {
	const aliceDN = "uid=alice," + peopleDN
	rw := as("scim:read", "scim:write")
	cases := []struct {
		name   string
		fail   func(op string, req any) error
		run    func(env *memEnv) error
		status int
	}{
		{"create an existing userName", nil, func(env *memEnv) error {
			_, err := env.b.Create(rw, env.users, map[string]any{"userName": "alice", "name": map[string]any{"familyName": "A"}}, resource.Projection{})
			return err
		}, 409},
		{"If-Match an old version", nil, func(env *memEnv) error {
			op := &resource.PatchOp{Op: "replace", Value: map[string]any{"title": "x"}}
			_, err := env.b.Patch(rw, env.users, env.dirID(aliceDN), []resource.PatchOp{*op}, resource.Conditions{IfMatch: []string{"old"}}, resource.Projection{})
			return err
		}, 412},
		{"a write that loses the race (assertion failed)", func(op string, _ any) error {
			if op == "modify" {
				return ldap.NewError(ldap.LDAPResultAssertionFailed, errors.New("assertion failed"))
			}
			return nil
		}, func(env *memEnv) error {
			r, err := env.b.Get(rw, env.users, env.dirID(aliceDN), resource.Projection{})
			if err != nil {
				return err
			}
			op := &resource.PatchOp{Op: "replace", Value: map[string]any{"title": "x"}}
			_, err = env.b.Patch(rw, env.users, r.ID, []resource.PatchOp{*op}, resource.Conditions{IfMatch: []string{r.Meta.Version}}, resource.Projection{})
			return err
		}, 412},
		{"delete a missing resource", nil, func(env *memEnv) error {
			return env.b.Delete(rw, env.users, "no-such-id", resource.Conditions{})
		}, 404},
		{"delete without the right", nil, func(env *memEnv) error {
			return env.b.Delete(as("scim:read"), env.users, env.dirID(aliceDN), resource.Conditions{})
		}, 403},
		{"the directory is down", func(string, any) error {
			return ldapconn.Unavailable(errors.New("connection refused"))
		}, func(env *memEnv) error {
			_, err := env.b.Get(rw, env.users, "some-id", resource.Projection{})
			return err
		}, 503},
		{"the directory denies", func(op string, _ any) error {
			if op == "delete" {
				return ldap.NewError(ldap.LDAPResultInsufficientAccessRights, errors.New("no"))
			}
			return nil
		}, func(env *memEnv) error {
			return env.b.Delete(rw, env.users, env.dirID(aliceDN), resource.Conditions{})
		}, 403},
		{"a listing past lookthrough", nil, func(env *memEnv) error {
			env.b.opt.Lookthrough = 3
			_, err := env.b.List(rw, env.users, &resource.ListQuery{Count: -1})
			return err
		}, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newMemEnv(t, nil)
			env.dir.Fail = tc.fail
			if err := tc.run(env); status(err) != tc.status {
				t.Errorf("status %d (%v), want %d", status(err), err, tc.status)
			}
		})
	}
}

// dirID is id without a test to fail.
func (env *memEnv) dirID(dn string) string {
	if e := env.dir.Entry(dn); e != nil {
		return e.GetAttributeValue("entryUUID")
	}
	return ""
}

// TestBackendListStrategies: each way of serving a list gives the same
// page; which one ran shows in the searches the directory saw.
func TestBackendListStrategies(t *testing.T) {
	userName := func(t *testing.T, expr string) *resource.ListQuery {
		f, err := resource.ParseFilter(expr)
		if err != nil {
			t.Fatal(err)
		}
		return &resource.ListQuery{Filter: f, Count: -1}
	}
	sortFails := func(code uint16) func(string, any) error {
		return func(op string, req any) error {
			if sr, ok := req.(*ldap.SearchRequest); ok && op == "search" {
				for _, c := range sr.Controls {
					if c.GetControlType() == ldap.ControlTypeServerSideSorting {
						return ldap.NewError(code, errors.New("cannot sort"))
					}
				}
			}
			return nil
		}
	}
	cases := []struct {
		name     string
		vlv      bool
		fail     func(string, any) error
		q        func(t *testing.T) *resource.ListQuery
		status   int
		first    string // userName of the first resource
		total    int    // -1: every user
		searches int    // searches of the type's entries, at most
	}{
		{"a filtered lookup reads the match whole, once", false, nil,
			func(t *testing.T) *resource.ListQuery { return userName(t, `userName eq "alice"`) }, 0, "alice", 1, 1},
		{"sorted by the directory", false, nil,
			func(*testing.T) *resource.ListQuery { return &resource.ListQuery{SortBy: "userName", Count: 3} }, 0, "alice", -1, 2},
		{"descending", false, nil,
			func(*testing.T) *resource.ListQuery {
				return &resource.ListQuery{SortBy: "userName", SortDescending: true, Count: 3}
			}, 0, "zach", -1, 2},
		{"the directory is busy sorting: the gateway sorts", false, sortFails(ldap.LDAPResultBusy),
			func(*testing.T) *resource.ListQuery { return &resource.ListQuery{SortBy: "userName", Count: 3} }, 0, "alice", -1, 3},
		{"no sort control here: the gateway sorts", false, sortFails(ldap.LDAPResultUnavailableCriticalExtension),
			func(*testing.T) *resource.ListQuery { return &resource.ListQuery{SortBy: "userName", Count: 3} }, 0, "alice", -1, 3},
		{"a sorted search that times out is not retried", false, sortFails(ldap.LDAPResultTimeLimitExceeded),
			func(*testing.T) *resource.ListQuery { return &resource.ListQuery{SortBy: "userName", Count: 3} }, 400, "", 0, 1},
		{"the directory down during a lookup is an error, not a second try", false, func(string, any) error {
			return ldapconn.Unavailable(context.DeadlineExceeded)
		}, func(t *testing.T) *resource.ListQuery { return userName(t, `userName eq "alice"`) }, 503, "", 0, 1},
		{"VLV turned down: listed the usual way", true, nil,
			func(*testing.T) *resource.ListQuery { return &resource.ListQuery{SortBy: "userName", Count: 3} }, 0, "alice", -1, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newMemEnv(t, func(o *Options) { o.VLV = tc.vlv })
			env.dir.Fail = tc.fail
			all, err := env.b.List(as("scim:read"), env.users, &resource.ListQuery{Count: 1000})
			if err != nil && tc.fail == nil {
				t.Fatal(err)
			}
			before := env.dir.Count("search")
			page, err := env.b.List(as("scim:read"), env.users, tc.q(t))
			searches := env.dir.Count("search") - before
			if status(err) != tc.status {
				t.Fatalf("status %d (%v), want %d", status(err), err, tc.status)
			}
			if searches > tc.searches {
				t.Errorf("%d searches, want at most %d", searches, tc.searches)
			}
			if err != nil {
				return
			}
			total := tc.total
			if total < 0 {
				total = all.TotalResults
			}
			if page.TotalResults != total || len(page.Resources) == 0 || page.Resources[0].Attrs["userName"] != tc.first {
				t.Errorf("total %d (want %d), first %v (want %s)", page.TotalResults, total, page.Resources[0].Attrs["userName"], tc.first)
			}
			if tc.vlv && !env.b.vlvOff.Load() {
				t.Error("VLV still on after the directory turned it down")
			}
		})
	}
}

// TestBackendListUniform: where the caller's access is the same for every
// user, the directory cuts the page (VLV); a client walking the pages
// while the directory is at rest has the listing's order read once, then
// each page read by id; the pages are those the gateway's own sort gives.
func TestBackendListUniform(t *testing.T) {
	plain := newMemEnv(t, nil)
	vlv := newMemEnv(t, func(o *Options) {
		o.VLV = true
		o.ACIs = staticACIs{set: o.ACIs.(staticACIs).set, marker: "m1", interval: time.Second}
	})
	vlv.dir.VLV = true
	q := func(start int) *resource.ListQuery {
		return &resource.ListQuery{SortBy: "userName", StartIndex: start, Count: 3}
	}
	ids := func(p *resource.Page) []string {
		var out []string
		for _, r := range p.Resources {
			out = append(out, r.Attrs["userName"].(string))
		}
		return out
	}
	// Warm the reference caches, which the searches below do not count.
	for _, env := range []*memEnv{plain, vlv} {
		if _, err := env.b.List(as("scim:read"), env.users, &resource.ListQuery{Count: 1000}); err != nil {
			t.Fatal(err)
		}
	}
	for i, wantSearches := range []int{1, 2, 1, 1} { // VLV; order read and page by id; pages by id
		start := 1 + 3*i
		want, err := plain.b.List(as("scim:read"), plain.users, q(start))
		if err != nil {
			t.Fatal(err)
		}
		before := vlv.dir.Count("search")
		got, err := vlv.b.List(as("scim:read"), vlv.users, q(start))
		if err != nil {
			t.Fatal(err)
		}
		if n := vlv.dir.Count("search") - before; n != wantSearches {
			t.Errorf("page at %d: %d searches, want %d", start, n, wantSearches)
		}
		if !slices.Equal(ids(got), ids(want)) || got.TotalResults != want.TotalResults {
			t.Errorf("page at %d: %v of %d, want %v of %d", start, ids(got), got.TotalResults, ids(want), want.TotalResults)
		}
	}
	if vlv.b.vlvOff.Load() {
		t.Error("VLV turned off")
	}
	// Past the end of another listing (VLV answers 76): the count alone.
	all, err := plain.b.List(as("scim:read"), plain.users, &resource.ListQuery{Count: 0})
	if err != nil {
		t.Fatal(err)
	}
	before := vlv.dir.Count("search")
	got, err := vlv.b.List(as("scim:read"), vlv.users, &resource.ListQuery{SortBy: "userName", SortDescending: true, StartIndex: 1000, Count: 3})
	if err != nil || len(got.Resources) != 0 || got.TotalResults != all.TotalResults {
		t.Errorf("past the end: %+v, %v; want no resources of %d", got, err, all.TotalResults)
	}
	if n := vlv.dir.Count("search") - before; n != 2 {
		t.Errorf("past the end: %d searches, want 2 (the window, then the count)", n)
	}
}

// TestBackendSortLeak: a sort key some entries hide from the caller never
// orders what it sees: the directory is not asked to cut the page, and an
// entry whose key the caller may not read sorts as if it had none (last).
func TestBackendSortLeak(t *testing.T) {
	data, err := os.ReadFile(demoLDIF)
	if err != nil {
		t.Fatal(err)
	}
	set := demoACIs(t, data, `(targetattr="title")(targetfilter="(uid=b*)")(version 3.0; acl "hide some titles"; deny (read,search,compare) userdn="ldap:///anyone";)`)
	env := newMemEnv(t, func(o *Options) {
		o.VLV = true
		o.ACIs = staticACIs{set: set}
	})
	env.dir.VLV = true
	vlvAsked := false
	env.dir.Fail = func(_ string, req any) error {
		if sr, ok := req.(*ldap.SearchRequest); ok {
			for _, c := range sr.Controls {
				vlvAsked = vlvAsked || c.GetControlType() == ldap.ControlTypeVLVRequest
			}
		}
		return nil
	}
	page, err := env.b.List(as("scim:read"), env.users, &resource.ListQuery{SortBy: "title", Count: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if vlvAsked {
		t.Error("the directory was asked to cut a page sorted by a key the caller cannot read everywhere")
	}
	seenHidden := false
	for _, r := range page.Resources {
		name := r.Attrs["userName"].(string)
		_, hasTitle := r.Attrs["title"]
		hidden := name[0] == 'b' && env.dir.Entry("uid="+name+","+peopleDN).GetAttributeValue("title") != ""
		if hidden && hasTitle {
			t.Errorf("%s: a hidden title was returned", name)
		}
		if hasTitle && seenHidden {
			t.Errorf("%s sorts after an entry whose hidden title ordered it", name)
		}
		seenHidden = seenHidden || hidden || !hasTitle
	}
}
