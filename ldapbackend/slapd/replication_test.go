package slapd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// replicationLimit is how long a write may take to reach another provider. A consumer that
// lost its provider retries every second.
const replicationLimit = 5 * time.Second

// readEntry reads attrs of dn on s as the admin; nil if there is no such entry.
func readEntry(ctx context.Context, t *testing.T, s *Server, dn string, attrs ...string) *ldap.Entry {
	t.Helper()
	conn, err := s.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(&ldap.SearchRequest{BaseDN: dn, Scope: ldap.ScopeBaseObject,
		DerefAliases: ldap.NeverDerefAliases, Filter: "(objectClass=*)", Attributes: attrs})
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil
	}
	if err != nil {
		t.Fatalf("read %s on %s: %v", dn, s.URL, err)
	}
	return res.Entries[0]
}

// waitEntry waits up to replicationLimit until dn exists on s and, unless attr is "", has
// value among its attr values; it returns the entry with attr and attrs.
func waitEntry(ctx context.Context, t *testing.T, s *Server, dn, attr, value string, attrs ...string) *ldap.Entry {
	t.Helper()
	if attr != "" {
		attrs = append(attrs, attr)
	}
	for begin := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		e := readEntry(ctx, t, s, dn, attrs...)
		if e != nil && (attr == "" || slices.ContainsFunc(e.GetAttributeValues(attr), func(v string) bool { return strings.EqualFold(v, value) })) {
			return e
		}
		if time.Since(begin) > replicationLimit {
			if attr == "" {
				t.Fatalf("%s not on %s after %v", dn, s.URL, replicationLimit)
			}
			t.Fatalf("%s has no %s %q on %s after %v: %v", dn, attr, value, s.URL, replicationLimit, e)
		}
	}
}

// TestMultiProvider starts two providers that replicate both ways: they start with the same
// entries (entryUUIDs included), a write on either reaches the other, and writes made while
// one is killed reach it once it is back.
func TestMultiProvider(t *testing.T) {
	t.Parallel()
	ps := StartProvidersT(t, Options{SeedLDIF: []string{demoLDIF}}, 2)
	a, b := ps[0], ps[1]
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()

	for i, s := range ps {
		conf, err := os.ReadFile(filepath.Join(s.Dir, "slapd.conf"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{fmt.Sprintf("\nserverID %d\n", i+1), "\nsyncrepl rid=001\n", "\nmultiprovider on\n", "\noverlay syncprov\n"} {
			if !strings.Contains(string(conf), want) {
				t.Errorf("provider %d: slapd.conf lacks %q", i+1, strings.TrimSpace(want))
			}
		}
	}
	if err := ps.WaitInSync(ctx); err != nil {
		t.Fatal(err)
	}
	// The seed's CSNs carry the first server's ID (slapadd -S), not 0.
	if csns, err := b.ContextCSN(ctx); err != nil || len(csns) != 1 || !strings.Contains(csns[0], "#001#") {
		t.Errorf("second provider's contextCSN after seeding = %q, %v; want one, of server 001", csns, err)
	}
	alice := "uid=alice," + people
	ea, eb := readEntry(ctx, t, a, alice, "entryUUID", "entryCSN"), readEntry(ctx, t, b, alice, "entryUUID", "entryCSN")
	for _, attr := range []string{"entryUUID", "entryCSN"} {
		if va, vb := ea.GetAttributeValue(attr), eb.GetAttributeValue(attr); va == "" || va != vb {
			t.Errorf("alice's %s: %q on the first provider, %q on the second", attr, va, vb)
		}
	}

	// A write on the first reaches the second, with the same entryUUID.
	fromA := "uid=mmr-a," + people
	if err := a.LDAPModify(ctx, "dn: "+fromA+"\nobjectClass: inetOrgPerson\nuid: mmr-a\ncn: From A\nsn: A\n"); err != nil {
		t.Fatal(err)
	}
	ua := readEntry(ctx, t, a, fromA, "entryUUID").GetAttributeValue("entryUUID")
	if ub := waitEntry(ctx, t, b, fromA, "", "", "entryUUID").GetAttributeValue("entryUUID"); ub != ua {
		t.Errorf("entryUUID of %s: %q on the first provider, %q on the second", fromA, ua, ub)
	}

	// Writes on the second reach the first, and so does the memberOf value they lead to.
	eng := "cn=engineering," + groups
	err := b.LDAPModify(ctx, "dn: "+fromA+"\nchangetype: modify\nreplace: description\ndescription: from B\n\n"+
		"dn: "+eng+"\nchangetype: modify\nadd: member\nmember: "+fromA+"\n")
	if err != nil {
		t.Fatal(err)
	}
	waitEntry(ctx, t, a, fromA, "description", "from B")
	waitEntry(ctx, t, a, eng, "member", fromA)
	waitEntry(ctx, t, a, fromA, "memberOf", eng)
	waitEntry(ctx, t, b, fromA, "memberOf", eng)

	// The first's last write before it is killed. Were the contextCSN saved only every 100
	// writes, the first would come back with an older one than it had (slapd trusts the
	// saved value with mdb), and a write that had not yet reached the peer never would.
	if err := a.LDAPModify(ctx, "dn: "+fromA+"\nchangetype: modify\nreplace: description\ndescription: last from A\n"); err != nil {
		t.Fatal(err)
	}
	waitEntry(ctx, t, b, fromA, "description", "last from A")
	killed, err := a.ContextCSN(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Kill(); err != nil {
		t.Fatal(err)
	}
	if a.Running() {
		t.Fatal("running after Kill")
	}

	// A write on the second while the first is down reaches it when it is back. The second is
	// halted meanwhile, so that the first's contextCSN is what it read from its database.
	fromB := "uid=mmr-b," + people
	if err := b.LDAPModify(ctx, "dn: "+fromB+"\nobjectClass: inetOrgPerson\nuid: mmr-b\ncn: From B\nsn: B\n"); err != nil {
		t.Fatal(err)
	}
	if err := b.Halt(); err != nil {
		t.Fatal(err)
	}
	if err := a.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if csns, err := a.ContextCSN(ctx); err != nil || !slices.Equal(csns, killed) {
		t.Errorf("contextCSN after the kill = %q, %v; before = %q", csns, err, killed)
	}
	waitEntry(ctx, t, a, fromA, "description", "last from A")
	if err := b.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	waitEntry(ctx, t, a, fromB, "", "")

	// Writes on the first reach the second again.
	if err := a.LDAPModify(ctx, "dn: "+fromB+"\nchangetype: modify\nreplace: description\ndescription: from A after the restart\n"); err != nil {
		t.Fatal(err)
	}
	waitEntry(ctx, t, b, fromB, "description", "from A after the restart")
	if err := ps.WaitInSync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ps.Stop(); err != nil {
		t.Error(err)
	}
}

// TestMultiProviderOptions checks that every problem with ServerID and Peers is reported.
func TestMultiProviderOptions(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		o    Options
		want []string // substrings of the error; none for a valid o
	}{
		{"no replication", Options{}, nil},
		{"server ID alone", Options{ServerID: MaxServerID}, nil},
		{"peers", Options{ServerID: 1, AdminPassword: "pw", Peers: []string{"ldap://127.0.0.1:1", "ldaps://h:636/"}}, nil},
		{"server ID range", Options{ServerID: MaxServerID + 1}, []string{"server ID 4096 is not between 1 and 4095"}},
		{"negative server ID", Options{ServerID: -1}, []string{"server ID -1"}},
		{"peers need ID and password", Options{Peers: []string{"ldap://127.0.0.1:1"}},
			[]string{"peers need a server ID", "peers need an admin password"}},
		{"bad peers", Options{ServerID: 2, AdminPassword: "pw", Peers: []string{"http://h", "ldap://h/dc=x", "ldap://h", "ldap://h", "ldap://%zz"}},
			[]string{`peer "http://h": want ldap://host:port`, `peer "ldap://h/dc=x"`, `peer "ldap://h" listed twice`, `peer "ldap://%zz"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, err := c.o.withDefaults()
			if len(c.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if len(o.Peers) > 0 && !o.has(OverlaySyncProv) {
					t.Error("peers without syncprov")
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	// Peers add syncprov to a list without it, and leave the caller's list alone.
	overlays := []Overlay{OverlayMemberOf}
	o, err := Options{ServerID: 1, AdminPassword: "pw", Peers: []string{"ldap://h:1"}, Overlays: overlays}.withDefaults()
	if err != nil || !slices.Equal(o.Overlays, []Overlay{OverlayMemberOf, OverlaySyncProv}) || len(overlays) != 1 {
		t.Errorf("overlays = %v, %v; caller's = %v", o.Overlays, err, overlays)
	}
}
