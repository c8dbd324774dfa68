package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimgate/scimgate/ldapbackend/slapd"
	"github.com/scimgate/scimgate/ldapbackend/slapd/slapdtest"
	"github.com/scimgate/scimgate/oauth"
)

const (
	demoLDIF     = "../../testdata/demo/directory.ldif"
	demoKey      = "../../testdata/oauth/demo-signing-key.jwk"
	demoJWKS     = "../../testdata/oauth/demo-jwks.json"
	serviceDN    = "cn=scimgate,ou=Services,dc=example,dc=com"
	servicePass  = "scimgate-demo-password"
	allScopes    = "scim:read scim:write sync:profile:read connector:read connector:write"
	scimJSONType = "application/scim+json"
)

// testEnv is a running scimgate in front of a private slapd.
type testEnv struct {
	t      testing.TB
	ldap   *slapd.Server
	cfg    *Config
	base   string // SCIM base URL
	root   string // http://host:port
	logs   *syncBuffer
	tokens map[string]string
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	discard bool
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.discard && !bytes.Contains(p, []byte(`"level":"warn"`)) && !bytes.Contains(p, []byte(`"level":"error"`)) {
		return len(p), nil
	}
	return s.b.Write(p)
}

// Discard drops what is written from now on but warnings and errors:
// benchmarks still format every log line, as production does, without
// keeping millions of them.
func (s *syncBuffer) Discard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.discard = true
	s.b = bytes.Buffer{}
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t testing.TB) string {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		// The system may hand a port just closed out again: never give one
		// out twice in this process, where two servers would then collide.
		if _, taken := handedOut.LoadOrStore(addr, true); !taken {
			return addr
		}
	}
}

// handedOut holds the addresses freeAddr has given out.
var handedOut sync.Map

// startEnv starts slapd with the demo directory (plus extra seed files)
// and the server, both stopped when the test ends.
func startEnv(t testing.TB, extraSeeds ...string) *testEnv {
	t.Helper()
	return startEnvWith(t, nil, extraSeeds...)
}

// startEnvWith is startEnv with a hook that adjusts the configuration
// before the server starts (limits, metrics listener, mapping mode...).
func startEnvWith(t testing.TB, adjust func(*Config), extraSeeds ...string) *testEnv {
	t.Helper()
	return startEnvOn(t, slapd.Options{}, adjust, extraSeeds...)
}

// startEnvOn is startEnvWith with slapd options of its own (a longer
// start for a big directory).
func startEnvOn(t testing.TB, o slapd.Options, adjust func(*Config), extraSeeds ...string) *testEnv {
	t.Helper()
	o.SeedLDIF = append([]string{demoLDIF}, extraSeeds...)
	s := slapdtest.StartT(t, o)
	e := startGateway(t, s.URL, s.Suffix, adjust)
	e.ldap = s
	return e
}

// startGateway starts the server in front of the directory at ldapURL,
// bound as the demo service account, until the test ends.
func startGateway(t testing.TB, ldapURL, suffix string, adjust func(*Config)) *testEnv {
	t.Helper()
	addr := freeAddr(t)
	cfg := &Config{
		Listen:    addr,
		ServiceDN: serviceDN,
		OAuth:     oauth.Config{Issuer: oauth.DemoIssuer, Audiences: []string{oauth.DemoAudience}, JWKSFile: demoJWKS},
	}
	cfg.LDAP.URL, cfg.LDAP.BindDN, cfg.LDAP.BindPassword, cfg.LDAP.Suffix = ldapURL, serviceDN, servicePass, suffix
	cfg.LDAP.RefreshInterval = 200 * time.Millisecond
	cfg.Log.Level = "debug"
	if adjust != nil {
		adjust(cfg)
	}
	cfg.defaults()
	if errs := cfg.validate(); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, logs, ready) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v\n%s", err, logs.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("server did not start in 20s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server stopped with %v", err)
			}
		case <-time.After(25 * time.Second):
			t.Error("server did not stop")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", tail(logs.String(), 6000))
		}
	})
	e := &testEnv{t: t, cfg: cfg, base: "http://" + addr + "/scim/v2", root: "http://" + addr, logs: logs, tokens: map[string]string{}}
	e.tokens["connector"] = e.token("sync-connector", allScopes)
	e.tokens["reporting"] = e.token("reporting", "scim:read")
	e.tokens["none"] = e.token("nobody", "")
	e.waitReady()
	return e
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func (e *testEnv) token(sub, scopes string) string {
	e.t.Helper()
	return e.tokenFrom(sub, sub, scopes)
}

// tokenFrom signs a token for subject sub issued to client: a user's
// token when they differ, the client's own token (client credentials,
// RFC 9068 section 2.2) when they are the same.
func (e *testEnv) tokenFrom(sub, client, scopes string) string {
	e.t.Helper()
	k, err := oauth.LoadSigningKey(demoKey)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := oauth.SignDevToken(k, oauth.DevClaims{Subject: sub, ClientID: client, Scopes: strings.Fields(scopes), TTL: time.Hour})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *testEnv) waitReady() {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(e.root + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatal("server not ready in 10s")
}

// response is a decoded HTTP answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request with the named token ("" = no Authorization).
func (e *testEnv) do(method, path, tok string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = e.base + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", scimJSONType)
	}
	if tok != "" {
		t, ok := e.tokens[tok]
		if !ok {
			t = tok
		}
		req.Header.Set("Authorization", "Bearer "+t)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(data)}
	if len(data) > 0 {
		_ = json.Unmarshal(data, &r.body)
	}
	return r
}

// must asserts the status and returns the response.
func (e *testEnv) must(status int, method, path, tok string, body any, headers ...string) response {
	e.t.Helper()
	r := e.do(method, path, tok, body, headers...)
	if r.status != status {
		e.t.Fatalf("%s %s: status %d, want %d\n%s", method, path, r.status, status, r.raw)
	}
	return r
}

// str digs a string out of a decoded body by a dotted path; [n] indexes lists.
func str(v any, path string) string {
	cur := v
	for _, part := range strings.Split(path, ".") {
		idx := -1
		if i := strings.Index(part, "["); i >= 0 {
			n := 0
			for _, c := range part[i+1 : len(part)-1] {
				n = n*10 + int(c-'0')
			}
			idx, part = n, part[:i]
		}
		if part != "" {
			m, ok := cur.(map[string]any)
			if !ok {
				return ""
			}
			cur = m[part]
		}
		if idx >= 0 {
			l, ok := cur.([]any)
			if !ok || idx >= len(l) {
				return ""
			}
			cur = l[idx]
		}
	}
	switch t := cur.(type) {
	case string:
		return t
	case nil:
		return ""
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

func num(v any, path string) int {
	s := str(v, path)
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
