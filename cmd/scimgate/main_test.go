package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/scimgate/scimgate/oauth"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestACILintGolden(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"aci", "lint", "testdata/lint.aci", "testdata/lint.ldif"}, nil, &out, &errOut)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (errors found); stderr %s", code, errOut.String())
	}
	golden(t, "lint.golden", out.String())
	if !strings.Contains(errOut.String(), "4 error(s), 6 warning(s)") {
		t.Errorf("summary: %s", errOut.String())
	}
}

func TestACILintClean(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "ok.aci")
	os.WriteFile(f, []byte(`(targetattr="cn")(version 3.0; acl "ok"; allow (read) oauthscope="scim:read";)`+"\n"), 0o644)
	var out, errOut bytes.Buffer
	if code := run([]string{"aci", "lint", f}, nil, &out, &errOut); code != 0 || out.Len() != 0 {
		t.Fatalf("exit %d, output %q", code, out.String())
	}
	f2 := filepath.Join(dir, "warn.aci")
	os.WriteFile(f2, []byte(`(targetattr="cn")(version 3.0; acl "w"; allow (read) userdn="ldap:///all";)`+"\n"), 0o644)
	if code := run([]string{"aci", "lint", f2}, nil, &out, &errOut); code != 0 {
		t.Fatalf("warnings alone must exit 0, got %d", code)
	}
	if code := run([]string{"aci", "lint", "--strict", f2}, nil, &out, &errOut); code != 1 {
		t.Fatalf("--strict with warnings must exit 1, got %d", code)
	}
}

func TestACIEvalRequests(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"aci", "eval", "--ldif", "testdata/eval-tree.ldif", "--requests", "testdata/eval-requests.jsonl"}, nil, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	golden(t, "eval.golden", out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"allow", "deny", "deny", "allow", "deny", "deny", "deny"}
	if len(lines) != len(want) {
		t.Fatalf("%d output lines, want %d", len(lines), len(want))
	}
	for i, l := range lines {
		var r struct {
			Line     int    `json:"line"`
			Decision string `json:"decision"`
			Error    string `json:"error"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Decision != want[i] || r.Line != i+1 {
			t.Errorf("line %d: %+v, want %s", i+1, r, want[i])
		}
		if (i >= 5) != (r.Error != "") {
			t.Errorf("line %d: error %q", i+1, r.Error)
		}
	}
}

func TestACIEvalSingle(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"aci", "eval", "--ldif", "testdata/eval-tree.ldif", "--bind-dn", "cn=svc,dc=example,dc=com",
		"--target-dn", "uid=alice,ou=People,dc=example,dc=com", "--attr", "sn", "--scopes", "scim:read"}, nil, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), `"decision":"allow"`) {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	out.Reset()
	run([]string{"aci", "eval", "--ldif", "testdata/eval-tree.ldif", "--bind-dn", "cn=svc,dc=example,dc=com",
		"--target-dn", "uid=alice,ou=People,dc=example,dc=com", "--attr", "sn"}, nil, &out, &errOut)
	if !strings.Contains(out.String(), `"decision":"deny"`) || !strings.Contains(out.String(), "no OAuth token") {
		t.Fatalf("no-token request: %s", out.String())
	}
}

func TestACIEvalRejectsBrokenTree(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "tree.ldif")
	os.WriteFile(f, []byte("dn: dc=example,dc=com\naci: (targetattr=\"cn\")(version 3.0; acl \"x\"; allow (read) roledn=\"ldap:///cn=r\";)\n"), 0o644)
	var out, errOut bytes.Buffer
	if code := run([]string{"aci", "eval", "--ldif", f, "--target-dn", "dc=example,dc=com", "--attr", "cn"}, nil, &out, &errOut); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(errOut.String(), "roledn is not supported") || out.Len() != 0 {
		t.Fatalf("stderr %q stdout %q", errOut.String(), out.String())
	}
}

func TestTokenCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	key := "../../testdata/oauth/demo-signing-key.jwk"
	if code := run([]string{"token", "--key", key, "--sub", "reporting", "--scope", "scim:read"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	tok := strings.TrimSpace(out.String())
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	// The token validates against the demo JWKS with the demo issuer and audience.
	v, err := oauth.New(context.Background(), oauth.Config{Issuer: oauth.DemoIssuer, Audiences: []string{oauth.DemoAudience}, JWKSFile: "../../testdata/oauth/demo-jwks.json"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "reporting" || len(p.Scopes) != 1 || p.Scopes[0] != "scim:read" {
		t.Fatalf("principal %+v", p)
	}
	if code := run([]string{"token", "--key", key}, nil, &out, &errOut); code != 2 {
		t.Fatalf("missing --sub: exit %d", code)
	}
}
