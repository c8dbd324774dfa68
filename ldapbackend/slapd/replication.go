package slapd

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Providers is a multi-provider replica set started by StartProviders: servers that replicate
// every write to each other, in the order of their ServerIDs (1, 2, ...).
type Providers []*Server

// StartProviders starts n servers (at least 2) that replicate every write to each other
// (OpenLDAP multi-provider replication): server i gets ServerID i+1 and the URLs of the others
// as Peers, each on a loopback address found free. o applies to every server except that:
//   - o.Addr, o.ServerID and o.Peers must be empty;
//   - a random AdminPassword, when o has none, is shared by all;
//   - o.SeedLDIF is loaded into the first server only; every other starts from a SaveLDIF of
//     the first, so that entries have the same entryUUID (the SCIM id) and entryCSN on every
//     server and no server begins with a full refresh from another;
//   - a given o.Dir is the parent of the servers' directories, provider1, provider2 and so
//     on. Their databases belong together: if the first has none, none may have one (set
//     Fresh to start again).
//
// ctx bounds the whole start-up; each server also has o.StartTimeout. On error nothing is
// left running.
func StartProviders(ctx context.Context, o Options, n int) (Providers, error) {
	return startProvidersAt(ctx, o, n, nil)
}

// StartProvidersAt is StartProviders on the given host:port addresses, one
// server each (the demo's fixed ports), tried once.
func StartProvidersAt(ctx context.Context, o Options, addrs []string) (Providers, error) {
	return startProvidersAt(ctx, o, len(addrs), addrs)
}

func startProvidersAt(ctx context.Context, o Options, n int, addrs []string) (Providers, error) {
	switch {
	case n < 2:
		return nil, fmt.Errorf("slapd: StartProviders: %d servers, want at least 2", n)
	case n > maxPeers+1:
		return nil, fmt.Errorf("slapd: StartProviders: %d servers, want at most %d", n, maxPeers+1)
	case o.Addr != "" || o.ServerID != 0 || len(o.Peers) > 0:
		return nil, errors.New("slapd: StartProviders: Addr, ServerID and Peers are set for each server and must be empty")
	}
	if o.AdminPassword == "" {
		o.AdminPassword = randomPassword()
	}
	dirs := make([]string, n)
	if o.Dir != "" {
		for i := range dirs {
			dirs[i] = filepath.Join(o.Dir, fmt.Sprintf("provider%d", i+1))
		}
		if !o.Fresh && !hasDatabase(dirs[0]) {
			for _, d := range dirs[1:] {
				if hasDatabase(d) {
					return nil, fmt.Errorf("slapd: StartProviders: %s has a database but %s has none: set Fresh, or remove %s", d, dirs[0], d)
				}
			}
		}
	}
	// A port found free can be taken before slapd binds it, and every server's configuration
	// names the others' ports: on a clash, start all over with new ones.
	if addrs != nil {
		return startProviders(ctx, o, dirs, addrs)
	}
	for attempt := 0; ; attempt++ {
		addrs, err := freeAddrs(len(dirs))
		if err != nil {
			return nil, fmt.Errorf("slapd: StartProviders: %w", err)
		}
		ps, err := startProviders(ctx, o, dirs, addrs)
		if err == nil || !errors.Is(err, ErrAddrInUse) || attempt == 2 {
			return ps, err
		}
	}
}

func startProviders(ctx context.Context, o Options, dirs, addrs []string) (Providers, error) {
	var ps Providers
	fail := func(i int, err error) (Providers, error) {
		ps.Stop() // what did start; its own report is err
		return nil, fmt.Errorf("slapd: StartProviders: provider %d: %w", i+1, err)
	}
	var seed string // the first server's SaveLDIF, for the others
	defer func() {
		if seed != "" {
			os.Remove(seed)
		}
	}()
	for i, dir := range dirs {
		so := o
		so.Dir, so.Addr, so.ServerID = dir, addrs[i], i+1
		for j, a := range addrs {
			if j != i {
				so.Peers = append(so.Peers, "ldap://"+a)
			}
		}
		if i > 0 {
			so.SeedLDIF = []string{seed}
		}
		s, err := Start(ctx, so)
		if err != nil {
			return fail(i, err)
		}
		ps = append(ps, s)
		if i == 0 {
			seed = filepath.Join(s.Dir, "provider-seed.ldif")
			if err := s.SaveLDIF(ctx, seed); err != nil {
				return fail(i, err)
			}
		}
	}
	return ps, nil
}

// freeAddrs returns n different loopback addresses with ports that were free a moment ago.
func freeAddrs(n int) ([]string, error) {
	var addrs []string
	for range n {
		// Held open until all are found, so that no port is handed out twice.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

func hasDatabase(dir string) bool {
	return fileExists(filepath.Join(dir, "data", "data.mdb"))
}

// Stop stops every server, all at once, and reports every error. (One at a time, each but
// the last would wait for its consumer of a live peer: see Options.Peers.)
func (ps Providers) Stop() error {
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, s := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Stop()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Output returns the servers' Output, each headed by its URL.
func (ps Providers) Output() string {
	var b strings.Builder
	for i, s := range ps {
		fmt.Fprintf(&b, "--- provider %d (%s):\n%s\n", i+1, s.URL, strings.TrimSpace(s.Output()))
	}
	return b.String()
}

// WaitInSync waits until every server reports the same contextCSN, that is until each has
// received every write the others had made when it was called (and made since, if they stop
// writing). Servers that cannot be reached are asked again until ctx ends.
func (ps Providers) WaitInSync(ctx context.Context) error {
	conns := make([]*ldap.Conn, len(ps))
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	csns := make([][]string, len(ps))
	errs := make([]error, len(ps))
	for {
		for i, s := range ps {
			csns[i], errs[i] = nil, nil
			if conns[i] == nil {
				if conns[i], errs[i] = s.Conn(ctx); errs[i] != nil {
					continue
				}
			}
			conns[i].SetTimeout(timeoutFor(ctx))
			if csns[i], errs[i] = contextCSN(conns[i], s.Suffix); errs[i] != nil {
				conns[i].Close()
				conns[i] = nil
			}
		}
		if errors.Join(errs...) == nil && inSync(csns) {
			return nil
		}
		select {
		case <-ctx.Done():
			var b strings.Builder
			for i, s := range ps {
				if errs[i] != nil {
					fmt.Fprintf(&b, "\n%s: %v", s.URL, errs[i])
				} else {
					fmt.Fprintf(&b, "\n%s: %q", s.URL, csns[i])
				}
			}
			return fmt.Errorf("slapd: providers not in sync: %w; contextCSNs:%s", ctx.Err(), b.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func inSync(csns [][]string) bool {
	for _, c := range csns[1:] {
		if !slices.Equal(c, csns[0]) {
			return false
		}
	}
	return true
}

// ContextCSN returns the contextCSN values of the database in the order of their server
// IDs: for each ServerID that has written to it, the latest change sequence number this
// server has made or received.
// Servers of a replica set that return the same values hold the same data.
func (s *Server) ContextCSN(ctx context.Context) ([]string, error) {
	conn, err := s.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("slapd: contextCSN: %w", err)
	}
	defer conn.Close()
	conn.SetTimeout(timeoutFor(ctx))
	csns, err := contextCSN(conn, s.Suffix)
	if err != nil {
		return nil, fmt.Errorf("slapd: contextCSN: %w", err)
	}
	return csns, nil
}

// contextCSN reads the suffix entry's contextCSN, which syncprov reports from memory: it is
// current even between the checkpoints that write it to the database.
func contextCSN(conn *ldap.Conn, suffix string) ([]string, error) {
	res, err := conn.Search(&ldap.SearchRequest{BaseDN: suffix, Scope: ldap.ScopeBaseObject,
		DerefAliases: ldap.NeverDerefAliases, SizeLimit: 1, Filter: "(objectClass=*)", Attributes: []string{"contextCSN"}})
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var csns []string
	for _, e := range res.Entries {
		csns = append(csns, e.GetAttributeValues("contextCSN")...)
	}
	slices.SortFunc(csns, func(a, b string) int {
		return cmp.Or(strings.Compare(csnSID(a), csnSID(b)), strings.Compare(a, b))
	})
	return csns, nil
}

// csnSID returns the server ID field of a CSN (time#count#sid#mod), three hex digits.
func csnSID(csn string) string {
	if f := strings.Split(csn, "#"); len(f) == 4 {
		return f[2]
	}
	return ""
}

// SaveLDIF writes the database to path as LDIF, operational attributes included, with
// slapcat; slapd may be running. Loaded into another server with Options.SeedLDIF, the
// entries keep their entryUUID (the SCIM id) and entryCSN: that is how a second provider of
// a replica set starts with the first one's data (see StartProviders).
func (s *Server) SaveLDIF(ctx context.Context, path string) error {
	o := s.opts
	if err := checkPrograms(o.Slapcat); err != nil {
		return fmt.Errorf("slapd: SaveLDIF: %w", err)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, o.Slapcat, "-f", s.conf, "-b", o.Suffix, "-l", path, "-o", "ldif_wrap=no")
	cmd.Stdout, cmd.Stderr = &out, &out
	if o.Logger != nil {
		cmd.Stdout = io.MultiWriter(&out, o.Logger)
		cmd.Stderr = cmd.Stdout
	}
	if err := cmd.Run(); err != nil {
		os.Remove(path)
		return fmt.Errorf("slapd: SaveLDIF: slapcat: %v: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}
