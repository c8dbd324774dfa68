package ldapbackend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elimity-com/scim/schema"
	"github.com/rs/zerolog"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/ldapbackend/internal/cache"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/ldapbackend/scimldap"
	"github.com/scimgate/scimgate/scim/resource"
)

// Options configure a Backend.
type Options struct {
	// Conn sends the backend's LDAP operations: the pool, or a directory
	// in memory in tests.
	Conn ldapconn.Conn
	// ACIs is the live ACI set (acisource.ACIStore).
	ACIs ACISource
	// Directory is the directory the engine reads while it decides
	// (acisource.Directory).
	Directory DirectoryView
	Types     []TypeBinding
	// ServiceDN is the bind identity every request runs as (mapping disabled).
	ServiceDN string
	// Suffix is the naming context, whose contextCSN says which writes a
	// server has committed (unique.go); "" when unknown.
	Suffix string
	// DefaultPageSize and MaxPageSize bound list responses; Lookthrough
	// bounds how many entries one search may examine (beyond it: 400 tooMany).
	DefaultPageSize, MaxPageSize, Lookthrough int
	// AddNeedsEveryAttribute: a create needs the add right on every
	// attribute of the new entry (default) rather than on at least one.
	AddAnyAttribute bool
	Log             zerolog.Logger
	Now             func() time.Time
	// ProxiedAuthz sends the Proxied Authorization control (RFC 4370) as the
	// mapped user on every LDAP operation of a mapped request, so the
	// directory's own access control applies as well.
	ProxiedAuthz bool
	// VersionAttr is the attribute ETags come from and If-Match asserts
	// (default entryCSN).
	VersionAttr string
	// NoAssertion: the directory lacks the LDAP Assertion control (389 DS
	// 2.3), so If-Match is checked just before the write instead of by
	// the directory with it: a writer racing in between is not caught.
	NoAssertion bool
	// WriteToken, with NoAssertion, is the attribute of the write token
	// (scimVersion, allowed by the scimResource class) that every modify
	// the gateway makes exchanges, so that a write fails when another
	// gateway wrote in between (tokenExchange): atomic If-Match without
	// the Assertion control.
	WriteToken string
	// DNMatching: the directory matches entryDN with dnSubtreeMatch and
	// dnOneLevelMatch (OpenLDAP), so ACIs that reach part of a type's
	// entries by where they sit can be compiled into list filters.
	DNMatching bool
	// PlainSortKeys: sort keys name no matching rule (389 DS fails sorts
	// that do); the attribute's own ordering rule applies.
	PlainSortKeys bool
	// VLV lets the directory cut pages (Virtual List View with server-side
	// sort) when the caller's access cannot differ between the entries of
	// a type. A directory that turns the control down is not asked again.
	VLV bool
	// SortedPaging: without VLV, the directory still pages through a list
	// it sorted (server-side sort with Simple Paged Results, on one
	// connection), as 389 DS does: a listing it could cut is then served
	// by walks (Walks) alone. Walks work that way on every directory.
	SortedPaging bool
	// BrowsingIndexes says the directory (389 DS) has a browsing index for
	// each type's listing in id order (BrowsingIndexes): such a listing is
	// cut by Virtual List View, each page and its count from the index.
	BrowsingIndexes bool
	// Walks is how many listings being paged through the directory keeps
	// sorted for their next page, each on a connection of its own (see
	// walks); 0 keeps none, and every page sorts every match again.
	Walks int
	// CursorWalks is how many cursor walks in the directory's own order
	// (list_natural.go) are kept for their next page, each on a connection
	// of its own; 0 keeps none, and cursor pages are in id order.
	CursorWalks int
	// RefCacheTTL is how long what a reference (member, manager) names is
	// remembered; 0 disables the cache.
	RefCacheTTL time.Duration
	// OnDecisions (an operation's access checks, counted when it ends) and
	// ObserveLDAP feed metrics; both may be nil.
	OnDecisions func(allowed, denied int)
	ObserveLDAP func(op string, d time.Duration, err error)
	// OnListPage, when set, is told how each list page was served:
	// "walk" (from a walk the directory kept sorted), "sorted" (the
	// directory sorted every match and cut the page), "ids" (by id from a
	// listing's ordered ids), "small" (a filter matching a few entries),
	// "lookthrough" (the gateway read every match), "count" (the matches
	// counted, no page asked for) or "none" (the caller sees none).
	OnListPage func(how string)
	// OnWrite, when set, is called after every write the gateway sends to
	// the directory (add, modify, rename, delete), whatever its outcome:
	// whoever caches what the directory holds (the identity mapper) forgets
	// it. The backend's own directory cache is flushed at the same time.
	OnWrite func()
}

// ACISource is what the backend needs of the live ACIs; acisource.ACIStore
// provides it.
type ACISource interface {
	// Current is the set a request decides with (an error: 503).
	Current() (*aci.Set, error)
	// ChangeMarker names the directory's state as last polled, "" if unknown.
	ChangeMarker() string
	// Interval is how often the marker is polled (0: never).
	Interval() time.Duration
	// Covers reports whether the marker follows changes at dn.
	Covers(dn string) bool
}

// DirectoryView is the directory the ACI engine reads while it decides
// (groups, parents, the caller's entry); acisource.Directory provides it.
type DirectoryView interface {
	// WithContext is the view for one request, bounded by ctx.
	WithContext(ctx context.Context) aci.Directory
	// Flush forgets what was read: the gateway just wrote.
	Flush()
	// FollowChanges makes what was read stale when marker moves on.
	FollowChanges(marker func() string)
}

// TypeBinding pairs a SCIM resource type with its directory mapping.
type TypeBinding struct {
	Type    *resource.Type
	Mapping *scimldap.TypeMapping
}

// Backend stores SCIM resources in an LDAP directory and decides every
// operation with the ACI engine. It implements resource.Backend.
type Backend struct {
	opt    Options
	byType map[*resource.Type]*typeState
	byName map[string]*typeState
	refs   *cache.Cache[string, refEntry] // what references name (newRefCache)
	// refsFollowChanges: every type's entries lie in the suffix whose
	// changes the ACI store follows, at least as often as the reference
	// cache's ttl, so references may stay cached while nothing changes.
	refsFollowChanges bool
	// vlvOff is set when the directory turned the VLV control down.
	vlvOff atomic.Bool
	// windowsOff is set when the directory named no sorted list in its
	// VLV response (cutWindow): it keeps none to page through.
	windowsOff atomic.Bool
	// pushWarned remembers the ACIs already logged for keeping lists
	// from being cut by the directory (pushdown), so each is logged once.
	pushWarned sync.Map
	lists      *listCache // ordered ids of listings being paged through
	walks      *walks     // sorted lists the directory keeps for walks through larger listings
	// renamedWarned holds the attribute names warnRenamed has logged.
	renamedWarned sync.Map
}

type typeState struct {
	t          *resource.Type
	m          *scimldap.TypeMapping
	base       string // normalized base DN
	structural string
	names      map[string]string // "urn|attr" and "urn|attr.sub" -> schema spelling
	multi      map[string]bool   // "urn|attr" -> multi-valued in the schema
	fetch      []string          // LDAP attributes a resource is rendered from
	// full is the fetchPlan of a whole resource under the last ACI set
	// a request asked with (rc.plan); fullProxied the same for requests
	// that read under proxied authorization.
	full, fullProxied atomic.Pointer[fetchPlan]
	filter            ldapfilter.Filter // selects the type's entries (typeFilter); shared, never changed
	// browse: 389 DS has the browsing index of the type's listing
	// (CheckBrowsingIndexes).
	browse atomic.Bool
	read   []readAttr // the readable mappings, in mapping order
	nCanon int        // distinct readAttr.canon values
}

// readAttr is what rendering an entry needs of one readable mapping,
// worked out once when the backend is built rather than on every entry.
type readAttr struct {
	a         *scimldap.AttrMapping
	top       string // the attribute a projection names (topPath)
	canon     string // the LDAP attribute as the ACI engine keys it
	canonIdx  int    // index of canon among the type's distinct ones
	multi     bool   // the SCIM attribute is multi-valued
	name, sub string // schema spellings of the attribute and sub-attribute
	// beside says a json mapping of the same attribute is rendered
	// first, which this mapping reconciles with (scimldap.Reconcile).
	beside bool
	first  bool // ts.firstMapping(a)
}

// readPlan works out the typeState's readAttrs.
func (ts *typeState) readPlan() {
	canon := map[string]int{}
	// json mappings go first: the others of the same attribute reconcile
	// with what they rendered.
	order := make([]*scimldap.AttrMapping, 0, len(ts.m.Attrs))
	for _, a := range ts.m.Attrs {
		if a.Kind == scimldap.KindJSON && !a.WriteOnly {
			order = append(order, a)
		}
	}
	for _, a := range ts.m.Attrs {
		if a.Kind != scimldap.KindJSON {
			order = append(order, a)
		}
	}
	for _, a := range order {
		if a.WriteOnly {
			continue
		}
		ra := readAttr{a: a, top: topPath(a), canon: aci.CanonicalAttr(a.LDAP),
			name: scimldap.AttrName(a, ts.names), sub: scimldap.SubName(a, ts.names)}
		key := strings.ToLower(a.URN) + "|" + a.Attr
		ra.multi = ts.multi[key]
		ra.beside = ts.besideJSON(a)
		ra.first = ts.firstMapping(a)
		var ok bool
		if ra.canonIdx, ok = canon[ra.canon]; !ok {
			ra.canonIdx = len(canon)
			canon[ra.canon] = ra.canonIdx
		}
		ts.read = append(ts.read, ra)
	}
	ts.nCanon = len(canon)
}

// New builds a backend. Every mapping must already be compiled.
func New(opt Options) (*Backend, error) {
	if opt.Conn == nil || opt.ACIs == nil || opt.Directory == nil {
		return nil, errors.New("ldapbackend: connection, ACI store and directory are required")
	}
	if opt.DefaultPageSize <= 0 {
		opt.DefaultPageSize = 100
	}
	if opt.MaxPageSize <= 0 {
		opt.MaxPageSize = 1000
	}
	if opt.Lookthrough <= 0 {
		opt.Lookthrough = 10000
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.VersionAttr == "" {
		opt.VersionAttr = "entryCSN"
	}
	sdn, err := ldapfilter.NormalizeDN(opt.ServiceDN)
	if err != nil {
		return nil, fmt.Errorf("ldapbackend: service DN: %v", err)
	}
	opt.ServiceDN = sdn
	b := &Backend{opt: opt, byType: map[*resource.Type]*typeState{}, byName: map[string]*typeState{}, refs: newRefCache(opt.RefCacheTTL), lists: newListCache(), walks: newWalks(opt.Conn, opt.Walks, opt.CursorWalks)}
	b.walks.marker = b.changeMarker
	b.refsFollowChanges = opt.ACIs.Interval() > 0 && opt.ACIs.Interval() <= opt.RefCacheTTL
	if opt.ACIs.Interval() > 0 {
		// What the engine reads (groups, parents, the caller's entry) is
		// as fresh as the last change check, not as old as cache_ttl.
		opt.Directory.FollowChanges(opt.ACIs.ChangeMarker)
	}
	for _, tb := range opt.Types {
		b.refsFollowChanges = b.refsFollowChanges && opt.ACIs.Covers(tb.Mapping.BaseDN)
	}
	// References and listings may stay cached past their ttl while the
	// marker holds (refsFollowChanges); else the marker is "" to them.
	b.refs.FollowChanges(b.changeMarker)
	b.lists.FollowChanges(b.changeMarker)
	for _, tb := range opt.Types {
		base, err := ldapfilter.NormalizeDN(tb.Mapping.BaseDN)
		if err != nil {
			return nil, fmt.Errorf("ldapbackend: %s base DN: %v", tb.Type.ID, err)
		}
		ts := &typeState{t: tb.Type, m: tb.Mapping, base: base, structural: tb.Mapping.ObjectClasses[0],
			names: map[string]string{}, multi: map[string]bool{}}
		addSchema := func(urn string, s schema.Schema) {
			for _, a := range s.Attributes {
				key := strings.ToLower(urn) + "|" + strings.ToLower(a.Name())
				ts.names[key] = a.Name()
				ts.multi[key] = a.MultiValued()
				for _, sa := range a.SubAttributes() {
					ts.names[key+"."+strings.ToLower(sa.Name())] = sa.Name()
				}
			}
		}
		addSchema("", tb.Type.Schema)
		for _, e := range tb.Type.Extensions {
			addSchema(e.Schema.ID, e.Schema)
		}
		ts.readPlan()
		fetch := []string{"objectClass", tb.Mapping.IDAttr, opt.VersionAttr, "createTimestamp", "modifyTimestamp"}
		if opt.WriteToken != "" {
			fetch = append(fetch, opt.WriteToken)
		}
		for _, ra := range ts.read {
			fetch = append(fetch, ra.a.LDAP)
		}
		seen := map[string]bool{}
		for _, a := range fetch {
			if !seen[strings.ToLower(a)] {
				seen[strings.ToLower(a)] = true
				ts.fetch = append(ts.fetch, a)
			}
		}
		ts.fetch = slices.Clip(ts.fetch) // shared by every request: an append must copy
		ts.filter = ts.typeFilter()
		b.byType[tb.Type] = ts
		b.byName[strings.ToLower(tb.Type.ID)] = ts
	}
	return b, nil
}

// WalksHeld is how many walks (Options.Walks and CursorWalks) the backend
// keeps now, each on a connection of its own (and, by startIndex, a
// sorted list in the directory).
func (b *Backend) WalksHeld() int { return b.walks.held() }

func (b *Backend) state(t *resource.Type) (*typeState, error) {
	ts, ok := b.byType[t]
	if !ok {
		return nil, resource.Internal(fmt.Errorf("resource type %q is not mapped", t.ID))
	}
	return ts, nil
}

// typeFilter builds the filter that selects the entries of a resource type;
// New keeps it in ts.filter.
func (ts *typeState) typeFilter() ldapfilter.Filter { return listingFilter(ts.m) }

// Get implements resource.Backend.
func (b *Backend) Get(ctx context.Context, t *resource.Type, id string, p resource.Projection) (*resource.Resource, error) {
	ts, rc, err := b.open(ctx, t)
	if err != nil {
		return nil, err
	}
	defer rc.flush()
	le, e, err := b.fetchVisible(rc, ts, id, rc.plan(ts, p))
	if err != nil {
		return nil, err
	}
	return b.toResourceOf(rc, ts, le, e, p)
}

// SelfID returns the id of the caller's own entry as a resource of type t:
// the mapped user, for /Me. A caller running as the service account has
// none (404).
func (b *Backend) SelfID(ctx context.Context, t *resource.Type) (string, error) {
	ts, rc, err := b.open(ctx, t)
	if err != nil {
		return "", err
	}
	defer rc.flush()
	if rc.caller.BindDN == "" {
		return "", resource.NotFound("the token's subject is not mapped to a %s", ts.t.Name)
	}
	le, err := b.fetchDN(rc.ctx, rc.caller.BindDN, []string{ts.m.IDAttr, "objectClass"})
	if err != nil {
		return "", err
	}
	if le == nil || !isUnder(le.DN, ts.base) || !containsFold(le.GetAttributeValues("objectClass"), ts.structural) {
		return "", resource.NotFound("the token's subject is not mapped to a %s", ts.t.Name)
	}
	return le.GetAttributeValue(ts.m.IDAttr), nil
}
