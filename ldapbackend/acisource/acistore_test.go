package acisource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/ldapbackend/slapd"
)

// changeWithin is how quickly a change in the directory must reach the set.
const changeWithin = 2 * time.Second

const globalACI = `(targetattr="cn")(version 3.0; acl "global"; allow (read) userdn="ldap:///self";)`

// runStore starts st.Run until the end of the test.
func runStore(t *testing.T, st *ACIStore) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { st.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// current returns the set, failing the test in lockdown or before a load.
func current(t *testing.T, st *ACIStore) *aci.Set {
	t.Helper()
	set, err := st.Current()
	if err != nil {
		t.Fatalf("Current: %v", err)
	}
	return set
}

// waitSet waits until the current set satisfies cond.
func waitSet(t *testing.T, st *ACIStore, what string, cond func(*aci.Set) bool) {
	t.Helper()
	start := time.Now()
	eventually(t, changeWithin, what, func() bool {
		set, err := st.Current()
		return err == nil && cond(set)
	})
	t.Logf("%s after %s", what, time.Since(start).Round(time.Millisecond))
}

func texts(set *aci.Set, dn string) []string {
	var out []string
	for _, c := range set.ACIs(dn) {
		out = append(out, c.Text)
	}
	return out
}

func TestACIStore(t *testing.T) {
	s := startDemo(t, slapd.Options{})
	cfg := testConfig(s)
	cfg.GlobalACIs = []string{globalACI}
	p := newTestPool(t, cfg)
	st := NewACIStore(p, cfg, testLogger(t))
	ctx := t.Context()
	modify := func(ldif string) {
		t.Helper()
		if err := s.LDAPModify(ctx, ldif); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := st.Current(); !errors.Is(err, ErrACIsNotLoaded) {
		t.Fatalf("Current before Load = %v, want ErrACIsNotLoaded", err)
	}
	if st.Ready() == nil {
		t.Fatal("Ready before Load")
	}
	if err := st.Load(ctx); err != nil {
		t.Fatal(err)
	}
	set := current(t, st)
	wantEntries := []string{
		"dc=example,dc=com", "ou=connectors,dc=example,dc=com", "ou=groups,dc=example,dc=com",
		"ou=people,dc=example,dc=com", "ou=syncprofiles,dc=example,dc=com",
	}
	demo := demoACICount(t) + 1
	if !slices.Equal(set.Entries(), wantEntries) || set.Len() != demo || len(set.Global()) != 1 {
		t.Fatalf("demo set: entries %q, %d ACIs, %d global", set.Entries(), set.Len(), len(set.Global()))
	}
	if st.state.Load().csn == "" {
		t.Error("no contextCSN read: the syncprov overlay should provide one")
	}
	if err := st.Load(ctx); err != nil || st.Version() != 1 || current(t, st) != set {
		t.Errorf("unchanged reload installed a new set: version %d, %v", st.Version(), err)
	}

	if m := st.ChangeMarker(); m != "" {
		t.Errorf("ChangeMarker before Run checked anything = %q, want none", m)
	}
	var changes atomic.Int64
	st.OnChange(func() { changes.Add(1) })
	runStore(t, st)

	t.Run("change marker", func(t *testing.T) {
		var m0 string
		eventually(t, changeWithin, "a change marker once Run checks", func() bool { m0 = st.ChangeMarker(); return m0 != "" })
		time.Sleep(3 * cfg.RefreshInterval)
		if m := st.ChangeMarker(); m != m0 {
			t.Errorf("the marker moved with nothing changed: %q -> %q", m0, m)
		}
		// Any change under the suffix moves it, an ACI or not.
		modify("dn: ou=People,dc=example,dc=com\nchangetype: modify\nreplace: description\ndescription: marker test\n")
		eventually(t, changeWithin, "a new marker after a change", func() bool { m := st.ChangeMarker(); return m != "" && m != m0 })
		if !st.Covers("uid=bob,ou=People,dc=example,dc=com") || st.Covers("cn=config") {
			t.Error("Covers: wrong about what lies in the suffix")
		}
	})

	const services = "ou=services,dc=example,dc=com"
	t.Run("add", func(t *testing.T) {
		modify(`dn: ou=Services,dc=example,dc=com
changetype: modify
add: objectClass
objectClass: aciHolder
-
add: aci
aci: (targetattr="description")(version 3.0; acl "services v1"; allow (read) userdn="ldap:///anyone";)
`)
		waitSet(t, st, "added ACI", func(s *aci.Set) bool { return len(s.ACIs(services)) == 1 })
	})
	t.Run("change", func(t *testing.T) {
		modify(`dn: ou=Services,dc=example,dc=com
changetype: modify
replace: aci
aci: (targetattr="description")(version 3.0; acl "services v2"; allow (read,search) userdn="ldap:///anyone";)
`)
		waitSet(t, st, "changed ACI", func(s *aci.Set) bool {
			v := texts(s, services)
			return len(v) == 1 && strings.Contains(v[0], "services v2")
		})
	})
	t.Run("remove", func(t *testing.T) {
		modify(`dn: ou=Services,dc=example,dc=com
changetype: modify
delete: aci
`)
		waitSet(t, st, "removed ACI", func(s *aci.Set) bool { return len(s.ACIs(services)) == 0 && s.Len() == demo })
	})

	t.Run("lockdown and recovery", func(t *testing.T) {
		bad := `(targetattr="cn")(version 3.0; acl "bad"; allow (read,frob) userdn="ldap:///anyone";)`
		_, perr := aci.Parse(bad)
		if perr == nil {
			t.Fatal("the bad ACI parses")
		}
		peopleACIs := len(current(t, st).ACIs("ou=people,dc=example,dc=com"))
		modify("dn: ou=People,dc=example,dc=com\nchangetype: modify\nadd: aci\naci: " + bad + "\n")
		var lock *LockdownError
		eventually(t, changeWithin, "lockdown", func() bool {
			_, err := st.Current()
			return errors.As(err, &lock)
		})
		want := fmt.Sprintf(`entry "ou=people,dc=example,dc=com", aci value %d: %s`, peopleACIs+1, perr)
		if !strings.Contains(lock.Error(), want) || !strings.Contains(want, "1:") {
			t.Errorf("lockdown message %q does not contain %q", lock.Error(), want)
		}
		if err := st.Ready(); !errors.As(err, &lock) {
			t.Errorf("Ready in lockdown = %v", err)
		}
		if set, _ := st.Current(); set != nil {
			t.Error("Current returns a set in lockdown")
		}
		modify("dn: ou=People,dc=example,dc=com\nchangetype: modify\ndelete: aci\naci: " + bad + "\n")
		waitSet(t, st, "recovery from lockdown", func(s *aci.Set) bool { return s.Len() == demo })
		if err := st.Ready(); err != nil {
			t.Errorf("Ready after recovery = %v", err)
		}
	})

	t.Run("rename and delete", func(t *testing.T) {
		modify(`dn: uid=bob,ou=People,dc=example,dc=com
changetype: modify
add: objectClass
objectClass: aciHolder
-
add: aci
aci: (targetattr="title")(version 3.0; acl "bob's own"; allow (write) userdn="ldap:///self";)
`)
		const bob, robert = "uid=bob,ou=people,dc=example,dc=com", "uid=robert,ou=people,dc=example,dc=com"
		waitSet(t, st, "ACI on bob", func(s *aci.Set) bool { return len(s.ACIs(bob)) == 1 })
		modify("dn: uid=bob,ou=People,dc=example,dc=com\nchangetype: modrdn\nnewrdn: uid=robert\ndeleteoldrdn: 1\n")
		waitSet(t, st, "ACI carried by the rename", func(s *aci.Set) bool {
			return len(s.ACIs(bob)) == 0 && len(s.ACIs(robert)) == 1 && s.ACIs(robert)[0].EntryDN == robert
		})
		modify("dn: uid=robert,ou=People,dc=example,dc=com\nchangetype: delete\n")
		waitSet(t, st, "ACI dropped with its entry", func(s *aci.Set) bool { return len(s.ACIs(robert)) == 0 && s.Len() == demo })
	})

	t.Run("directory down keeps the last good set", func(t *testing.T) {
		good := current(t, st)
		v := st.Version()
		if err := s.Halt(); err != nil {
			t.Fatal(err)
		}
		eventually(t, changeWithin, "Ready reports the failed check", func() bool { return st.Ready() != nil })
		time.Sleep(5 * cfg.RefreshInterval)
		if set, err := st.Current(); err != nil || set != good || st.Version() != v {
			t.Errorf("while down: Current = %p, %v (version %d→%d); want the last good set", set, err, v, st.Version())
		}
		if err := st.Ready(); errors.Is(err, ErrACIsNotLoaded) || !errors.Is(err, ldapconn.ErrUnavailable) {
			t.Errorf("Ready while down = %v", err)
		}
		if err := s.Resume(ctx); err != nil {
			t.Fatal(err)
		}
		eventually(t, 8*time.Second, "Ready after the directory is back", func() bool { return st.Ready() == nil })
		if set := current(t, st); set.Len() != demo {
			t.Errorf("after recovery: %d ACIs", set.Len())
		}
	})

	if changes.Load() < 8 || changes.Load() > int64(st.Version()) {
		t.Errorf("OnChange ran %d times, version %d", changes.Load(), st.Version())
	}
}

// TestACIStoreWithoutContextCSN: with no syncprov overlay (or on 389 DS) the
// store reloads every interval and installs a set only when it changed; it
// also covers a first load while the directory is down.
func TestACIStoreWithoutContextCSN(t *testing.T) {
	s := startDemo(t, slapd.Options{Overlays: []slapd.Overlay{slapd.OverlayMemberOf, slapd.OverlayRefint}})
	cfg := testConfig(s)
	if err := s.Halt(); err != nil {
		t.Fatal(err)
	}
	p := newTestPool(t, cfg)
	st := NewACIStore(p, cfg, testLogger(t))
	err := st.Load(t.Context())
	if err == nil {
		t.Fatal("Load succeeded with the directory down")
	}
	if _, cerr := st.Current(); !errors.Is(cerr, ErrACIsNotLoaded) || !errors.Is(cerr, ldapconn.ErrUnavailable) {
		t.Errorf("Current after a failed first load = %v", cerr)
	}
	runStore(t, st)
	if err := s.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 8*time.Second, "first load once the directory is up", func() bool { return st.Ready() == nil })
	// slapadd wrote a contextCSN that nothing maintains: the store must find
	// out and reload every interval.
	v := st.Version()
	time.Sleep(5 * cfg.RefreshInterval)
	if st.Version() != v {
		t.Errorf("unchanged reloads installed sets: version %d→%d", v, st.Version())
	}
	groups := len(current(t, st).ACIs("ou=groups,dc=example,dc=com"))
	for i := range 2 {
		want := groups + i + 1
		if err := s.LDAPModify(t.Context(), fmt.Sprintf(`dn: ou=Groups,dc=example,dc=com
changetype: modify
add: aci
aci: (targetattr="description")(version 3.0; acl "extra %d"; allow (read) userdn="ldap:///anyone";)
`, i)); err != nil {
			t.Fatal(err)
		}
		waitSet(t, st, fmt.Sprintf("added ACI %d without a maintained contextCSN", i), func(s *aci.Set) bool {
			return len(s.ACIs("ou=groups,dc=example,dc=com")) == want
		})
	}
	// A contextCSN that does not follow changes vouches for nothing.
	if m := st.ChangeMarker(); m != "" {
		t.Errorf("ChangeMarker with an unmaintained contextCSN = %q, want none", m)
	}
}

// demoACICount counts the aci values of the demo directory.
func demoACICount(t *testing.T) int {
	b, err := os.ReadFile(demoLDIF)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\naci: ")
}

func TestValidateGlobal(t *testing.T) {
	if err := ValidateGlobal([]string{globalACI}); err != nil {
		t.Errorf("valid global ACI: %v", err)
	}
	if err := ValidateGlobal(nil); err != nil {
		t.Errorf("no global ACI: %v", err)
	}
	bad := `(targetattr="cn")(version 3.0; acl "x"; allow (frob) userdn="ldap:///anyone";)`
	_, perr := aci.Parse(bad)
	err := ValidateGlobal([]string{globalACI, bad})
	if err == nil || err.Error() != "global ACI 2: "+perr.Error() {
		t.Errorf("ValidateGlobal = %v, want global ACI 2: %v", err, perr)
	}
}

func TestLockdownErrorMessage(t *testing.T) {
	e := &LockdownError{Problems: []*aci.LoadError{
		{EntryDN: "ou=a,dc=x", Index: 0, Err: aci.ErrorList{{Pos: aci.Pos{Line: 1, Col: 5}, Msg: "one"}, {Pos: aci.Pos{Line: 1, Col: 9}, Msg: "two"}}},
		{EntryDN: "ou=b,dc=x", Index: 3, Err: errors.New("1:2: three")},
	}}
	want := `entry "ou=a,dc=x", aci value 1: 1:5: one; entry "ou=a,dc=x", aci value 1: 1:9: two; entry "ou=b,dc=x", aci value 4: 1:2: three`
	if e.Error() != want {
		t.Errorf("got  %s\nwant %s", e.Error(), want)
	}
}
