package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scimgate/scimgate/ldapbackend/identity"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/ldapbackend/scimldap"
	"github.com/scimgate/scimgate/oauth"
	"github.com/scimgate/scimgate/scim/resource"
)

// Config is the scimgate configuration file. Every field is documented
// with its default in testdata/demo/scimgate.yaml and the README.
type Config struct {
	Listen   string          `yaml:"listen"`   // default 127.0.0.1:8080
	BaseURL  string          `yaml:"base_url"` // default http(s)://LISTEN/scim/v2
	BasePath string          `yaml:"base_path"`
	TLS      TLSConfig       `yaml:"tls"`
	Mapping  string          `yaml:"mapping"`  // disabled (default) | optional | required
	Identity identity.Config `yaml:"identity"` // how a token's subject maps to an entry; search_base defaults to users.base_dn
	// AddAnyAttribute: a create needs the add right on at least one
	// attribute of the new entry (PingDirectory's default) rather than on
	// every attribute (scimgate's default).
	AddAnyAttribute bool                `yaml:"add_any_attribute"`
	ServiceDN       string              `yaml:"service_dn"`
	LDAP            ldapconn.LDAPConfig `yaml:"ldap"`
	OAuth           oauth.Config        `yaml:"oauth"`
	Users           TypeConfig          `yaml:"users"`
	Groups          TypeConfig          `yaml:"groups"`
	SyncProfiles    TypeConfig          `yaml:"sync_profiles"`
	Connectors      TypeConfig          `yaml:"connectors"`
	Limits          Limits              `yaml:"limits"`
	Log             LogConfig           `yaml:"log"`
	// MetricsListen is where Prometheus metrics are served (/metrics), on a
	// listener of their own; "" disables them.
	MetricsListen string `yaml:"metrics_listen"`
}

// TLSConfig enables HTTPS (TLS 1.2 or later).
type TLSConfig struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// TypeConfig overrides parts of a resource type's default mapping, so a
// site with a different schema needs no code. Empty fields keep the
// defaults; attributes, when given, replace the whole attribute list.
type TypeConfig struct {
	BaseDN         string                  `yaml:"base_dn"` // default ou=People, ou=Groups, ou=SyncProfiles or ou=Connectors under the suffix
	RDNAttribute   string                  `yaml:"rdn_attribute"`
	ObjectClasses  []string                `yaml:"object_classes"` // the first is the structural class that selects entries
	Filter         string                  `yaml:"filter"`         // an extra LDAP filter selecting entries
	IDAttribute    string                  `yaml:"id_attribute"`   // entryUUID (default), nsUniqueId on 389, objectGUID on AD
	Attributes     []*scimldap.AttrMapping `yaml:"attributes"`
	CreateDefaults map[string][]string     `yaml:"create_defaults"`
	EmptyMember    *string                 `yaml:"empty_member"` // groups: placeholder member DN; "" for none
}

// apply overrides the default mapping m with the fields set in tc.
func (tc TypeConfig) apply(m *scimldap.TypeMapping) {
	if tc.BaseDN != "" {
		m.BaseDN = tc.BaseDN
	}
	if tc.RDNAttribute != "" {
		m.RDNAttr = tc.RDNAttribute
	}
	if len(tc.ObjectClasses) > 0 {
		m.ObjectClasses = tc.ObjectClasses
	}
	if tc.Filter != "" {
		m.Filter = tc.Filter
	}
	if tc.IDAttribute != "" {
		m.IDAttr = tc.IDAttribute
	}
	if len(tc.Attributes) > 0 {
		m.Attrs = tc.Attributes
	}
	if tc.CreateDefaults != nil {
		m.CreateDefaults = tc.CreateDefaults
	}
	if tc.EmptyMember != nil {
		m.EmptyMember = *tc.EmptyMember
	}
}

// Limits bound what one request may cost.
type Limits struct {
	MaxBodyBytes    int64 `yaml:"max_body_bytes"`    // default 1 MiB
	MaxFilterBytes  int   `yaml:"max_filter_bytes"`  // default 4096
	DefaultPageSize int   `yaml:"default_page_size"` // default 100
	MaxPageSize     int   `yaml:"max_page_size"`     // default 1000
	Lookthrough     int   `yaml:"lookthrough"`       // default 10000
	// Walks is how many listings being paged through by startIndex the
	// directory keeps sorted for their next page (default 4; -1 keeps
	// none).
	Walks int `yaml:"walks"`
	// CursorWalks is how many cursor walks (a paged search in the
	// directory's own order, one held connection each) are kept for their
	// next page (default 16; -1 keeps none: cursor pages are then in id
	// order).
	CursorWalks    int           `yaml:"cursor_walks"`
	RequestTimeout time.Duration `yaml:"request_timeout"` // default 30s
	MaxConcurrent  int           `yaml:"max_concurrent"`  // default 256; beyond it 429 with Retry-After
}

// LogConfig sets the log level and format.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug | info (default) | warn | error
	Format string `yaml:"format"` // json (default) | console
}

// loadConfig reads the file, applies environment overrides and defaults.
// Every key the configuration does not have is reported by its YAML path
// (with the nearest known key), all at once, before anything else.
func loadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := &Config{}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if unknown := unknownKeys(&root, reflect.TypeOf(*c), ""); len(unknown) > 0 {
		return nil, fmt.Errorf("%s: %s", path, strings.Join(unknown, "; "))
	}
	if err := root.Decode(c); err != nil && len(root.Content) > 0 {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if err := c.applyEnv(os.LookupEnv); err != nil {
		return nil, err
	}
	c.defaults()
	return c, nil
}

// unknownKeys walks a YAML mapping against the struct type t (by yaml
// tags) and returns, for every key t has no field for, "line N: path: unknown
// key" with the nearest known key at that level. Maps and slices of
// structs are walked too.
func unknownKeys(n *yaml.Node, t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		return unknownKeys(n.Content[0], t, path)
	}
	var out []string
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := map[string]reflect.Type{}
		var names []string
		collectYAMLFields(t, fields, &names)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if !ok {
				msg := fmt.Sprintf("line %d: %s: unknown key", k.Line, p)
				if near := nearest(k.Value, names); near != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", near)
				}
				out = append(out, msg)
				continue
			}
			out = append(out, unknownKeys(v, ft, p)...)
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Map:
		for i := 0; i+1 < len(n.Content); i += 2 {
			out = append(out, unknownKeys(n.Content[i+1], t.Elem(), path+"."+n.Content[i].Value)...)
		}
	case n.Kind == yaml.SequenceNode && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		for i, v := range n.Content {
			out = append(out, unknownKeys(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return out
}

// collectYAMLFields lists the yaml keys of struct t, inline fields included.
func collectYAMLFields(t reflect.Type, fields map[string]reflect.Type, names *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			collectYAMLFields(f.Type, fields, names)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
		*names = append(*names, name)
	}
}

// nearest returns the known name closest to s by edit distance, if it is
// close enough to be what was meant.
func nearest(s string, names []string) string {
	best, bestD := "", len(s)/2+2
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// envOverrides lists the environment variables that override the file,
// for containers and for `make run`. An override replaces the file's value
// and the alternatives it excludes (a password file and a password, a
// JWKS URL and a key file). A variable set to "" is ignored, except where
// empty means something (metrics_listen: off).
var envOverrides = []struct {
	name       string
	emptyMeans bool
	set        func(c *Config, v string) error
}{
	{"SCIMGATE_LISTEN", false, func(c *Config, v string) error { c.Listen = v; return nil }},
	{"SCIMGATE_BASE_URL", false, func(c *Config, v string) error { c.BaseURL = v; return nil }},
	{"SCIMGATE_LDAP_URL", false, func(c *Config, v string) error { c.LDAP.URL = v; return nil }},
	{"SCIMGATE_LDAP_BIND_DN", false, func(c *Config, v string) error { c.LDAP.BindDN = v; return nil }},
	{"SCIMGATE_LDAP_BIND_PASSWORD", false, func(c *Config, v string) error {
		c.LDAP.BindPassword, c.LDAP.BindPasswordFile = v, ""
		return nil
	}},
	{"SCIMGATE_LDAP_BIND_PASSWORD_FILE", false, func(c *Config, v string) error {
		c.LDAP.BindPassword, c.LDAP.BindPasswordFile = "", v
		return nil
	}},
	{"SCIMGATE_SERVICE_DN", false, func(c *Config, v string) error { c.ServiceDN = v; return nil }},
	{"SCIMGATE_OAUTH_ISSUER", false, func(c *Config, v string) error { c.OAuth.Issuer = v; return nil }},
	{"SCIMGATE_OAUTH_JWKS_URL", false, func(c *Config, v string) error {
		c.OAuth.JWKSURL, c.OAuth.JWKSFile, c.OAuth.PublicKeyFile = v, "", ""
		return nil
	}},
	{"SCIMGATE_LOG_LEVEL", false, func(c *Config, v string) error { c.Log.Level = v; return nil }},
	{"SCIMGATE_METRICS_LISTEN", true, func(c *Config, v string) error { c.MetricsListen = v; return nil }},
	{"SCIMGATE_DEFAULT_PAGE_SIZE", false, func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errors.New("SCIMGATE_DEFAULT_PAGE_SIZE: not an integer")
		}
		c.Limits.DefaultPageSize = n
		return nil
	}},
	{"SCIMGATE_MAX_PAGE_SIZE", false, func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errors.New("SCIMGATE_MAX_PAGE_SIZE: not an integer")
		}
		c.Limits.MaxPageSize = n
		// A smaller maximum takes the default page size down with it.
		if n > 0 && c.Limits.DefaultPageSize > n {
			c.Limits.DefaultPageSize = n
		}
		return nil
	}},
}

// applyEnv applies the overrides found by lookup (os.LookupEnv).
func (c *Config) applyEnv(lookup func(string) (string, bool)) error {
	for _, o := range envOverrides {
		v, set := lookup(o.name)
		if !set || v == "" && !o.emptyMeans {
			continue
		}
		if err := o.set(c, v); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) defaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.BasePath == "" {
		c.BasePath = "/scim/v2"
	}
	if c.BaseURL == "" && !listensEverywhere(c.Listen) {
		scheme := "http"
		if c.TLS.CertFile != "" {
			scheme = "https"
		}
		c.BaseURL = scheme + "://" + c.Listen + c.BasePath
	}
	if c.Mapping == "" {
		c.Mapping = "disabled"
	}
	c.LDAP.Defaults()
	c.Identity.Defaults(c.usersBaseDN())
	if c.ServiceDN == "" {
		c.ServiceDN = c.LDAP.BindDN
	}
	l := &c.Limits
	if l.MaxBodyBytes == 0 {
		l.MaxBodyBytes = 1 << 20
	}
	if l.MaxFilterBytes == 0 {
		l.MaxFilterBytes = 4096
	}
	if l.DefaultPageSize == 0 {
		l.DefaultPageSize = 100
	}
	if l.MaxPageSize == 0 {
		l.MaxPageSize = 1000
	}
	if l.Lookthrough == 0 {
		l.Lookthrough = 10000
	}
	if l.Walks == 0 {
		l.Walks = 4
	}
	if l.CursorWalks == 0 {
		l.CursorWalks = 16
	}
	if l.RequestTimeout == 0 {
		l.RequestTimeout = 30 * time.Second
	}
	if l.MaxConcurrent == 0 {
		l.MaxConcurrent = 256
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
}

// usersBaseDN is the Users type's base DN (users.base_dn, default
// ou=People under the suffix): identities are searched there unless
// identity.search_base says otherwise, so that an entry moved out of it
// no longer maps.
func (c *Config) usersBaseDN() string {
	for _, t := range c.typeConfigs() {
		if t.section == "users" {
			return t.m.BaseDN
		}
	}
	return c.LDAP.Suffix
}

// validate reports every problem at once, each with its path.
// listensEverywhere reports whether addr listens on every address (an
// empty or unspecified host), so no URL can be made from it.
func listensEverywhere(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "" || ip != nil && ip.IsUnspecified()
}

func (c *Config) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen: %q is not host:port", c.Listen)
	}
	switch {
	case c.BaseURL == "" && listensEverywhere(c.Listen):
		bad("base_url: required when listen is on every address (%s): set the URL clients reach the server at", c.Listen)
	case !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://"):
		bad("base_url: must be an absolute http(s) URL")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls: cert_file and key_file go together")
	}
	if c.TLS.CertFile == "" {
		if host, _, err := net.SplitHostPort(c.Listen); err == nil {
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				bad("listen: plain HTTP is only allowed on a loopback address; configure tls.cert_file and tls.key_file")
			}
		}
	}
	if len(c.Identity.ServiceClients) > 0 && c.Mapping != "optional" {
		bad("identity.service_clients: only for mapping: optional, where a client's token may run as the service account for want of an entry")
	}
	switch c.Mapping {
	case "disabled":
	case "optional", "required":
		errs = append(errs, c.Identity.Validate("identity")...)
	default:
		bad("mapping: must be disabled, optional or required, not %q", c.Mapping)
	}
	if c.ServiceDN == "" {
		bad("service_dn: required (the DN every request runs as)")
	}
	errs = append(errs, c.LDAP.Validate("ldap")...)
	errs = append(errs, c.OAuth.Validate()...)
	errs = append(errs, c.validateTypes()...)
	l := c.Limits
	if l.MaxBodyBytes < 1024 {
		bad("limits.max_body_bytes: at least 1024")
	}
	if l.DefaultPageSize < 1 || l.MaxPageSize < l.DefaultPageSize {
		bad("limits: need 1 <= default_page_size <= max_page_size")
	}
	if l.MaxConcurrent < 1 {
		bad("limits.max_concurrent: at least 1")
	}
	if l.MaxFilterBytes < 1 || l.MaxFilterBytes > resource.MaxFilterLength {
		// The filter parser refuses longer filters whatever the setting.
		bad("limits.max_filter_bytes: between 1 and %d", resource.MaxFilterLength)
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			bad("metrics_listen: %q is not host:port", c.MetricsListen)
		}
	}
	if l.Walks < -1 || l.Walks > 1024 {
		bad("limits.walks: between 1 and 1024, or -1 for none")
	}
	if l.CursorWalks < -1 || l.CursorWalks > 1024 {
		bad("limits.cursor_walks: between 1 and 1024, or -1 for none")
	}
	if l.Lookthrough < l.MaxPageSize {
		bad("limits.lookthrough: must be at least max_page_size")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level: debug, info, warn or error")
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		bad("log.format: json or console")
	}
	return errs
}

const (
	userURN  = scimldap.CoreUserURN
	groupURN = scimldap.CoreGroupURN
)
