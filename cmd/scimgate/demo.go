package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/scimgate/scimgate/ldapbackend/dirsrv"
	"github.com/scimgate/scimgate/ldapbackend/slapd"
	"github.com/scimgate/scimgate/oauth"
)

// demoCmd is `make run`: a private slapd seeded with the demo directory,
// and scimgate in front of it, in the foreground until interrupted. It
// writes .run/tokens.env with ready-to-use tokens and prints examples.
func demoCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "testdata/demo/scimgate.yaml", "demo configuration")
	runDir := fs.String("run-dir", ".run", "where the directory's files and tokens.env go")
	httpPort := fs.String("port", envOr("SCIMGATE_PORT", "8080"), "SCIM port on 127.0.0.1 (env SCIMGATE_PORT)")
	ldapPort := fs.String("ldap-port", envOr("SCIMGATE_LDAP_PORT", "3389"), "LDAP port on 127.0.0.1 (env SCIMGATE_LDAP_PORT)")
	metricsPort := fs.String("metrics-port", envOr("SCIMGATE_METRICS_PORT", "9090"), "metrics port on 127.0.0.1 (env SCIMGATE_METRICS_PORT)")
	directory := fs.String("directory", "openldap", "the directory to run: openldap (slapd) or 389 (389 Directory Server)")
	ha := fs.Bool("ha", false, "two slapd providers replicating both ways and two gateways in front of them (make run-ha)")
	httpPort2 := fs.String("port-2", envOr("SCIMGATE_PORT_2", "8081"), "with -ha: the second gateway's SCIM port (env SCIMGATE_PORT_2)")
	ldapPort2 := fs.String("ldap-port-2", envOr("SCIMGATE_LDAP_PORT_2", "3390"), "with -ha: the second provider's LDAP port (env SCIMGATE_LDAP_PORT_2)")
	metricsPort2 := fs.String("metrics-port-2", envOr("SCIMGATE_METRICS_PORT_2", "9091"), "with -ha: the second gateway's metrics port (env SCIMGATE_METRICS_PORT_2)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *directory != "openldap" && *directory != "389" {
		fmt.Fprintf(stderr, "scimgate demo: -directory %q: openldap or 389\n", *directory)
		return 2
	}
	if *ha && *directory != "openldap" {
		fmt.Fprintln(stderr, "scimgate demo: -ha runs OpenLDAP providers only")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	run := func() error {
		if *ha {
			return runDemoHA(ctx, *cfgPath, *runDir, [2]string{*httpPort, *httpPort2}, [2]string{*ldapPort, *ldapPort2},
				[2]string{*metricsPort, *metricsPort2}, stdout, stderr)
		}
		return runDemo(ctx, *cfgPath, *runDir, *directory, *httpPort, *ldapPort, *metricsPort, stdout, stderr)
	}
	if err := run(); err != nil {
		fmt.Fprintf(stderr, "scimgate demo: %v\n", err)
		return 1
	}
	return 0
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// portFree says clearly when a port is taken, before anything starts.
func portFree(port, what, env string) error {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return fmt.Errorf("port %s for %s is in use on 127.0.0.1; choose another with %s=PORT", port, what, env)
	}
	return ln.Close()
}

// demoDirectory is the private directory server a demo runs.
type demoDirectory struct {
	url, suffix, adminDN, adminPassword string
	stop                                func() error
	// browse, on 389 DS, adds and builds the browsing indexes of cfg's
	// listings (scimgate vlv-indexes); nil elsewhere.
	browse func(ctx context.Context, cfg *Config) error
}

// startDemoDirectory starts slapd, or 389 DS for directory "389", on
// 127.0.0.1:port with the demo data, afresh in dir.
func startDemoDirectory(ctx context.Context, directory, dir, port string, cfg *Config, stderr io.Writer) (*demoDirectory, error) {
	addr := "127.0.0.1:" + port
	if directory == "389" {
		fmt.Fprintf(stderr, "starting 389 Directory Server on %s (data in %s)\n", addr, dir)
		if err := os.RemoveAll(dir); err != nil { // an earlier run's instance would be started again as it was
			return nil, err
		}
		srv, err := dirsrv.Start(ctx, dirsrv.Options{Dir: dir, Addr: addr, Suffix: cfg.LDAP.Suffix,
			SeedLDIF: []string{"testdata/demo/directory-389.ldif"}})
		if err != nil {
			return nil, fmt.Errorf("389 Directory Server: %v", err)
		}
		browse := func(ctx context.Context, cfg *Config) error { return addBrowsingIndexes(ctx, srv, cfg) }
		return &demoDirectory{srv.URL, srv.Suffix, srv.AdminDN, srv.AdminPassword, srv.Stop, browse}, nil
	}
	fmt.Fprintf(stderr, "starting slapd on %s (data in %s)\n", addr, dir)
	srv, err := slapd.Start(ctx, slapd.Options{
		Dir: dir, Fresh: true, Addr: addr, Suffix: cfg.LDAP.Suffix,
		ServiceDN: cfg.ServiceDN, SeedLDIF: []string{"testdata/demo/directory.ldif"},
	})
	if err != nil {
		return nil, fmt.Errorf("slapd: %v", err)
	}
	return &demoDirectory{srv.URL, srv.Suffix, srv.AdminDN, srv.AdminPassword, srv.Stop, nil}, nil
}

// portsFree checks a demo's SCIM, metrics and LDAP ports; suffix ends
// the names of their environment variables ("_2" for the second).
func portsFree(httpPort, metricsPort, ldapPort, suffix string) error {
	for _, p := range [...]struct{ port, what, env string }{
		{httpPort, "SCIM", "SCIMGATE_PORT"},
		{metricsPort, "metrics", "SCIMGATE_METRICS_PORT"},
		{ldapPort, "LDAP", "SCIMGATE_LDAP_PORT"},
	} {
		if err := portFree(p.port, p.what, p.env+suffix); err != nil {
			return err
		}
	}
	return nil
}

// stopDirectory stops a demo's directory and says how that went.
func stopDirectory(stop func() error, stderr io.Writer) {
	if err := stop(); err != nil {
		fmt.Fprintf(stderr, "stopping the directory: %v\n", err)
	} else {
		fmt.Fprintln(stderr, "directory stopped")
	}
}

// demoListen puts a demo gateway on 127.0.0.1 ports, with its base URL
// derived from them.
func demoListen(cfg *Config, httpPort, metricsPort string) {
	cfg.Listen = "127.0.0.1:" + httpPort
	cfg.MetricsListen = "127.0.0.1:" + metricsPort
	cfg.BaseURL = ""
}

func runDemo(ctx context.Context, cfgPath, runDir, directory, httpPort, ldapPort, metricsPort string, stdout, stderr io.Writer) error {
	if err := portsFree(httpPort, metricsPort, ldapPort, ""); err != nil {
		return err
	}
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return err
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	srv, err := startDemoDirectory(ctx, directory, filepath.Join(runDir, "ldap"), ldapPort, cfg, stderr)
	if err != nil {
		return err
	}
	defer stopDirectory(srv.stop, stderr)
	demoListen(cfg, httpPort, metricsPort)
	cfg.LDAP.URL = srv.url
	if directory == "389" {
		// 389 checks its own aci attribute and rejects oauthscope: scimgate's
		// ACIs live in scimgateAci; versions come from entryusn.
		cfg.LDAP.Directory, cfg.LDAP.ACIAttribute, cfg.LDAP.VersionAttribute = "389", "scimgateAci", "entryusn"
		// Every listing of a whole type is cut by a browsing index.
		cfg.LDAP.BrowsingIndexes = true
	}
	cfg.defaults()
	if srv.browse != nil {
		if err := srv.browse(ctx, cfg); err != nil {
			return err
		}
	}
	if errs := cfg.validate(); len(errs) > 0 {
		return errors.Join(errs...)
	}
	env, err := demoTokens(cfg, srv.url, srv.suffix, srv.adminDN, srv.adminPassword)
	if err != nil {
		return err
	}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, stderr, ready) }()
	select {
	case <-ready:
	case err := <-done:
		return err
	}
	tokensFile := filepath.Join(runDir, "tokens.env")
	if err := writeFileAtomic(tokensFile, []byte(shellLines(env)), 0o600); err != nil {
		return err
	}
	fmt.Fprint(stdout, demoBanner(tokensFile, env))
	return <-done
}

// demoTokens signs the demo's tokens and lists them with the URLs and
// the directory's admin credentials, as tokens.env has them.
func demoTokens(cfg *Config, ldapURL, suffix, adminDN, adminPassword string) ([]string, error) {
	key, err := oauth.LoadSigningKey(defaultDemoKey)
	if err != nil {
		return nil, err
	}
	sign := func(sub, scopes string) (string, error) {
		return oauth.SignDevToken(key, oauth.DevClaims{Subject: sub, ClientID: sub, Scopes: strings.Fields(scopes), TTL: 12 * time.Hour})
	}
	connector, err := sign("sync-connector", allDemoScopes)
	if err != nil {
		return nil, err
	}
	reporting, _ := sign("reporting", "scim:read")
	none, _ := sign("no-scopes", "")
	return []string{
		"SCIM_URL=" + cfg.BaseURL,
		"TOKEN_CONNECTOR=" + connector,
		"TOKEN_REPORTING=" + reporting,
		"TOKEN_NONE=" + none,
		"LDAP_URL=" + ldapURL,
		"LDAP_BASE=" + suffix,
		"LDAP_ADMIN_DN=" + adminDN,
		"LDAP_ADMIN_PASSWORD=" + adminPassword,
		"METRICS_URL=http://" + cfg.MetricsListen + "/metrics",
		"ACI_ATTR=" + cfg.LDAP.ACIAttribute,
	}, nil
}

const allDemoScopes = "scim:read scim:write sync:profile:read connector:read connector:write"

// shellLines renders NAME='value' lines a shell can source.
func shellLines(env []string) string {
	var b strings.Builder
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "%s='%s'\n", k, strings.ReplaceAll(v, "'", `'\''`))
	}
	return b.String()
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func demoBanner(tokensFile string, env []string) string {
	var b strings.Builder
	b.WriteString("\nscimgate demo is running. Tokens and URLs (also in " + tokensFile + "):\n\n")
	for _, kv := range env {
		fmt.Fprintf(&b, "  %s\n", kv)
	}
	b.WriteString(`
Try it (in another shell):

  . ` + tokensFile + `
  # list users (the connector holds all five scopes)
  curl -s -H "Authorization: Bearer $TOKEN_CONNECTOR" "$SCIM_URL/Users?count=2"
  # create a user
  curl -s -H "Authorization: Bearer $TOKEN_CONNECTOR" -H 'Content-Type: application/scim+json' \
    -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"jdoe","name":{"givenName":"Jane","familyName":"Doe"}}' \
    "$SCIM_URL/Users"
  # deactivate it (use the id the create returned)
  curl -s -X PATCH -H "Authorization: Bearer $TOKEN_CONNECTOR" -H 'Content-Type: application/scim+json' \
    -d '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}' \
    "$SCIM_URL/Users/ID"
  # the reporting token (scim:read only) may read but not write: 403
  curl -s -X DELETE -H "Authorization: Bearer $TOKEN_REPORTING" "$SCIM_URL/Users/ID"
  # a token without scopes sees nothing
  curl -s -H "Authorization: Bearer $TOKEN_NONE" "$SCIM_URL/Users"

Press Ctrl-C to stop the server and the directory.
`)
	return b.String()
}
