package ldapconn

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/slapd"
)

// clusterConfig is testConfig over several servers, all providers.
func clusterConfig(servers ...*slapd.Server) LDAPConfig {
	c := testConfig(servers[0])
	c.URL = ""
	for _, s := range servers {
		c.Servers = append(c.Servers, ServerConfig{URL: s.URL})
	}
	c.CheckInterval = 200 * time.Millisecond
	c.Defaults()
	return c
}

// newTestCluster returns a cluster closed at the end of the test.
func newTestCluster(t *testing.T, cfg LDAPConfig) *Cluster {
	t.Helper()
	c, err := NewCluster(t.Context(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// addPerson adds ou=People's uid=<uid> through conn.
func addPerson(ctx context.Context, conn Conn, uid string) error {
	req := ldap.NewAddRequest("uid="+uid+",ou=People,dc=example,dc=com", nil)
	req.Attribute("objectClass", []string{"inetOrgPerson"})
	req.Attribute("cn", []string{uid})
	req.Attribute("sn", []string{uid})
	return conn.Add(ctx, req)
}

// holds reports whether s, asked directly, has uid.
func holds(t *testing.T, s *slapd.Server, uid string) bool {
	t.Helper()
	c, err := s.Bind(t.Context(), s.ServiceDN, demoServicePass)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Search(ldap.NewSearchRequest("uid="+uid+",ou=People,dc=example,dc=com", ldap.ScopeBaseObject,
		ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
	return err == nil
}

// TestCluster runs a cluster over two demo directories that do not
// replicate, so that where each write landed, and which server a read
// went to, shows in what each holds. Writes go to the first provider;
// reads after a write go where they can see it; a killed or hung server
// gets no new operation within op_timeout, and one back from an outage
// takes no writes while it lacks what was written meanwhile.
func TestCluster(t *testing.T) {
	a := startDemo(t, slapd.Options{})
	b := startDemo(t, slapd.Options{})
	cfg := clusterConfig(a, b)
	c := newTestCluster(t, cfg)
	ctx := t.Context()
	n := 0
	write := func() (string, error) {
		n++
		uid := fmt.Sprintf("cluster-%d", n)
		return uid, addPerson(ctx, c, uid)
	}
	readBack := func(uid string) error {
		for range 20 {
			res, err := c.Search(ctx, ldap.NewSearchRequest("uid="+uid+",ou=People,dc=example,dc=com", ldap.ScopeBaseObject,
				ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
			if err != nil || len(res.Entries) != 1 {
				return fmt.Errorf("read of %s after writing it: %v", uid, err)
			}
		}
		return nil
	}

	t.Run("writes go to the first provider, reads see them", func(t *testing.T) {
		uid, err := write()
		if err != nil {
			t.Fatal(err)
		}
		if !holds(t, a, uid) || holds(t, b, uid) {
			t.Fatalf("%s: on a %v, on b %v; want a only", uid, holds(t, a, uid), holds(t, b, uid))
		}
		// b never gets a's writes: every read must stay on a.
		if err := readBack(uid); err != nil {
			t.Fatal(err)
		}
	})

	for _, fault := range []struct {
		name         string
		break_, mend func() error
	}{
		{"killed", a.Kill, func() error { return a.Resume(ctx) }},
		{"hung", a.Freeze, a.Thaw},
	} {
		t.Run(fault.name, func(t *testing.T) {
			if err := fault.break_(); err != nil {
				t.Fatal(err)
			}
			// Within the operation deadline, writes go to b; each write is
			// answered within it too.
			start := time.Now()
			var uid string
			for {
				began := time.Now()
				var err error
				uid, err = write()
				if took := time.Since(began); took > cfg.OpTimeout+500*time.Millisecond {
					t.Fatalf("a write took %s, beyond op_timeout %s", took, cfg.OpTimeout)
				}
				if err == nil {
					break
				}
				if !errors.Is(err, ErrUnavailable) {
					t.Fatalf("write while a is %s: %v", fault.name, err)
				}
				if time.Since(start) > cfg.OpTimeout+time.Second {
					t.Fatalf("writes did not move to b within %s: %v", time.Since(start), err)
				}
			}
			if !holds(t, b, uid) {
				t.Fatalf("%s is not on b", uid)
			}
			if err := readBack(uid); err != nil {
				t.Fatal(err)
			}
			if err := fault.mend(); err != nil {
				t.Fatal(err)
			}
			// a answers its checks again, but lacks what was written on b
			// (nothing replicates here): writes and reads stay on b. With
			// replication, a takes writes again once it has caught up
			// (TestHAFailover).
			eventually(t, 5*time.Second, "a is up again", func() bool { return c.ServerStates()[0].Up })
			uid, err := write()
			if err != nil || holds(t, a, uid) || !holds(t, b, uid) {
				t.Fatalf("write after a came back: %v; on a %v, on b %v; want b alone", err, holds(t, a, uid), holds(t, b, uid))
			}
			if err := readBack(uid); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("reads spread when nothing was written", func(t *testing.T) {
		fresh := newTestCluster(t, cfg)
		seen := map[bool]int{} // an entry only b holds: found or not
		uid, err := write()    // lands on a; ask fresh for it
		if err != nil {
			t.Fatal(err)
		}
		if err := addPerson(ctx, mustBind(t, b), "only-b"); err != nil {
			t.Fatal(err)
		}
		_ = uid
		for range 20 {
			res, err := fresh.Search(ctx, ldap.NewSearchRequest("ou=People,dc=example,dc=com", ldap.ScopeSingleLevel,
				ldap.NeverDerefAliases, 0, 0, false, "(uid=only-b)", []string{"1.1"}, nil))
			if err != nil {
				t.Fatal(err)
			}
			seen[len(res.Entries) == 1]++
		}
		if seen[true] == 0 || seen[false] == 0 {
			t.Fatalf("reads of a gateway that wrote nothing: %d on b, %d on a; want both", seen[true], seen[false])
		}
	})

	t.Run("a replica takes no writes", func(t *testing.T) {
		rcfg := cfg
		rcfg.Servers = []ServerConfig{{URL: b.URL, Role: RoleReplica}, {URL: a.URL}}
		rc := newTestCluster(t, rcfg)
		if err := addPerson(ctx, rc, "to-the-provider"); err != nil {
			t.Fatal(err)
		}
		if !holds(t, a, "to-the-provider") || holds(t, b, "to-the-provider") {
			t.Fatal("the write did not go to the provider alone")
		}
	})
}

// mustBind returns a Conn on s alone, bound as the service account.
func mustBind(t *testing.T, s *slapd.Server) Conn {
	t.Helper()
	return newTestPool(t, testConfig(s))
}

func TestClusterConfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  LDAPConfig
		want string
	}{
		{"neither", LDAPConfig{Suffix: "dc=x"}, "ldap.url: required (or servers)"},
		{"both", LDAPConfig{Suffix: "dc=x", URL: "ldap://a", Servers: []ServerConfig{{URL: "ldap://b"}}}, "ldap.servers: set url (one server) or servers, not both"},
		{"no provider", LDAPConfig{Suffix: "dc=x", Servers: []ServerConfig{{URL: "ldap://b", Role: "replica"}}}, "ldap.servers: no provider"},
		{"bad role", LDAPConfig{Suffix: "dc=x", Servers: []ServerConfig{{URL: "ldap://b", Role: "primary"}}}, `ldap.servers[0].role: must be provider or replica, not "primary"`},
		{"bad url", LDAPConfig{Suffix: "dc=x", Servers: []ServerConfig{{URL: "http://b"}}}, `ldap.servers[0].url: scheme must be ldap or ldaps, not "http"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Defaults()
			errs := tt.cfg.Validate("ldap")
			found := false
			for _, e := range errs {
				if len(e.Error()) >= len(tt.want) && e.Error()[:len(tt.want)] == tt.want {
					found = true
				}
			}
			if !found {
				t.Errorf("errors %v, want one starting %q", errs, tt.want)
			}
		})
	}
}
