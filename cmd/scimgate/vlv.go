package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/rs/zerolog"
	"github.com/scimgate/scimgate/ldapbackend"
	"github.com/scimgate/scimgate/ldapbackend/dirsrv"
)

// vlvIndexesCmd prints, as LDIF for ldapmodify, the 389 DS browsing
// indexes of the listings of the configured resource types: each type's
// whole listing in id order, as the gateway searches it. With them in the
// directory (and built), ldap.browsing_indexes: true lets 389 serve every
// page of such a listing, and its count, from the index.
func vlvIndexesCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vlv-indexes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "scimgate.yaml", "configuration file")
	backend := fs.String("backend", "userRoot", "the 389 ldbm backend that holds the suffix")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !backendName.MatchString(*backend) {
		fmt.Fprintf(stderr, "scimgate: --backend %q: a 389 backend name (letters, digits, - and _)\n", *backend)
		return 2
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "scimgate: %v\n", err)
		return 2
	}
	types, err := cfg.bindings()
	if err != nil {
		fmt.Fprintf(stderr, "scimgate: %s: %v\n", *cfgPath, err)
		return 2
	}
	ixs := ldapbackend.BrowsingIndexes(types)
	fmt.Fprint(stdout, "# The browsing indexes of scimgate's listings (ldap.browsing_indexes: true), and\n"+
		"# the task that builds them: add it all with ldapmodify -f as cn=Directory Manager.\n\n")
	fmt.Fprint(stdout, ldapbackend.BrowsingIndexLDIF(*backend, cfg.ServiceDN, ixs))
	fmt.Fprint(stdout, "# Builds them; the task entry's nsTaskExitCode says when it is done.\n")
	fmt.Fprint(stdout, ldapbackend.BrowsingIndexTaskLDIF(*backend, ixs))
	return 0
}

// addBrowsingIndexes adds to srv, a 389 DS instance of package dirsrv, the
// browsing indexes of cfg's listings, and builds them (make run-389, the
// tests).
func addBrowsingIndexes(ctx context.Context, srv *dirsrv.Server, cfg *Config) error {
	types, err := cfg.bindings()
	if err != nil {
		return err
	}
	ixs := ldapbackend.BrowsingIndexes(types)
	if err := srv.LDAPModify(ctx, ldapbackend.BrowsingIndexLDIF(dirsrv.BackendName, cfg.ServiceDN, ixs)); err != nil {
		return fmt.Errorf("adding the browsing indexes: %v", err)
	}
	return srv.RunTask(ctx, ldapbackend.BrowsingIndexTaskLDIF(dirsrv.BackendName, ixs))
}

// backendName is what a 389 ldbm backend may be called.
var backendName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// browsingCheckInterval is how often the gateway looks again for the
// browsing indexes of its listings (ldap.browsing_indexes).
const browsingCheckInterval = time.Minute

// watchBrowsingIndexes checks at once, then every browsingCheckInterval,
// which listings 389 has a built browsing index for, and logs each one
// without (a listing whose index is added later uses it from the next
// check).
func watchBrowsingIndexes(ctx context.Context, backend *ldapbackend.Backend, log zerolog.Logger) {
	last := ""
	for {
		problems := backend.CheckBrowsingIndexes(ctx)
		if text := fmt.Sprint(problems); text != last {
			last = text
			for _, p := range problems {
				log.Warn().Err(p).Msg("a listing has no browsing index: 389 would sort every match for each page, so it is paged by walks")
			}
			if len(problems) == 0 {
				log.Info().Msg("every listing has its browsing index")
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(browsingCheckInterval):
		}
	}
}
