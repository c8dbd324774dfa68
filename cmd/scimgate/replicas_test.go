package main

import (
	"testing"
	"time"
)

// TestReplicasSeeACIChanges: two gateways in front of one directory keep
// no state of their own; an ACI change reaches both within 2 s, and a
// resource written through one is read through the other.
func TestReplicasSeeACIChanges(t *testing.T) {
	a := startEnv(t)
	b := startGateway(t, a.ldap.URL, a.ldap.Suffix, nil)
	for _, e := range []*testEnv{a, b} {
		if n := num(e.must(200, "GET", "/Groups", "none", nil).body, "totalResults"); n != 0 {
			t.Fatalf("before: %d groups", n)
		}
	}
	if err := a.ldap.LDAPModify(t.Context(), "dn: ou=Groups,dc=example,dc=com\nchangetype: modify\nadd: aci\naci: (targetattr=\"*\")(version 3.0; acl \"all read\"; allow (read,search) userdn=\"ldap:///all\";)\n"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i, e := range []*testEnv{a, b} {
		for num(e.must(200, "GET", "/Groups", "none", nil).body, "totalResults") != 6 {
			if time.Since(start) > 2*time.Second {
				t.Fatalf("replica %d did not apply the ACI within 2 s", i+1)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	r := a.must(201, "POST", "/Groups", "connector", map[string]any{"schemas": []string{groupURN}, "displayName": "replicated"})
	id := str(r.body, "id")
	if got := str(b.must(200, "GET", "/Groups/"+id, "connector", nil).body, "displayName"); got != "replicated" {
		t.Fatalf("the other replica reads %q", got)
	}
	b.must(204, "DELETE", "/Groups/"+id, "connector", nil)
	a.must(404, "GET", "/Groups/"+id, "connector", nil)
}
