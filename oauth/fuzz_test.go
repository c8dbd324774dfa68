package oauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/rs/zerolog"
)

// FuzzValidate drives Middleware (header parsing, then a Chain of the JWT
// validator and a stand-in introspection validator) with arbitrary
// Authorization values. It must never panic, answer an unexpected status, put
// a disallowed character in the challenge, or echo the token.
func FuzzValidate(f *testing.F) {
	es := newECKey(f, "kid-fuzz")
	rs := keyFor(f, jwa.RS256)
	set := &keySet{}
	for _, k := range []signingKey{es, rs} {
		vk, err := toVerifyKey(k.public(f))
		if err != nil {
			f.Fatal(err)
		}
		set.keys = append(set.keys, vk)
	}
	clk := newClock()
	cfg := Config{Issuer: testIssuer, Audiences: []string{testAudience}, now: clk.Now}.withDefaults()
	jv, err := newJWTValidator(cfg, staticKeys{set})
	if err != nil {
		f.Fatal(err)
	}
	opaque := ValidatorFunc(func(_ context.Context, token string) (*Principal, error) {
		if token == "opaque-ok" {
			return &Principal{Subject: "svc"}, nil
		}
		return nil, newError(ReasonInactive, "the access token is not active")
	})
	h := Middleware(Chain{jv, opaque}, MiddlewareOptions{Logger: zerolog.Nop()})(
		RequireScope("scim:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := FromContext(r.Context()); !ok {
				panic("no principal")
			}
		})))

	good := signToken(f, es, es.kid, goodClaims())
	for _, seed := range []string{
		"Bearer " + good,
		"bearer " + signToken(f, rs, rs.kid, goodClaims()),
		"Bearer " + signToken(f, es, "", with(goodClaims(), map[string]any{"scope": nil, "scp": []any{"a", 1}})),
		"Bearer " + good[:len(good)-3] + "xyz",
		"Bearer " + rawJWT(`{"alg":"none"}`, `{"sub":"x"}`, nil),
		"Bearer " + rawJWT(`{"alg":"HS256","kid":"kid-RS256"}`, `{"sub":"x"}`, []byte("mac")),
		"Bearer eyJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiZGlyIn0..aXY.Y3Q.dGFn",
		"Bearer opaque-ok",
		"Bearer !!!.@@@.###",
		"Bearer a.b.c",
		"Bearer ",
		"Basic dXNlcjpwYXNz",
		"",
		"Bearer e30.e30.",
		"Bearer eyJhbGciOiJFUzI1NiJ9.eyJleHAiOjFlMzA4fQ.AAAA",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if header != "" {
			r.Header["Authorization"] = []string{header}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		switch rec.Code {
		case 200, 400, 401, 403, 503:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		challenge := rec.Header().Get("WWW-Authenticate")
		if rec.Code != 200 && rec.Code != 503 && !strings.HasPrefix(challenge, `Bearer realm="scimgate"`) {
			t.Fatalf("challenge %q", challenge)
		}
		for i := 0; i < len(challenge); i++ {
			if c := challenge[i]; c < 0x20 || c > 0x7e {
				t.Fatalf("challenge has byte %#x", c)
			}
		}
		_, token, _ := strings.Cut(header, " ")
		token = strings.TrimLeft(token, " ")
		if len(token) >= 12 && (strings.Contains(challenge, token) || strings.Contains(rec.Body.String(), token)) {
			t.Fatalf("response echoes the token: %q %q", challenge, rec.Body.String())
		}
		// The JWT validator alone must classify every string without panicking.
		if _, err := jv.Validate(context.Background(), token); err != nil && AsError(err).Reason == "" {
			t.Fatalf("error without a reason: %v", err)
		}
	})
}

// BenchmarkValidateES256 measures validating an ES256 JWT with the key cached.
func BenchmarkValidateES256(b *testing.B) {
	v, _, _ := newTestJWT(b, nil)
	es := keyFor(b, jwa.ES256)
	tok := signToken(b, es, es.kid, goodClaims())
	ctx := b.Context()
	if _, err := v.Validate(ctx, tok); err != nil {
		b.Fatal(err)
	}
	// verify: a token seen for the first time (signature and claims);
	// cached: the same token again, as a client reusing its token sends it.
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v.verified.mu.Lock()
			v.verified.m = nil
			v.verified.mu.Unlock()
			if _, err := v.Validate(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Validate(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
