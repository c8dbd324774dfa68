package oauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/rs/zerolog"
)

const (
	testIssuer   = "https://issuer.test"
	testAudience = "scimgate-test"
)

// testT0 is the fake "now" of every test clock.
var testT0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: testT0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// signingKey is a private key with the kid and algorithm tokens are signed with.
type signingKey struct {
	alg  jwa.SignatureAlgorithm
	kid  string
	priv any
}

// public returns the key's public JWK, with kid and alg set.
func (k signingKey) public(t testing.TB) jwk.Key {
	t.Helper()
	pk, err := jwk.PublicKeyOf(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	_ = pk.Set(jwk.KeyIDKey, k.kid)
	_ = pk.Set(jwk.AlgorithmKey, k.alg)
	return pk
}

var (
	keysOnce sync.Once
	allKeys  []signingKey
)

// testKeys returns one key per supported algorithm (generated once per run).
func testKeys(t testing.TB) []signingKey {
	t.Helper()
	keysOnce.Do(func() {
		rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		for _, a := range []jwa.SignatureAlgorithm{jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512} {
			allKeys = append(allKeys, signingKey{alg: a, kid: "kid-" + a.String(), priv: rsaKey})
		}
		for _, c := range []struct {
			alg   jwa.SignatureAlgorithm
			curve elliptic.Curve
		}{{jwa.ES256, elliptic.P256()}, {jwa.ES384, elliptic.P384()}, {jwa.ES512, elliptic.P521()}} {
			k, err := ecdsa.GenerateKey(c.curve, rand.Reader)
			if err != nil {
				panic(err)
			}
			allKeys = append(allKeys, signingKey{alg: c.alg, kid: "kid-" + c.alg.String(), priv: k})
		}
		_, ed, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		allKeys = append(allKeys, signingKey{alg: jwa.EdDSA, kid: "kid-EdDSA", priv: ed})
	})
	return allKeys
}

func keyFor(t testing.TB, alg jwa.SignatureAlgorithm) signingKey {
	for _, k := range testKeys(t) {
		if k.alg == alg {
			return k
		}
	}
	t.Fatalf("no test key for %s", alg)
	return signingKey{}
}

func newECKey(t testing.TB, kid string) signingKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{alg: jwa.ES256, kid: kid, priv: k}
}

// goodClaims are claims that pass every check at testT0.
func goodClaims() map[string]any {
	return map[string]any{
		"iss":       testIssuer,
		"aud":       []string{"other", testAudience},
		"sub":       "alice",
		"client_id": "connector-1",
		"scope":     "scim:read scim:write scim:read",
		"iat":       testT0.Add(-time.Minute).Unix(),
		"nbf":       testT0.Add(-time.Minute).Unix(),
		"exp":       testT0.Add(time.Hour).Unix(),
		"jti":       "jti-1",
	}
}

// with returns a copy of claims with changes applied; a nil value deletes.
func with(claims map[string]any, changes map[string]any) map[string]any {
	out := make(map[string]any, len(claims))
	for k, v := range claims {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// signToken signs claims with k; kid "" leaves the kid out.
func signToken(t testing.TB, k signingKey, kid string, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return signRaw(t, k.alg, k.priv, kid, payload)
}

func signRaw(t testing.TB, alg jwa.SignatureAlgorithm, key any, kid string, payload []byte) string {
	t.Helper()
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, "JWT")
	if kid != "" {
		_ = hdr.Set(jws.KeyIDKey, kid)
	}
	out, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// rawJWT assembles a compact JWS from a header, a payload and signature bytes.
func rawJWT(header, payload string, sig []byte) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(sig)
}

// jwksServer serves a mutable JWK Set over HTTP on 127.0.0.1 and counts fetches.
type jwksServer struct {
	*httptest.Server
	mu   sync.Mutex
	keys []jwk.Key
	raw  []byte // served verbatim when set
	hits atomic.Int64
}

func newJWKSServer(t testing.TB, keys ...jwk.Key) *jwksServer {
	t.Helper()
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		if s.raw != nil {
			_, _ = w.Write(s.raw)
			return
		}
		set := jwk.NewSet()
		for _, k := range s.keys {
			_ = set.AddKey(k)
		}
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) setKeys(keys ...jwk.Key) {
	s.mu.Lock()
	s.keys = keys
	s.mu.Unlock()
}

func (s *jwksServer) setRaw(raw []byte) {
	s.mu.Lock()
	s.raw = raw
	s.mu.Unlock()
}

// testConfig is a JWT configuration for the JWKS at url, on clock clk.
func testConfig(url string, clk *fakeClock) Config {
	return Config{
		Issuer:    testIssuer,
		Audiences: []string{testAudience},
		JWKSURL:   url,
		now:       clk.Now,
	}
}

// newTestJWT builds a JWT validator on a JWKS server holding every test key.
func newTestJWT(t testing.TB, mod func(*Config)) (*JWTValidator, *jwksServer, *fakeClock) {
	t.Helper()
	var pubs []jwk.Key
	for _, k := range testKeys(t) {
		pubs = append(pubs, k.public(t))
	}
	srv := newJWKSServer(t, pubs...)
	clk := newClock()
	cfg := testConfig(srv.URL, clk)
	if mod != nil {
		mod(&cfg)
	}
	v, err := NewJWTValidator(t.Context(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return v, srv, clk
}

// reasonOf returns the Reason of err, or "" if err is nil.
func reasonOf(t testing.TB, err error) Reason {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *Error
	if !asError(err, &e) {
		t.Fatalf("error %v is not an *oauth.Error", err)
	}
	return e.Reason
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}
