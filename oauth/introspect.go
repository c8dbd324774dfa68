package oauth

import (
	"container/list"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

const maxIntrospectionBytes = 1 << 20

// IntrospectionValidator checks opaque tokens with an RFC 7662 introspection
// endpoint: it POSTs the token with the configured client credentials (HTTP
// basic), and accepts it only if the answer says active: true. It recognises
// every token (put it last in a Chain).
//
// Active answers are cached, keyed by a SHA-256 of the token, up to
// CacheSize entries (least recently used evicted), each for at most CacheTTL
// and never past the token's exp. Inactive answers are not cached.
//
// When the answer carries iss, aud or exp, they are checked like a JWT's
// (with the configured issuer and audiences, when set). The subject is the
// subject claim, else "username", else empty: introspection responses need
// not name a subject.
type IntrospectionValidator struct {
	endpoint     string
	clientID     string
	clientSecret string
	maxToken     int
	client       *http.Client
	rules        claimRules
	cache        *principalCache
	log          zerolog.Logger
}

// NewIntrospectionValidator builds an introspection validator from cfg
// (defaults applied; New validates cfg).
func NewIntrospectionValidator(cfg Config, logger zerolog.Logger) (*IntrospectionValidator, error) {
	cfg = cfg.withDefaults()
	in := cfg.Introspection
	if in.Endpoint == "" {
		return nil, errors.New("oauth.introspection.endpoint: required")
	}
	v := &IntrospectionValidator{
		endpoint:     in.Endpoint,
		clientID:     in.ClientID,
		clientSecret: in.ClientSecret,
		maxToken:     cfg.MaxTokenBytes,
		client: &http.Client{
			Timeout: in.Timeout,
			// Never replay the token and credentials to another location.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		rules: newClaimRules(cfg),
		log:   logger,
	}
	if in.CacheSize > 0 {
		v.cache = newPrincipalCache(in.CacheSize, in.CacheTTL, cfg.now)
	}
	return v, nil
}

// Validate implements Validator.
func (v *IntrospectionValidator) Validate(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, newError(ReasonMissingToken, "no access token")
	}
	if len(token) > v.maxToken {
		return nil, newError(ReasonTooLarge, fmt.Sprintf("the access token is longer than %d bytes", v.maxToken))
	}
	key := sha256.Sum256([]byte(token))
	if p, ok := v.cache.get(key); ok {
		return p, nil
	}
	claims, e := v.introspect(ctx, token)
	if e != nil {
		return nil, e
	}
	if active, _ := claims["active"].(bool); !active {
		return nil, newError(ReasonInactive, "the access token is not active")
	}
	exp, e := v.rules.checkTimes(claims, false)
	if e != nil {
		return nil, e
	}
	if v.rules.issuer != "" {
		if e := v.rules.checkIssuer(claims, false); e != nil {
			return nil, e
		}
	}
	if len(v.rules.audiences) > 0 {
		if e := v.rules.checkAudience(claims, false); e != nil {
			return nil, e
		}
	}
	p, e := v.rules.principal(claims, exp, false)
	if e != nil {
		return nil, e
	}
	if p.Subject == "" {
		if u, ok := claims["username"].(string); ok {
			p.Subject = u
		}
	}
	v.cache.put(key, p)
	return clonePrincipal(p), nil
}

// introspect calls the endpoint and returns its JSON answer.
func (v *IntrospectionValidator) introspect(ctx context.Context, token string) (map[string]any, *Error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, &Error{Reason: ReasonUnavailable, Description: "token introspection failed", Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: the credentials are form-encoded before basic auth.
	req.SetBasicAuth(url.QueryEscape(v.clientID), url.QueryEscape(v.clientSecret))
	resp, err := v.client.Do(req)
	if err != nil {
		// The error names the endpoint, never the request body.
		v.log.Warn().Err(err).Str("endpoint", v.endpoint).Msg("token introspection failed")
		desc := "token introspection failed"
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			desc = "token introspection timed out"
		}
		return nil, &Error{Reason: ReasonUnavailable, Description: desc, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		v.log.Warn().Int("status", resp.StatusCode).Str("endpoint", v.endpoint).Msg("token introspection refused")
		return nil, newError(ReasonUnavailable, "token introspection failed")
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIntrospectionBytes+1))
	if err != nil || len(body) > maxIntrospectionBytes {
		return nil, newError(ReasonUnavailable, "token introspection failed")
	}
	claims, ok := decodeClaims(body)
	if !ok {
		v.log.Warn().Str("endpoint", v.endpoint).Msg("token introspection answer is not a JSON object")
		return nil, newError(ReasonUnavailable, "token introspection failed")
	}
	if _, ok := claims["active"].(bool); !ok {
		v.log.Warn().Str("endpoint", v.endpoint).Msg("token introspection answer lacks a boolean active member")
		return nil, newError(ReasonUnavailable, "token introspection failed")
	}
	return claims, nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// clonePrincipal gives each caller its own Principal; Claims stay shared
// and must be treated as read-only.
func clonePrincipal(p *Principal) *Principal {
	q := *p
	q.Scopes = slices.Clone(p.Scopes)
	return &q
}

// principalCache is a bounded LRU of introspected principals keyed by token
// hash. A nil cache caches nothing.
type principalCache struct {
	mu      sync.Mutex
	max     int
	ttl     time.Duration
	now     func() time.Time
	order   *list.List // front = most recently used; values are *cacheEntry
	entries map[[32]byte]*list.Element
}

type cacheEntry struct {
	key     [32]byte
	p       *Principal
	expires time.Time
}

func newPrincipalCache(max int, ttl time.Duration, now func() time.Time) *principalCache {
	return &principalCache{max: max, ttl: ttl, now: now, order: list.New(), entries: make(map[[32]byte]*list.Element)}
}

func (c *principalCache) get(key [32]byte) (*Principal, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	ent := el.Value.(*cacheEntry)
	if !c.now().Before(ent.expires) {
		c.order.Remove(el)
		delete(c.entries, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	return clonePrincipal(ent.p), true
}

// put stores p until the earlier of now+ttl and its expiry.
func (c *principalCache) put(key [32]byte, p *Principal) {
	if c == nil {
		return
	}
	expires := c.now().Add(c.ttl)
	if !p.Expiry.IsZero() && p.Expiry.Before(expires) {
		expires = p.Expiry
	}
	if !c.now().Before(expires) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		el.Value = &cacheEntry{key: key, p: p, expires: expires}
		c.order.MoveToFront(el)
		return
	}
	c.entries[key] = c.order.PushFront(&cacheEntry{key: key, p: p, expires: expires})
	for c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.entries, old.Value.(*cacheEntry).key)
	}
}

// len returns the number of cached entries (expired ones included).
func (c *principalCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
