package oauth

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Defaults applied to zero fields of Config.
const (
	DefaultLeeway              = 60 * time.Second
	DefaultSubjectClaim        = "sub"
	DefaultMaxTokenBytes       = 8 << 10
	DefaultMaxHeaderBytes      = 1 << 10
	DefaultJWKSRefreshInterval = 15 * time.Minute
	DefaultJWKSMinRefresh      = 10 * time.Second
	DefaultJWKSTimeout         = 10 * time.Second
	DefaultIntrospectTimeout   = 5 * time.Second
	DefaultIntrospectCacheSize = 10000
	DefaultIntrospectCacheTTL  = 5 * time.Minute
)

// defaultScopeClaims are the claims scopes are read from, first present wins.
var defaultScopeClaims = []string{"scope", "scp"}

// defaultClientIDClaims are the claims the client id is read from, first present wins.
var defaultClientIDClaims = []string{"client_id", "azp", "appid", "cid"}

// supportedAlgorithms are the only JWS algorithms the package will ever verify:
// asymmetric ones. HMAC and "none" are not in the list and cannot be configured.
var supportedAlgorithms = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

// SupportedAlgorithms returns the JWS algorithms Config.Algorithms may name,
// which is also the default allow-list.
func SupportedAlgorithms() []string { return slices.Clone(supportedAlgorithms) }

// Unknown-client policies for Config.UnknownClients.
const (
	// UnknownClientsReject refuses tokens whose client is not in the registry.
	UnknownClientsReject = "reject"
	// UnknownClientsAllow accepts them with their scopes unfiltered.
	UnknownClientsAllow = "allow"
	// UnknownClientsNoScopes accepts them with every scope dropped.
	UnknownClientsNoScopes = "no_scopes"
)

// configPrefix is where this section sits in the scimgate configuration file;
// every Validate error path starts with it.
const configPrefix = "oauth"

// Config configures token validation. It is the `oauth:` section of the
// scimgate configuration file. A zero field takes the default documented on it.
//
// At least one token source must be set: one JWT key source (JWKSURL, JWKSFile
// or PublicKeyFile) and/or Introspection.Endpoint. With both, JWTs are verified
// locally and every other token is introspected.
type Config struct {
	// Issuer is the exact iss every JWT must carry. Required for JWTs; when set,
	// it is also checked against an introspection response's iss, if present.
	Issuer string `yaml:"issuer"`
	// Audiences: a JWT's aud must contain at least one of them. Required for
	// JWTs; checked against an introspection response's aud, if present.
	Audiences []string `yaml:"audiences"`

	// JWKSURL is fetched at start, every JWKSRefreshInterval, and early (at most
	// once per JWKSMinRefreshInterval) when a token names an unknown kid. https
	// is required except for loopback hosts.
	JWKSURL string `yaml:"jwks_url"`
	// JWKSFile is a local JWKS, read once at start.
	JWKSFile string `yaml:"jwks_file"`
	// PublicKeyFile is a PEM public key (PKIX, or an X.509 certificate), read
	// once at start. It matches tokens with any kid or none.
	PublicKeyFile string `yaml:"public_key_file"`

	// Algorithms is the JWS allow-list. Default: all of SupportedAlgorithms
	// (RS256/384/512, PS256/384/512, ES256/384/512, EdDSA). Symmetric algorithms
	// and "none" are rejected by Validate.
	Algorithms []string `yaml:"algorithms"`
	// Leeway is the clock skew allowed on exp, nbf and iat. Default 60s; at most 5m.
	Leeway time.Duration `yaml:"leeway"`
	// ScopeClaims are the claims scopes are read from; the first one present in
	// a token is used. Default [scope, scp]. A string value is split on spaces;
	// an array must hold strings.
	ScopeClaims []string `yaml:"scope_claims"`
	// SubjectClaim names the claim giving Principal.Subject. Default sub.
	SubjectClaim string `yaml:"subject_claim"`
	// ClientIDClaims are tried in order for Principal.ClientID. Default
	// [client_id, azp, appid, cid] (appid: Entra ID's v1 tokens).
	ClientIDClaims []string `yaml:"client_id_claims"`
	// MaxTokenBytes caps the token length; larger tokens are refused before any
	// parsing. Default 8192; between 256 and 1048576.
	MaxTokenBytes int `yaml:"max_token_bytes"`
	// MaxHeaderBytes caps the encoded JOSE header of a JWT. Default 1024;
	// between 64 and MaxTokenBytes.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// JWKSRefreshInterval is the background refresh period of JWKSURL. Default 15m.
	JWKSRefreshInterval time.Duration `yaml:"jwks_refresh_interval"`
	// JWKSMinRefreshInterval is the least time between two fetches of JWKSURL
	// (early refreshes and retries included). Default 10s.
	JWKSMinRefreshInterval time.Duration `yaml:"jwks_min_refresh_interval"`
	// JWKSTimeout bounds one fetch of JWKSURL. Default 10s.
	JWKSTimeout time.Duration `yaml:"jwks_timeout"`

	// Introspection enables RFC 7662 introspection of tokens that are not JWTs.
	Introspection IntrospectionConfig `yaml:"introspection"`

	// Clients maps client ids to the scopes they may hold; scopes beyond them
	// are dropped (and logged at warn). Empty: no filtering.
	Clients map[string][]string `yaml:"clients"`
	// UnknownClients says what happens to a token whose client (or missing
	// client id) is not in a non-empty Clients: reject (default when Clients is
	// set), allow (scopes unfiltered) or no_scopes (accepted, every scope
	// dropped). Ignored when Clients is empty.
	UnknownClients string `yaml:"unknown_clients"`

	// now is the clock, for tests; nil means time.Now.
	now func() time.Time
}

// IntrospectionConfig configures RFC 7662 token introspection.
type IntrospectionConfig struct {
	// Endpoint is the introspection URL; https except for loopback hosts.
	// Empty disables introspection.
	Endpoint string `yaml:"endpoint"`
	// ClientID and ClientSecret authenticate scimgate to the endpoint (HTTP
	// basic). Both required with Endpoint.
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	// Timeout bounds one introspection call. Default 5s.
	Timeout time.Duration `yaml:"timeout"`
	// CacheSize is the most active responses kept; the least recently used is
	// evicted. Default 10000; -1 disables the cache.
	CacheSize int `yaml:"cache_size"`
	// CacheTTL is the longest a response is kept; never past the token's exp.
	// Default 5m.
	CacheTTL time.Duration `yaml:"cache_ttl"`
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if len(c.Algorithms) == 0 {
		c.Algorithms = slices.Clone(supportedAlgorithms)
	}
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	if len(c.ScopeClaims) == 0 {
		c.ScopeClaims = slices.Clone(defaultScopeClaims)
	}
	if c.SubjectClaim == "" {
		c.SubjectClaim = DefaultSubjectClaim
	}
	if len(c.ClientIDClaims) == 0 {
		c.ClientIDClaims = slices.Clone(defaultClientIDClaims)
	}
	if c.MaxTokenBytes == 0 {
		c.MaxTokenBytes = DefaultMaxTokenBytes
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.JWKSRefreshInterval == 0 {
		c.JWKSRefreshInterval = DefaultJWKSRefreshInterval
	}
	if c.JWKSMinRefreshInterval == 0 {
		c.JWKSMinRefreshInterval = DefaultJWKSMinRefresh
	}
	if c.JWKSTimeout == 0 {
		c.JWKSTimeout = DefaultJWKSTimeout
	}
	if c.Introspection.Timeout == 0 {
		c.Introspection.Timeout = DefaultIntrospectTimeout
	}
	if c.Introspection.CacheSize == 0 {
		c.Introspection.CacheSize = DefaultIntrospectCacheSize
	}
	if c.Introspection.CacheTTL == 0 {
		c.Introspection.CacheTTL = DefaultIntrospectCacheTTL
	}
	if c.UnknownClients == "" {
		if len(c.Clients) == 0 {
			c.UnknownClients = UnknownClientsAllow
		} else {
			c.UnknownClients = UnknownClientsReject
		}
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// hasJWT reports whether a JWT key source is configured.
func (c Config) hasJWT() bool {
	return c.JWKSURL != "" || c.JWKSFile != "" || c.PublicKeyFile != ""
}

// ConfigError is one problem found by Config.Validate.
type ConfigError struct {
	// Path locates the field, e.g. "oauth.introspection.endpoint".
	Path string
	// Msg says what is wrong with it.
	Msg string
}

// Error implements error as "path: message".
func (e *ConfigError) Error() string { return e.Path + ": " + e.Msg }

// Validate checks the configuration, defaults applied, and returns every
// problem found (nil if none), each prefixed with its path. It does no I/O:
// files and URLs are opened by New.
func (c Config) Validate() []error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, &ConfigError{Path: configPrefix + path, Msg: fmt.Sprintf(format, args...)})
	}
	d := c.withDefaults()

	sources := 0
	for _, s := range []string{c.JWKSURL, c.JWKSFile, c.PublicKeyFile} {
		if s != "" {
			sources++
		}
	}
	if sources == 0 && c.Introspection.Endpoint == "" {
		add("", "one of jwks_url, jwks_file, public_key_file or introspection.endpoint is required")
	}
	if sources > 1 {
		add("", "jwks_url, jwks_file and public_key_file are mutually exclusive; set one")
	}
	if c.JWKSURL != "" {
		if msg := checkEndpointURL(c.JWKSURL); msg != "" {
			add(".jwks_url", "%s", msg)
		}
	}
	if c.hasJWT() {
		if strings.TrimSpace(c.Issuer) == "" {
			add(".issuer", "required")
		}
		if len(c.Audiences) == 0 {
			add(".audiences", "required: at least one audience")
		}
	}
	for i, a := range c.Audiences {
		if strings.TrimSpace(a) == "" {
			add(fmt.Sprintf(".audiences[%d]", i), "empty audience")
		}
	}
	for i, a := range d.Algorithms {
		if !slices.Contains(supportedAlgorithms, a) {
			add(fmt.Sprintf(".algorithms[%d]", i), "%q is not allowed; use one of %s",
				a, strings.Join(supportedAlgorithms, ", "))
		}
	}
	if c.Leeway < 0 || c.Leeway > 5*time.Minute {
		add(".leeway", "must be between 0s and 5m")
	}
	for i, s := range d.ScopeClaims {
		if s == "" {
			add(fmt.Sprintf(".scope_claims[%d]", i), "empty claim name")
		}
	}
	for i, s := range d.ClientIDClaims {
		if s == "" {
			add(fmt.Sprintf(".client_id_claims[%d]", i), "empty claim name")
		}
	}
	if d.MaxTokenBytes < 256 || d.MaxTokenBytes > 1<<20 {
		add(".max_token_bytes", "must be between 256 and 1048576")
	}
	if d.MaxHeaderBytes < 64 || d.MaxHeaderBytes > d.MaxTokenBytes {
		add(".max_header_bytes", "must be between 64 and max_token_bytes")
	}
	if d.JWKSMinRefreshInterval < time.Second {
		add(".jwks_min_refresh_interval", "must be at least 1s")
	}
	if d.JWKSRefreshInterval < d.JWKSMinRefreshInterval {
		add(".jwks_refresh_interval", "must be at least jwks_min_refresh_interval (%s)", d.JWKSMinRefreshInterval)
	}
	if d.JWKSTimeout < 0 {
		add(".jwks_timeout", "must not be negative")
	}

	in := c.Introspection
	if in.Endpoint != "" {
		if msg := checkEndpointURL(in.Endpoint); msg != "" {
			add(".introspection.endpoint", "%s", msg)
		}
		if in.ClientID == "" {
			add(".introspection.client_id", "required with introspection.endpoint")
		}
		if in.ClientSecret == "" {
			add(".introspection.client_secret", "required with introspection.endpoint")
		}
	} else if in.ClientID != "" || in.ClientSecret != "" {
		add(".introspection.endpoint", "required when introspection credentials are set")
	}
	if in.Timeout < 0 {
		add(".introspection.timeout", "must not be negative")
	}
	if in.CacheSize < -1 {
		add(".introspection.cache_size", "must be -1 (no cache), 0 (default) or positive")
	}
	if in.CacheTTL < 0 {
		add(".introspection.cache_ttl", "must not be negative")
	}

	for _, id := range slices.Sorted(maps.Keys(c.Clients)) {
		if id == "" {
			add(".clients", "empty client id")
		}
		for i, s := range c.Clients[id] {
			if !validScopeToken(s) {
				add(fmt.Sprintf(".clients.%s[%d]", id, i), "invalid scope %q", s)
			}
		}
	}
	switch c.UnknownClients {
	case "", UnknownClientsAllow, UnknownClientsNoScopes:
	case UnknownClientsReject:
		if len(c.Clients) == 0 {
			add(".unknown_clients", "reject needs a non-empty clients registry (it would refuse every token)")
		}
	default:
		add(".unknown_clients", "must be reject, allow or no_scopes")
	}
	return errs
}

// New builds the validator described by cfg: a JWT validator and/or an
// introspection validator (in that order, as a Chain), wrapped by the client
// registry when Clients is set. It validates cfg first and reports every
// problem in one error. Background JWKS refreshing stops when ctx is done.
func New(ctx context.Context, cfg Config, logger zerolog.Logger) (Validator, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("invalid oauth configuration:\n%w", errors.Join(errs...))
	}
	var chain Chain
	if cfg.hasJWT() {
		jv, err := NewJWTValidator(ctx, cfg, logger)
		if err != nil {
			return nil, err
		}
		chain = append(chain, jv)
	}
	if cfg.Introspection.Endpoint != "" {
		iv, err := NewIntrospectionValidator(cfg, logger)
		if err != nil {
			return nil, err
		}
		chain = append(chain, iv)
	}
	var v Validator = chain
	if len(chain) == 1 {
		v = chain[0]
	}
	if len(cfg.Clients) > 0 {
		v = NewClientRegistry(v, cfg, logger)
	}
	return v, nil
}

// checkEndpointURL returns "" if raw is an absolute https URL, or an http URL
// to a loopback host; otherwise what is wrong with it.
func checkEndpointURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "not an absolute URL"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		host := u.Hostname()
		if host == "localhost" {
			return ""
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return ""
		}
		return "must use https (http is allowed for loopback hosts only)"
	default:
		return "scheme must be https"
	}
}
