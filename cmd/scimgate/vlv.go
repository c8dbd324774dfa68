package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
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
	backends := backendFlag{all: "userRoot"}
	fs.Var(&backends, "backend", "the 389 ldbm backend that holds the types' base DNs (default userRoot); Type=name, repeated, for a type held by another")
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
	for id := range backends.byType {
		if !slices.ContainsFunc(types, func(tb ldapbackend.TypeBinding) bool { return tb.Type.ID == id }) {
			fmt.Fprintf(stderr, "scimgate: --backend %s=...: the configuration has no resource type %s\n", id, id)
			return 2
		}
	}
	ixs := ldapbackend.BrowsingIndexes(types, backends.of)
	entries, err := ldapbackend.BrowsingIndexLDIF(cfg.ServiceDN, ixs)
	if err != nil {
		fmt.Fprintf(stderr, "scimgate: %v\n", err)
		return 2
	}
	fmt.Fprint(stdout, "# The browsing indexes of scimgate's listings (ldap.browsing_indexes: true), and\n"+
		"# the tasks that build them: add it all with ldapmodify -c -f as cn=Directory Manager\n"+
		"# (-c goes on past the indexes added by an earlier run; to change one, delete its\n"+
		"# vlvIndex and vlvSearch entries first).\n\n")
	fmt.Fprint(stdout, entries)
	fmt.Fprint(stdout, "# Builds them; the task entry's nsTaskExitCode says when it is done.\n")
	fmt.Fprint(stdout, strings.Join(ldapbackend.BrowsingIndexTaskLDIF(ixs, time.Now().UTC().Format("-20060102150405")), "\n"))
	return 0
}

// backendFlag is vlv-indexes' --backend: a backend name for every type,
// or Type=name for one.
type backendFlag struct {
	all    string
	byType map[string]string
}

func (f *backendFlag) String() string { return f.all }

func (f *backendFlag) Set(v string) error {
	typ, name, one := strings.Cut(v, "=")
	if !one {
		name = typ
	}
	if !backendName.MatchString(name) {
		return fmt.Errorf("%q: a 389 backend name (letters, digits, - and _)", name)
	}
	if !one {
		f.all = name
		return nil
	}
	if f.byType == nil {
		f.byType = map[string]string{}
	}
	f.byType[typ] = name
	return nil
}

func (f *backendFlag) of(typeID string) string {
	if b, ok := f.byType[typeID]; ok {
		return b
	}
	return f.all
}

// addBrowsingIndexes adds to srv, a 389 DS instance of package dirsrv, the
// browsing indexes of cfg's listings, and builds them (make run-389, the
// tests).
func addBrowsingIndexes(ctx context.Context, srv *dirsrv.Server, cfg *Config) error {
	types, err := cfg.bindings()
	if err != nil {
		return err
	}
	ixs := ldapbackend.BrowsingIndexes(types, func(string) string { return dirsrv.BackendName })
	entries, err := ldapbackend.BrowsingIndexLDIF(cfg.ServiceDN, ixs)
	if err != nil {
		return err
	}
	if err := srv.LDAPModify(ctx, entries); err != nil {
		return fmt.Errorf("adding the browsing indexes: %v", err)
	}
	for _, task := range ldapbackend.BrowsingIndexTaskLDIF(ixs, "") {
		if err := srv.RunTask(ctx, task); err != nil {
			return err
		}
	}
	return nil
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
