package ldapconn

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Holder is a Conn that can also hand out a connection of its own for
// state the directory keeps on one connection between operations (the
// sorted list of a listing being paged through: OpenLDAP's sssvlv keeps
// it for a Virtual List View continuation until the connection closes).
type Holder interface {
	Hold(ctx context.Context) (HeldConn, error)
}

// TagHolder is a Holder that can hold a connection to one server of
// several (by ServerTag), for state only that server has: the order of
// its unsorted results.
type TagHolder interface {
	Holder
	HoldOn(ctx context.Context, tag string) (HeldConn, error)
	// Serves reports whether one of the servers has the tag, and whether
	// that server answers its health checks now.
	Serves(tag string) (serves, answers bool)
}

// HeldConn is a bound connection outside the pool. Each search is bounded
// like a pooled operation (the context's deadline, or op_timeout if
// sooner: the connection is closed when it passes). Close it when done;
// once one of its operations failed for the connection's sake it is
// closed already and every later call fails with ErrUnavailable.
type HeldConn interface {
	Search(ctx context.Context, req *ldap.SearchRequest) (*ldap.SearchResult, error)
	Close()
	// Server tags the directory server the connection is to (a digest of
	// its URL): the order of unsorted results is that server's own.
	Server() string
}

// Hold dials a connection that is not the pool's and does not count
// against pool_size; the caller bounds how many it holds. The pool closes
// those still open when it closes. While the pool is backing off after
// failed dials (the directory is down), Hold fails at once, as Do does.
func (p *Pool) Hold(ctx context.Context) (HeldConn, error) {
	p.mu.Lock()
	closed, down, lastErr := p.closed, p.failures > 0 && time.Now().Before(p.retryAt), p.lastErr
	p.mu.Unlock()
	switch {
	case closed:
		return nil, Unavailable(ErrPoolClosed)
	case down:
		return nil, Unavailable(fmt.Errorf("reconnecting: %w", lastErr))
	}
	c, err := p.dial(ctx)
	if err != nil {
		if ctx.Err() == nil {
			p.dialFailed(err)
		}
		return nil, Unavailable(err)
	}
	p.dialSucceeded()
	h := &held{p: p, c: c}
	p.held.Store(h, struct{}{})
	p.mu.Lock()
	closed = p.closed
	p.mu.Unlock()
	if closed { // Close ran meanwhile and did not see h
		h.Close()
		return nil, Unavailable(ErrPoolClosed)
	}
	return h, nil
}

type held struct {
	p *Pool
	c *ldap.Conn
}

func (h *held) Search(ctx context.Context, req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	if h.c.IsClosing() {
		return nil, Unavailable(errors.New("the held connection is closed"))
	}
	opCtx := ctx
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > h.p.cfg.OpTimeout {
		var cancel context.CancelFunc
		opCtx, cancel = context.WithTimeout(ctx, h.p.cfg.OpTimeout)
		defer cancel()
	}
	h.c.SetTimeout(0)
	stop := context.AfterFunc(opCtx, func() { h.c.Close() })
	res, err := h.c.Search(req)
	if !stop() {
		h.Close()
		return nil, Unavailable(errors.Join(opCtx.Err(), err))
	}
	if IsConnError(err) {
		h.Close()
		return nil, Unavailable(err)
	}
	return res, err
}

func (h *held) Server() string { return ServerTag(h.p.cfg.URL) }

// ServerTag is a short digest of a server's URL, to tell servers apart
// without naming them.
func ServerTag(url string) string {
	sum := sha256.Sum256([]byte(url))
	return hex.EncodeToString(sum[:6])
}

func (h *held) Close() {
	h.p.held.Delete(h)
	h.c.Close()
}

var _ Holder = (*Pool)(nil)
