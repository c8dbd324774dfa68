package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/scimgate/scimgate/ldapbackend"
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
