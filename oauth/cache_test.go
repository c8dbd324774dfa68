package oauth

import (
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestVerifiedCache: a verified token is remembered, but its times are
// checked on every use, a key rotation forgets it, and callers never share
// a Principal they could change.
func TestVerifiedCache(t *testing.T) {
	a := newECKey(t, "kid-a")
	srv := newJWKSServer(t, a.public(t))
	clk := newClock()
	v, err := NewJWTValidator(t.Context(), testConfig(srv.URL, clk), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	tok := signToken(t, a, a.kid, with(goodClaims(), map[string]any{"exp": testT0.Add(90 * time.Second).Unix()}))
	p1, err := v.Validate(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.verified.m) != 1 {
		t.Fatalf("cache holds %d tokens, want 1", len(v.verified.m))
	}
	p1.Scopes[0] = "tampered"
	p2, err := v.Validate(t.Context(), tok)
	if err != nil || p2.Scopes[0] != "scim:read" {
		t.Fatalf("second use: %v %v", err, p2)
	}
	// Past exp (plus the 60 s leeway) the cached token is refused.
	clk.Advance(151 * time.Second)
	if got := reasonOf(t, func() error { _, err := v.Validate(t.Context(), tok); return err }()); got != ReasonExpired {
		t.Fatalf("after exp: reason %q, want expired", got)
	}
	if len(v.verified.m) != 0 {
		t.Fatal("an expired token stayed in the cache")
	}

	// A key removed from the JWKS: once the keys are refreshed, a token
	// verified with it is verified again, and refused.
	clk = newClock()
	v, err = NewJWTValidator(t.Context(), testConfig(srv.URL, clk), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	tok = signToken(t, a, a.kid, goodClaims())
	if _, err := v.Validate(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	b := newECKey(t, "kid-b")
	srv.setKeys(b.public(t))
	clk.Advance(11 * time.Second)
	if !v.keys.refreshEarly(t.Context()) {
		t.Fatal("refresh refused")
	}
	if got := reasonOf(t, func() error { _, err := v.Validate(t.Context(), tok); return err }()); got != ReasonUnknownKey {
		t.Fatalf("after the key was removed: reason %q, want unknown_key", got)
	}
}
