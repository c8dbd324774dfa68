package oauth

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"
)

func TestConfigValidate(t *testing.T) {
	base := func() Config {
		return Config{Issuer: "https://issuer.test", Audiences: []string{"scimgate"}, JWKSURL: "https://issuer.test/jwks"}
	}
	tests := []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"valid", func(*Config) {}, nil},
		{"introspection only", func(c *Config) {
			*c = Config{Introspection: IntrospectionConfig{Endpoint: "https://as.test/introspect", ClientID: "a", ClientSecret: "b"}}
		}, nil},
		{"loopback http", func(c *Config) { c.JWKSURL = "http://127.0.0.1:8080/jwks" }, nil},
		{"nothing", func(c *Config) { *c = Config{} }, []string{
			"oauth: one of jwks_url, jwks_file, public_key_file or introspection.endpoint is required"}},
		{"every problem at once", func(c *Config) {
			*c = Config{
				JWKSURL:             "http://issuer.test/jwks",
				JWKSFile:            "x.json",
				Audiences:           []string{""},
				Algorithms:          []string{"ES256", "HS256", "none"},
				Leeway:              -time.Second,
				ScopeClaims:         []string{"scope", ""},
				ClientIDClaims:      []string{""},
				MaxTokenBytes:       10,
				MaxHeaderBytes:      20,
				JWKSRefreshInterval: time.Second,
				Introspection: IntrospectionConfig{
					Endpoint: "ftp://as.test", Timeout: -1, CacheSize: -2, CacheTTL: -1,
				},
				Clients:        map[string][]string{"c1": {"ok", "bad scope"}},
				UnknownClients: "maybe",
			}
		}, []string{
			"oauth: jwks_url, jwks_file and public_key_file are mutually exclusive; set one",
			"oauth.jwks_url: must use https (http is allowed for loopback hosts only)",
			"oauth.issuer: required",
			"oauth.audiences[0]: empty audience",
			`oauth.algorithms[1]: "HS256" is not allowed; use one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA`,
			`oauth.algorithms[2]: "none" is not allowed; use one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA`,
			"oauth.leeway: must be between 0s and 5m",
			"oauth.scope_claims[1]: empty claim name",
			"oauth.client_id_claims[0]: empty claim name",
			"oauth.max_token_bytes: must be between 256 and 1048576",
			"oauth.max_header_bytes: must be between 64 and max_token_bytes",
			"oauth.jwks_refresh_interval: must be at least jwks_min_refresh_interval (10s)",
			"oauth.introspection.endpoint: scheme must be https",
			"oauth.introspection.client_id: required with introspection.endpoint",
			"oauth.introspection.client_secret: required with introspection.endpoint",
			"oauth.introspection.timeout: must not be negative",
			"oauth.introspection.cache_size: must be -1 (no cache), 0 (default) or positive",
			"oauth.introspection.cache_ttl: must not be negative",
			`oauth.clients.c1[1]: invalid scope "bad scope"`,
			"oauth.unknown_clients: must be reject, allow or no_scopes",
		}},
		{"credentials without endpoint", func(c *Config) { c.Introspection.ClientSecret = "x" }, []string{
			"oauth.introspection.endpoint: required when introspection credentials are set"}},
		{"reject without registry", func(c *Config) { c.UnknownClients = "reject" }, []string{
			"oauth.unknown_clients: reject needs a non-empty clients registry (it would refuse every token)"}},
		{"no audience", func(c *Config) { c.Audiences = nil }, []string{"oauth.audiences: required: at least one audience"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mod(&c)
			var got []string
			for _, err := range c.Validate() {
				got = append(got, err.Error())
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestConfigYAML(t *testing.T) {
	src := `
issuer: https://issuer.test
audiences: [scimgate, api]
jwks_url: https://issuer.test/jwks
algorithms: [ES256, EdDSA]
leeway: 30s
scope_claims: [scp]
subject_claim: oid
client_id_claims: [appid]
max_token_bytes: 16384
jwks_refresh_interval: 1h
introspection:
  endpoint: https://as.test/introspect
  client_id: scimgate
  client_secret: secret
  timeout: 2s
  cache_size: 100
  cache_ttl: 1m
clients:
  connector: [scim:read, scim:write]
unknown_clients: no_scopes
`
	var c Config
	if err := yaml.Unmarshal([]byte(src), &c); err != nil {
		t.Fatal(err)
	}
	if errs := c.Validate(); len(errs) != 0 {
		t.Fatal(errs)
	}
	if c.Leeway != 30*time.Second || c.JWKSRefreshInterval != time.Hour || c.Introspection.Timeout != 2*time.Second ||
		c.SubjectClaim != "oid" || !slices.Equal(c.Clients["connector"], []string{"scim:read", "scim:write"}) ||
		c.MaxTokenBytes != 16384 || c.UnknownClients != "no_scopes" {
		t.Fatalf("decoded %+v", c)
	}
	d := Config{}.withDefaults()
	if d.Leeway != time.Minute || d.MaxTokenBytes != 8192 || d.SubjectClaim != "sub" ||
		!slices.Equal(d.ScopeClaims, []string{"scope", "scp"}) || !slices.Equal(d.ClientIDClaims, []string{"client_id", "azp", "appid", "cid"}) ||
		!slices.Equal(d.Algorithms, SupportedAlgorithms()) || d.UnknownClients != UnknownClientsAllow {
		t.Fatalf("defaults %+v", d)
	}
}

func TestNew(t *testing.T) {
	es := keyFor(t, jwa.ES256)
	srv := newJWKSServer(t, es.public(t))
	in := newIntrospectionServer(t, map[string]map[string]any{
		"opaque": {"active": true, "sub": "svc", "client_id": "reporting", "scope": "scim:read scim:write"},
	})
	clk := newClock()
	var logs bytes.Buffer
	cfg := testConfig(srv.URL, clk)
	cfg.Introspection = testIntrospectionConfig(in.URL, clk).Introspection
	cfg.Clients = map[string][]string{"connector-1": {"scim:read"}, "reporting": {"scim:read"}}
	v, err := New(t.Context(), cfg, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		token      string
		want       Reason
		wantScopes []string
	}{
		{"JWT, scopes filtered by the registry", signToken(t, es, es.kid, goodClaims()), "", []string{"scim:read"}},
		{"opaque, scopes filtered", "opaque", "", []string{"scim:read"}},
		{"JWT from an unknown client", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"client_id": "stranger"})), ReasonUnknownClient, nil},
		{"JWT without a client id", signToken(t, es, es.kid, with(goodClaims(), map[string]any{"client_id": nil})), ReasonUnknownClient, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Validate(t.Context(), tc.token)
			if got := reasonOf(t, err); got != tc.want {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.want)
			}
			if err == nil && !slices.Equal(p.Scopes, tc.wantScopes) {
				t.Fatalf("scopes %q, want %q", p.Scopes, tc.wantScopes)
			}
		})
	}
	if !strings.Contains(logs.String(), `"dropped_scopes":["scim:write"]`) || !strings.Contains(logs.String(), `"client_id":"connector-1"`) {
		t.Errorf("dropped scopes not logged:\n%s", logs.String())
	}
	if _, err := New(t.Context(), Config{}, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "oauth: one of") {
		t.Fatalf("empty config: %v", err)
	}
}

func TestClientRegistryPolicies(t *testing.T) {
	inner := ValidatorFunc(func(_ context.Context, token string) (*Principal, error) {
		return &Principal{Subject: "s", ClientID: token, Scopes: []string{"a", "b", "c"}}, nil
	})
	clients := map[string][]string{"known": {"a", "c"}, "empty": {}}
	tests := []struct {
		policy     string
		client     string
		want       Reason
		wantScopes []string
	}{
		{"", "known", "", []string{"a", "c"}},
		{"", "empty", "", nil},
		{"", "other", ReasonUnknownClient, nil},
		{"", "", ReasonUnknownClient, nil},
		{"allow", "other", "", []string{"a", "b", "c"}},
		{"allow", "known", "", []string{"a", "c"}},
		{"no_scopes", "other", "", nil},
		{"reject", "other", ReasonUnknownClient, nil},
	}
	for _, tc := range tests {
		r := NewClientRegistry(inner, Config{Clients: clients, UnknownClients: tc.policy}, zerolog.Nop())
		p, err := r.Validate(context.Background(), tc.client)
		if got := reasonOf(t, err); got != tc.want {
			t.Errorf("%s/%s: reason %q, want %q", tc.policy, tc.client, got, tc.want)
			continue
		}
		if err == nil && !slices.Equal(p.Scopes, tc.wantScopes) {
			t.Errorf("%s/%s: scopes %q, want %q", tc.policy, tc.client, p.Scopes, tc.wantScopes)
		}
	}
	// An empty registry filters nothing.
	p, _ := NewClientRegistry(inner, Config{}, zerolog.Nop()).Validate(context.Background(), "x")
	if !slices.Equal(p.Scopes, []string{"a", "b", "c"}) {
		t.Errorf("empty registry filtered: %q", p.Scopes)
	}
}
