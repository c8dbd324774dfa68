package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDemoConfigValid(t *testing.T) {
	c, err := loadConfig("../../testdata/demo/scimgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.OAuth.JWKSFile = demoJWKS // relative to the repository root in the file
	if errs := c.validate(); len(errs) > 0 {
		t.Fatalf("the demo configuration is invalid: %v", errs)
	}
}

// TestConfigReportsEveryProblem: validation reports all problems at once,
// each with its path, and unknown keys are errors.
func TestConfigReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.yaml", `
listen: 0.0.0.0:8080
mapping: sometimes
identity:
  service_clients: [reports]
ldap:
  url: ftp://x
  browsing_indexes: true
  global_acis: ['(targetattr="cn")(version 3.0; acl "x"; allow (frob) userdn="ldap:///all";)']
oauth:
  audiences: [x]
limits:
  max_page_size: 5
  default_page_size: 10
  max_filter_bytes: 8192
  cursor_walks: 2000
users:
  rdn_attribute: uid
  attributes:
    - {scim: "userName", ldap: ""}
    - {scim: "nosuch[", ldap: "x"}
log:
  level: loud
`)
	c, err := loadConfig(bad)
	if err != nil {
		t.Fatal(err)
	}
	errs := c.validate()
	all := ""
	for _, e := range errs {
		all += e.Error() + "\n"
	}
	for _, want := range []string{
		"listen: plain HTTP is only allowed on a loopback address",
		"mapping: must be disabled, optional or required",
		"identity.service_clients: only for mapping: optional",
		"ldap.url",
		"ldap.global_acis",
		"oauth: one of jwks_url",
		"limits: need 1 <= default_page_size <= max_page_size",
		"limits.max_filter_bytes: between 1 and 4096",
		"limits.cursor_walks: between 1 and 1024",
		"ldap.browsing_indexes: 389 Directory Server only",
		"users: User.attributes[0]: ldap is required",
		"users: User.attributes[1]: invalid SCIM path",
		"log.level",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
	if _, err := loadConfig(write("unknown.yaml", "listne: 127.0.0.1:1\n")); err == nil || !strings.Contains(err.Error(), "listne") {
		t.Errorf("an unknown key must be an error: %v", err)
	}
	t.Setenv("SCIMGATE_LISTEN", "127.0.0.1:9999")
	c, err = loadConfig(write("env.yaml", "listen: 127.0.0.1:1\n"))
	if err != nil || c.Listen != "127.0.0.1:9999" || c.BaseURL != "http://127.0.0.1:9999/scim/v2" {
		t.Errorf("environment override: %v %+v", err, c)
	}
}

func TestServeCheck(t *testing.T) {
	var out, errOut strings.Builder
	if code := serveCmd([]string{"--check", "--config", "../../testdata/demo/does-not-exist.yaml"}, &out, &errOut); code != 2 {
		t.Fatalf("missing file: exit %d", code)
	}
}

// TestConfigUnknownKeys: every key the configuration lacks is reported by
// its YAML path and line, with the nearest known key, all at once.
func TestConfigUnknownKeys(t *testing.T) {
	p := filepath.Join(t.TempDir(), "typo.yaml")
	if err := os.WriteFile(p, []byte(`
listen: 127.0.0.1:8080
ldap:
  url: ldap://127.0.0.1:389
  pool_sise: 4
oauth:
  issuerr: https://x
users:
  attributes:
    - {scim: userName, ldap: uid, kindd: string}
limitz:
  max_page_size: 5
`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := loadConfig(p)
	if err == nil {
		t.Fatal("unknown keys were accepted")
	}
	for _, want := range []string{
		"line 5: ldap.pool_sise: unknown key (did you mean pool_size?)",
		"line 7: oauth.issuerr: unknown key (did you mean issuer?)",
		"line 10: users.attributes[0].kindd: unknown key (did you mean kind?)",
		"line 11: limitz: unknown key (did you mean limits?)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nlacks %q", err, want)
		}
	}
}

// TestEnvOverrides: a variable replaces the file's value and the
// alternatives it excludes; an empty one is ignored unless empty means
// something (metrics_listen off); a smaller maximum page size takes the
// default page size down.
func TestEnvOverrides(t *testing.T) {
	base := func() *Config {
		c := &Config{MetricsListen: "127.0.0.1:9090"}
		c.LDAP.BindPassword = "from-file"
		c.OAuth.JWKSFile = "keys.json"
		c.OAuth.PublicKeyFile = "key.pem"
		c.Limits.DefaultPageSize = 100
		return c
	}
	cases := []struct {
		name  string
		env   map[string]string
		check func(c *Config) bool
	}{
		{"password file replaces the password", map[string]string{"SCIMGATE_LDAP_BIND_PASSWORD_FILE": "/run/pw"},
			func(c *Config) bool { return c.LDAP.BindPasswordFile == "/run/pw" && c.LDAP.BindPassword == "" }},
		{"password replaces the file's", map[string]string{"SCIMGATE_LDAP_BIND_PASSWORD": "env"},
			func(c *Config) bool { return c.LDAP.BindPassword == "env" && c.LDAP.BindPasswordFile == "" }},
		{"JWKS URL replaces the key files", map[string]string{"SCIMGATE_OAUTH_JWKS_URL": "https://idp/jwks"},
			func(c *Config) bool {
				return c.OAuth.JWKSURL == "https://idp/jwks" && c.OAuth.JWKSFile == "" && c.OAuth.PublicKeyFile == ""
			}},
		{"empty metrics_listen turns metrics off", map[string]string{"SCIMGATE_METRICS_LISTEN": ""},
			func(c *Config) bool { return c.MetricsListen == "" }},
		{"empty password is ignored", map[string]string{"SCIMGATE_LDAP_BIND_PASSWORD": ""},
			func(c *Config) bool { return c.LDAP.BindPassword == "from-file" }},
		{"a smaller maximum page size", map[string]string{"SCIMGATE_MAX_PAGE_SIZE": "50"},
			func(c *Config) bool { return c.Limits.MaxPageSize == 50 && c.Limits.DefaultPageSize == 50 }},
		{"default page size", map[string]string{"SCIMGATE_DEFAULT_PAGE_SIZE": "25"},
			func(c *Config) bool { return c.Limits.DefaultPageSize == 25 }},
	}
	for _, tc := range cases {
		c := base()
		if err := c.applyEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !tc.check(c) {
			t.Errorf("%s: %+v %+v %+v", tc.name, c.LDAP, c.OAuth, c.Limits)
		}
	}
	if err := base().applyEnv(func(k string) (string, bool) { return "x", k == "SCIMGATE_MAX_PAGE_SIZE" }); err == nil {
		t.Error("a non-integer page size was accepted")
	}
}

// TestBaseURLOnEveryAddress: listening on 0.0.0.0 or [::] gives no URL a
// client could use, so base_url must be set then.
func TestBaseURLOnEveryAddress(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:8443", "[::]:8443", ":8443"} {
		c := &Config{Listen: listen}
		c.TLS.CertFile, c.TLS.KeyFile = "c.pem", "k.pem"
		c.defaults()
		found := false
		for _, e := range c.validate() {
			found = found || strings.Contains(e.Error(), "base_url: required when listen is on every address")
		}
		if !found || c.BaseURL != "" {
			t.Errorf("%s: base_url %q, no error asking for it", listen, c.BaseURL)
		}
		c.BaseURL = "https://scim.example.com/scim/v2"
		for _, e := range c.validate() {
			if strings.Contains(e.Error(), "base_url") {
				t.Errorf("%s with base_url: %v", listen, e)
			}
		}
	}
	c := &Config{Listen: "127.0.0.1:8080"}
	c.defaults()
	if c.BaseURL != "http://127.0.0.1:8080/scim/v2" {
		t.Errorf("loopback default base_url %q", c.BaseURL)
	}
}

// yamlKeyPaths lists the dotted YAML key paths of struct t (slices and
// maps of structs as "key[]"), for checking the sample configuration.
func yamlKeyPaths(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	fields := map[string]reflect.Type{}
	var names []string
	collectYAMLFields(t, fields, &names)
	var out []string
	for _, n := range names {
		p := n
		if prefix != "" {
			p = prefix + "." + n
		}
		out = append(out, p)
		ft := fields[n]
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice || ft.Kind() == reflect.Map {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Time{}) {
			out = append(out, yamlKeyPaths(ft, p)...)
		}
	}
	return out
}

// TestSampleConfigDocumentsEveryField: testdata/demo/scimgate.yaml, the
// configuration reference, names every field of the configuration (set,
// or in a comment), so a field added without documentation fails here.
func TestSampleConfigDocumentsEveryField(t *testing.T) {
	data, err := os.ReadFile("../../testdata/demo/scimgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, p := range yamlKeyPaths(reflect.TypeOf(Config{}), "") {
		leaf := p[strings.LastIndex(p, ".")+1:]
		if !strings.Contains(text, leaf+":") {
			t.Errorf("the sample configuration does not document %s", p)
		}
	}
}

// TestMappingsCheckedAgainstSchemas: a mapping must name an attribute
// (and sub-attribute) of the schema it claims, and references must name
// resource types the server has.
func TestMappingsCheckedAgainstSchemas(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mapping.yaml")
	if err := os.WriteFile(p, []byte(`
ldap:
  url: ldap://127.0.0.1:389
  suffix: dc=example,dc=com
users:
  attributes:
    - {scim: userName, ldap: uid}
    - {scim: nosuchattr, ldap: description}
    - {scim: name.nosuchpart, ldap: sn}
    - {scim: "urn:example:bogus:x", ldap: cn}
    - {scim: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", ldap: manager, kind: reference, ref_types: [Nope]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	all := ""
	for _, e := range c.validate() {
		all += e.Error() + "\n"
	}
	for _, want := range []string{
		`users: User.attributes[1]: scim "nosuchattr": the urn:ietf:params:scim:schemas:core:2.0:User schema has no attribute nosuchattr`,
		`users: User.attributes[2]: scim "name.nosuchpart": name has no sub-attribute nosuchpart`,
		`users: User.attributes[3]: scim "urn:example:bogus:x"`,
		`users: User.attributes[4]: ref_types: no resource type "Nope"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("validation lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "attributes[0]") {
		t.Errorf("a valid mapping was reported:\n%s", all)
	}
}

// TestMappingFilterChecked: a type's filter that does not parse is a
// configuration error, not a listing widened to every entry of the class.
func TestMappingFilterChecked(t *testing.T) {
	c, err := loadConfig("../../testdata/demo/scimgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.Groups.Filter = "(cn=unclosed"
	all := ""
	for _, e := range c.validate() {
		all += e.Error() + "\n"
	}
	if !strings.Contains(all, "filter:") {
		t.Errorf("a type filter that does not parse passed validation:\n%s", all)
	}
}
