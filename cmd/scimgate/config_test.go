package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
ldap:
  url: ftp://x
  global_acis: ['(targetattr="cn")(version 3.0; acl "x"; allow (frob) userdn="ldap:///all";)']
oauth:
  audiences: [x]
limits:
  max_page_size: 5
  default_page_size: 10
  max_filter_bytes: 8192
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
		"ldap.url",
		"ldap.global_acis",
		"oauth: one of jwks_url",
		"limits: need 1 <= default_page_size <= max_page_size",
		"limits.max_filter_bytes: between 1 and 4096",
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
