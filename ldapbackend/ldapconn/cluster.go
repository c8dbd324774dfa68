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
// Conn, a PagedSearcher and a Holder.
//
//   - Writes go to the first provider, in configured order, that is
//     healthy. A write that never reached a server (no connection could be
//     had) goes to the next; one that was sent and then lost its
//     connection is not sent again (it may have been applied) and answers
//     ErrUnavailable, as with one server.
//   - Reads (searches, held connections) go to a healthy server that has
//     what this gateway wrote: once the gateway has written, the server it
//     wrote to, and any other whose contextCSN has reached the writer's
//     as read after that write (read your writes). They are spread over
//     those servers in turn, and a read that fails for want of a
//     connection is tried on the next.
//   - Every CheckInterval each server is read (its suffix's contextCSN,
//     bounded by the interval): a server that does not answer is not
//     chosen until it does, so a dead or hung server stops getting new
//     operations within about two intervals. An operation that loses its
//     connection marks its server down at once.
//
// When no server that has this gateway's last write is healthy (the
// writer died before replicating it), reads go to any healthy server: the
// gateway stays available and says so in the log; the write shows up there
// once the writer is back and replication has run. A directory without
// contextCSN (389 DS) keeps reads on the server written to.
type Cluster struct {
	cfg     LDAPConfig
	log     zerolog.Logger
	servers []*server
	next    atomic.Uint32 // round-robin position among readable servers

	mu     sync.Mutex
	mark   writeMark        // what this gateway wrote last
	fenced map[string]fence // normalized DN -> a write of it whose outcome is unknown

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
	csn      atomic.Pointer[map[string]string] // contextCSN by server id, as last read
	answered atomic.Int64                      // when it last answered a check (unix nanoseconds)
}

// answeredSince reports whether s answered a check that began after t.
func (s *server) answeredSince(t time.Time) bool {
	return s.answered.Load() > t.UnixNano()
}

// contextCSN reads s's contextCSN values by server id; ok is false when s
// did not answer.
func (c *Cluster) contextCSN(ctx context.Context, s *server) (csn map[string]string, err error) {
	var res *ldap.SearchResult
	err = s.pool.Do(ctx, func(conn *ldap.Conn) error {
		var err error
		res, err = conn.Search(&ldap.SearchRequest{BaseDN: c.cfg.Suffix, Scope: ldap.ScopeBaseObject,
			Filter: "(objectClass=*)", Attributes: []string{"contextCSN"}})
		return err
	})
	if err != nil {
		return nil, err
	}
	csn = map[string]string{}
	if len(res.Entries) == 1 {
		for _, v := range res.Entries[0].GetAttributeValues("contextCSN") {
			if sid := csnSID(v); sid != "" {
				csn[sid] = v
			}
		}
	}
	return csn, nil
}

// fence is a write sent to a server that then did not answer: the
// server may still apply it when it answers again (a hung server reads
// the request it was sent when it resumes), with a change number later
// than any write of the entry made elsewhere meanwhile, which replication
// would then lose. Until the server answers again, or fenceMax has
// passed, the entry takes no other write.
type fence struct {
	s     *server
	since time.Time
}

// fenceMax bounds how long a write whose outcome is unknown holds its
// entry: a server that stays silent longer is taken for dead, and what a
// dead server applied keeps its earlier change number.
const fenceMax = 2 * time.Minute

// writeMark is where this gateway last wrote and how far that server had
// got then: its contextCSN, read after the write (nil until read). Another
// server has the write once its contextCSN is as far for every server id.
type writeMark struct {
	s    *server
	at   time.Time
	csn  map[string]string
	warn bool // the fallback was logged for this mark
}

// NewCluster returns a Cluster over cfg's servers (cfg.Servers, or cfg.URL
// alone). As NewPool, it fails only for a configuration problem. Close it
// when done.
func NewCluster(ctx context.Context, cfg LDAPConfig, log zerolog.Logger) (*Cluster, error) {
	cfg.Defaults()
	if errs := cfg.Validate("ldap"); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := &Cluster{cfg: cfg, log: log.With().Str("component", "ldap-cluster").Logger(), done: make(chan struct{})}
	for _, sc := range cfg.ServerList() {
		one := cfg
		one.URL, one.Servers = sc.URL, nil
		p, err := NewPool(ctx, one, log.With().Str("server", sc.URL).Logger())
		if err != nil {
			c.Close()
			return nil, err
		}
		s := &server{url: sc.URL, provider: sc.Role != RoleReplica, pool: p}
		s.up.Store(p.Stats().Up && p.Stats().Dials > 0)
		c.servers = append(c.servers, s)
	}
	if len(c.servers) > 1 {
		c.checkAll(ctx)
		c.wg.Add(1)
		go c.watch()
	} else {
		c.servers[0].up.Store(true) // one server: its pool alone decides
	}
	return c, nil
}

// Close closes every server's pool and stops the checks. Idempotent.
func (c *Cluster) Close() error {
	c.once.Do(func() {
		close(c.done)
		c.wg.Wait()
		for _, s := range c.servers {
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
			ctx, cancel := context.WithTimeout(context.Background(), c.cfg.CheckInterval)
			c.checkAll(ctx)
			cancel()
		}
	}
}

// checkAll reads every server's contextCSN at once.
func (c *Cluster) checkAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range c.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.check(ctx, s)
		}()
	}
	wg.Wait()
}

// check reads one server's contextCSN and records whether it answered.
func (c *Cluster) check(ctx context.Context, s *server) {
	began := time.Now()
	csn, err := c.contextCSN(ctx, s)
	if err != nil && (errors.Is(err, ErrUnavailable) || IsConnError(err)) {
		if s.up.Swap(false) {
			c.log.Warn().Str("server", s.url).Err(err).Msg("directory server down: operations go to the others")
		}
		return
	}
	if csn == nil {
		csn = map[string]string{}
	}
	s.csn.Store(&csn)
	s.answered.Store(began.UnixNano())
	if !s.up.Swap(true) {
		c.log.Info().Str("server", s.url).Msg("directory server up")
	}
}

// settle records, for mark m, the writer's contextCSN read after the
// write: the point other servers must reach to serve this gateway's reads.
func (c *Cluster) settle(m writeMark, csn map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mark.s == m.s && c.mark.at.Equal(m.at) && c.mark.csn == nil {
		c.mark.csn = csn
	}
}

// csnSID returns the server id field of a CSN
// (20261207212154.123456Z#000000#001#000000), "" if it is not one.
func csnSID(csn string) string {
	parts := strings.Split(csn, "#")
	if len(parts) != 4 {
		return ""
	}
	return parts[2]
}

// wrote records that this gateway just wrote to s, and reads s's
// contextCSN in the background: until it is known, reads stay on s.
func (c *Cluster) wrote(s *server) {
	if len(c.servers) == 1 {
		return
	}
	m := writeMark{s: s, at: time.Now()}
	c.mu.Lock()
	c.mark = m
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.CheckInterval)
		defer cancel()
		if csn, err := c.contextCSN(ctx, s); err == nil && len(csn) > 0 {
			c.settle(m, csn)
		}
	}()
}

// writers returns the providers to write to, the preferred first: the
// healthy ones that have this gateway's last write, in configured order
// (a provider back from an outage takes writes again once it has caught
// up: before, it lacks the entries created meanwhile), then the other
// healthy ones, then those down (whose pools fail at once while they are
// down, or find them back).
func (c *Cluster) writers() []*server {
	c.mu.Lock()
	m := c.mark
	c.mu.Unlock()
	var ok, behind, down []*server
	for _, s := range c.servers {
		switch {
		case !s.provider:
		case !s.up.Load():
			down = append(down, s)
		case c.has(s, m):
			ok = append(ok, s)
		default:
			behind = append(behind, s)
		}
	}
	return append(append(ok, behind...), down...)
}

// fencedBy returns the server holding a write of one of dns whose outcome
// is unknown, while it has not answered since; nil when none does.
func (c *Cluster) fencedBy(dns ...string) *server {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, dn := range dns {
		f, ok := c.fenced[normDN(dn)]
		if !ok {
			continue
		}
		if time.Since(f.since) > fenceMax || f.s.answeredSince(f.since) {
			delete(c.fenced, normDN(dn))
			continue
		}
		return f.s
	}
	return nil
}

// fence holds dns after a write of them sent to s went unanswered.
func (c *Cluster) fence(s *server, dns ...string) {
	if len(c.servers) == 1 {
		return // nowhere else to write: no later write can overtake it
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fenced == nil {
		c.fenced = map[string]fence{}
	}
	for _, dn := range dns {
		c.fenced[normDN(dn)] = fence{s: s, since: time.Now()}
	}
}

// normDN is a DN as the fences key it.
func normDN(dn string) string {
	if d, err := ldap.ParseDN(dn); err == nil {
		parts := make([]string, len(d.RDNs))
		for i, r := range d.RDNs {
			attrs := make([]string, len(r.Attributes))
			for j, a := range r.Attributes {
				attrs[j] = strings.ToLower(a.Type) + "=" + strings.ToLower(a.Value)
			}
			parts[i] = strings.Join(attrs, "+")
		}
		return strings.Join(parts, ",")
	}
	return strings.ToLower(dn)
}

// readers returns the servers to read from, the chosen one first.
func (c *Cluster) readers() []*server {
	if len(c.servers) == 1 {
		return c.servers
	}
	c.mu.Lock()
	m := c.mark
	c.mu.Unlock()
	var ok, rest []*server
	for _, s := range c.servers {
		if s.up.Load() && c.has(s, m) {
			ok = append(ok, s)
		} else {
			rest = append(rest, s)
		}
	}
	if len(ok) == 0 && m.s != nil {
		c.mu.Lock()
		if c.mark.at.Equal(m.at) && !c.mark.warn {
			c.mark.warn = true
			c.log.Warn().Str("writer", m.s.url).Msg("no healthy server has this gateway's last write yet: reads go to the others until it replicates (read-your-writes suspended)")
		}
		c.mu.Unlock()
	}
	if n := len(ok); n > 1 {
		i := int(c.next.Add(1)) % n
		ok = append(ok[i:], ok[:i]...)
	}
	// Healthy servers that lack the last write come before the ones down.
	var healthy, down []*server
	for _, s := range rest {
		if s.up.Load() {
			healthy = append(healthy, s)
		} else {
			down = append(down, s)
		}
	}
	return append(append(ok, healthy...), down...)
}

// has reports whether s holds this gateway's last write (mark m).
func (c *Cluster) has(s *server, m writeMark) bool {
	if m.s == nil || s == m.s {
		return true
	}
	if m.csn == nil {
		return false
	}
	csn := s.csn.Load()
	if csn == nil {
		return false
	}
	for sid, v := range m.csn {
		if (*csn)[sid] < v {
			return false
		}
	}
	return true
}

// failed marks s down when err says its connection was lost or could not
// be had, and reports whether the operation may go to another server.
func (c *Cluster) failed(s *server, err error) (retry bool) {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) || IsConnError(err) {
		if len(c.servers) > 1 && s.up.Swap(false) {
			c.log.Warn().Str("server", s.url).Err(err).Msg("directory server down: operations go to the others")
		}
	}
	return NotSent(err)
}

// read runs a read on the first reader and, while the directory was
// unavailable there and ctx allows, on the next: a read can be sent again.
func (c *Cluster) read(ctx context.Context, fn func(*server) error) error {
	var err error
	for _, s := range c.readers() {
		err = fn(s)
		c.failed(s, err)
		if err == nil || !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// write runs a write of the entries dns on the first writer, then on the
// next while none was sent: a write sent may have been applied, and is not
// sent twice. While an earlier write of one of them is pending on a server
// that does not answer (fence), it fails with ErrUnavailable.
func (c *Cluster) write(fn func(*server) error, dns ...string) error {
	if s := c.fencedBy(dns...); s != nil {
		return Unavailable(errors.New("an earlier write of this entry went to " + s.url + ", which has not answered since: it may still apply it"))
	}
	var err error
	for _, s := range c.writers() {
		err = fn(s)
		if !c.failed(s, err) {
			c.wrote(s) // also a refused or lost write: it may have written something
			if err != nil && errors.Is(err, ErrUnavailable) {
				c.fence(s, dns...)
			}
			return err
		}
	}
	return err
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
			return notSentError{Unavailable(err)}
		}
		return nil
	})
	return h, err
}

// Add implements Conn.
func (c *Cluster) Add(ctx context.Context, req *ldap.AddRequest) error {
	return c.write(func(s *server) error { return s.pool.Add(ctx, req) }, req.DN)
}

// Modify implements Conn.
func (c *Cluster) Modify(ctx context.Context, req *ldap.ModifyRequest) error {
	return c.write(func(s *server) error { return s.pool.Modify(ctx, req) }, req.DN)
}

// ModifyDN implements Conn.
func (c *Cluster) ModifyDN(ctx context.Context, req *ldap.ModifyDNRequest) error {
	newDN := req.NewRDN
	if i := strings.IndexByte(req.DN, ','); i >= 0 && req.NewSuperior == "" {
		newDN += req.DN[i:]
	} else if req.NewSuperior != "" {
		newDN += "," + req.NewSuperior
	}
	return c.write(func(s *server) error { return s.pool.ModifyDN(ctx, req) }, req.DN, newDN)
}

// Del implements Conn.
func (c *Cluster) Del(ctx context.Context, req *ldap.DelRequest) error {
	return c.write(func(s *server) error { return s.pool.Del(ctx, req) }, req.DN)
}

// Ready reports whether a server the gateway would read from answers.
func (c *Cluster) Ready(ctx context.Context) error {
	return c.read(ctx, func(s *server) error { return s.pool.Ready(ctx) })
}

// HasAttributeType asks the preferred writer's schema (see Pool.HasAttributeType).
func (c *Cluster) HasAttributeType(ctx context.Context, name string) (bool, error) {
	var ok bool
	err := c.write(func(s *server) error {
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
		out[i] = ServerState{URL: s.url, Provider: s.provider, Up: s.up.Load(), Writer: len(ws) > 0 && ws[0] == s && s.up.Load()}
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
)
