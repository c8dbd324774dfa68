package oauth

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

var (
	demoKeyPath  = filepath.Join("..", "testdata", "oauth", "demo-signing-key.jwk")
	demoJWKSPath = filepath.Join("..", "testdata", "oauth", "demo-jwks.json")
)

func TestDevToken(t *testing.T) {
	key, err := LoadSigningKey(demoKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(t.Context(), Config{Issuer: DemoIssuer, Audiences: []string{DemoAudience}, JWKSFile: demoJWKSPath}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		claims DevClaims
		want   Principal
	}{
		{"connector", DevClaims{Subject: "connector", ClientID: "sync", Scopes: []string{"scim:read", "scim:write", "sync:profile:read", "connector:read", "connector:write"}},
			Principal{Subject: "connector", ClientID: "sync", Issuer: DemoIssuer, Scopes: []string{"scim:read", "scim:write", "sync:profile:read", "connector:read", "connector:write"}}},
		{"reporting", DevClaims{Subject: "reporting", Scopes: []string{"scim:read"}, TTL: time.Minute},
			Principal{Subject: "reporting", Issuer: DemoIssuer, Scopes: []string{"scim:read"}}},
		{"no scopes", DevClaims{Subject: "nobody"}, Principal{Subject: "nobody", Issuer: DemoIssuer}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := SignDevToken(key, tc.claims)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(tok, "eyJ") || strings.Count(tok, ".") != 2 {
				t.Fatalf("not a compact JWS: %q", tok)
			}
			p, err := v.Validate(t.Context(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if p.Subject != tc.want.Subject || p.ClientID != tc.want.ClientID || p.Issuer != tc.want.Issuer || !slices.Equal(p.Scopes, tc.want.Scopes) || p.TokenID == "" {
				t.Fatalf("principal %+v, want %+v", p, tc.want)
			}
			ttl := tc.claims.TTL
			if ttl == 0 {
				ttl = DefaultDevTokenTTL
			}
			if d := time.Until(p.Expiry); d > ttl || d < ttl-5*time.Second {
				t.Fatalf("expires in %v, want about %v", d, ttl)
			}
		})
	}
	for _, bad := range []DevClaims{{}, {Subject: "x", TTL: -time.Second}, {Subject: "x", Scopes: []string{"a b"}}} {
		if _, err := SignDevToken(key, bad); err == nil {
			t.Errorf("%+v: signed", bad)
		}
	}
	if _, err := LoadSigningKey(demoJWKSPath); err == nil {
		t.Error("a JWKS was loaded as a signing key")
	}
}
