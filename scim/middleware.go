package scim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/scimgate/scimgate/oauth"
	"github.com/scimgate/scimgate/scim/resource"
)

// requestInfo travels in the context from the audit wrapper inward, so the
// audit line can report what was learnt inside (the caller).
type requestInfo struct {
	id     string
	audit  *resource.Audit
	caller *resource.Caller
}

type infoKey struct{}

// Handler wraps the server with the audit log, authentication (auth, such
// as oauth.Middleware) and the step that turns the token's principal into
// the backend's Caller. mapUser, when set, maps the principal to a bind
// DN (identity mapping) and may refuse it.
func (s *Server) Handler(auth func(http.Handler) http.Handler, mapUser func(context.Context, *oauth.Principal) (string, error)) http.Handler {
	inner := s.handler(func(w http.ResponseWriter, r *http.Request) error {
		info, _ := r.Context().Value(infoKey{}).(*requestInfo)
		c := &resource.Caller{IP: clientIP(r), Secure: r.TLS != nil}
		if info != nil {
			c.RequestID, c.Audit = info.id, info.audit
			info.caller = c
		}
		if p, ok := oauth.FromContext(r.Context()); ok {
			c.Subject, c.ClientID, c.Scopes, c.HasToken = p.Subject, p.ClientID, p.Scopes, true
			if mapUser != nil {
				dn, err := mapUser(r.Context(), p)
				if err != nil {
					var se *resource.Error
					if errors.As(err, &se) && se.Status == http.StatusUnauthorized {
						w.Header().Set("WWW-Authenticate", `Bearer realm="scimgate", error="invalid_token", error_description="`+se.Detail+`"`)
					}
					return err
				}
				c.BindDN = dn
			}
		}
		return s.dispatch(w, r.WithContext(resource.WithCaller(r.Context(), c)))
	})
	return s.audit(auth(inner))
}

// audit logs one structured line per request: who, what, the outcome and
// the access decision. Tokens and secrets never reach it.
func (s *Server) audit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if id == "" || len(id) > 128 {
			id = newRequestID()
		}
		w.Header().Set("X-Request-ID", id)
		info := &requestInfo{id: id, audit: &resource.Audit{}}
		l := s.log.With().Str("request_id", id).Logger()
		ctx := context.WithValue(l.WithContext(r.Context()), infoKey{}, info)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(ctx))
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		ev := s.log.Info().Str("request_id", id).Str("method", r.Method).Str("resource", r.URL.Path).
			Int("status", status).Dur("latency", time.Since(start)).Str("mode", s.cfg.Mode)
		if c := info.caller; c != nil {
			ev = ev.Str("client_id", c.ClientID).Str("subject", c.Subject).Strs("scopes", c.Scopes).Str("mapped_dn", c.BindDN)
		}
		decision := info.audit.Summary(status)
		if decision == "" && (status == 403 || status == 404) {
			decision = "no ACI allowed"
		}
		ev.Str("aci_decision", decision).Msg("scim request")
	})
}

// newRequestID returns an id unique to this process's lifetime and, with
// its random prefix, unlikely to repeat across processes: 24 hex digits,
// the first 12 random at start-up, the rest a counter. Request ids need
// not be unpredictable, and reading the system's randomness on every
// request would cost a system call.
func newRequestID() string {
	var b [24]byte
	copy(b[:12], requestIDPrefix[:])
	n := requestIDCounter.Add(1)
	const digits = "0123456789abcdef"
	for i := 23; i >= 12; i-- {
		b[i] = digits[n&0xf]
		n >>= 4
	}
	return string(b[:])
}

var (
	requestIDPrefix = func() (p [12]byte) {
		var r [6]byte
		_, _ = rand.Read(r[:])
		hex.Encode(p[:], r[:])
		return p
	}()
	requestIDCounter atomic.Uint64
)

func clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}
