package main

import (
	"context"
	"flag"
	"fmt"
	"io"

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
