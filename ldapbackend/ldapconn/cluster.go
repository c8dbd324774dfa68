package ldapconn

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"
)

// Cluster is the directory as the gateway uses it: one or several servers
// of one replicated directory (LDAPConfig.Servers), a Pool each. It is a
// Conn, a PagedSearcher and a Holder. With one server it is that server's
// Pool.
//
//   - Reads (searches, held connections) go to the first server, in
//     configured order, that answers and has what this gateway wrote (read
//     your writes, has): for every server id, its contextCSN or the writes
//     sent to it reach the change numbers of this gateway's writes, read
//     back as each write returns. When the writes are split between
//     healthy servers, a read waits up to catchUpWait for replication; when
//     some are only on a server down, it goes to the others, the server
//     written to last first. A read the directory could not serve is tried
//     on the next. Reads are not spread: a cache's change marker and its
//     content then come from one server.
//   - Writes go to one provider at a time (writers), kept while it answers;
//     on to the next when it stops, and back to an earlier one once that
//     one has this gateway's writes or has caught up with the others
//     (caughtUp). A write that never reached a server (no connection), or
//     that the server refused for want of the entry (noSuchObject: a
//     provider just back may lack an entry created meanwhile), goes to the
//     next; one that was sent and then lost its connection is not sent
//     again (it may have been applied) and answers ErrUnavailable.
//   - Every CheckInterval each server's contextCSN is read on a connection
//     of its own (checkOne): a server that refuses it, or times out twice,
//     is not chosen until it answers again. A failed dial or a lost
//     connection also marks its server down at once; a slow operation, a
//     busy pool or a cancelled request does not (failed).
//   - A write sent to a server that then did not answer may still be
//     applied when it answers again, later than any write of the same
//     entry made elsewhere meanwhile, which replication would then lose.
//     Until that server has answered again for a check interval (at most
//     fenceMax), this gateway sends no other write of the entry (fence).
//     Other gateways do not know of it.
type Cluster struct {
	cfg     LDAPConfig
	log     zerolog.Logger
	servers []*server

	mu     sync.Mutex
	mark   map[string]string     // per server id, the newest change number this gateway wrote
	last   *server               // where this gateway last wrote
	writer *server               // the provider writes go to (writers)
	blind  map[*server]time.Time // servers written to whose write's change number could not be read, and when
	warned bool                  // the read-your-writes fallback was logged since the last write
	fenced map[string]*fence     // normalized DN -> a write of it whose outcome is unknown

	refreshing sync.Mutex // one read at a time refreshes contextCSNs (readers)

	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// server is one directory server of a Cluster.
type server struct {
	url      string
	provider bool
	pool     *Pool
	up       atomic.Bool
	upSince  atomic.Int64 // unix nanoseconds when it last came up
	answered atomic.Int64 // when the last check it answered began (unix nanoseconds)
	csn      atomic.Pointer[csnState]
	missed   atomic.Int32 // checks in a row that timed out
	check    HeldConn     // the checks' own connection; only watch uses it

	mu   sync.Mutex
	ours map[string]string // per server id, the newest change number this gateway wrote here
}

// csnState is a server's contextCSN by server id, as read by the last
// check and the one before it.
type csnState struct{ cur, prev map[string]string }

// saw records csn as s's contextCSN now; shift, for a check, makes the
// one it replaces the previous check's (a read between checks keeps it).
func (s *server) saw(csn map[string]string, shift bool) {
	for {
		old := s.csn.Load()
		next := &csnState{cur: csn, prev: old.prev}
		if shift {
			next.prev = old.cur
		}
		if s.csn.CompareAndSwap(old, next) {
			return
		}
	}
}

// fence is a write sent to a server that then did not answer.
type fence struct {
	s        *server
	since    time.Time
	answered time.Time // when s was first seen answering again
}

// fenceMax bounds how long an entry waits for a silent server: past it,
// the server is taken for dead. (A server that is only paused longer and
// then applies the write still overwrites newer data; the log says which
// entries were released so.)
const fenceMax = 2 * time.Minute

// NewCluster returns a Cluster over cfg's servers (cfg.Servers, or cfg.URL
// alone). As NewPool, it fails only for a configuration problem. Close it
// when done.
func NewCluster(ctx context.Context, cfg LDAPConfig, log zerolog.Logger) (*Cluster, error) {
	cfg.Defaults()
	if errs := cfg.Validate("ldap"); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := &Cluster{cfg: cfg, log: log.With().Str("component", "ldap-cluster").Logger(), done: make(chan struct{}),
		mark: map[string]string{}, fenced: map[string]*fence{}, blind: map[*server]time.Time{}}
	for _, sc := range cfg.ServerList() {
		one := cfg
		one.URL, one.Servers = sc.URL, nil
		p, err := NewPool(ctx, one, log.With().Str("server", sc.URL).Logger())
		if err != nil {
			c.Close()
			return nil, err
		}
		s := &server{url: sc.URL, provider: sc.Role != RoleReplica, pool: p, ours: map[string]string{}}
		s.csn.Store(&csnState{})
		c.servers = append(c.servers, s)
	}
	if len(c.servers) == 1 {
		c.servers[0].up.Store(true) // one server: its pool alone decides
		return c, nil
	}
	cctx, cancel := context.WithTimeout(ctx, c.checkTimeout())
	c.checkAll(cctx)
	cancel()
	c.wg.Add(1)
	go c.watch()
	return c, nil
}

// Close closes every server's pool and stops the checks. Idempotent.
func (c *Cluster) Close() error {
	c.once.Do(func() {
		close(c.done)
		c.wg.Wait()
		for _, s := range c.servers {
			if s.check != nil {
				s.check.Close()
			}
			s.pool.Close()
		}
	})
	return nil
}

// watch checks every server each CheckInterval until Close.
func (c *Cluster) watch() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), c.checkTimeout())
			c.checkAll(ctx)
			cancel()
		}
	}
}

// checkTimeout bounds one check: the check interval, at least a second
// (a loaded gateway's check is not an outage) and at most op_timeout.
func (c *Cluster) checkTimeout() time.Duration {
	return min(max(c.cfg.CheckInterval, time.Second), c.cfg.OpTimeout)
}

// checkAll checks every server at once.
func (c *Cluster) checkAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range c.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.checkOne(ctx, s)
		}()
	}
	wg.Wait()
}

// checkOne reads s's contextCSN on its own connection (outside the pool,
// so that a busy pool is not taken for a dead server) and records whether
// it answered.
func (c *Cluster) checkOne(ctx context.Context, s *server) {
	began := time.Now()
	var csn map[string]string
	err := errors.New("no connection")
	if s.check == nil {
		s.check, err = s.pool.Hold(ctx)
	}
	if s.check != nil {
		csn, err = ContextCSN(ctx, s.check, c.cfg.Suffix)
		if err != nil && (errors.Is(err, ErrUnavailable) || IsConnError(err)) {
			s.check.Close()
			s.check = nil
		}
	}
	if err != nil {
		// A refused connection, or an answer that is an error (busy,
		// unwilling: a server offline for maintenance), is an outage at
		// once; a check that timed out, only the second in a row.
		if s.missed.Add(1) < 2 && errors.Is(err, context.DeadlineExceeded) {
			return
		}
		if s.up.Swap(false) {
			c.log.Warn().Str("server", s.url).Err(err).Msg("directory server down: operations go to the others")
		}
		return
	}
	s.missed.Store(0)
	s.saw(csn, true)
	s.answered.Store(began.UnixNano())
	c.checked(s, began, csn)
	if !s.up.Swap(true) {
		s.upSince.Store(began.UnixNano())
		c.log.Info().Str("server", s.url).Msg("directory server up")
	}
}

// Searcher is what ContextCSN reads with: a Conn, a Pool, a HeldConn.
type Searcher interface {
	Search(ctx context.Context, req *ldap.SearchRequest) (*ldap.SearchResult, error)
}

// ContextCSN reads the contextCSN values of suffix, by server id (empty
// when the directory keeps none): how far each server's changes have
// reached this directory server.
func ContextCSN(ctx context.Context, conn Searcher, suffix string) (map[string]string, error) {
	res, err := conn.Search(ctx, &ldap.SearchRequest{BaseDN: suffix, Scope: ldap.ScopeBaseObject,
		Filter: "(objectClass=*)", Attributes: []string{"contextCSN"}})
	if err != nil {
		return nil, err
	}
	csn := map[string]string{}
	if len(res.Entries) == 1 {
		for _, v := range res.Entries[0].GetAttributeValues("contextCSN") {
			if sid := CSNServerID(v); sid != "" {
				csn[sid] = v
			}
		}
	}
	return csn, nil
}

// CSNServerID returns the server id field of a change sequence number
// (20261207212154.123456Z#000000#001#000000), "" if it is not one.
func CSNServerID(csn string) string {
	parts := strings.Split(csn, "#")
	if len(parts) != 4 {
		return ""
	}
	return parts[2]
}

// covers reports whether have holds, for every server id of want, a change
// number at least as new.
func covers(have, want map[string]string) bool {
	for sid, v := range want {
		if have[sid] < v {
			return false
		}
	}
	return true
}

// Search implements Conn.
func (c *Cluster) Search(ctx context.Context, req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	var res *ldap.SearchResult
	err := c.read(ctx, func(s *server) error {
		var err error
		res, err = s.pool.Search(ctx, req)
		return err
	})
	return res, err
}

// SearchPaged implements PagedSearcher.
func (c *Cluster) SearchPaged(ctx context.Context, req *ldap.SearchRequest, pageSize uint32) (*ldap.SearchResult, error) {
	var res *ldap.SearchResult
	err := c.read(ctx, func(s *server) error {
		var err error
		res, err = s.pool.SearchPaged(ctx, req, pageSize)
		return err
	})
	return res, err
}

// Hold implements Holder: a held connection to a reader.
func (c *Cluster) Hold(ctx context.Context) (HeldConn, error) {
	var h HeldConn
	err := c.read(ctx, func(s *server) error {
		var err error
		if h, err = s.pool.Hold(ctx); err != nil {
			return notSentError{error: Unavailable(err)}
		}
		return nil
	})
	return h, err
}

// HoldOn implements TagHolder: a held connection to the server tagged tag
// (ServerTag of its URL) while it answers its checks, whether or not it
// has this gateway's writes yet; else a reader's, as Hold.
func (c *Cluster) HoldOn(ctx context.Context, tag string) (HeldConn, error) {
	for _, s := range c.servers {
		if s.up.Load() && ServerTag(s.url) == tag {
			h, err := s.pool.Hold(ctx)
			if err == nil {
				return h, nil
			}
			c.failed(ctx, s, err)
		}
	}
	return c.Hold(ctx)
}

// Serves implements TagHolder.
func (c *Cluster) Serves(tag string) (serves, answers bool) {
	for _, s := range c.servers {
		if ServerTag(s.url) == tag {
			return true, s.up.Load()
		}
	}
	return false, false
}

// Add implements Conn.
func (c *Cluster) Add(ctx context.Context, req *ldap.AddRequest) error {
	return c.write(ctx, func(s *server) error { return s.pool.Add(ctx, req) }, req.DN)
}

// Modify implements Conn.
func (c *Cluster) Modify(ctx context.Context, req *ldap.ModifyRequest) error {
	return c.write(ctx, func(s *server) error { return s.pool.Modify(ctx, req) }, req.DN)
}

// ModifyDN implements Conn.
func (c *Cluster) ModifyDN(ctx context.Context, req *ldap.ModifyDNRequest) error {
	return c.write(ctx, func(s *server) error { return s.pool.ModifyDN(ctx, req) }, req.DN, renamedDN(req))
}

// Del implements Conn.
func (c *Cluster) Del(ctx context.Context, req *ldap.DelRequest) error {
	return c.write(ctx, func(s *server) error { return s.pool.Del(ctx, req) }, req.DN)
}

// Ready reports whether a server the gateway would read from answers.
func (c *Cluster) Ready(ctx context.Context) error {
	return c.read(ctx, func(s *server) error { return s.pool.Ready(ctx) })
}

// HasAttributeType asks the first reader's schema (see Pool.HasAttributeType).
func (c *Cluster) HasAttributeType(ctx context.Context, name string) (bool, error) {
	var ok bool
	err := c.read(ctx, func(s *server) error {
		var err error
		ok, err = s.pool.HasAttributeType(ctx, name)
		return err
	})
	return ok, err
}

// Stats returns the pools' counters summed; Up says a server is up.
func (c *Cluster) Stats() PoolStats {
	var out PoolStats
	for _, s := range c.servers {
		st := s.pool.Stats()
		out.Open += st.Open
		out.Idle += st.Idle
		out.InUse += st.InUse
		out.Waits += st.Waits
		out.Dials += st.Dials
		out.DialFailures += st.DialFailures
		out.Discarded += st.Discarded
		out.Up = out.Up || st.Up && s.up.Load()
	}
	return out
}

// ServerStates reports each server by URL: whether it is up, and whether
// it is the one writes go to now.
func (c *Cluster) ServerStates() []ServerState {
	ws := c.writers()
	out := make([]ServerState, len(c.servers))
	for i, s := range c.servers {
		up := s.up.Load()
		if len(c.servers) == 1 {
			up = s.pool.Stats().Up // no checks: the pool knows
		}
		out[i] = ServerState{URL: s.url, Provider: s.provider, Up: up, Writer: len(ws) > 0 && ws[0] == s && up}
	}
	return out
}

// ServerState is one server as ServerStates reports it.
type ServerState struct {
	URL          string
	Provider, Up bool
	Writer       bool
}

var (
	_ PagedSearcher = (*Cluster)(nil)
	_ Holder        = (*Cluster)(nil)
	_ TagHolder     = (*Cluster)(nil)
)
