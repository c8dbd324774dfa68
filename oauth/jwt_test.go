package oauth

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/rs/zerolog"
)

func TestJWTEveryAlgorithm(t *testing.T) {
	v, _, _ := newTestJWT(t, nil)
	for _, k := range testKeys(t) {
		t.Run(k.alg.String(), func(t *testing.T) {
			for _, kid := range []string{k.kid, ""} {
				p, err := v.Validate(t.Context(), signToken(t, k, kid, goodClaims()))
				if err != nil {
					t.Fatalf("kid %q: %v", kid, err)
				}
				want := Principal{Subject: "alice", ClientID: "connector-1", Issuer: testIssuer,
					Scopes: []string{"scim:read", "scim:write"}, TokenID: "jti-1",
					Expiry: time.Unix(testT0.Add(time.Hour).Unix(), 0)}
				if p.Subject != want.Subject || p.ClientID != want.ClientID || p.Issuer != want.Issuer ||
					!slices.Equal(p.Scopes, want.Scopes) || p.TokenID != want.TokenID || !p.Expiry.Equal(want.Expiry) {
					t.Errorf("kid %q: principal %+v, want %+v", kid, p, want)
				}
				if p.Claims["sub"] != "alice" {
					t.Errorf("raw claims not kept: %v", p.Claims)
				}
			}
		})
	}
}

func TestJWTAlgorithmAllowList(t *testing.T) {
	v, _, _ := newTestJWT(t, func(c *Config) { c.Algorithms = []string{"ES256"} })
	if _, err := v.Validate(t.Context(), signToken(t, keyFor(t, jwa.ES256), "kid-ES256", goodClaims())); err != nil {
		t.Fatalf("ES256: %v", err)
	}
	_, err := v.Validate(t.Context(), signToken(t, keyFor(t, jwa.RS256), "kid-RS256", goodClaims()))
	if got := reasonOf(t, err); got != ReasonBadAlgorithm {
		t.Fatalf("RS256 outside the allow-list: reason %q, want %q", got, ReasonBadAlgorithm)
	}
}

func TestJWTAttacks(t *testing.T) {
	v, srv, _ := newTestJWT(t, nil)
	es := keyFor(t, jwa.ES256)
	rs := keyFor(t, jwa.RS256)
	good := signToken(t, es, es.kid, goodClaims())

	// A key that was trusted and is then removed from the JWKS.
	removed := newECKey(t, "kid-removed")
	remote := v.keys.(*remoteJWKS)
	srv.setKeys(append(publicKeys(t), removed.public(t))...)
	if err := remote.acquireAndFetch(t.Context()); err != nil { // as the background refresh would
		t.Fatal(err)
	}
	if _, err := v.Validate(t.Context(), signToken(t, removed, removed.kid, goodClaims())); err != nil {
		t.Fatalf("key before removal: %v", err)
	}
	srv.setKeys(publicKeys(t)...)
	if err := remote.acquireAndFetch(t.Context()); err != nil {
		t.Fatal(err)
	}
	rsaPubDER, err := x509.MarshalPKIXPublicKey(rsaPublic(t, rs))
	if err != nil {
		t.Fatal(err)
	}
	rsaPubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaPubDER})
	payload, _ := json.Marshal(goodClaims())

	jweToken, err := jwe.Encrypt(payload, jwe.WithKey(jwa.RSA_OAEP_256, rsaPublic(t, rs)))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	tamperedClaims, _ := json.Marshal(with(goodClaims(), map[string]any{"sub": "root"}))
	tampered := parts[0] + "." + b64(tamperedClaims) + "." + parts[2]

	tests := []struct {
		name  string
		token string
		want  Reason
	}{
		{"alg none", rawJWT(`{"alg":"none","kid":"kid-ES256"}`, string(payload), nil), ReasonBadAlgorithm},
		{"HS256 with the RSA public key as secret", signRaw(t, jwa.HS256, rsaPubPEM, rs.kid, payload), ReasonBadAlgorithm},
		{"HS256 with the RSA public key DER as secret", signRaw(t, jwa.HS256, rsaPubDER, rs.kid, payload), ReasonBadAlgorithm},
		{"RS256 header on an EC key's kid", signRaw(t, jwa.RS256, rs.priv, es.kid, payload), ReasonBadAlgorithm},
		{"PS256 with a key pinned to RS256", signRaw(t, jwa.PS256, rs.priv, rs.kid, payload), ReasonBadAlgorithm},
		{"tampered payload", tampered, ReasonBadSignature},
		{"signature of another token", parts[0] + "." + parts[1] + "." + strings.Split(signToken(t, es, es.kid, with(goodClaims(), map[string]any{"jti": "x"})), ".")[2], ReasonBadSignature},
		{"signed by an untrusted key under a trusted kid", signToken(t, newECKey(t, es.kid), es.kid, goodClaims()), ReasonBadSignature},
		{"expired", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"exp": testT0.Add(-61 * time.Second).Unix()})), ReasonExpired},
		{"not yet valid", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"nbf": testT0.Add(61 * time.Second).Unix()})), ReasonNotYetValid},
		{"issued in the future", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"iat": testT0.Add(time.Hour).Unix()})), ReasonNotYetValid},
		{"no exp", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"exp": nil})), ReasonInvalidClaims},
		{"exp a string", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"exp": "tomorrow"})), ReasonInvalidClaims},
		{"wrong issuer", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"iss": "https://evil.test"})), ReasonWrongIssuer},
		{"no issuer", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"iss": nil})), ReasonWrongIssuer},
		{"wrong audience", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"aud": "someone-else"})), ReasonWrongAudience},
		{"no audience", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"aud": nil})), ReasonWrongAudience},
		{"audience a number", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"aud": 7})), ReasonInvalidClaims},
		{"unknown kid", signToken(t, newECKey(t, "kid-unknown"), "kid-unknown", goodClaims()), ReasonUnknownKey},
		{"signed by a key removed from the JWKS", signToken(t, removed, removed.kid, goodClaims()), ReasonUnknownKey},
		{"scope a number", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"scope": 42})), ReasonInvalidClaims},
		{"scope an object", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"scope": map[string]any{"a": "b"}})), ReasonInvalidClaims},
		{"scp array with a number", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"scope": nil, "scp": []any{"scim:read", 1}})), ReasonInvalidClaims},
		{"scope with a quote", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"scope": `scim:read "x`})), ReasonInvalidClaims},
		{"subject a number", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"sub": 12})), ReasonInvalidClaims},
		{"no subject", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"sub": nil})), ReasonInvalidClaims},
		{"client_id a number", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"client_id": 12})), ReasonInvalidClaims},
		{"payload not JSON", signRaw(t, jwa.ES256, es.priv, es.kid, []byte("not json")), ReasonMalformed},
		{"crit header", rawJWT(`{"alg":"ES256","kid":"kid-ES256","crit":["exp"]}`, string(payload), []byte("sig")), ReasonMalformed},
		{"kid a number", rawJWT(`{"alg":"ES256","kid":7}`, string(payload), []byte("sig")), ReasonMalformed},
		{"signature not base64url", parts[0] + "." + parts[1] + ".***", ReasonMalformed},
		{"1 MB token", strings.Repeat("a", 1<<20), ReasonTooLarge},
		{"huge JOSE header", b64([]byte(`{"alg":"ES256","x":"`+strings.Repeat("x", 2000)+`"}`)) + "." + parts[1] + "." + parts[2], ReasonTooLarge},
		{"garbage base64", "!!!.@@@.###", ReasonMalformed},
		{"three parts, header not JSON", "aGVsbG8.d29ybGQ.eHl6", ReasonMalformed},
		{"opaque token", "2YotnFZFEjr1zCsicMWpAA", ReasonMalformed},
		{"JWE where a JWS is expected", string(jweToken), ReasonEncrypted},
		{"empty", "", ReasonMissingToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Validate(t.Context(), tc.token)
			if got := reasonOf(t, err); got != tc.want {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.want)
			}
			if p != nil {
				t.Fatalf("principal returned with an error: %+v", p)
			}
			if len(tc.token) >= 8 && strings.Contains(err.Error(), tc.token) {
				t.Fatal("the error echoes the token")
			}
		})
	}
	if _, err := v.Validate(t.Context(), good); err != nil {
		t.Fatalf("good token refused after the attacks: %v", err)
	}
}

func TestJWTDecline(t *testing.T) {
	v, _, _ := newTestJWT(t, nil)
	for _, tok := range []string{"opaque-token", "a.b", "!!!.@@@.###", "a.b.c.d.e", "e30.e30.e30"} {
		_, err := v.Validate(t.Context(), tok)
		if !errors.Is(err, ErrNotRecognized) {
			t.Errorf("%q: %v, want ErrNotRecognized", tok, err)
		}
	}
	// A recognised JWT that fails is refused, not declined.
	_, err := v.Validate(t.Context(), signToken(t, keyFor(t, jwa.ES256), "kid-ES256", with(goodClaims(), map[string]any{"iss": "x"})))
	if err == nil || errors.Is(err, ErrNotRecognized) {
		t.Fatalf("invalid JWT: %v, want a refusal", err)
	}
}

func TestJWTClaims(t *testing.T) {
	es := keyFor(t, jwa.ES256)
	tests := []struct {
		name       string
		mod        func(*Config)
		claims     map[string]any
		wantSub    string
		wantClient string
		wantScopes []string
	}{
		{"no scope claim: no scopes, no error", nil, with(goodClaims(), map[string]any{"scope": nil}), "alice", "connector-1", nil},
		{"empty scope string", nil, with(goodClaims(), map[string]any{"scope": ""}), "alice", "connector-1", nil},
		{"scp array", nil, with(goodClaims(), map[string]any{"scope": nil, "scp": []string{"a", "b", "a"}}), "alice", "connector-1", []string{"a", "b"}},
		{"scp string", nil, with(goodClaims(), map[string]any{"scope": nil, "scp": "b  a"}), "alice", "connector-1", []string{"b", "a"}},
		{"scope wins over scp", nil, with(goodClaims(), map[string]any{"scope": "x", "scp": []string{"y"}}), "alice", "connector-1", []string{"x"}},
		{"custom scope claim", func(c *Config) { c.ScopeClaims = []string{"perms"} }, with(goodClaims(), map[string]any{"perms": "p1 p2"}), "alice", "connector-1", []string{"p1", "p2"}},
		{"azp when no client_id", nil, with(goodClaims(), map[string]any{"client_id": nil, "azp": "azp-client"}), "alice", "azp-client", []string{"scim:read", "scim:write"}},
		{"cid last", nil, with(goodClaims(), map[string]any{"client_id": nil, "cid": "okta-client"}), "alice", "okta-client", []string{"scim:read", "scim:write"}},
		{"appid (Entra ID v1)", nil, with(goodClaims(), map[string]any{"client_id": nil, "appid": "entra-app"}), "alice", "entra-app", []string{"scim:read", "scim:write"}},
		{"no client id", nil, with(goodClaims(), map[string]any{"client_id": nil}), "alice", "", []string{"scim:read", "scim:write"}},
		{"custom subject claim", func(c *Config) { c.SubjectClaim = "uid" }, with(goodClaims(), map[string]any{"uid": "bob"}), "bob", "connector-1", []string{"scim:read", "scim:write"}},
		{"expired within leeway", nil, with(goodClaims(), map[string]any{"exp": testT0.Add(-30 * time.Second).Unix()}), "alice", "connector-1", []string{"scim:read", "scim:write"}},
		{"fractional exp", nil, with(goodClaims(), map[string]any{"exp": float64(testT0.Unix()) + 3600.5}), "alice", "connector-1", []string{"scim:read", "scim:write"}},
		{"aud as a string", nil, with(goodClaims(), map[string]any{"aud": testAudience}), "alice", "connector-1", []string{"scim:read", "scim:write"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, _, _ := newTestJWT(t, tc.mod)
			p, err := v.Validate(t.Context(), signToken(t, es, es.kid, tc.claims))
			if err != nil {
				t.Fatal(err)
			}
			if p.Subject != tc.wantSub || p.ClientID != tc.wantClient || !slices.Equal(p.Scopes, tc.wantScopes) {
				t.Fatalf("got sub %q client %q scopes %q; want %q %q %q", p.Subject, p.ClientID, p.Scopes, tc.wantSub, tc.wantClient, tc.wantScopes)
			}
		})
	}
	t.Run("tiny leeway", func(t *testing.T) {
		v, _, _ := newTestJWT(t, func(c *Config) { c.Leeway = time.Nanosecond })
		_, err := v.Validate(t.Context(), signToken(t, es, es.kid, with(goodClaims(), map[string]any{"exp": testT0.Unix() - 1})))
		if got := reasonOf(t, err); got != ReasonExpired {
			t.Fatalf("reason %q, want expired", got)
		}
	})
}

func TestJWKSRotation(t *testing.T) {
	a, b := newECKey(t, "kid-a"), newECKey(t, "kid-b")
	srv := newJWKSServer(t, a.public(t))
	clk := newClock()
	v, err := NewJWTValidator(t.Context(), testConfig(srv.URL, clk), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string, k signingKey, want Reason) {
		t.Helper()
		_, err := v.Validate(t.Context(), signToken(t, k, k.kid, goodClaims()))
		if got := reasonOf(t, err); got != want {
			t.Fatalf("%s: %s: reason %q (%v), want %q", step, k.kid, got, err, want)
		}
	}
	check("start", a, "")
	srv.setKeys(a.public(t), b.public(t))
	check("new key published within the rate limit", b, ReasonUnknownKey)
	clk.Advance(11 * time.Second)
	check("new key after early refresh", b, "")
	check("old key still published", a, "")
	srv.setKeys(b.public(t))
	check("old key removed, not refreshed yet", a, "") // known kid: no early refresh
	clk.Advance(11 * time.Second)
	if !v.keys.refreshEarly(t.Context()) {
		t.Fatal("refresh refused")
	}
	check("old key removed, after refresh", a, ReasonUnknownKey)
	check("new key", b, "")
	if n := srv.hits.Load(); n != 3 {
		t.Fatalf("JWKS fetched %d times, want 3", n)
	}
}

func TestJWKSUnknownKidRateLimit(t *testing.T) {
	v, srv, clk := newTestJWT(t, nil)
	stranger := newECKey(t, "kid-stranger")
	try := func() {
		t.Helper()
		_, err := v.Validate(t.Context(), signToken(t, stranger, stranger.kid, goodClaims()))
		if got := reasonOf(t, err); got != ReasonUnknownKey {
			t.Fatalf("reason %q, want unknown_key", got)
		}
	}
	steps := []struct {
		advance  time.Duration
		tries    int
		wantHits int64
	}{
		{0, 5, 1},                // the initial fetch was just now: no early refresh
		{9 * time.Second, 3, 1},  // still within 10 s
		{2 * time.Second, 5, 2},  // 11 s: one refresh, then limited again
		{5 * time.Second, 5, 2},  // within 10 s of that refresh
		{10 * time.Second, 1, 3}, // allowed again
		{time.Hour, 100, 4},      // a flood makes one fetch
		{10 * time.Second, 0, 4}, // nothing happens without unknown kids
		{0, 0, 4},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		for range s.tries {
			try()
		}
		if got := srv.hits.Load(); got != s.wantHits {
			t.Fatalf("step %d: %d fetches, want %d", i, got, s.wantHits)
		}
	}
}

func TestJWKSBackgroundRefresh(t *testing.T) {
	a, b := newECKey(t, "kid-a"), newECKey(t, "kid-b")
	srv := newJWKSServer(t, a.public(t))
	cfg := testConfig(srv.URL, newClock())
	cfg.JWKSRefreshInterval = 20 * time.Millisecond
	cfg.JWKSMinRefreshInterval = time.Hour // no early refresh: only the background loop
	v, err := NewJWTValidator(t.Context(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	srv.setKeys(b.public(t))
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, errA := v.Validate(t.Context(), signToken(t, a, a.kid, goodClaims()))
		_, errB := v.Validate(t.Context(), signToken(t, b, b.kid, goodClaims()))
		if reasonOf(t, errA) == ReasonUnknownKey && errB == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("background refresh did not rotate keys: a %v, b %v", errA, errB)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A broken JWKS keeps the last good keys.
	srv.setRaw([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"kid-b"}]}`))
	time.Sleep(100 * time.Millisecond)
	if _, err := v.Validate(t.Context(), signToken(t, b, b.kid, goodClaims())); err != nil {
		t.Fatalf("last good keys dropped: %v", err)
	}
}

func TestJWKSUnavailable(t *testing.T) {
	srv := newJWKSServer(t)
	srv.setRaw([]byte("not json"))
	clk := newClock()
	v, err := NewJWTValidator(t.Context(), testConfig(srv.URL, clk), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	es := newECKey(t, "kid-a")
	_, err = v.Validate(t.Context(), signToken(t, es, es.kid, goodClaims()))
	if got := reasonOf(t, err); got != ReasonUnavailable {
		t.Fatalf("reason %q, want unavailable", got)
	}
	srv.setRaw(nil)
	srv.setKeys(es.public(t))
	clk.Advance(time.Minute)
	if _, err := v.Validate(t.Context(), signToken(t, es, es.kid, goodClaims())); err != nil {
		t.Fatalf("after the JWKS recovered: %v", err)
	}
}

func TestJWKSSkipsUnusableKeys(t *testing.T) {
	es := keyFor(t, jwa.ES256)
	pub, _ := json.Marshal(es.public(t))
	var encKey map[string]any
	_ = json.Unmarshal(pub, &encKey)
	encKey["use"], encKey["kid"] = "enc", "enc"
	encJSON, _ := json.Marshal(encKey)
	small := `{"kty":"RSA","kid":"small","n":"` + strings.Repeat("A", 100) + `","e":"AQAB"}`
	doc := `{"keys":[
		{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQ","kid":"hmac","alg":"HS256"},
		` + string(encJSON) + `,
		{"kty":"bogus"},
		` + small + `,
		` + string(pub) + `]}`
	set, err := parseJWKS([]byte(doc), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if got := set.kids(); !slices.Equal(got, []string{es.kid}) {
		t.Fatalf("kids %q, want only %q", got, es.kid)
	}
	if _, err := parseJWKS([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`), zerolog.Nop()); err == nil {
		t.Fatal("a JWKS of symmetric keys only was accepted")
	}
}

func TestJWTLocalKeyFiles(t *testing.T) {
	dir := t.TempDir()
	rs := keyFor(t, jwa.RS256)
	der, err := x509.MarshalPKIXPublicKey(rsaPublic(t, rs))
	if err != nil {
		t.Fatal(err)
	}
	pemPath := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(pemPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	es := keyFor(t, jwa.ES256)
	set := jwk.NewSet()
	_ = set.AddKey(es.public(t))
	jwksJSON, _ := json.Marshal(set)
	jwksPath := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(jwksPath, jwksJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		mod   func(*Config)
		token string
		want  Reason
	}{
		{"PEM, any kid", func(c *Config) { c.PublicKeyFile = pemPath }, signToken(t, rs, "whatever", goodClaims()), ""},
		{"PEM, no kid", func(c *Config) { c.PublicKeyFile = pemPath }, signToken(t, rs, "", goodClaims()), ""},
		{"PEM, PS256 with the same RSA key", func(c *Config) { c.PublicKeyFile = pemPath }, signToken(t, signingKey{alg: jwa.PS256, priv: rs.priv}, "", goodClaims()), ""},
		{"PEM, EC token", func(c *Config) { c.PublicKeyFile = pemPath }, signToken(t, es, "", goodClaims()), ReasonUnknownKey},
		{"JWKS file", func(c *Config) { c.JWKSFile = jwksPath }, signToken(t, es, es.kid, goodClaims()), ""},
		{"JWKS file, unknown kid", func(c *Config) { c.JWKSFile = jwksPath }, signToken(t, newECKey(t, "x"), "x", goodClaims()), ReasonUnknownKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Issuer: testIssuer, Audiences: []string{testAudience}, now: newClock().Now}
			tc.mod(&cfg)
			v, err := NewJWTValidator(t.Context(), cfg, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Validate(t.Context(), tc.token)
			if got := reasonOf(t, err); got != tc.want {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.want)
			}
		})
	}
	for _, bad := range []Config{
		{PublicKeyFile: filepath.Join(dir, "missing.pem")},
		{JWKSFile: pemPath},
		{PublicKeyFile: jwksPath},
	} {
		if _, err := NewJWTValidator(t.Context(), bad, zerolog.Nop()); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func publicKeys(t testing.TB) []jwk.Key {
	var out []jwk.Key
	for _, k := range testKeys(t) {
		out = append(out, k.public(t))
	}
	return out
}

func rsaPublic(t testing.TB, k signingKey) *rsa.PublicKey {
	t.Helper()
	priv, ok := k.priv.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("%s is not an RSA key", k.kid)
	}
	return &priv.PublicKey
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
