package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimgate/scimgate/ldapbackend"
	"github.com/scimgate/scimgate/ldapbackend/acisource"
	"github.com/scimgate/scimgate/ldapbackend/identity"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/metrics"
	"github.com/scimgate/scimgate/oauth"
	"github.com/scimgate/scimgate/scim"
	"github.com/scimgate/scimgate/scim/resource"
)

func serveCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "scimgate.yaml", "configuration file")
	check := fs.Bool("check", false, "validate the configuration and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "scimgate: %v\n", err)
		return 2
	}
	if errs := cfg.validate(); len(errs) > 0 {
		fmt.Fprintf(stderr, "scimgate: %s: %d problem(s):\n", *cfgPath, len(errs))
		for _, e := range errs {
			fmt.Fprintf(stderr, "  %v\n", e)
		}
		return 2
	}
	if *check {
		fmt.Fprintf(stdout, "%s: configuration OK\n", *cfgPath)
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, stderr, nil); err != nil {
		fmt.Fprintf(stderr, "scimgate: %v\n", err)
		return 1
	}
	return 0
}

// withDeadline gives each request a context deadline: every LDAP
// operation honours it, and one that runs out answers 503. Unlike
// http.TimeoutHandler it neither buffers the response nor adds a goroutine.
func withDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// identityMapping maps a token's subject claim to a directory entry. A
// subject that maps to no single entry is refused with 401 when required,
// and otherwise runs as the service account; one whose entry is
// deactivated is refused in both modes, so that a deprovisioned user's
// token gets no rights at all, the service account's included.
func identityMapping(m *identity.Mapper, required bool, serviceClients []string, log zerolog.Logger) func(context.Context, *oauth.Principal) (string, error) {
	return func(ctx context.Context, p *oauth.Principal) (string, error) {
		value := p.Subject
		if m.Claim() != "sub" {
			v, _ := p.Claims[m.Claim()].(string)
			value = v
		}
		dn, err := m.Map(ctx, value)
		switch {
		case err == nil:
			return dn, nil
		case errors.Is(err, identity.ErrInactiveIdentity):
			return "", &resource.Error{Status: http.StatusUnauthorized, Detail: "the token's subject is a deactivated directory user"}
		case errors.Is(err, identity.ErrNoIdentity):
			if !required {
				if clientsOwnToken(p, serviceClients) {
					return "", nil
				}
				// Say why, for the operator whose identity provider gives
				// its clients' own tokens another sub (Keycloak, Auth0).
				log.Info().Str("client_id", p.ClientID).Str("sub", p.Subject).
					Msg("a token whose subject maps to no entry is refused: it is not its client's own (sub = client id), nor from a client in identity.service_clients")
			}
			return "", &resource.Error{Status: http.StatusUnauthorized, Detail: "the token's subject is not a known directory user"}
		}
		return "", err
	}
}

// clientsOwnToken reports whether, in the optional mode, a token whose
// subject maps to no entry may run as the service account: one a client
// holds for itself (its sub is its client id, as RFC 9068 section 2.2 has
// it for the client credentials grant), or one from a client the
// configuration lists. A user's token is not one: a user deleted from the
// directory must not go on as the service account.
func clientsOwnToken(p *oauth.Principal, serviceClients []string) bool {
	if p.ClientID == "" {
		return false
	}
	if slices.Contains(serviceClients, p.ClientID) {
		return true
	}
	sub, _ := p.Claims["sub"].(string)
	return sub == p.ClientID
}

// newIdentityMapper builds the mapper of the mapped identity modes: it
// reads SCIM active where the User mapping keeps it, and keeps mappings
// while the store's change marker holds, if that marker follows the
// search base.
func newIdentityMapper(cfg *Config, pool *ldapconn.Cluster, store *acisource.ACIStore, bindings []ldapbackend.TypeBinding) (*identity.Mapper, error) {
	opt := identity.Options{}
	for _, b := range bindings {
		if b.Mapping.Name == "User" {
			opt.ActiveAttr = identity.ActiveAttr(b.Mapping)
		}
	}
	if store.Covers(cfg.Identity.SearchBase) {
		opt.ChangeMarker = store.ChangeMarker
	}
	return identity.NewMapper(pool, cfg.Identity, opt)
}

func newLogger(cfg LogConfig, w io.Writer) zerolog.Logger {
	if cfg.Format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	lvl, err := zerolog.ParseLevel(cfg.Level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// defaultGCPercent is the garbage collector's target (GOGC) when the
// environment sets none. The gateway's live heap is small (its caches,
// tens of MB), while a list page allocates much (the LDAP client decodes
// every value it reads): at Go's default of 100 the collector takes about
// a third of the CPU of a page; at 400 a page costs a third less
// (BenchmarkListScale), for a heap that may grow to five times the live
// one. GOGC, or GOMEMLIMIT, set otherwise.
const defaultGCPercent = 400

// serve runs the server until ctx ends, then stops gracefully. ready, when
// set, receives the listening address once the server accepts requests.
func serve(ctx context.Context, cfg *Config, logOut io.Writer, ready chan<- string) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	log := newLogger(cfg.Log, logOut)
	m := metrics.New()
	validator, err := oauth.New(ctx, cfg.OAuth, log.With().Str("component", "oauth").Logger())
	if err != nil {
		return fmt.Errorf("oauth: %v", err)
	}
	pool, err := ldapconn.NewCluster(ctx, cfg.LDAP, log.With().Str("component", "ldap").Logger())
	if err != nil {
		return fmt.Errorf("ldap: %v", err)
	}
	defer pool.Close()
	m.PoolStats(
		func() float64 { return float64(pool.Stats().Open) },
		func() float64 { return float64(pool.Stats().Idle) },
		func() float64 { return float64(pool.Stats().InUse) },
	)
	m.Gauge("scimgate_ldap_servers_up", "Directory servers that answered their last check (ldap.servers).", func() float64 {
		n := 0
		for _, s := range pool.ServerStates() {
			if s.Up {
				n++
			}
		}
		return float64(n)
	})
	dir := acisource.NewDirectory(pool, cfg.LDAP, log)
	store := acisource.NewACIStore(pool, cfg.LDAP, log.With().Str("component", "aci").Logger())
	if err := store.Load(ctx); err != nil {
		log.Warn().Err(err).Msg("ACIs not loaded yet; SCIM answers 503 until they are")
	}
	go store.Run(ctx)

	bindings, err := cfg.bindings()
	if err != nil {
		return err
	}
	resourceTypes := types(bindings)
	var mapper *identity.Mapper
	var onWrite func()
	if cfg.Mapping != "disabled" {
		if mapper, err = newIdentityMapper(cfg, pool, store, bindings); err != nil {
			return err
		}
		// A write through the gateway (a deactivation, say) holds for the
		// mapping from the next request on.
		onWrite = mapper.Forget
	}
	writeToken := ""
	if cfg.LDAP.Is389() {
		writeToken = writeTokenOn389(ctx, pool, log)
	}
	backend, err := ldapbackend.New(ldapbackend.Options{
		Conn: pool, ACIs: store, Directory: dir, ServiceDN: cfg.ServiceDN, Suffix: cfg.LDAP.Suffix,
		Types:           bindings,
		DefaultPageSize: cfg.Limits.DefaultPageSize, MaxPageSize: cfg.Limits.MaxPageSize, Lookthrough: cfg.Limits.Lookthrough,
		Log: log, OnDecisions: m.ACIDecisions, ObserveLDAP: m.LDAPOp, OnListPage: m.ListPage,
		ProxiedAuthz:    cfg.LDAP.ProxiedAuthz && cfg.Mapping != "disabled",
		RefCacheTTL:     cfg.LDAP.CacheTTL,
		AddAnyAttribute: cfg.AddAnyAttribute,
		VersionAttr:     cfg.LDAP.VersionAttribute,
		OnWrite:         onWrite,
		NoAssertion:     cfg.LDAP.Is389(),
		WriteToken:      writeToken,
		PlainSortKeys:   cfg.LDAP.Is389(),
		DNMatching:      !cfg.LDAP.Is389(),
		// 389 DS serves VLV only for searches an administrator indexed.
		VLV: !cfg.LDAP.Is389(),
		// 389 DS pages through a sorted list with Simple Paged Results.
		SortedPaging: cfg.LDAP.Is389(),
		// ... and cuts the listings it has a browsing index for.
		BrowsingIndexes: cfg.LDAP.BrowsingIndexes,
		Walks:           cfg.Limits.Walks,
		CursorWalks:     cfg.Limits.CursorWalks,
	})
	if err != nil {
		return err
	}
	if cfg.LDAP.BrowsingIndexes {
		go watchBrowsingIndexes(ctx, backend, log)
	}
	srv := scim.New(scim.Config{
		BaseURL: cfg.BaseURL, BasePath: cfg.BasePath, MaxBodyBytes: cfg.Limits.MaxBodyBytes,
		MaxFilterBytes: cfg.Limits.MaxFilterBytes, MaxPageSize: cfg.Limits.MaxPageSize, DefaultPageSize: cfg.Limits.DefaultPageSize, Mode: cfg.Mapping,
	}, backend, resourceTypes, log)
	auth := oauth.Middleware(validator, oauth.MiddlewareOptions{Realm: "scimgate", Logger: log.With().Str("component", "oauth").Logger(), OnFailure: m.TokenFailure})
	m.Gauge("scimgate_list_walks", "Walks through listings kept for their next page: by startIndex, sorted by the directory (limits.walks); by cursor, in its own order (limits.cursor_walks); each on an LDAP connection of its own.", func() float64 {
		return float64(backend.WalksHeld())
	})
	m.Gauge("scimgate_aci_lockdown", "1 while the directory holds an invalid ACI and SCIM answers 503.", func() float64 {
		if _, err := store.Current(); err != nil {
			return 1
		}
		return 0
	})

	var mapUser func(context.Context, *oauth.Principal) (string, error)
	if mapper != nil {
		mapUser = identityMapping(mapper, cfg.Mapping == "required", cfg.Identity.ServiceClients, log.With().Str("component", "identity").Logger())
		srv.MeHandler = srv.Me(scim.UserTypeIn(resourceTypes), backend)
	}

	mux := http.NewServeMux()
	scimHandler := withDeadline(cfg.Limits.RequestTimeout, srv.Handler(auth, mapUser))
	mux.Handle(cfg.BasePath+"/", m.Middleware(cfg.BasePath, cfg.Limits.MaxConcurrent)(scimHandler))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		rctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := pool.Ready(rctx); err != nil {
			http.Error(w, "directory unreachable", http.StatusServiceUnavailable)
			return
		}
		if _, err := store.Current(); err != nil {
			// The details (entries, positions) are in the log and in the
			// authenticated SCIM 503s, not on this open endpoint.
			http.Error(w, "ACIs not loaded or in lockdown; see the server log", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %v", cfg.Listen, err)
	}
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      cfg.Limits.RequestTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	if cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("tls: %v", err)
		}
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	var ms *http.Server
	if cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("cannot listen on %s for metrics: %v", cfg.MetricsListen, err)
		}
		mmux := http.NewServeMux()
		mmux.Handle("/metrics", m.Handler())
		ms = &http.Server{Handler: mmux, ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- ms.Serve(mln) }()
		log.Info().Str("listen", mln.Addr().String()).Msg("metrics serving")
	}
	log.Info().Str("listen", ln.Addr().String()).Str("base_url", cfg.BaseURL).Msg("scimgate serving")
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Requests in flight may run up to the request timeout: wait for them
	// that long (and a little more) before cutting what is left.
	log.Info().Msg("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Limits.RequestTimeout+5*time.Second)
	defer cancel()
	if ms != nil {
		_ = ms.Shutdown(sctx)
	}
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn().Err(err).Msg("requests still running at the shutdown deadline were cut")
		_ = hs.Close()
	}
	log.Info().Msg("stopped")
	return nil
}

// writeTokenOn389 is the write token attribute (ldapbackend.Options.WriteToken)
// that makes If-Match atomic among gateways on 389 DS, which has no Assertion
// control: scimVersion, if the directory's schema has it (the project's
// 99scimgate.ldif); "" with a warning if it does not. A directory that cannot
// be asked now is taken to have the project's schema.
func writeTokenOn389(ctx context.Context, pool *ldapconn.Cluster, log zerolog.Logger) string {
	const attr = "scimVersion"
	ok, err := pool.HasAttributeType(ctx, attr)
	switch {
	case err != nil:
		log.Info().Err(err).Msg("could not read the directory's schema; assuming it has scimVersion (testdata/schema/389/99scimgate.ldif)")
	case !ok:
		log.Warn().Msg("the directory's schema lacks scimVersion (testdata/schema/389/99scimgate.ldif): If-Match is checked just before each write, not atomically")
		return ""
	}
	return attr
}
