package ldapconn

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// clusterEnv is two demo directories that do not replicate, so that where
// each write landed, and which server a read went to, shows in what each
// holds, and a cluster over them.
type clusterEnv struct {
	t    *testing.T
	a, b *slapd.Server
	cfg  LDAPConfig
	c    *Cluster
	n    int
}

func newClusterEnv(t *testing.T) *clusterEnv {
	a := startDemo(t, slapd.Options{})
	b := startDemo(t, slapd.Options{})
	cfg := clusterConfig(a, b)
	return &clusterEnv{t: t, a: a, b: b, cfg: cfg, c: newTestCluster(t, cfg)}
}

// write adds a new person through the cluster.
func (e *clusterEnv) write() (string, error) {
	e.n++
	uid := fmt.Sprintf("cluster-%d", e.n)
	return uid, addPerson(e.t.Context(), e.c, uid)
}

// readBack reads uid through the cluster 20 times: each must find it.
func (e *clusterEnv) readBack(uid string) {
	e.t.Helper()
	for range 20 {
		res, err := e.c.Search(e.t.Context(), ldap.NewSearchRequest("uid="+uid+",ou=People,dc=example,dc=com", ldap.ScopeBaseObject,
			ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
		if err != nil || len(res.Entries) != 1 {
			e.t.Fatalf("read of %s after writing it: %v", uid, err)
		}
	}
}

// failover writes until a write succeeds, each answered within op_timeout
// and all within op_timeout and a second; it returns the uid written.
func (e *clusterEnv) failover(what string) string {
	e.t.Helper()
	start := time.Now()
	for {
		began := time.Now()
		uid, err := e.write()
		if took := time.Since(began); took > e.cfg.OpTimeout+500*time.Millisecond {
			e.t.Fatalf("a write took %s, beyond op_timeout %s", took, e.cfg.OpTimeout)
		}
		if err == nil {
			return uid
		}
		if !errors.Is(err, ErrUnavailable) {
			e.t.Fatalf("write while a is %s: %v", what, err)
		}
		if time.Since(start) > e.cfg.OpTimeout+time.Second {
			e.t.Fatalf("writes did not move to b within %s: %v", time.Since(start), err)
		}
	}
}

// TestCluster: writes go to the first provider and reads after a write go
// where they can see it; a killed or hung server gets no new operation
// within op_timeout; a server back from an outage takes no writes while it
// lacks what was written meanwhile; an entry whose write a hung server
// holds takes no other write until that server answers again; a busy pool
// or a cancelled request is not an outage; a replica takes no writes.
func TestCluster(t *testing.T) {
	t.Run("writes go to the first provider, reads see them", func(t *testing.T) {
		e := newClusterEnv(t)
		uid, err := e.write()
		if err != nil {
			t.Fatal(err)
		}
		if !holds(t, e.a, uid) || holds(t, e.b, uid) {
			t.Fatalf("%s: on a %v, on b %v; want a only", uid, holds(t, e.a, uid), holds(t, e.b, uid))
		}
		e.readBack(uid) // b never gets a's writes: every read must stay on a
		// With nothing written, reads go to the first server too.
		fresh := newTestCluster(t, e.cfg)
		res, err := fresh.Search(t.Context(), ldap.NewSearchRequest("uid="+uid+",ou=People,dc=example,dc=com", ldap.ScopeBaseObject,
			ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("a fresh cluster's read: %v", err)
		}
	})

	t.Run("a connection held to a named server", func(t *testing.T) {
		// A walk in a server's own order goes on there (HoldOn), even when
		// it lacks this gateway's writes; a server that does not answer, or
		// a name no server has, gets a reader's connection.
		e := newClusterEnv(t)
		if _, err := e.write(); err != nil {
			t.Fatal(err)
		}
		tagA, tagB := ServerTag(e.cfg.Servers[0].URL), ServerTag(e.cfg.Servers[1].URL)
		sa, ua := e.c.Serves(tagA)
		sb, ub := e.c.Serves(tagB)
		if se, _ := e.c.Serves("elsewhere"); !sa || !ua || !sb || !ub || se {
			t.Errorf("Serves: a %v %v, b %v %v, elsewhere %v", sa, ua, sb, ub, se)
		}
		for _, tc := range []struct{ tag, want string }{{tagB, tagB}, {tagA, tagA}, {"elsewhere", tagA}} {
			h, err := e.c.HoldOn(t.Context(), tc.tag)
			if err != nil {
				t.Fatal(err)
			}
			if got := h.Server(); got != tc.want {
				t.Errorf("HoldOn(%s) held a connection to %s, want %s", tc.tag, got, tc.want)
			}
			h.Close()
		}
		if err := e.b.Kill(); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "b is down", func() bool { return !e.c.ServerStates()[1].Up })
		h, err := e.c.HoldOn(t.Context(), tagB)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		if h.Server() != tagA {
			t.Errorf("HoldOn of a server that is down held a connection to %s, want a reader's", h.Server())
		}
		if serves, answers := e.c.Serves(tagB); !serves || answers {
			t.Errorf("Serves of a server that is down: %v %v, want true false", serves, answers)
		}
	})

	t.Run("killed", func(t *testing.T) {
		e := newClusterEnv(t)
		if _, err := e.write(); err != nil {
			t.Fatal(err)
		}
		if err := e.a.Kill(); err != nil {
			t.Fatal(err)
		}
		uid := e.failover("killed")
		if !holds(t, e.b, uid) {
			t.Fatalf("%s is not on b", uid)
		}
		e.readBack(uid)
		if err := e.a.Resume(t.Context()); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "a is up again", func() bool { return e.c.ServerStates()[0].Up })
		// a answers, but lacks what was written on b (nothing replicates
		// here): writes and reads stay on b.
		time.Sleep(3 * e.cfg.CheckInterval)
		uid, err := e.write()
		if err != nil || holds(t, e.a, uid) || !holds(t, e.b, uid) {
			t.Fatalf("write after a came back: %v; on a %v, on b %v; want b alone", err, holds(t, e.a, uid), holds(t, e.b, uid))
		}
		e.readBack(uid)
	})

	t.Run("hung", func(t *testing.T) {
		e := newClusterEnv(t)
		// Checks slow enough that the write below reaches a before a check
		// finds it hung.
		e.cfg.CheckInterval = time.Second
		e.c = newTestCluster(t, e.cfg)
		uid, err := e.write()
		if err != nil {
			t.Fatal(err)
		}
		// The write below must go out on a connection a already has (a
		// new one would not get past its bind, and go to b). (The write
		// reads its change number back before it returns.)
		eventually(t, time.Second, "an idle connection to a", func() bool {
			return e.c.servers[0].pool.Stats().Idle > 0
		})
		if err := e.a.Freeze(); err != nil {
			t.Fatal(err)
		}
		thawed := false
		defer func() {
			if !thawed {
				e.a.Thaw()
			}
		}()
		// A change of uid sent to the hung a: unanswered within op_timeout.
		mod := ldap.NewModifyRequest("uid="+uid+",ou=People,dc=example,dc=com", nil)
		mod.Replace("sn", []string{"sent to the hung server"})
		began := time.Now()
		if err := e.c.Modify(t.Context(), mod); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("a write to the hung server: %v, want ErrUnavailable", err)
		}
		if took := time.Since(began); took > e.cfg.OpTimeout+500*time.Millisecond {
			t.Fatalf("the write to the hung server took %s", took)
		}
		// New entries go to b...
		other := e.failover("hung")
		if !holds(t, e.b, other) {
			t.Fatalf("%s is not on b", other)
		}
		// ...but uid takes no other write while a may still apply the first.
		mod2 := ldap.NewModifyRequest("uid="+uid+",ou=People,dc=example,dc=com", nil)
		mod2.Replace("sn", []string{"sent meanwhile"})
		if err := e.c.Modify(t.Context(), mod2); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("a second write of the entry the hung server holds a write of: %v, want ErrUnavailable", err)
		}
		ren := ldap.NewModifyDNRequest("uid="+other+",ou=People,dc=example,dc=com", "uid="+other+"-renamed", true, "")
		if err := e.c.ModifyDN(t.Context(), ren); err != nil {
			t.Fatal(err)
		}
		if err := e.a.Thaw(); err != nil {
			t.Fatal(err)
		}
		thawed = true
		// Once a has answered for a check interval, the entry takes writes.
		eventually(t, 5*time.Second, "the entry takes writes again", func() bool { return e.c.Modify(t.Context(), mod2) == nil })
	})

	t.Run("a busy pool or a cancelled request is not an outage", func(t *testing.T) {
		e := newClusterEnv(t)
		a := e.c.servers[0]
		release := make(chan struct{})
		var busy sync.WaitGroup
		for range e.cfg.PoolSize {
			busy.Add(1)
			go func() {
				defer busy.Done()
				_ = a.pool.Do(t.Context(), func(*ldap.Conn) error { <-release; return nil })
			}()
		}
		eventually(t, time.Second, "a's pool is busy", func() bool { return a.pool.Stats().InUse == e.cfg.PoolSize })
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		_, err := e.c.Search(ctx, ldap.NewSearchRequest("dc=example,dc=com", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", nil, nil))
		cancel()
		if err == nil {
			t.Log("the search found a free connection after all")
		}
		time.Sleep(2 * e.cfg.CheckInterval)
		if !a.up.Load() {
			t.Fatal("a busy pool marked its server down")
		}
		close(release)
		busy.Wait()
		ctx, cancel = context.WithCancel(t.Context())
		cancel()
		_, _ = e.c.Search(ctx, ldap.NewSearchRequest("dc=example,dc=com", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", nil, nil))
		if !a.up.Load() {
			t.Fatal("a cancelled request marked its server down")
		}
		uid, err := e.write()
		if err != nil || !holds(t, e.a, uid) {
			t.Fatalf("write: %v; on a %v", err, holds(t, e.a, uid))
		}
	})

	t.Run("a replica takes no writes", func(t *testing.T) {
		e := newClusterEnv(t)
		rcfg := e.cfg
		rcfg.Servers = []ServerConfig{{URL: e.b.URL, Role: RoleReplica}, {URL: e.a.URL}}
		rc := newTestCluster(t, rcfg)
		if err := addPerson(t.Context(), rc, "to-the-provider"); err != nil {
			t.Fatal(err)
		}
		if !holds(t, e.a, "to-the-provider") || holds(t, e.b, "to-the-provider") {
			t.Fatal("the write did not go to the provider alone")
		}
	})
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

// TestClusterHas pins down which server has a gateway's writes, without
// servers: change numbers per server id, writes whose number is unknown
// (389 DS), and writes split between two servers.
func TestClusterHas(t *testing.T) {
	newServer := func(url string) *server {
		s := &server{url: url, provider: true, ours: map[string]string{}}
		s.csn.Store(&csnState{})
		s.up.Store(true)
		return s
	}
	const x1, x2, y1 = "20261207120000.000001Z#000000#001#000000", "20261207120000.000002Z#000000#001#000000", "20261207120000.000001Z#000000#002#000000"
	setup := func() (*Cluster, *server, *server) {
		a, b := newServer("a"), newServer("b")
		return &Cluster{cfg: LDAPConfig{CheckInterval: time.Second}, servers: []*server{a, b}, mark: map[string]string{},
			fenced: map[string]*fence{}, blind: map[*server]time.Time{}}, a, b
	}
	wrote := func(c *Cluster, s *server, csn map[string]string) {
		for sid, v := range csn {
			s.ours[sid] = max(s.ours[sid], v)
			c.mark[sid] = max(c.mark[sid], v)
		}
		c.last = s
		if len(csn) == 0 {
			c.blind[s] = time.Now()
		}
	}
	t.Run("nothing written", func(t *testing.T) {
		c, a, b := setup()
		if !c.has(a) || !c.has(b) {
			t.Fatal("a gateway that wrote nothing reads anywhere")
		}
	})
	t.Run("a write, then replication", func(t *testing.T) {
		c, a, b := setup()
		wrote(c, a, map[string]string{"001": x2})
		if !c.has(a) || c.has(b) {
			t.Fatalf("after a write on a: a %v, b %v", c.has(a), c.has(b))
		}
		b.csn.Store(&csnState{cur: map[string]string{"001": x1}})
		if c.has(b) {
			t.Fatal("b's contextCSN is older than the write")
		}
		b.csn.Store(&csnState{cur: map[string]string{"001": x2}})
		if !c.has(b) {
			t.Fatal("b's contextCSN reached the write")
		}
	})
	t.Run("split between two servers", func(t *testing.T) {
		c, a, b := setup()
		wrote(c, a, map[string]string{"001": x1})
		wrote(c, b, map[string]string{"002": y1})
		if c.has(a) || c.has(b) || !c.healthyHaveAll() {
			t.Fatalf("split: a %v, b %v, both together %v", c.has(a), c.has(b), c.healthyHaveAll())
		}
		b.up.Store(false)
		if c.healthyHaveAll() {
			t.Fatal("with b down, a write only b has is missing")
		}
	})
	t.Run("a write whose number is unknown", func(t *testing.T) {
		c, a, b := setup()
		wrote(c, b, nil)
		if c.has(a) || !c.has(b) {
			t.Fatal("an unknown number: only the server written to")
		}
		// A check of b after the write, without contextCSN (389 DS): still blind.
		c.checked(b, time.Now().Add(2*time.Second), map[string]string{})
		if c.has(a) {
			t.Fatal("without contextCSN, the write stays on b")
		}
		// With contextCSN: what b had then is the mark.
		b.saw(map[string]string{"002": y1}, true)
		c.checked(b, time.Now().Add(2*time.Second), map[string]string{"002": y1})
		if c.has(a) || !c.has(b) {
			t.Fatal("b's contextCSN is the mark now")
		}
		a.csn.Store(&csnState{cur: map[string]string{"002": y1}})
		if !c.has(a) {
			t.Fatal("a reached b's contextCSN")
		}
	})
	t.Run("fences", func(t *testing.T) {
		c, a, _ := setup()
		c.fence(a, "uid=X,ou=People,dc=example,dc=com")
		if c.fencedBy("UID=x, ou=people,dc=example,dc=com") != a {
			t.Fatal("the fence does not hold the same DN spelled otherwise")
		}
		c.checked(a, time.Now().Add(time.Millisecond), nil)
		if c.fencedBy("uid=x,ou=People,dc=example,dc=com") != a {
			t.Fatal("the fence lifted at the first answer")
		}
		c.checked(a, time.Now(), nil) // a later check: the first answer still counts
		c.fenced[normDN("uid=x,ou=People,dc=example,dc=com")].answered = time.Now().Add(-2 * time.Second)
		if c.fencedBy("uid=x,ou=People,dc=example,dc=com") != nil {
			t.Fatal("the fence did not lift a check interval after the answer")
		}
		c.fence(a, "uid=y,ou=People,dc=example,dc=com")
		c.fenced[normDN("uid=y,ou=People,dc=example,dc=com")].since = time.Now().Add(-fenceMax - time.Second)
		if c.fencedBy("uid=y,ou=People,dc=example,dc=com") != nil {
			t.Fatal("a fence outlived fenceMax")
		}
		if got := renamedDN(ldap.NewModifyDNRequest(`cn=Sales\, EMEA,ou=Groups,dc=example,dc=com`, "cn=Sales", true, "")); normDN(got) != normDN("cn=Sales,ou=Groups,dc=example,dc=com") {
			t.Fatalf("renamed DN %q", got)
		}
	})
}
