package main

import (
	"testing"

	"github.com/scimgate/scimgate/oauth"
)

// TestClientsOwnToken: in the optional mode only a client's own token, or
// one from a client the configuration names, runs as the service account
// when its subject maps to no entry; a user's token never does.
func TestClientsOwnToken(t *testing.T) {
	listed := []string{"reports"}
	for _, c := range []struct {
		name string
		p    oauth.Principal
		want bool
	}{
		{"client credentials: sub is the client id", oauth.Principal{Subject: "sync", ClientID: "sync", Claims: map[string]any{"sub": "sync"}}, true},
		{"a user's token", oauth.Principal{Subject: "dora", ClientID: "okta", Claims: map[string]any{"sub": "dora"}}, false},
		{"a user's token from a listed client", oauth.Principal{Subject: "dora", ClientID: "reports", Claims: map[string]any{"sub": "dora"}}, true},
		{"no client id", oauth.Principal{Subject: "dora", Claims: map[string]any{"sub": "dora"}}, false},
		{"no client id, no subject", oauth.Principal{Claims: map[string]any{}}, false},
		{"no sub claim", oauth.Principal{Subject: "x", ClientID: "okta", Claims: map[string]any{"email": "x"}}, false},
		// The subject claim may be configured to another claim: the
		// client-credentials test reads sub itself.
		{"subject claim other than sub", oauth.Principal{Subject: "dora@example.com", ClientID: "sync", Claims: map[string]any{"sub": "sync", "email": "dora@example.com"}}, true},
		{"sub not a string", oauth.Principal{ClientID: "sync", Claims: map[string]any{"sub": 7}}, false},
	} {
		if got := clientsOwnToken(&c.p, listed); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
