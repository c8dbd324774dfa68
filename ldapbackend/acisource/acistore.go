package acisource

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
)

// pageSize is the Simple Paged Results page size of the searches made here.
const pageSize = 500

// everyEntry is the filter of a base search that reads one entry.
var everyEntry = (&ldapfilter.Present{Attr: "objectClass"}).String()

// ErrACIsNotLoaded is returned by ACIStore.Current before the first load
// finished: the gateway cannot decide anything yet (503).
var ErrACIsNotLoaded = errors.New("ACIs not loaded yet")

// LockdownError is returned by ACIStore.Current while the directory holds an
// ACI that does not compile: the gateway then refuses every operation (fail
// closed) until the ACI is fixed. Its message names each bad value by entry,
// value number and position, e.g.
//
//	entry "ou=people,dc=example,dc=com", aci value 2: 1:47: unknown right "frob"
type LockdownError struct {
	// Problems lists every ACI that failed, in entry order.
	Problems []*aci.LoadError
}

func (e *LockdownError) Error() string {
	var lines []string
	for _, p := range e.Problems {
		lines = append(lines, loadErrorLines(p)...)
	}
	return strings.Join(lines, "; ")
}

// ACIStore holds the live ACI set: the aci values of the directory under the
// configured acl_bases plus the global ACIs, reloaded when the directory
// changes. Readers get an immutable *aci.Set; reloads swap it atomically.
type ACIStore struct {
	conn     ldapconn.PagedSearcher
	bases    []string
	suffix   string
	global   []string
	attr     string // the attribute holding the ACIs
	interval time.Duration
	log      zerolog.Logger

	state atomic.Pointer[aciState]
	// loadMu serialises loads, so that an older read never replaces a newer one.
	loadMu  sync.Mutex
	lastErr atomic.Pointer[error] // the error of the last load or check; nil when it succeeded
	version atomic.Uint64

	hooksMu sync.Mutex
	hooks   []func()

	// Run's own state: polls counts checks, and csnUnreliable is set once a
	// full reload found a change that contextCSN did not show.
	polls         int
	csnUnreliable atomic.Bool

	// checked is when contextCSN was last read and found equal to the
	// state's (UnixNano): until the next check, nothing is known to have
	// changed in the suffix since the state's csn.
	checked atomic.Int64
	covered bool // csnCovers, worked out once
}

// verifyEvery is how many contextCSN checks pass between full reloads that
// verify contextCSN follows changes: a server may hold a contextCSN that no
// overlay maintains (written by slapadd, say), and must not hide changes.
const verifyEvery = 10

// aciState is one loaded generation.
type aciState struct {
	set      *aci.Set       // nil in lockdown
	lockdown *LockdownError // set in lockdown
	hash     [32]byte       // of the entries' DNs and values read
	csn      string         // the suffix's contextCSN read before the load; "" if unknown
}

// NewACIStore returns a store reading through conn (the pool) with cfg's acl_bases,
// global_acis and refresh_interval (defaults applied). Nothing is loaded until
// Load or Run; check the global ACIs with ValidateGlobal (or cfg.Validate) first.
func NewACIStore(conn ldapconn.PagedSearcher, cfg ldapconn.LDAPConfig, log zerolog.Logger) *ACIStore {
	cfg.Defaults()
	s := &ACIStore{
		conn:     conn,
		bases:    cfg.ACLBases,
		suffix:   cfg.Suffix,
		global:   cfg.GlobalACIs,
		attr:     cfg.ACIAttribute,
		interval: cfg.RefreshInterval,
		log:      log.With().Str("component", "aci-store").Logger(),
	}
	s.covered = s.csnCovers()
	return s
}

// ValidateGlobal compiles the global ACIs of the configuration and returns
// every problem, with its position, or nil: the server must refuse to start on
// an error.
func ValidateGlobal(acis []string) error {
	var errs []error
	for _, le := range ldapconn.GlobalACIErrors(acis) {
		for _, l := range loadErrorLines(le) {
			errs = append(errs, errors.New(l))
		}
	}
	return errors.Join(errs...)
}

// Current returns the set to decide with. Before the first successful load it
// fails with ErrACIsNotLoaded (wrapping the last load's error), and in lockdown
// with a *LockdownError; both mean 503. When a reload failed because the
// directory was unreachable, the last good set is still returned (see Ready).
func (s *ACIStore) Current() (*aci.Set, error) {
	st := s.state.Load()
	if st == nil {
		if p := s.lastErr.Load(); p != nil {
			return nil, fmt.Errorf("%w: %w", ErrACIsNotLoaded, *p)
		}
		return nil, ErrACIsNotLoaded
	}
	if st.lockdown != nil {
		return nil, st.lockdown
	}
	return st.set, nil
}

// Ready reports whether the set is current: nil when the last load or change
// check succeeded and found no invalid ACI; otherwise why not (not loaded yet,
// lockdown, or the directory could not be read, in which case Current still
// serves the last good set).
func (s *ACIStore) Ready() error {
	if _, err := s.Current(); err != nil {
		return err
	}
	if p := s.lastErr.Load(); p != nil {
		return fmt.Errorf("ACIs may be stale: %w", *p)
	}
	return nil
}

// Version counts the sets installed so far (lockdowns included); 0 before the
// first load.
func (s *ACIStore) Version() uint64 { return s.version.Load() }

// OnChange registers fn to run after each new set (or lockdown) is installed,
// in the goroutine that loaded it.
func (s *ACIStore) OnChange(fn func()) {
	s.hooksMu.Lock()
	s.hooks = append(s.hooks, fn)
	s.hooksMu.Unlock()
}

// Load reads every aci value under the acl_bases (paged) and installs the
// result: a new set, or a lockdown if any value fails to compile. Nothing is
// installed when the content is unchanged. When the directory cannot be read
// the current state is kept and the error returned.
func (s *ACIStore) Load(ctx context.Context) error {
	_, err := s.reload(ctx)
	return err
}

// reload is Load, also reporting whether the content changed.
func (s *ACIStore) reload(ctx context.Context) (bool, error) {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	changed, err := s.load(ctx)
	s.setErr(err)
	return changed, err
}

func (s *ACIStore) load(ctx context.Context) (bool, error) {
	csn, err := s.contextCSN(ctx)
	if err != nil {
		return false, fmt.Errorf("reading contextCSN: %w", err)
	}
	entries, err := s.read(ctx)
	if err != nil {
		return false, fmt.Errorf("reading ACIs: %w", err)
	}
	hash := hashEntries(entries)
	if old := s.state.Load(); old != nil && old.hash == hash {
		if old.csn != csn {
			s.state.Store(&aciState{set: old.set, lockdown: old.lockdown, hash: hash, csn: csn})
		}
		return false, nil
	}

	b := aci.NewBuilder()
	b.Operational(s.attr)
	b.AddGlobal(s.global...)
	for _, e := range entries {
		b.Add(e.dn, e.values...)
	}
	set, problems := b.Build()
	st := &aciState{hash: hash, csn: csn}
	if len(problems) > 0 {
		st.lockdown = &LockdownError{Problems: problems}
		for _, p := range problems {
			for _, l := range loadErrorLines(p) {
				s.log.Error().Str("entry", p.EntryDN).Int("value", p.Index+1).Msg("invalid ACI, refusing every operation until it is fixed: " + l)
			}
		}
	} else {
		st.set = set
	}
	old := s.state.Swap(st)
	v := s.version.Add(1)
	switch {
	case st.lockdown != nil:
		s.log.Error().Uint64("version", v).Int("problems", len(problems)).Msg("ACI lockdown")
	case old != nil && old.lockdown != nil:
		s.log.Info().Uint64("version", v).Int("acis", set.Len()).Msg("ACIs valid again: lockdown lifted")
	default:
		s.log.Info().Uint64("version", v).Int("acis", set.Len()).Int("entries", len(set.Entries())).Msg("ACIs loaded")
	}
	s.hooksMu.Lock()
	hooks := slices.Clone(s.hooks)
	s.hooksMu.Unlock()
	for _, h := range hooks {
		h()
	}
	return true, nil
}

// Run keeps the set current until ctx ends. Every refresh_interval it reads the
// suffix's contextCSN (kept by the syncprov overlay), a cheap base search, and
// reloads when it changed; where the directory has none (no syncprov, 389 DS)
// it reloads every interval, installing a set only when the content changed.
// Every verifyEvery checks it reloads anyway, and should that find a change
// contextCSN missed, it stops trusting contextCSN. Until the first load
// succeeds it retries every interval. Run must not be called twice at once.
func (s *ACIStore) Run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		s.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refresh makes one check and reloads if needed.
func (s *ACIStore) refresh(ctx context.Context) {
	s.polls++
	st := s.state.Load()
	failed := s.lastErr.Load() != nil
	if st == nil || failed || st.csn == "" || s.csnUnreliable.Load() || !s.covered {
		if _, err := s.reloadLogged(ctx); err == nil {
			s.checked.Store(time.Now().UnixNano())
		}
		return
	}
	csn, err := s.contextCSN(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.setErr(fmt.Errorf("reading contextCSN: %w", err))
			s.log.Warn().Err(err).Msg("ACI change check failed; keeping the last good set")
		}
		return
	}
	if csn != st.csn {
		if _, err := s.reloadLogged(ctx); err == nil {
			s.checked.Store(time.Now().UnixNano())
		}
		return
	}
	s.checked.Store(time.Now().UnixNano())
	if s.polls%verifyEvery == 0 {
		changed, err := s.reloadLogged(ctx)
		if err == nil && changed && s.state.Load().csn == csn {
			s.csnUnreliable.Store(true)
			s.log.Warn().Str("contextCSN", csn).Msg("ACIs changed but the suffix's contextCSN did not (no syncprov overlay?): reloading every interval")
		}
	}
}

func (s *ACIStore) reloadLogged(ctx context.Context) (bool, error) {
	changed, err := s.reload(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Warn().Err(err).Msg("ACI reload failed; keeping the last good set")
	}
	return changed, err
}

// ChangeMarker names the state of the directory under the suffix, as of
// Run's last check: it changes whenever anything there changes (it is the
// suffix's contextCSN). A cache may keep what it read under the suffix for
// as long as the marker it read it under is current. It returns "" when it
// cannot vouch for that: no contextCSN (no syncprov overlay, 389 DS), one
// found not to follow changes, a failed check, or no check within two
// refresh intervals (Run not running or stalled).
func (s *ACIStore) ChangeMarker() string {
	st := s.state.Load()
	if st == nil || st.csn == "" || s.lastErr.Load() != nil || s.csnUnreliable.Load() || !s.covered {
		return ""
	}
	if time.Since(time.Unix(0, s.checked.Load())) > 2*s.interval {
		return ""
	}
	return st.csn
}

// Covers reports whether dn lies in the suffix, whose changes ChangeMarker
// follows.
func (s *ACIStore) Covers(dn string) bool {
	suffix, err1 := ldapfilter.NormalizeDN(s.suffix)
	n, err2 := ldapfilter.NormalizeDN(dn)
	return err1 == nil && err2 == nil && ldapfilter.IsDescendant(n, suffix)
}

// Interval is how often Run checks for changes.
func (s *ACIStore) Interval() time.Duration { return s.interval }

// csnCovers reports whether the suffix's contextCSN changes with every ACL base,
// which holds when they all lie in the suffix's database.
func (s *ACIStore) csnCovers() bool {
	for _, b := range s.bases {
		if !s.Covers(b) {
			return false
		}
	}
	return true
}

func (s *ACIStore) setErr(err error) {
	if err == nil {
		s.lastErr.Store(nil)
		return
	}
	s.lastErr.Store(&err)
}

// contextCSN returns the suffix's contextCSN values joined (one per server id),
// or "" when the directory keeps none.
func (s *ACIStore) contextCSN(ctx context.Context) (string, error) {
	res, err := s.conn.Search(ctx, &ldap.SearchRequest{
		BaseDN: s.suffix, Scope: ldap.ScopeBaseObject, DerefAliases: ldap.NeverDerefAliases, SizeLimit: 1,
		Filter: everyEntry, Attributes: []string{"contextCSN"},
	})
	if err != nil {
		return "", err
	}
	var csn string
	if len(res.Entries) > 0 {
		v := slices.Clone(res.Entries[0].GetEqualFoldAttributeValues("contextCSN"))
		slices.Sort(v)
		csn = strings.Join(v, " ")
	}
	return csn, nil
}

// aciEntry is one entry's aci values as read.
type aciEntry struct {
	dn     string // normalized
	values []string
}

// read returns the entries holding ACIs under every base, sorted by DN, each
// once.
func (s *ACIStore) read(ctx context.Context) ([]aciEntry, error) {
	seen := map[string]bool{}
	var out []aciEntry
	for _, base := range s.bases {
		res, err := s.conn.SearchPaged(ctx, &ldap.SearchRequest{
			BaseDN: base, Scope: ldap.ScopeWholeSubtree, DerefAliases: ldap.NeverDerefAliases,
			Filter: (&ldapfilter.Present{Attr: s.attr}).String(), Attributes: []string{s.attr},
		}, pageSize)
		if ldap.IsErrorAnyOf(err, ldap.LDAPResultAdminLimitExceeded, ldap.LDAPResultSizeLimitExceeded) {
			// 389 DS's look-through limit (5,000 by default) stops an
			// unindexed search for the ACIs in a larger directory.
			return nil, fmt.Errorf("under %q: the directory's limits stopped the search for (%s=*): index %s for presence, or raise the service account's look-through and size limits (389 DS: nsLookThroughLimit and nsSizeLimit on its entry): %w",
				base, s.attr, s.attr, err)
		}
		if err != nil {
			return nil, fmt.Errorf("under %q: %w", base, err)
		}
		for _, e := range res.Entries {
			dn, err := ldapfilter.NormalizeDN(e.DN)
			if err != nil {
				dn = e.DN // the Builder reports it
			}
			if seen[dn] {
				continue
			}
			seen[dn] = true
			out = append(out, aciEntry{dn: dn, values: e.GetEqualFoldAttributeValues(s.attr)})
		}
	}
	slices.SortFunc(out, func(a, b aciEntry) int { return strings.Compare(a.dn, b.dn) })
	return out, nil
}

// hashEntries fingerprints what was read, so an unchanged reload installs nothing.
func hashEntries(entries []aciEntry) [32]byte {
	h := sha256.New()
	for _, e := range entries {
		fmt.Fprintf(h, "%d:%s\n", len(e.dn), e.dn)
		for _, v := range e.values {
			fmt.Fprintf(h, "%d:%s\n", len(v), v)
		}
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// loadErrorLines renders a LoadError one line per problem, each naming where
// the ACI was found and the position in it.
func loadErrorLines(le *aci.LoadError) []string {
	prefix := fmt.Sprintf("global ACI %d: ", le.Index+1)
	if le.EntryDN != "" {
		prefix = fmt.Sprintf("entry %q, aci value %d: ", le.EntryDN, le.Index+1)
	}
	var out []string
	for _, m := range ldapconn.ACIErrorMessages(le.Err) {
		out = append(out, prefix+m)
	}
	return out
}
