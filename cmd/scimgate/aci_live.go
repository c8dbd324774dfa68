package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimgate/scimgate/aci/acieval"
	"github.com/scimgate/scimgate/ldapbackend/acisource"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
)

// liveFlags are `aci eval`'s options for asking a live directory.
type liveFlags struct {
	url, bindDN, passwordFile, base string
	startTLS                        bool
	caFile                          string
}

func (l *liveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.url, "ldap-url", "", "evaluate against a live directory (ldap:// or ldaps://) instead of an LDIF file")
	fs.StringVar(&l.bindDN, "ldap-bind-dn", "", "with --ldap-url: DN to bind as (it must be able to read the aci values, entries and groups)")
	fs.StringVar(&l.passwordFile, "ldap-password-file", "", "with --ldap-url: file holding the bind password (or env SCIMGATE_LDAP_BIND_PASSWORD)")
	fs.StringVar(&l.base, "ldap-base", "", "with --ldap-url: the suffix, where ACIs are read from")
	fs.BoolVar(&l.startTLS, "ldap-start-tls", false, "with --ldap-url: use StartTLS")
	fs.StringVar(&l.caFile, "ldap-ca-file", "", "with --ldap-url: CA certificates to trust")
}

// env loads the directory's ACIs, fails if any is invalid (the server
// would be in lockdown), and evaluates against live entries and groups.
func (l *liveFlags) env(ctx context.Context, globals []string) (*acieval.Env, func(), error) {
	cfg := ldapconn.LDAPConfig{URL: l.url, BindDN: l.bindDN, BindPasswordFile: l.passwordFile,
		Suffix: l.base, StartTLS: l.startTLS, CAFile: l.caFile, GlobalACIs: globals}
	if cfg.BindPasswordFile == "" {
		cfg.BindPassword = os.Getenv("SCIMGATE_LDAP_BIND_PASSWORD")
	}
	cfg.Defaults()
	if errs := cfg.Validate("ldap"); len(errs) > 0 {
		return nil, nil, fmt.Errorf("%v", errs)
	}
	log := zerolog.Nop()
	pool, err := ldapconn.NewPool(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ready(rctx); err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("cannot reach %s: %v", l.url, err)
	}
	store := acisource.NewACIStore(pool, cfg, log)
	if err := store.Load(ctx); err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("loading ACIs: %v", err)
	}
	set, err := store.Current()
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	dir := acisource.NewDirectory(pool, cfg, log)
	return &acieval.Env{Set: set, Dir: dir.WithContext(ctx), Now: time.Now()}, func() { pool.Close() }, nil
}
