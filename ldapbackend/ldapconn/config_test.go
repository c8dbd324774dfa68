package ldapconn

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestConfigYAMLAndDefaults(t *testing.T) {
	src := `
url: ldaps://ldap.example.com
bind_dn: cn=scimgate,ou=Services,dc=example,dc=com
bind_password: secret
ca_file: ""
op_timeout: 3s
suffix: dc=example,dc=com
global_acis:
  - (targetattr="cn")(version 3.0; acl "g"; allow (read) userdn="ldap:///self";)
`
	var c LDAPConfig
	if err := yaml.Unmarshal([]byte(src), &c); err != nil {
		t.Fatal(err)
	}
	c.Defaults()
	if errs := c.Validate("ldap"); len(errs) > 0 {
		t.Fatal(errs)
	}
	if c.PoolSize != 8 || c.DialTimeout != 5*time.Second || c.OpTimeout != 3*time.Second ||
		c.HealthInterval != 15*time.Second || c.RefreshInterval != time.Second || c.CacheTTL != 5*time.Second ||
		!slices.Equal(c.ACLBases, []string{"dc=example,dc=com"}) || c.ProxiedAuthz {
		t.Errorf("defaults: %+v", c)
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := LDAPConfig{URL: "ldap://127.0.0.1:389", Suffix: "dc=example,dc=com"}
	tests := []struct {
		name string
		edit func(*LDAPConfig)
		want []string
	}{
		{"valid", func(*LDAPConfig) {}, nil},
		{"empty", func(c *LDAPConfig) { *c = LDAPConfig{} }, []string{"ldap.url: required", "ldap.suffix: required"}},
		{"scheme", func(c *LDAPConfig) { c.URL = "http://x" }, []string{`ldap.url: scheme must be ldap or ldaps, not "http"`}},
		{"path", func(c *LDAPConfig) { c.URL = "ldap://x/dc=example,dc=com" }, []string{"ldap.url: must not have a path"}},
		{"no host", func(c *LDAPConfig) { c.URL = "ldap://" }, []string{"ldap.url: no host"}},
		{"starttls on ldaps", func(c *LDAPConfig) { c.URL, c.StartTLS = "ldaps://x", true }, []string{"ldap.start_tls: not with an ldaps:// URL"}},
		{"bad DNs", func(c *LDAPConfig) {
			c.BindDN, c.BindPassword, c.Suffix, c.ACLBases = "nonsense", "x", "example.com", []string{"ou=a,dc=example,dc=com", "=x"}
		}, []string{"ldap.bind_dn: ", "ldap.suffix: ", "ldap.acl_bases[1]: "}},
		{"two passwords", func(c *LDAPConfig) { c.BindDN, c.BindPassword, c.BindPasswordFile = "cn=a", "x", "/f" }, []string{"ldap.bind_password: set bind_password or bind_password_file, not both"}},
		{"password without DN", func(c *LDAPConfig) { c.BindPassword = "x" }, []string{"ldap.bind_dn: required with a password"}},
		{"missing password file", func(c *LDAPConfig) { c.BindDN, c.BindPasswordFile = "cn=a", filepath.Join(dir, "none") }, []string{"ldap.bind_password_file: open "}},
		{"ca file", func(c *LDAPConfig) { c.CAFile = notPEM }, []string{"ldap.ca_file: " + notPEM + ": no PEM certificate found"}},
		{"negative numbers", func(c *LDAPConfig) { c.PoolSize, c.OpTimeout, c.CacheSize = -1, -time.Second, -2 }, []string{"ldap.pool_size: must be positive", "ldap.cache_size: must be positive", "ldap.op_timeout: must be positive"}},
		{"global ACI", func(c *LDAPConfig) {
			c.GlobalACIs = []string{`(targetattr="cn")(version 3.0; acl "g"; allow (read) userdn="ldap:///self";)`, `(targetattr="cn")(version 3.0; acl "g"; allow (frob) userdn="ldap:///self";)`}
		}, []string{`ldap.global_acis[1]: 1:`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			errs := c.Validate("ldap")
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors %q, want %d", len(errs), errs, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(errs[i].Error(), w) {
					t.Errorf("error %d = %q, want prefix %q", i, errs[i], w)
				}
			}
		})
	}
}
