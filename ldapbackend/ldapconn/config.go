package ldapconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Defaults of LDAPConfig, applied by Defaults to fields left empty.
const (
	DefaultPoolSize        = 8
	DefaultDialTimeout     = 5 * time.Second
	DefaultOpTimeout       = 10 * time.Second
	DefaultHealthInterval  = 15 * time.Second
	DefaultCheckInterval   = time.Second
	DefaultRefreshInterval = time.Second
	DefaultCacheTTL        = 5 * time.Second
	DefaultCacheSize       = 10000
)

// LDAPConfig is the `ldap:` section of the configuration: how to reach and
// bind to the directory, how big the connection pool is, and where ACIs
// come from. Call Defaults, then Validate.
type LDAPConfig struct {
	// URL of the directory: ldap://host[:port] or ldaps://host[:port]. Required
	// unless Servers is set: it is the one-server form of Servers.
	URL string `yaml:"url"`
	// Servers lists several servers of one replicated directory (OpenLDAP
	// multi-provider, 389 DS multi-supplier), in order of preference: the
	// gateway writes to the first healthy provider and reads from any
	// healthy server that has what this gateway wrote (see Cluster).
	Servers []ServerConfig `yaml:"servers"`
	// CheckInterval is how often each of Servers is checked (a read of the
	// suffix's contextCSN, bounded by the same interval); default 1s.
	CheckInterval time.Duration `yaml:"check_interval"`
	// BindDN is the service account the gateway binds as; "" binds anonymously.
	BindDN string `yaml:"bind_dn"`
	// BindPassword is the service account's password. Prefer BindPasswordFile.
	BindPassword string `yaml:"bind_password"`
	// BindPasswordFile names a file holding the password (one trailing newline is
	// ignored). It is read at every dial, so the secret can be rotated in place.
	BindPasswordFile string `yaml:"bind_password_file"`
	// StartTLS upgrades an ldap:// connection with the StartTLS extended operation.
	StartTLS bool `yaml:"start_tls"`
	// CAFile is a PEM bundle of the CAs trusted for the directory's certificate;
	// "" means the system pool.
	CAFile string `yaml:"ca_file"`
	// ServerName is the name sent in SNI and verified in the certificate; default
	// the URL's host.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify disables certificate verification (development only; the
	// pool logs a warning when it is set).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// PoolSize is the most connections open at once; default 8.
	PoolSize int `yaml:"pool_size"`
	// DialTimeout bounds connecting, TLS and binding; default 5s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// OpTimeout bounds each LDAP request when the caller's context allows more;
	// default 10s.
	OpTimeout time.Duration `yaml:"op_timeout"`
	// HealthInterval is how often idle connections are checked; default 15s.
	HealthInterval time.Duration `yaml:"health_interval"`
	// Suffix is the base DN of the tree the gateway serves. Required.
	Suffix string `yaml:"suffix"`
	// ACLBases are the subtrees ACIs are read from; default [Suffix].
	ACLBases []string `yaml:"acl_bases"`
	// GlobalACIs apply to every entry. An invalid one stops the server at start.
	GlobalACIs []string `yaml:"global_acis"`
	// RefreshInterval is how often the ACI store checks the directory for
	// changes; default 1s.
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	// CacheTTL is how long entry and group lookups made for ACI evaluation are
	// reused; default 5s.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// CacheSize bounds the number of cached lookups; default 10000.
	CacheSize int `yaml:"cache_size"`
	// ProxiedAuthz sends the Proxied Authorization control (RFC 4370) as the
	// mapped user on every LDAP operation of a mapped request. Default false.
	ProxiedAuthz bool `yaml:"proxied_authz"`
	// Directory names the server software: openldap (default) or 389. It
	// sets the defaults that differ between them: the ACI and version
	// attributes, whether the LDAP Assertion control makes If-Match atomic
	// (389 DS 2.3 lacks it), and whether sort keys name a matching rule
	// (389 fails sorts that do; OpenLDAP needs one for uid, cn, sn, mail).
	Directory string `yaml:"directory"`
	// ACIAttribute is the attribute scimgate's ACIs are read from; default
	// aci (scimgateAci with directory 389). 389 Directory Server rejects oauthscope in its own aci
	// attribute, so there scimgate keeps its ACIs in scimgateAci. The
	// engine treats the attribute as operational either way.
	ACIAttribute string `yaml:"aci_attribute"`
	// VersionAttribute is the attribute ETags come from and If-Match is
	// asserted on; it must change with every modification. Default
	// entryCSN (OpenLDAP); entryusn on 389 (with the USN plugin).
	VersionAttribute string `yaml:"version_attribute"`
	// BrowsingIndexes (389 DS only) says the directory has the browsing
	// (VLV) index of every resource type's listing in id order that
	// "scimgate vlv-indexes" prints: such a listing is then cut by the
	// index, each page and its count, at any depth. Default false.
	BrowsingIndexes bool `yaml:"browsing_indexes"`
}

// ServerConfig is one of LDAPConfig.Servers.
type ServerConfig struct {
	// URL of the server, as LDAPConfig.URL.
	URL string `yaml:"url"`
	// Role is provider (default: it takes writes) or replica (read-only).
	Role string `yaml:"role"`
}

// The server roles.
const (
	RoleProvider = "provider"
	RoleReplica  = "replica"
)

// Is389 reports whether the directory is 389 Directory Server.
func (c *LDAPConfig) Is389() bool { return c.Directory == "389" }

// Defaults fills the fields left empty with their defaults.
func (c *LDAPConfig) Defaults() {
	if c.PoolSize == 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = DefaultOpTimeout
	}
	if c.HealthInterval == 0 {
		c.HealthInterval = DefaultHealthInterval
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = DefaultRefreshInterval
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = DefaultCacheTTL
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.Directory == "" {
		c.Directory = "openldap"
	}
	if c.CheckInterval == 0 {
		c.CheckInterval = DefaultCheckInterval
	}
	for i := range c.Servers {
		if c.Servers[i].Role == "" {
			c.Servers[i].Role = RoleProvider
		}
	}
	if c.ACIAttribute == "" {
		c.ACIAttribute = "aci"
		if c.Is389() {
			c.ACIAttribute = "scimgateAci"
		}
	}
	if c.VersionAttribute == "" {
		c.VersionAttribute = "entryCSN"
		if c.Is389() {
			c.VersionAttribute = "entryusn"
		}
	}
	if len(c.ACLBases) == 0 && c.Suffix != "" {
		c.ACLBases = []string{c.Suffix}
	}
}

// Validate reports every problem of the section, each prefixed with its path
// below prefix ("ldap.url: required"). Zero numbers and durations are accepted
// as "use the default".
func (c *LDAPConfig) Validate(prefix string) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path(prefix, field), fmt.Sprintf(format, args...)))
	}
	switch c.Directory {
	case "", "openldap", "389":
	default:
		bad("directory", "must be openldap or 389, not %q", c.Directory)
	}
	if c.BrowsingIndexes && !c.Is389() {
		bad("browsing_indexes", "389 Directory Server only (directory: 389)")
	}

	switch {
	case c.URL == "" && len(c.Servers) == 0:
		bad("url", "required (or servers)")
	case c.URL != "" && len(c.Servers) > 0:
		bad("servers", "set url (one server) or servers, not both")
	case c.URL != "":
		c.checkURL("url", c.URL, bad)
	default:
		providers := 0
		for i, s := range c.Servers {
			field := fmt.Sprintf("servers[%d]", i)
			if s.URL == "" {
				bad(field+".url", "required")
			} else {
				c.checkURL(field+".url", s.URL, bad)
			}
			switch s.Role {
			case "", RoleProvider:
				providers++
			case RoleReplica:
			default:
				bad(field+".role", "must be provider or replica, not %q", s.Role)
			}
		}
		if providers == 0 {
			bad("servers", "no provider: the gateway needs a server it can write to")
		}
	}

	if c.BindDN != "" {
		if _, err := ldap.ParseDN(c.BindDN); err != nil {
			bad("bind_dn", "%v", err)
		}
	}
	switch {
	case c.BindPassword != "" && c.BindPasswordFile != "":
		bad("bind_password", "set bind_password or bind_password_file, not both")
	case c.BindDN == "" && (c.BindPassword != "" || c.BindPasswordFile != ""):
		bad("bind_dn", "required with a password")
	case c.BindPasswordFile != "":
		if _, err := os.ReadFile(c.BindPasswordFile); err != nil {
			bad("bind_password_file", "%v", err)
		}
	}

	if c.CAFile != "" {
		if _, err := loadCAFile(c.CAFile); err != nil {
			bad("ca_file", "%v", err)
		}
	}

	if c.PoolSize < 0 {
		bad("pool_size", "must be positive, not %d", c.PoolSize)
	}
	if c.CacheSize < 0 {
		bad("cache_size", "must be positive, not %d", c.CacheSize)
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{
		{"dial_timeout", c.DialTimeout},
		{"op_timeout", c.OpTimeout},
		{"health_interval", c.HealthInterval},
		{"check_interval", c.CheckInterval},
		{"refresh_interval", c.RefreshInterval},
		{"cache_ttl", c.CacheTTL},
	} {
		if d.v < 0 {
			bad(d.field, "must be positive, not %s", d.v)
		}
	}

	if c.Suffix == "" {
		bad("suffix", "required")
	} else if _, err := ldap.ParseDN(c.Suffix); err != nil {
		bad("suffix", "%v", err)
	}
	for i, b := range c.ACLBases {
		if _, err := ldap.ParseDN(b); err != nil || b == "" {
			if err == nil {
				err = errors.New("empty DN")
			}
			bad(fmt.Sprintf("acl_bases[%d]", i), "%v", err)
		}
	}
	for _, le := range GlobalACIErrors(c.GlobalACIs) {
		for _, msg := range ACIErrorMessages(le.Err) {
			bad(fmt.Sprintf("global_acis[%d]", le.Index), "%s", msg)
		}
	}
	return errs
}

// checkURL reports what is wrong with a server URL.
func (c *LDAPConfig) checkURL(field, raw string, bad func(field, format string, args ...any)) {
	u, err := url.Parse(raw)
	if err != nil {
		bad(field, "%v", err)
		return
	}
	switch strings.ToLower(u.Scheme) {
	case "ldap":
	case "ldaps":
		if c.StartTLS {
			bad("start_tls", "not with an ldaps:// URL, which is TLS already")
		}
	default:
		bad(field, "scheme must be ldap or ldaps, not %q", u.Scheme)
	}
	if u.Host == "" {
		bad(field, "no host")
	}
	if u.Path != "" && u.Path != "/" {
		bad(field, "must not have a path (%q): the base DN is ldap.suffix", u.Path)
	}
}

// ServerList returns Servers, or URL as the one server.
func (c *LDAPConfig) ServerList() []ServerConfig {
	if len(c.Servers) > 0 {
		return c.Servers
	}
	return []ServerConfig{{URL: c.URL, Role: RoleProvider}}
}

func path(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

// password returns the bind password, read from BindPasswordFile when set.
func (c *LDAPConfig) password() (string, error) {
	if c.BindPasswordFile == "" {
		return c.BindPassword, nil
	}
	b, err := os.ReadFile(c.BindPasswordFile)
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

// tlsConfig returns the TLS settings for ldaps:// and StartTLS.
func (c *LDAPConfig) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         c.ServerName,
		InsecureSkipVerify: c.InsecureSkipVerify, //nolint:gosec // opt-in, logged as a warning
	}
	if tc.ServerName == "" {
		u, err := url.Parse(c.URL)
		if err != nil {
			return nil, err
		}
		tc.ServerName = u.Hostname()
	}
	if c.CAFile != "" {
		pool, err := loadCAFile(c.CAFile)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

func loadCAFile(name string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate found", name)
	}
	return pool, nil
}
