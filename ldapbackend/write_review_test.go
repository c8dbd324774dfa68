package ldapbackend

import (
	"context"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/scim/resource"
)

// withGlobalACIs is a newMemEnv tuning that adds global ACIs to the demo's.
func withGlobalACIs(t *testing.T, globals ...string) func(*Options) {
	t.Helper()
	data, err := os.ReadFile(demoLDIF)
	if err != nil {
		t.Fatal(err)
	}
	set := demoACIs(t, data, globals...)
	return func(o *Options) { o.ACIs = staticACIs{set: set} }
}

// asUser is the request context of a mapped caller (BindDN) with scopes.
func asUser(dn string, scopes ...string) context.Context {
	return resource.WithCaller(context.Background(), &resource.Caller{BindDN: dn,
		Scopes: scopes, HasToken: true, IP: netip.MustParseAddr("127.0.0.1"), RequestID: "test"})
}

// hasAssertion reports whether controls carry the LDAP Assertion control.
func hasAssertion(controls []ldap.Control) bool {
	return slices.ContainsFunc(controls, func(c ldap.Control) bool { return c.GetControlType() == ldapconn.ControlTypeAssertion })
}

// TestMembersPatchAssertsEntryState: a membership PATCH without If-Match
// whose write right rests on the group entry (an owner, by userattr) is
// bound to the entry it was decided on: an owner removed between the
// decision and the modify does not add a member. Without such ACIs (the
// demo's), the modify carries no assertion, so concurrent membership
// changes still commute.
func TestMembersPatchAssertsEntryState(t *testing.T) {
	const (
		teamDN = "cn=platform-team," + groupsDN
		bobDN  = "uid=bob," + peopleDN
	)
	ownerACI := `(target="ldap:///` + groupsDN + `")(targetattr="member")(version 3.0; acl "owners manage members"; allow (write) userattr="owner#USERDN";)`
	cases := []struct {
		name          string
		tune          func(*Options)
		ctx           context.Context
		race          bool // the owner is removed just before the modify
		status        int
		wantAssertion bool
		wantBob       bool
	}{
		{"owner, no race", withGlobalACIs(t, ownerACI), asUser(strings.ToLower(aliceDN), "scim:read"), false, 0, true, true},
		{"owner removed meanwhile", withGlobalACIs(t, ownerACI), asUser(strings.ToLower(aliceDN), "scim:read"), true, 403, true, false},
		{"ACIs read no entry attribute", nil, as("scim:read", "scim:write"), false, 0, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newMemEnv(t, tc.tune)
			ctx := context.Background()
			own := ldap.NewModifyRequest(teamDN, nil)
			own.Replace("owner", []string{aliceDN})
			if err := env.dir.Modify(ctx, own); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			raced, asserted := false, false
			env.dir.Fail = func(op string, req any) error {
				m, ok := req.(*ldap.ModifyRequest)
				if op != "modify" || !ok || !strings.EqualFold(m.DN, teamDN) {
					return nil
				}
				mu.Lock()
				if len(m.Changes) > 0 && m.Changes[0].Modification.Type == "member" {
					asserted = asserted || hasAssertion(m.Controls)
				}
				race := tc.race && !raced
				raced = raced || race
				mu.Unlock()
				if race {
					gone := ldap.NewModifyRequest(teamDN, nil)
					gone.Delete("owner", nil)
					if err := env.dir.Modify(ctx, gone); err != nil {
						t.Error(err)
					}
				}
				return nil
			}
			add := mustPath(t, "members")
			add.Op, add.Value = "add", []any{map[string]any{"value": env.id(t, bobDN)}}
			_, err := env.b.Patch(tc.ctx, env.group, env.id(t, teamDN), []resource.PatchOp{*add}, resource.Conditions{}, resource.Projection{})
			if status(err) != tc.status {
				t.Fatalf("status %d (%v), want %d", status(err), err, tc.status)
			}
			if asserted != tc.wantAssertion {
				t.Errorf("member modify asserted the version: %v, want %v", asserted, tc.wantAssertion)
			}
			members := env.dir.Entry(teamDN).GetAttributeValues("member")
			if got := slices.ContainsFunc(members, func(v string) bool { return strings.EqualFold(v, bobDN) }); got != tc.wantBob {
				t.Errorf("bob a member: %v, want %v", got, tc.wantBob)
			}
		})
	}
}

// TestRenameThenModifyAsserts: the modify that follows a rename asserts
// the version the rename left; when the entry changes in between, the
// rename is undone and the whole write is worked out again.
func TestRenameThenModifyAsserts(t *testing.T) {
	const carolDN = "uid=carol," + peopleDN
	for _, race := range []bool{false, true} {
		t.Run(map[bool]string{false: "quiet", true: "changed between rename and modify"}[race], func(t *testing.T) {
			env := newMemEnv(t, nil)
			id := env.id(t, carolDN)
			var mu sync.Mutex
			lastOp, raced := "", false
			var modifyAfterRename []bool // whether each modify after a rename asserted
			env.dir.Fail = func(op string, req any) error {
				mu.Lock()
				prev := lastOp
				if op != "search" {
					lastOp = op
				}
				doRace := false
				if m, ok := req.(*ldap.ModifyRequest); ok && op == "modify" && prev == "modrdn" {
					modifyAfterRename = append(modifyAfterRename, hasAssertion(m.Controls))
					doRace = race && !raced
					raced = raced || doRace
				}
				mu.Unlock()
				if doRace {
					other := ldap.NewModifyRequest("uid=carol-renamed,"+peopleDN, nil)
					other.Replace("employeeType", []string{"staff"})
					if err := env.dir.Modify(context.Background(), other); err != nil {
						t.Error(err)
					}
				}
				return nil
			}
			user := mustPath(t, "userName")
			user.Op, user.Value = "replace", "carol-renamed"
			title := mustPath(t, "title")
			title.Op, title.Value = "replace", "Renamed"
			renames := env.dir.Count("modrdn")
			if _, err := env.b.Patch(as("scim:read", "scim:write"), env.users, id, []resource.PatchOp{*user, *title}, resource.Conditions{}, resource.Projection{}); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(modifyAfterRename) == 0 || slices.Contains(modifyAfterRename, false) {
				t.Errorf("modifies after a rename asserted the version: %v, want all", modifyAfterRename)
			}
			wantRenames := 1
			if race {
				wantRenames = 3 // renamed, undone, renamed again
			}
			if n := env.dir.Count("modrdn") - renames; n != wantRenames {
				t.Errorf("%d renames, want %d", n, wantRenames)
			}
			e := env.dir.Entry("uid=carol-renamed," + peopleDN)
			if e == nil || e.GetAttributeValue("title") != "Renamed" {
				t.Fatalf("entry after the write: %v", e)
			}
		})
	}
}

// TestUndoRenameFails: when the modify after a rename fails and so does
// undoing the rename, the client is told that the resource kept its new
// name (503), not the modify's error.
func TestUndoRenameFails(t *testing.T) {
	const carolDN = "uid=carol," + peopleDN
	env := newMemEnv(t, nil)
	id := env.id(t, carolDN)
	renames := 0
	env.dir.Fail = func(op string, req any) error {
		switch op {
		case "modify":
			return ldap.NewError(ldap.LDAPResultUnwillingToPerform, errTest("modify refused"))
		case "modrdn":
			renames++
			if renames > 1 {
				return ldap.NewError(ldap.LDAPResultOther, errTest("undo refused"))
			}
		}
		return nil
	}
	user := mustPath(t, "userName")
	user.Op, user.Value = "replace", "carol-renamed"
	title := mustPath(t, "title")
	title.Op, title.Value = "replace", "Renamed"
	_, err := env.b.Patch(as("scim:read", "scim:write"), env.users, id, []resource.PatchOp{*user, *title}, resource.Conditions{}, resource.Projection{})
	if status(err) != 503 || !strings.Contains(err.Error(), "keeps its new name") {
		t.Fatalf("error %v (status %d), want 503 saying the resource keeps its new name", err, status(err))
	}
	if env.dir.Entry("uid=carol-renamed,"+peopleDN) == nil {
		t.Fatal("the test meant the entry to keep its new name")
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }

// TestWriteFlushesCaches: every write, whatever its outcome, empties the
// reference cache and the listing cache as well as the directory view.
func TestWriteFlushesCaches(t *testing.T) {
	const aliceDN = "uid=alice," + peopleDN
	for _, fail := range []bool{false, true} {
		t.Run(map[bool]string{false: "applied", true: "failed"}[fail], func(t *testing.T) {
			env := newMemEnv(t, nil)
			b := env.b
			const ref = "uid=someone,ou=people,dc=example,dc=com"
			list := listKey{typ: "User", filter: "(objectClass=*)"}
			cached := func() (refs, lists bool) {
				_, refs, _ = b.refs.Get(ref)
				_, lists, _ = b.lists.Get(list)
				return refs, lists
			}
			b.refs.Put(ref, refEntry{missing: true}, b.refs.Begin())
			b.lists.Put(list, &cachedList{ids: []string{"x"}}, b.lists.Begin())
			if refs, lists := cached(); !refs || !lists {
				t.Fatal("nothing cached to begin with")
			}
			if fail {
				env.dir.Fail = func(op string, _ any) error {
					if op == "modify" {
						return ldap.NewError(ldap.LDAPResultBusy, errTest("busy"))
					}
					return nil
				}
			}
			op := mustPath(t, "title")
			op.Op, op.Value = "replace", "Flushed"
			_, err := b.Patch(as("scim:read", "scim:write"), env.users, env.id(t, aliceDN), []resource.PatchOp{*op}, resource.Conditions{}, resource.Projection{})
			if (err != nil) != fail {
				t.Fatalf("write: %v", err)
			}
			if refs, lists := cached(); refs || lists {
				t.Errorf("after a write: reference still cached %v, listing still cached %v; want neither", refs, lists)
			}
		})
	}
}
