package oauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// introspectionServer answers RFC 7662 requests from a table of tokens and
// counts calls. It requires the client credentials of testIntrospectionConfig.
type introspectionServer struct {
	*httptest.Server
	calls atomic.Int64
	mu    sync.Mutex
	delay time.Duration
	resp  map[string]map[string]any
}

func newIntrospectionServer(t *testing.T, resp map[string]map[string]any) *introspectionServer {
	t.Helper()
	s := &introspectionServer{resp: resp}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		s.mu.Lock()
		delay := s.delay
		s.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		id, secret, ok := r.BasicAuth()
		if r.Method != http.MethodPost || !ok || id != "scim%3Agate" || secret != "s3cr%C3%A9t" ||
			r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		answer, found := s.resp[r.PostFormValue("token")]
		if !found {
			answer = map[string]any{"active": false}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	}))
	t.Cleanup(s.Close)
	return s
}

func testIntrospectionConfig(url string, clk *fakeClock) Config {
	return Config{
		Issuer:    testIssuer,
		Audiences: []string{testAudience},
		Introspection: IntrospectionConfig{
			Endpoint:     url,
			ClientID:     "scim:gate",
			ClientSecret: "s3crét",
			Timeout:      200 * time.Millisecond,
			CacheSize:    2,
			CacheTTL:     time.Minute,
		},
		now: clk.Now,
	}
}

func TestIntrospection(t *testing.T) {
	active := map[string]any{
		"active": true, "sub": "alice", "client_id": "reporting", "scope": "scim:read scim:read",
		"iss": testIssuer, "aud": testAudience, "exp": testT0.Add(time.Hour).Unix(), "jti": "op-1",
	}
	srv := newIntrospectionServer(t, map[string]map[string]any{
		"tok-active":      active,
		"tok-short":       with(active, map[string]any{"exp": testT0.Add(20 * time.Second).Unix()}),
		"tok-username":    with(active, map[string]any{"sub": nil, "username": "bob"}),
		"tok-no-exp":      with(active, map[string]any{"exp": nil}),
		"tok-expired":     with(active, map[string]any{"exp": testT0.Add(-time.Hour).Unix()}),
		"tok-wrong-iss":   with(active, map[string]any{"iss": "https://evil.test"}),
		"tok-wrong-aud":   with(active, map[string]any{"aud": []string{"x"}}),
		"tok-bad-scope":   with(active, map[string]any{"scope": 3}),
		"tok-active-str":  with(active, map[string]any{"active": "true"}),
		"tok-no-iss":      with(active, map[string]any{"iss": nil, "aud": nil}),
		"tok-inactive":    {"active": false},
		"tok-lru-1":       active,
		"tok-lru-2":       active,
		"tok-lru-3":       active,
		"tok-explicit-nf": {"active": false, "sub": "alice"},
	})
	clk := newClock()
	v, err := NewIntrospectionValidator(testIntrospectionConfig(srv.URL, clk), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("outcomes", func(t *testing.T) {
		tests := []struct {
			token   string
			want    Reason
			wantSub string
		}{
			{"tok-active", "", "alice"},
			{"tok-username", "", "bob"},
			{"tok-no-exp", "", "alice"},
			{"tok-no-iss", "", "alice"},
			{"tok-inactive", ReasonInactive, ""},
			{"tok-explicit-nf", ReasonInactive, ""},
			{"tok-unknown", ReasonInactive, ""},
			{"tok-expired", ReasonExpired, ""},
			{"tok-wrong-iss", ReasonWrongIssuer, ""},
			{"tok-wrong-aud", ReasonWrongAudience, ""},
			{"tok-bad-scope", ReasonInvalidClaims, ""},
			{"tok-active-str", ReasonUnavailable, ""},
			{"", ReasonMissingToken, ""},
		}
		for _, tc := range tests {
			p, err := v.Validate(t.Context(), tc.token)
			if got := reasonOf(t, err); got != tc.want {
				t.Errorf("%s: reason %q (%v), want %q", tc.token, got, err, tc.want)
				continue
			}
			if tc.want == "" && (p.Subject != tc.wantSub || p.ClientID != "reporting" || !slices.Equal(p.Scopes, []string{"scim:read"})) {
				t.Errorf("%s: principal %+v", tc.token, p)
			}
		}
	})

	t.Run("cache hit", func(t *testing.T) {
		if _, err := v.Validate(t.Context(), "tok-active"); err != nil {
			t.Fatal(err)
		}
		before := srv.calls.Load()
		for range 5 {
			p, err := v.Validate(t.Context(), "tok-active")
			if err != nil || p.Subject != "alice" {
				t.Fatalf("%v %+v", err, p)
			}
			p.Scopes[0] = "mutated" // callers cannot corrupt the cache
		}
		if n := srv.calls.Load() - before; n != 0 {
			t.Fatalf("%d server calls for a cached token, want 0", n)
		}
		p, _ := v.Validate(t.Context(), "tok-active")
		if p.Scopes[0] != "scim:read" {
			t.Fatal("cached principal was mutated")
		}
		for range 3 {
			_, _ = v.Validate(t.Context(), "tok-inactive")
		}
		if n := srv.calls.Load() - before; n != 3 {
			t.Fatalf("%d server calls for an inactive token, want 3 (not cached)", n)
		}
	})

	t.Run("entry expires with the token", func(t *testing.T) {
		before := srv.calls.Load()
		for range 3 {
			if _, err := v.Validate(t.Context(), "tok-short"); err != nil {
				t.Fatal(err)
			}
		}
		if n := srv.calls.Load() - before; n != 1 {
			t.Fatalf("%d calls, want 1", n)
		}
		clk.Advance(21 * time.Second) // past exp, within cache_ttl
		_, err := v.Validate(t.Context(), "tok-short")
		if n := srv.calls.Load() - before; n != 2 {
			t.Fatalf("%d calls after exp, want 2 (entry dropped)", n)
		}
		// The server still says active; the exp check (with leeway) decides.
		if err != nil {
			t.Fatalf("within leeway: %v", err)
		}
		clk.Advance(time.Minute)
		if _, err := v.Validate(t.Context(), "tok-short"); reasonOf(t, err) != ReasonExpired {
			t.Fatalf("after exp+leeway: %v", err)
		}
	})

	t.Run("entry expires with cache_ttl", func(t *testing.T) {
		before := srv.calls.Load()
		_, _ = v.Validate(t.Context(), "tok-no-exp")
		_, _ = v.Validate(t.Context(), "tok-no-exp")
		clk.Advance(61 * time.Second)
		_, _ = v.Validate(t.Context(), "tok-no-exp")
		if n := srv.calls.Load() - before; n != 2 {
			t.Fatalf("%d calls, want 2", n)
		}
	})

	t.Run("bounded LRU", func(t *testing.T) {
		for _, tok := range []string{"tok-lru-1", "tok-lru-2", "tok-lru-1", "tok-lru-3"} {
			if _, err := v.Validate(t.Context(), tok); err != nil {
				t.Fatal(err)
			}
		}
		if n := v.cache.len(); n != 2 {
			t.Fatalf("cache holds %d entries, want 2", n)
		}
		before := srv.calls.Load()
		_, _ = v.Validate(t.Context(), "tok-lru-1") // recently used: kept
		_, _ = v.Validate(t.Context(), "tok-lru-2") // least recently used: evicted
		if n := srv.calls.Load() - before; n != 1 {
			t.Fatalf("%d calls, want 1", n)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		srv.mu.Lock()
		srv.delay = time.Second
		srv.mu.Unlock()
		defer func() {
			srv.mu.Lock()
			srv.delay = 0
			srv.mu.Unlock()
		}()
		start := time.Now()
		_, err := v.Validate(t.Context(), "tok-wrong-aud")
		if got := reasonOf(t, err); got != ReasonUnavailable {
			t.Fatalf("reason %q (%v), want unavailable", got, err)
		}
		if e := AsError(err); e.Description != "token introspection timed out" {
			t.Errorf("description %q", e.Description)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("took %v despite a 200ms timeout", d)
		}
	})

	t.Run("wrong credentials", func(t *testing.T) {
		cfg := testIntrospectionConfig(srv.URL, clk)
		cfg.Introspection.ClientSecret = "wrong"
		w, err := NewIntrospectionValidator(cfg, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Validate(t.Context(), "tok-active"); reasonOf(t, err) != ReasonUnavailable {
			t.Fatalf("%v, want unavailable", err)
		}
	})
}

func TestChain(t *testing.T) {
	jv, _, clk := newTestJWT(t, nil)
	srv := newIntrospectionServer(t, map[string]map[string]any{
		"opaque-1": {"active": true, "sub": "svc", "scope": "scim:read"},
	})
	iv, err := NewIntrospectionValidator(testIntrospectionConfig(srv.URL, clk), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	chain := Chain{jv, iv}
	es := testKeys(t)[6]
	tests := []struct {
		name      string
		token     string
		want      Reason
		wantSub   string
		wantCalls int64
	}{
		{"JWT decided by the JWT validator", signToken(t, es, es.kid, goodClaims()), "", "alice", 0},
		{"invalid JWT refused, not introspected", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"iss": "x"})), ReasonWrongIssuer, "", 0},
		{"JWE refused, not introspected", "eyJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiZGlyIn0..aXY.Y3Q.dGFn", ReasonEncrypted, "", 0},
		{"opaque token introspected", "opaque-1", "", "svc", 1},
		{"unknown opaque token", "opaque-2", ReasonInactive, "", 1},
		{"dotted opaque token introspected", "a.b.c", ReasonInactive, "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.calls.Load()
			p, err := chain.Validate(t.Context(), tc.token)
			if got := reasonOf(t, err); got != tc.want {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.want)
			}
			if tc.want == "" && p.Subject != tc.wantSub {
				t.Fatalf("subject %q, want %q", p.Subject, tc.wantSub)
			}
			if n := srv.calls.Load() - before; n != tc.wantCalls {
				t.Fatalf("%d introspection calls, want %d", n, tc.wantCalls)
			}
		})
	}
	if _, err := (Chain{jv}).Validate(t.Context(), "opaque"); reasonOf(t, err) != ReasonMalformed {
		t.Fatalf("every validator declined: %v, want malformed", err)
	}
}
