package ldapconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"
)

// Reconnection backoff after a failed dial: the delay doubles from
// reconnectMin up to reconnectMax, with ±20% jitter.
const (
	reconnectMin = 100 * time.Millisecond
	reconnectMax = 5 * time.Second
)

// ErrUnavailable is matched (errors.Is) by every error the pool returns when it
// could not provide a working connection or lost it during the call: the
// directory is down, the pool is exhausted until the deadline, the context ended,
// or the pool is closed. MapError turns it into 503.
var ErrUnavailable = errors.New("directory unavailable")

// ErrPoolClosed is the cause of the ErrUnavailable error Do returns after Close.
var ErrPoolClosed = errors.New("ldap pool closed")

// unavailableError marks an error as ErrUnavailable while keeping its cause.
type unavailableError struct{ cause error }

func (e *unavailableError) Error() string        { return "directory unavailable: " + e.cause.Error() }
func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }
func (e *unavailableError) Unwrap() error        { return e.cause }

// notSentError marks a failure that happened before the operation was
// sent: the pool had no connection to give. Such an operation may be sent
// to another server (Cluster); one that failed after it was sent may have
// been applied.
type notSentError struct {
	error
	busy bool // every connection was in use until the deadline: the server may be fine
}

func (e notSentError) Unwrap() error { return e.error }

// NotSent reports whether err says the operation never reached the
// directory.
func NotSent(err error) bool {
	var ns notSentError
	return errors.As(err, &ns)
}

// noConnection reports whether err says no connection to the server could
// be had (a failed dial, or the pool backing off after one), as opposed to
// a wait for a busy pool.
func noConnection(err error) bool {
	var ns notSentError
	return errors.As(err, &ns) && !ns.busy
}

// Unavailable marks cause as ErrUnavailable.
func Unavailable(cause error) error {
	if errors.Is(cause, ErrUnavailable) {
		return cause
	}
	return &unavailableError{cause: cause}
}

// Pool is a bounded pool of bound LDAP connections, safe for concurrent use. It
// dials lazily and in the background, backs off while the directory is down,
// checks idle connections periodically and drops connections that failed.
type Pool struct {
	cfg LDAPConfig
	log zerolog.Logger
	tls *tls.Config

	// slots holds one token per connection in use (or being dialed or checked),
	// so that at most PoolSize connections exist.
	slots chan struct{}
	done  chan struct{}
	wake  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once

	mu       sync.Mutex
	idle     []*ldap.Conn // most recently used last
	open     int          // idle + in use + being dialed
	closed   bool
	failures int       // consecutive failed dials
	retryAt  time.Time // no dial before this while failures > 0
	lastErr  error     // the last dial error, while failures > 0

	waits, dials, dialFailures, discarded atomic.Uint64

	retiring sync.Map // *ldap.Conn -> struct{}: close when the Do using it returns
	held     sync.Map // *held -> struct{}: connections handed out by Hold, closed with the pool
}

// Retire asks that c, the connection a Do is running fn with, be closed
// and replaced when fn returns rather than kept: for an operation that
// leaves state on its connection on the directory's side (a VLV search: see Search).
func (p *Pool) Retire(c *ldap.Conn) { p.retiring.Store(c, struct{}{}) }

// PoolStats is a snapshot of a Pool for metrics.
type PoolStats struct {
	Open         int    // connections open: idle, in use or being dialed
	Idle         int    // connections waiting in the pool
	InUse        int    // Open - Idle
	Waits        uint64 // calls that found every connection busy and waited
	Dials        uint64 // successful dials (connect, TLS, bind)
	DialFailures uint64 // failed dials
	Discarded    uint64 // connections dropped after a network error or failed check
	Up           bool   // the last dial did not fail
}

// NewPool returns a pool for cfg (defaults applied). It fails only for a
// configuration problem: when the directory cannot be reached it logs a
// warning and keeps reconnecting in the background. It tries one connection
// within ctx so that a healthy directory is ready at once. Close it when done.
func NewPool(ctx context.Context, cfg LDAPConfig, log zerolog.Logger) (*Pool, error) {
	cfg.Defaults()
	if errs := cfg.Validate("ldap"); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	p := &Pool{
		cfg:   cfg,
		log:   log.With().Str("component", "ldap-pool").Logger(),
		slots: make(chan struct{}, cfg.PoolSize),
		done:  make(chan struct{}),
		wake:  make(chan struct{}, 1),
	}
	if strings.HasPrefix(strings.ToLower(cfg.URL), "ldaps:") || cfg.StartTLS {
		tc, err := cfg.tlsConfig()
		if err != nil {
			return nil, fmt.Errorf("ldap TLS: %w", err)
		}
		p.tls = tc
		if cfg.InsecureSkipVerify {
			p.log.Warn().Msg("ldap.insecure_skip_verify is set: the directory's certificate is not verified")
		}
	}
	if p.tryConnect(ctx) {
		p.log.Info().Str("url", cfg.URL).Msg("connected to the directory")
	}
	p.wg.Add(1)
	go p.maintain()
	return p, nil
}

// Do runs fn with a bound connection and returns fn's error. It waits for a free
// connection until ctx ends; fn then has until ctx's deadline or op_timeout,
// whichever comes first, after which its connection is closed, ending what
// it was waiting for. When the directory is known to be down (a reconnection is
// backing off) Do fails at once rather than waiting. A connection that fails with
// a network error is dropped and the error, like every failure to get a
// connection, matches ErrUnavailable. fn must not keep the connection.
func (p *Pool) Do(ctx context.Context, fn func(*ldap.Conn) error) error {
	if err := p.acquire(ctx); err != nil {
		return notSentError{error: err, busy: true}
	}
	defer func() { <-p.slots }()

	c, err := p.get(ctx)
	if err != nil {
		return notSentError{error: err}
	}
	// The operation's deadline (the request's, or OpTimeout if sooner)
	// closes the connection under it, which ends the operation at once.
	// go-ldap's own request timeout stays off: it would start a goroutine
	// and a timer for every request and a context for every message.
	opCtx := ctx
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > p.cfg.OpTimeout {
		var cancel context.CancelFunc
		opCtx, cancel = context.WithTimeout(ctx, p.cfg.OpTimeout)
		defer cancel()
	}
	c.SetTimeout(0)
	stop := context.AfterFunc(opCtx, func() { c.Close() })
	err = fn(c)
	if !stop() {
		p.discard(c)
		return Unavailable(errors.Join(opCtx.Err(), err))
	}
	if _, retire := p.retiring.LoadAndDelete(c); retire {
		p.discard(c)
		if IsConnError(err) {
			err = Unavailable(err)
		}
		return err
	}
	if IsConnError(err) || c.IsClosing() {
		p.discard(c)
		if err != nil {
			err = Unavailable(err)
		}
		return err
	}
	p.put(c)
	return err
}

// Ready reports whether the directory answers now: a read of the root DSE over
// a pooled connection.
func (p *Pool) Ready(ctx context.Context) error {
	return p.Do(ctx, ping)
}

// Stats returns the current counters.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PoolStats{
		Open:         p.open,
		Idle:         len(p.idle),
		InUse:        p.open - len(p.idle),
		Waits:        p.waits.Load(),
		Dials:        p.dials.Load(),
		DialFailures: p.dialFailures.Load(),
		Discarded:    p.discarded.Load(),
		Up:           p.failures == 0,
	}
}

// Close stops the background work and closes the idle connections; connections
// in use are closed when their call returns. Later calls of Do fail with
// ErrPoolClosed. Close waits for the background goroutine and is idempotent.
func (p *Pool) Close() error {
	p.once.Do(func() {
		p.mu.Lock()
		p.closed = true
		idle := p.idle
		p.idle = nil
		p.open -= len(idle)
		p.mu.Unlock()
		close(p.done)
		p.wg.Wait()
		for _, c := range idle {
			c.Close()
		}
		p.held.Range(func(h, _ any) bool {
			h.(*held).Close()
			return true
		})
	})
	return nil
}

// acquire takes a slot, waiting until ctx ends or the pool closes.
func (p *Pool) acquire(ctx context.Context) error {
	select {
	case <-p.done:
		return Unavailable(ErrPoolClosed)
	default:
	}
	select {
	case p.slots <- struct{}{}:
		return nil
	default:
	}
	p.waits.Add(1)
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return Unavailable(fmt.Errorf("waiting for an LDAP connection: %w", ctx.Err()))
	case <-p.done:
		return Unavailable(ErrPoolClosed)
	}
}

// get returns an idle connection or dials one; the caller holds a slot.
func (p *Pool) get(ctx context.Context) (*ldap.Conn, error) {
	p.mu.Lock()
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if !c.IsClosing() {
			p.mu.Unlock()
			return c, nil
		}
		// The server closed it (restart, idle timeout): drop it and try the next.
		p.open--
		p.discarded.Add(1)
		go c.Close()
	}
	if p.closed {
		p.mu.Unlock()
		return nil, Unavailable(ErrPoolClosed)
	}
	if p.failures > 0 && time.Now().Before(p.retryAt) {
		err := p.lastErr
		p.mu.Unlock()
		return nil, Unavailable(fmt.Errorf("reconnecting: %w", err))
	}
	p.open++
	p.mu.Unlock()

	c, err := p.dialCounted(ctx)
	if err != nil {
		return nil, Unavailable(err)
	}
	return c, nil
}

// dialCounted dials a connection the caller has already counted in p.open
// (under p.mu): on failure it takes the count back and records the failure
// for the backoff, unless ctx ended.
func (p *Pool) dialCounted(ctx context.Context) (*ldap.Conn, error) {
	c, err := p.dial(ctx)
	if err != nil {
		p.mu.Lock()
		p.open--
		p.mu.Unlock()
		if ctx.Err() == nil {
			p.dialFailed(err)
		}
		return nil, err
	}
	p.dialSucceeded()
	return c, nil
}

// put returns a healthy connection to the pool.
func (p *Pool) put(c *ldap.Conn) {
	p.mu.Lock()
	if p.closed {
		p.open--
		p.mu.Unlock()
		c.Close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// discard closes a connection taken from the pool.
func (p *Pool) discard(c *ldap.Conn) {
	p.mu.Lock()
	p.open--
	p.mu.Unlock()
	p.discarded.Add(1)
	c.Close()
}

func (p *Pool) dialFailed(err error) {
	p.dialFailures.Add(1)
	p.mu.Lock()
	p.failures++
	d := reconnectMin << min(p.failures-1, 16)
	d = min(d, reconnectMax)
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	p.retryAt = time.Now().Add(d)
	p.lastErr = err
	first := p.failures == 1
	p.mu.Unlock()
	ev := p.log.Debug()
	if first {
		ev = p.log.Warn()
	}
	ev.Err(err).Str("url", p.cfg.URL).Dur("retry_in", d).Msg("cannot connect to the directory")
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Pool) dialSucceeded() {
	p.dials.Add(1)
	p.mu.Lock()
	was := p.failures
	p.failures = 0
	p.lastErr = nil
	p.mu.Unlock()
	if was > 0 {
		p.log.Info().Str("url", p.cfg.URL).Int("failed_attempts", was).Msg("reconnected to the directory")
	}
}

// tryConnect dials one connection into the idle list if a slot is free and the
// pool has none; it reports success.
func (p *Pool) tryConnect(ctx context.Context) bool {
	select {
	case p.slots <- struct{}{}:
	default:
		return false
	}
	defer func() { <-p.slots }()
	p.mu.Lock()
	if p.closed || len(p.idle) > 0 {
		p.mu.Unlock()
		return false
	}
	p.open++
	p.mu.Unlock()
	c, err := p.dialCounted(ctx)
	if err != nil {
		return false
	}
	p.put(c)
	return true
}

// maintain reconnects in the background while the directory is down and checks
// idle connections every health interval.
func (p *Pool) maintain() {
	defer p.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	nextCheck := time.Now().Add(p.cfg.HealthInterval)
	timer := time.NewTimer(p.cfg.HealthInterval)
	defer timer.Stop()
	for {
		p.mu.Lock()
		wakeAt := nextCheck
		failing := p.failures > 0
		if failing && p.retryAt.Before(wakeAt) {
			wakeAt = p.retryAt
		}
		p.mu.Unlock()
		timer.Reset(max(time.Until(wakeAt), 0))
		select {
		case <-p.done:
			return
		case <-p.wake:
			continue // the retry time changed
		case <-timer.C:
		}
		p.mu.Lock()
		failing = p.failures > 0 && !time.Now().Before(p.retryAt)
		p.mu.Unlock()
		if failing {
			dctx, dcancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
			p.tryConnect(dctx)
			dcancel()
		}
		if !time.Now().Before(nextCheck) {
			p.checkIdle(ctx)
			nextCheck = time.Now().Add(p.cfg.HealthInterval)
		}
	}
}

// checkIdle pings each connection idle at the start of the check, one at a
// time and only when a slot is free, and drops those that fail.
func (p *Pool) checkIdle(ctx context.Context) {
	p.mu.Lock()
	n := len(p.idle)
	p.mu.Unlock()
	for range n {
		select {
		case p.slots <- struct{}{}:
		default:
			return // every connection is busy, so in use and checked by use
		}
		p.mu.Lock()
		if len(p.idle) == 0 || p.closed {
			p.mu.Unlock()
			<-p.slots
			return
		}
		// The oldest idle connection is at the front.
		c := p.idle[0]
		p.idle = p.idle[1:]
		p.mu.Unlock()
		c.SetTimeout(min(p.cfg.OpTimeout, p.cfg.DialTimeout))
		err := ping(c)
		if err != nil || c.IsClosing() {
			p.log.Debug().Err(err).Msg("dropping an idle LDAP connection that failed its health check")
			p.discard(c)
		} else {
			p.put(c) // at the most recently used end: it just proved itself
		}
		<-p.slots
		if ctx.Err() != nil {
			return
		}
	}
}

// dial connects, upgrades to TLS if configured and binds.
func (p *Pool) dial(ctx context.Context) (*ldap.Conn, error) {
	deadline := time.Now().Add(p.cfg.DialTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	d := &net.Dialer{Timeout: p.cfg.DialTimeout, Deadline: deadline}
	opts := []ldap.DialOpt{ldap.DialWithDialer(d)}
	if p.tls != nil {
		opts = append(opts, ldap.DialWithTLSConfig(p.tls))
	}
	c, err := ldap.DialURL(p.cfg.URL, opts...)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	c.SetTimeout(max(time.Until(deadline), time.Millisecond))
	err = p.setup(c)
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (p *Pool) setup(c *ldap.Conn) error {
	if p.cfg.StartTLS {
		if err := c.StartTLS(p.tls); err != nil {
			return fmt.Errorf("StartTLS: %w", err)
		}
	}
	if p.cfg.BindDN == "" {
		return nil
	}
	pw, err := p.cfg.password()
	if err != nil {
		return fmt.Errorf("bind password: %w", err)
	}
	if err := c.Bind(p.cfg.BindDN, pw); err != nil {
		return fmt.Errorf("bind as %s: %w", p.cfg.BindDN, err)
	}
	return nil
}

// ping reads the root DSE, which every LDAPv3 server serves.
func ping(c *ldap.Conn) error {
	_, err := c.Search(&ldap.SearchRequest{Scope: ldap.ScopeBaseObject, DerefAliases: ldap.NeverDerefAliases,
		SizeLimit: 1, Filter: "(objectClass=*)", Attributes: []string{"1.1"}})
	return err
}

// IsConnError reports whether err means the connection can no longer be trusted.
func IsConnError(err error) bool {
	if err == nil {
		return false
	}
	var le *ldap.Error
	if errors.As(err, &le) {
		switch le.ResultCode {
		case ldap.ErrorNetwork, ldap.LDAPResultServerDown, ldap.LDAPResultUnavailable,
			ldap.LDAPResultConnectError, ldap.LDAPResultTimeout, ldap.ErrorUnexpectedResponse,
			ldap.ErrorMalformedPacket, ldap.LDAPResultDecodingError, ldap.LDAPResultProtocolError:
			return true
		}
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}
