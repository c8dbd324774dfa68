package identity

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/ldapbackend"
	"github.com/scimgate/scimgate/ldapbackend/internal/cache"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/ldapbackend/scimldap"
)

// Config configures how a token's subject is mapped to a
// directory entry in the mapped identity modes.
type Config struct {
	// SubjectClaim is the token claim whose value is looked up (default sub).
	SubjectClaim string `yaml:"subject_claim"`
	// SearchBase is where the entry is searched (default: the Users type's
	// base DN, so that an entry moved out of the users' subtree no longer
	// maps).
	SearchBase string `yaml:"search_base"`
	// Filter is an LDAP filter in which {} stands for the claim's value,
	// escaped before it is put in (default (uid={})).
	Filter string `yaml:"filter"`
	// CacheTTL bounds how long a mapping is remembered (default 30s),
	// misses included; a change in the directory ends it sooner (see
	// Mapper).
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// ServiceClients are, in the optional mode, the OAuth clients whose
	// tokens run as the service account when their subject maps to no
	// entry, besides the tokens a client holds for itself (subject equal
	// to the client id, RFC 9068 section 2.2). Any other subject that maps
	// to no entry is refused, so that a user deleted from the directory
	// does not go on as the service account.
	ServiceClients []string `yaml:"service_clients"`
}

// Defaults fills empty fields; usersBase is the Users type's base DN.
func (c *Config) Defaults(usersBase string) {
	if c.SubjectClaim == "" {
		c.SubjectClaim = "sub"
	}
	if c.SearchBase == "" {
		c.SearchBase = usersBase
	}
	if c.Filter == "" {
		c.Filter = "(uid={})"
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = 30 * time.Second
	}
}

// Validate reports every problem, each with its path under prefix.
func (c *Config) Validate(prefix string) []error {
	var errs []error
	if _, err := ldapfilter.NormalizeDN(c.SearchBase); err != nil {
		errs = append(errs, fmt.Errorf("%s.search_base: %v", prefix, err))
	}
	if _, err := parseIdentityFilter(c.Filter); err != nil {
		errs = append(errs, fmt.Errorf("%s.filter: %v", prefix, err))
	}
	if c.CacheTTL < 0 {
		errs = append(errs, fmt.Errorf("%s.cache_ttl: must not be negative", prefix))
	}
	return errs
}

// SubjectAttributes returns the attributes whose values the filter compares
// with the claim's value, lowercased ("uid" for the default filter): whoever
// may write one of them on an entry chooses which subject maps to it.
func (c *Config) SubjectAttributes() ([]string, error) {
	f, err := parseIdentityFilter(c.Filter)
	if err != nil {
		return nil, err
	}
	return f.attrs, nil
}

// ErrNoIdentity means the subject matches no entry, or more than one.
var ErrNoIdentity = errors.New("the token's subject matches no single directory entry")

// ErrInactiveIdentity means the subject matches one entry, deactivated:
// SCIM active is false, or the entry is locked (389 DS's nsAccountLock,
// or an OpenLDAP administrator's ppolicy lock).
// Such a subject must not act at all, not even as the service account.
var ErrInactiveIdentity = errors.New("the token's subject is a deactivated directory user")

// Options is what the mapper learns from the rest of the server
// rather than from its configuration section.
type Options struct {
	// ActiveAttr is the LDAP attribute holding the Users type's SCIM
	// active (see ActiveAttr), "" when the mapping has none. An entry whose
	// value is FALSE (any case) does not map; a missing value is active.
	ActiveAttr string
	// ChangeMarker returns the directory's change marker for the search
	// base (acisource.ACIStore.ChangeMarker), "" when unknown; nil when the marker does
	// not follow the search base. A cached mapping is used only while the
	// marker is the one it was read under.
	ChangeMarker func() string
}

// ActiveAttr returns the LDAP attribute a compiled type mapping stores the
// core attribute active in, or "" when it maps none.
func ActiveAttr(m *scimldap.TypeMapping) string {
	for _, a := range m.Attrs {
		if a.URN == "" && a.Attr == "active" && a.Sub == "" && a.TypeEq == "" {
			return a.LDAP
		}
	}
	return ""
}

// lockAttr is 389 DS's account lock; OpenLDAP ignores a request for it.
// ppolicyLockAttr is OpenLDAP's (the ppolicy overlay's), whose value
// permanentLock marks an account an administrator locked; other values
// are lockouts after failed binds, which end by themselves and say
// nothing of the account's standing.
const (
	lockAttr        = "nsAccountLock"
	ppolicyLockAttr = "pwdAccountLockedTime"
	permanentLock   = "000001010000Z"
)

// Mapper maps a claim value to exactly one active entry's DN, with
// a short cache (misses included, so an unknown subject cannot hammer the
// directory). A cached mapping holds for cache_ttl at most, and only while
// the directory's change marker is the one it was read under; without a
// marker, for unknownMarkerTTL. Forget, which the backend calls after each
// of its writes, drops them all: a user the gateway deactivates, renames or
// deletes stops on the next request, one changed in the directory directly
// within about a marker poll interval.
type Mapper struct {
	conn   ldapconn.Conn
	cfg    Config
	opt    Options
	filter identityFilter
	cache  *cache.Cache[string, cachedIdentity]
}

// cachedIdentity is one remembered mapping: a DN, or ErrNoIdentity or
// ErrInactiveIdentity.
type cachedIdentity struct {
	dn  string
	err error
}

// unknownMarkerTTL is how long a mapping is trusted when the directory's
// change marker is unknown (no contextCSN, as on 389 DS, or the poll is
// failing): about what a poll interval would give.
const unknownMarkerTTL = time.Second

// maxMapperCache bounds the cache.
const maxMapperCache = 10000

// NewMapper builds a mapper; cfg must have its defaults and have
// passed Validate.
func NewMapper(conn ldapconn.Conn, cfg Config, opt Options) (*Mapper, error) {
	f, err := parseIdentityFilter(cfg.Filter)
	if err != nil {
		return nil, fmt.Errorf("identity.filter: %v", err)
	}
	m := &Mapper{conn: conn, cfg: cfg, opt: opt, filter: f,
		cache: cache.New[string, cachedIdentity](cache.Policy[cachedIdentity]{Size: maxMapperCache, TTL: cfg.CacheTTL, Unmarked: unknownMarkerTTL})}
	if opt.ChangeMarker != nil {
		m.cache.FollowChanges(opt.ChangeMarker)
	}
	return m, nil
}

// Claim is the name of the claim the mapper reads.
func (m *Mapper) Claim() string { return m.cfg.SubjectClaim }

// Forget drops every cached mapping, and a lookup that began before does
// not install what it read, which may predate the write. Wire it to
// Options.OnWrite, so that a write through the gateway (a deactivation,
// say) holds from the next request on.
func (m *Mapper) Forget() { m.cache.Flush() }

// Map returns the DN of the one entry the value maps to; ErrNoIdentity
// when there is none or more than one, ErrInactiveIdentity when that entry
// is deactivated, or a typed error when the directory cannot be asked.
func (m *Mapper) Map(ctx context.Context, value string) (string, error) {
	if value == "" {
		return "", ErrNoIdentity
	}
	// The mark is taken before the search: what the search finds is at
	// least as new as the state it names.
	c, ok, mark := m.cache.Get(value)
	if ok {
		return c.dn, c.err
	}
	dn, err := m.lookup(ctx, value)
	if err != nil && !errors.Is(err, ErrNoIdentity) && !errors.Is(err, ErrInactiveIdentity) {
		return "", err
	}
	m.cache.Put(value, cachedIdentity{dn: dn, err: err}, mark)
	return dn, err
}

// lookup asks the directory for the entry value maps to.
func (m *Mapper) lookup(ctx context.Context, value string) (string, error) {
	attrs := []string{lockAttr, ppolicyLockAttr}
	if m.opt.ActiveAttr != "" {
		attrs = append(attrs, m.opt.ActiveAttr)
	}
	req := &ldap.SearchRequest{
		BaseDN:       m.cfg.SearchBase,
		Scope:        ldap.ScopeWholeSubtree,
		DerefAliases: ldap.NeverDerefAliases,
		SizeLimit:    2, // one is an identity, two are ambiguous
		TimeLimit:    timeLimit(ctx),
		Filter:       m.filter.with(value).String(),
		Attributes:   attrs,
	}
	res, err := m.conn.Search(ctx, req)
	switch {
	case err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		return "", ErrNoIdentity
	case err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return "", ErrNoIdentity
	case err != nil:
		return "", ldapbackend.MapError(err, "identity mapping")
	case len(res.Entries) != 1:
		return "", ErrNoIdentity
	}
	e := res.Entries[0]
	if m.inactive(e) {
		return "", ErrInactiveIdentity
	}
	dn, err := ldapfilter.NormalizeDN(e.DN)
	if err != nil {
		return "", ldapbackend.MapError(err, "identity mapping")
	}
	return dn, nil
}

// inactive reports whether e is deactivated: its active attribute holds
// FALSE, its nsAccountLock TRUE, or its pwdAccountLockedTime the
// administrator's permanent lock. Several values count against it if any
// one does.
func (m *Mapper) inactive(e *ldap.Entry) bool {
	if m.opt.ActiveAttr != "" {
		for _, v := range e.GetEqualFoldAttributeValues(m.opt.ActiveAttr) {
			if strings.EqualFold(strings.TrimSpace(v), "FALSE") {
				return true
			}
		}
	}
	for _, v := range e.GetEqualFoldAttributeValues(lockAttr) {
		if strings.EqualFold(strings.TrimSpace(v), "TRUE") {
			return true
		}
	}
	for _, v := range e.GetEqualFoldAttributeValues(ppolicyLockAttr) {
		if strings.TrimSpace(v) == permanentLock {
			return true
		}
	}
	return false
}

// timeLimit is the server-side time limit, in whole seconds rounded up,
// that ctx's deadline leaves; 0 (none) without a deadline. The pool ends
// the operation at the deadline in any case.
func timeLimit(ctx context.Context) int {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	s := math.Ceil(time.Until(dl).Seconds())
	if s < 1 {
		return 1
	}
	return int(s)
}

// identityFilter is the configured filter, parsed once: a tree in which
// subjectPlaceholder stands, once, where the claim's value goes.
type identityFilter struct {
	tree  ldapfilter.Filter
	attrs []string // the attributes compared with the value, lowercased
}

// subjectPlaceholder stands for the claim's value in the parsed tree: raw
// bytes that filter text can only hold escaped, and that are checked to
// occur exactly once.
const subjectPlaceholder = "\x00scimgate-subject\x00"

// placeholderText is how {} is written before the template is parsed.
const placeholderText = `\00scimgate-subject\00`

// parseIdentityFilter parses a filter template holding {} exactly once,
// in an assertion value.
func parseIdentityFilter(template string) (identityFilter, error) {
	at := strings.Index(template, "{}")
	if at < 0 || strings.Count(template, "{}") != 1 {
		return identityFilter{}, errors.New("must hold {} exactly once, where the claim's value goes")
	}
	tree, err := ldapfilter.Parse(template[:at] + placeholderText + template[at+2:])
	if err != nil {
		// Report the offset in the template, not in the text parsed.
		var se *ldapfilter.SyntaxError
		if errors.As(err, &se) && se.Offset > at {
			off := se.Offset - (len(placeholderText) - 2)
			if off < at+2 {
				off = at
			}
			err = &ldapfilter.SyntaxError{Offset: off, Msg: se.Msg}
		}
		return identityFilter{}, err
	}
	f := identityFilter{tree: tree}
	n := 0
	walkValues(tree, func(attr, v string) {
		if c := strings.Count(v, subjectPlaceholder); c > 0 {
			n += c
			a := strings.ToLower(attr)
			if i := strings.IndexByte(a, ';'); i >= 0 {
				a = a[:i]
			}
			if a != "" && !slices.Contains(f.attrs, a) {
				f.attrs = append(f.attrs, a)
			}
		}
	})
	if n != 1 {
		return identityFilter{}, errors.New("must hold {} exactly once, in an assertion value")
	}
	return f, nil
}

// with returns the filter with value in place of the placeholder; the
// value is escaped once, when the tree is printed.
func (f identityFilter) with(value string) ldapfilter.Filter {
	return substitute(f.tree, value)
}

// substitute copies f with value in place of the placeholder.
func substitute(f ldapfilter.Filter, value string) ldapfilter.Filter {
	put := func(s string) string { return strings.Replace(s, subjectPlaceholder, value, 1) }
	switch v := f.(type) {
	case ldapfilter.And:
		return ldapfilter.And{Filters: substituteAll(v.Filters, value)}
	case ldapfilter.Or:
		return ldapfilter.Or{Filters: substituteAll(v.Filters, value)}
	case ldapfilter.Not:
		return ldapfilter.Not{Filter: substitute(v.Filter, value)}
	case ldapfilter.Equality:
		v.Value = put(v.Value)
		return v
	case ldapfilter.Approx:
		v.Value = put(v.Value)
		return v
	case ldapfilter.GreaterOrEqual:
		v.Value = put(v.Value)
		return v
	case ldapfilter.LessOrEqual:
		v.Value = put(v.Value)
		return v
	case ldapfilter.Substrings:
		v.Initial, v.Final = put(v.Initial), put(v.Final)
		v.Any = append([]string(nil), v.Any...)
		for i := range v.Any {
			v.Any[i] = put(v.Any[i])
		}
		return v
	case ldapfilter.Extensible:
		v.Value = put(v.Value)
		return v
	}
	return f
}

func substituteAll(fs []ldapfilter.Filter, value string) []ldapfilter.Filter {
	out := make([]ldapfilter.Filter, len(fs))
	for i, c := range fs {
		out[i] = substitute(c, value)
	}
	return out
}

// walkValues calls fn with every assertion value of f and the attribute
// it is compared with.
func walkValues(f ldapfilter.Filter, fn func(attr, v string)) {
	switch v := f.(type) {
	case ldapfilter.And:
		for _, c := range v.Filters {
			walkValues(c, fn)
		}
	case ldapfilter.Or:
		for _, c := range v.Filters {
			walkValues(c, fn)
		}
	case ldapfilter.Not:
		walkValues(v.Filter, fn)
	case ldapfilter.Equality:
		fn(v.Attr, v.Value)
	case ldapfilter.Approx:
		fn(v.Attr, v.Value)
	case ldapfilter.GreaterOrEqual:
		fn(v.Attr, v.Value)
	case ldapfilter.LessOrEqual:
		fn(v.Attr, v.Value)
	case ldapfilter.Substrings:
		fn(v.Attr, v.Initial)
		for _, a := range v.Any {
			fn(v.Attr, a)
		}
		fn(v.Attr, v.Final)
	case ldapfilter.Extensible:
		fn(v.Attr, v.Value)
	}
}
