package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimgate/scimgate/ldapbackend/slapd"
	"github.com/scimgate/scimgate/ldapbackend/slapd/slapdtest"
)

// TestACIEvalLive asks a live slapd "would this token be allowed to do
// this to that entry, and why": the ACIs, entries and groups come over LDAP.
func TestACIEvalLive(t *testing.T) {
	s := slapdtest.StartT(t, slapd.Options{SeedLDIF: []string{demoLDIF}})
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(servicePass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reqs := filepath.Join(t.TempDir(), "reqs.jsonl")
	os.WriteFile(reqs, []byte(`{"bind_dn":"`+serviceDN+`","target_dn":"uid=alice,ou=People,dc=example,dc=com","right":"read","attr":"mail","scopes":["scim:read"]}
{"bind_dn":"`+serviceDN+`","target_dn":"uid=alice,ou=People,dc=example,dc=com","right":"read","attr":"mail","scopes":["connector:read"]}
{"bind_dn":"`+serviceDN+`","target_dn":"uid=alice,ou=People,dc=example,dc=com","right":"read","attr":"userPassword","scopes":["scim:read"]}
{"bind_dn":"`+serviceDN+`","target_dn":"cn=hr-connector,ou=Connectors,dc=example,dc=com","right":"write","attr":"scimConnectorState","value":"running","scopes":["connector:write"]}
`), 0o600)
	var out, errOut bytes.Buffer
	code := run([]string{"aci", "eval", "--ldap-url", s.URL, "--ldap-bind-dn", serviceDN, "--ldap-password-file", pw,
		"--ldap-base", s.Suffix, "--requests", reqs}, nil, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{`"decision":"allow"`, `"decision":"deny"`, `"decision":"deny"`, `"decision":"allow"`}
	if len(lines) != len(want) {
		t.Fatalf("%d lines: %s", len(lines), out.String())
	}
	for i, l := range lines {
		if !strings.Contains(l, want[i]) {
			t.Errorf("line %d: %s, want %s", i+1, l, want[i])
		}
	}
	if !strings.Contains(lines[2], "never read passwords") {
		t.Errorf("the password denial should name its ACI: %s", lines[2])
	}
	// A wrong password is a clear error, not a decision.
	os.WriteFile(pw, []byte("wrong"), 0o600)
	errOut.Reset()
	if code := run([]string{"aci", "eval", "--ldap-url", s.URL, "--ldap-bind-dn", serviceDN, "--ldap-password-file", pw, "--ldap-base", s.Suffix, "--requests", reqs}, nil, &out, &errOut); code != 2 {
		t.Fatalf("wrong password: exit %d", code)
	}
}
