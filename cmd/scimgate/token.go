package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/scimgate/scimgate/oauth"
)

// defaultDemoKey is the development signing key shipped for demos. Never
// trust it in production: its private half is in the repository.
const defaultDemoKey = "testdata/oauth/demo-signing-key.jwk"

func tokenCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scope := fs.String("scope", "", `space-separated scopes, e.g. "scim:read scim:write"`)
	sub := fs.String("sub", "", "token subject (required)")
	client := fs.String("client", "", "client id (default: the subject)")
	ttl := fs.Duration("ttl", oauth.DefaultDevTokenTTL, "lifetime")
	key := fs.String("key", defaultDemoKey, "signing key (a private JWK)")
	iss := fs.String("iss", oauth.DemoIssuer, "issuer")
	aud := fs.String("aud", oauth.DemoAudience, "audience")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scimgate token --sub NAME [--scope \"a b\"] [--client ID] [--ttl 1h]\n\nSigns a development token with the demo key (for demos and tests only) and prints it.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *sub == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if *ttl <= 0 || *ttl > 24*time.Hour {
		fmt.Fprintln(stderr, "token: --ttl must be between 1s and 24h")
		return 2
	}
	k, err := oauth.LoadSigningKey(*key)
	if err != nil {
		fmt.Fprintf(stderr, "token: %v\n", err)
		return 2
	}
	cid := *client
	if cid == "" {
		cid = *sub
	}
	tok, err := oauth.SignDevToken(k, oauth.DevClaims{Issuer: *iss, Audience: *aud, Subject: *sub, ClientID: cid, Scopes: strings.Fields(*scope), TTL: *ttl})
	if err != nil {
		fmt.Fprintf(stderr, "token: %v\n", err)
		return 2
	}
	fmt.Fprintln(stdout, tok)
	return 0
}
