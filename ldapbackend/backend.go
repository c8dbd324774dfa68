package ldapbackend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/elimity-com/scim/schema"
	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/scim/resource"
)

// Options configure a Backend.
type Options struct {
	Pool      *Pool
	ACIs      *ACIStore
	Directory *Directory
	Types     []TypeBinding
	// ServiceDN is the bind identity every request runs as (mapping disabled).
	ServiceDN string
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
	// PlainSortKeys: sort keys name no matching rule (389 DS fails sorts
	// that do); the attribute's own ordering rule applies.
	PlainSortKeys bool
	// VLV lets the directory cut pages (Virtual List View with server-side
	// sort) when the caller's access cannot differ between the entries of
	// a type. A directory that turns the control down is not asked again.
	VLV bool
	// RefCacheTTL is how long what a reference (member, manager) names is
	// remembered; 0 disables the cache.
	RefCacheTTL time.Duration
	// OnDecisions (an operation's access checks, counted when it ends) and
	// ObserveLDAP feed metrics; both may be nil.
	OnDecisions func(allowed, denied int)
	ObserveLDAP func(op string, d time.Duration, err error)
	// OnWrite, when set, is called after every write the gateway sends to
	// the directory (add, modify, rename, delete), whatever its outcome:
	// whoever caches what the directory holds (the identity mapper) forgets
	// it. The backend's own directory cache is flushed at the same time.
	OnWrite func()
}

// TypeBinding pairs a SCIM resource type with its directory mapping.
type TypeBinding struct {
	Type    *resource.Type
	Mapping *TypeMapping
}

// Backend stores SCIM resources in an LDAP directory and decides every
// operation with the ACI engine. It implements resource.Backend.
type Backend struct {
	opt    Options
	byType map[*resource.Type]*typeState
	byName map[string]*typeState
	refs   refCache
	// refsFollowChanges: every type's entries lie in the suffix whose
	// changes the ACI store follows, at least as often as the reference
	// cache's ttl, so references may stay cached while nothing changes.
	refsFollowChanges bool
	// vlvOff is set when the directory turned the VLV control down.
	vlvOff atomic.Bool
	lists  listCache // ordered ids of listings being paged through
}

type typeState struct {
	t          *resource.Type
	m          *TypeMapping
	base       string // normalized base DN
	structural string
	names      map[string]string // "urn|attr" and "urn|attr.sub" -> schema spelling
	multi      map[string]bool   // "urn|attr" -> multi-valued in the schema
	fetch      []string          // LDAP attributes a resource is rendered from
	// full is the fetchPlan of a whole resource under the last ACI set
	// a request asked with (rc.plan).
	full   atomic.Pointer[fetchPlan]
	filter ldapfilter.Filter // selects the type's entries (typeFilter); shared, never changed
	read   []readAttr        // the readable mappings, in mapping order
	nCanon int               // distinct readAttr.canon values
	nKey   int               // distinct readAttr.key values
}

// readAttr is what rendering an entry needs of one readable mapping,
// worked out once when the backend is built rather than on every entry.
type readAttr struct {
	a         *AttrMapping
	top       string // the attribute a projection names (topPath)
	canon     string // the LDAP attribute as the ACI engine keys it
	canonIdx  int    // index of canon among the type's distinct ones
	keyIdx    int    // index of "urn|attr" among the type's distinct ones
	multi     bool   // the SCIM attribute is multi-valued
	name, sub string // schema spellings of the attribute and sub-attribute
}

// readPlan works out the typeState's readAttrs.
func (ts *typeState) readPlan() {
	canon := map[string]int{}
	keys := map[string]int{}
	for _, a := range ts.m.Attrs {
		if a.WriteOnly {
			continue
		}
		ra := readAttr{a: a, top: topPath(a), canon: aci.CanonicalAttr(a.LDAP),
			name: attrName(a, ts.names), sub: subName(a, ts.names)}
		key := strings.ToLower(a.URN) + "|" + a.Attr
		ra.multi = ts.multi[key]
		var ok bool
		if ra.canonIdx, ok = canon[ra.canon]; !ok {
			ra.canonIdx = len(canon)
			canon[ra.canon] = ra.canonIdx
		}
		if ra.keyIdx, ok = keys[key]; !ok {
			ra.keyIdx = len(keys)
			keys[key] = ra.keyIdx
		}
		ts.read = append(ts.read, ra)
	}
	ts.nCanon, ts.nKey = len(canon), len(keys)
}

// New builds a backend. Every mapping must already be compiled.
func New(opt Options) (*Backend, error) {
	if opt.Pool == nil || opt.ACIs == nil || opt.Directory == nil {
		return nil, errors.New("ldapbackend: pool, ACI store and directory are required")
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
	b := &Backend{opt: opt, byType: map[*resource.Type]*typeState{}, byName: map[string]*typeState{}, refs: refCache{ttl: opt.RefCacheTTL}}
	b.refsFollowChanges = opt.ACIs.Interval() > 0 && opt.ACIs.Interval() <= opt.RefCacheTTL
	if opt.ACIs.Interval() > 0 {
		// What the engine reads (groups, parents, the caller's entry) is
		// as fresh as the last change check, not as old as cache_ttl.
		opt.Directory.FollowChanges(opt.ACIs.ChangeMarker)
	}
	for _, tb := range opt.Types {
		b.refsFollowChanges = b.refsFollowChanges && opt.ACIs.Covers(tb.Mapping.BaseDN)
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

func (b *Backend) state(t *resource.Type) (*typeState, error) {
	ts, ok := b.byType[t]
	if !ok {
		return nil, resource.Internal(fmt.Errorf("resource type %q is not mapped", t.ID))
	}
	return ts, nil
}

// reqCtx is one request's view: the ACI set it started with, its
// subject, and the directory for lookups.
type reqCtx struct {
	ctx     context.Context
	b       *Backend
	set     *aci.Set
	subj    *aci.Subject
	dir     aci.Directory
	caller  *resource.Caller
	debug   bool        // log explanations
	scratch aci.Request // reused by ask, so a check allocates nothing

	// Decisions are summed up here and handed to the audit once, when the
	// operation ends (flush): building each decision's text would cost more
	// than the decision.
	allowedN, deniedN int
	lastAllow         aci.Decision
	lastAllowReq      aci.Request // kept for the debug explanation
	firstDeny         aci.Decision

	// readOnce holds read decisions made for every entry under
	// readOnceBase at once (decideReadsOnce): 1 allowed, 0 denied, -1
	// the ACIs tell entries apart there.
	readOnce     map[string]int8
	readOnceBase string
}

// flush records the operation's access decisions in the caller's audit;
// at debug level it also logs the full explanation of the last grant
// (denials are explained as they happen).
func (rc *reqCtx) flush() {
	if rc.debug && rc.allowedN > 0 {
		req := rc.lastAllowReq
		_, exp := rc.set.Explain(&req, rc.dir)
		rc.b.opt.Log.Debug().Str("request_id", rc.caller.RequestID).Str("target", req.TargetDN).Str("right", req.Right.String()).
			Str("attr", req.Attr).Int("checks_allowed", rc.allowedN).Int("checks_denied", rc.deniedN).
			Interface("explanation", exp).Msg("access granted")
	}
	if rc.b.opt.OnDecisions != nil {
		rc.b.opt.OnDecisions(rc.allowedN, rc.deniedN)
	}
	if rc.caller.Audit == nil || rc.allowedN+rc.deniedN == 0 {
		return
	}
	var allow, deny string
	if rc.allowedN > 0 {
		allow = rc.lastAllow.Reason()
	}
	if rc.deniedN > 0 {
		deny = rc.firstDeny.Reason()
	}
	rc.caller.Audit.Add(rc.allowedN, rc.deniedN, allow, deny)
}

func (b *Backend) begin(ctx context.Context) (*reqCtx, error) {
	set, err := b.opt.ACIs.Current()
	if err != nil {
		var lock *LockdownError
		if errors.As(err, &lock) {
			return nil, resource.Unavailable(err, "service locked down: the directory holds an invalid ACI: %s", lock.Error())
		}
		return nil, resource.Unavailable(err, "access control not available yet")
	}
	caller, ok := resource.CallerFrom(ctx)
	if !ok {
		return nil, resource.Internal(errors.New("no caller in context"))
	}
	subj := &aci.Subject{
		DN:         b.opt.ServiceDN,
		AuthMethod: "simple",
		IP:         caller.IP,
		Secure:     caller.Secure,
		Time:       b.opt.Now(),
		HasToken:   caller.HasToken,
		Scopes:     caller.Scopes,
	}
	opCtx := ctx
	if caller.BindDN != "" {
		subj.DN = caller.BindDN
		if b.opt.ProxiedAuthz {
			opCtx = context.WithValue(ctx, proxyKey{}, caller.BindDN)
		}
	}
	// ACI lookups (groups, userattr) run as the service account: the
	// engine needs the whole picture whatever the subject may read.
	return &reqCtx{ctx: opCtx, b: b, set: set, subj: subj, dir: b.opt.Directory.WithContext(ctx), caller: caller,
		debug: b.opt.Log.GetLevel() <= zerolog.DebugLevel}, nil
}

// version is the entry's version, for ETags and If-Match.
func (b *Backend) version(le *ldap.Entry) string { return le.GetAttributeValue(b.opt.VersionAttr) }

// versionAssertion is the LDAP Assertion control that makes a write fail
// (and 412) if the entry changed since it was read; nil when the directory
// has no such control.
func (b *Backend) versionAssertion(le *ldap.Entry) (ldap.Control, error) {
	if b.opt.NoAssertion {
		return nil, nil
	}
	return NewAssertionControl((&ldapfilter.Equality{Attr: b.opt.VersionAttr, Value: b.version(le)}).String())
}

// withControl appends c unless it is nil.
func withControl(list []ldap.Control, c ldap.Control) []ldap.Control {
	if c == nil {
		return list
	}
	return append(list, c)
}

// open starts an operation on type t: its mapping and the request's
// access-control context. The caller defers rc.flush().
func (b *Backend) open(ctx context.Context, t *resource.Type) (*typeState, *reqCtx, error) {
	ts, err := b.state(t)
	if err != nil {
		return nil, nil, err
	}
	rc, err := b.begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	return ts, rc, nil
}

// fetchPlan is the attribute list of a search whose entries the engine
// decides on: what rendering needs and every attribute the request's ACIs
// read of an entry (aci.Set.EntryAttributes), with the readSet that lets
// each entry say what it holds. An entry read any other way lacks what an
// ACI reads, and the engine then denies (fail closed) and says so.
type fetchPlan struct {
	set   *aci.Set
	attrs []string
	read  *readSet
}

// newFetchPlan plans a search for base plus what set reads of an entry.
func newFetchPlan(set *aci.Set, base []string) *fetchPlan {
	attrs := slices.Clone(base)
	for _, a := range set.EntryAttributes() {
		if !containsFold(attrs, a) {
			attrs = append(attrs, a)
		}
	}
	return &fetchPlan{set: set, attrs: slices.Clip(attrs), read: newReadSet(attrs)}
}

// plan returns the fetchPlan for entries of ts that the request decides on
// and renders with projection p.
func (rc *reqCtx) plan(ts *typeState, p resource.Projection) *fetchPlan {
	whole := len(p.Attributes) == 0 && len(p.ExcludedAttributes) == 0
	if whole {
		if fp := ts.full.Load(); fp != nil && fp.set == rc.set {
			return fp
		}
	}
	fp := newFetchPlan(rc.set, rc.b.fetchAttrs(ts, p))
	if whole {
		ts.full.Store(fp)
	}
	return fp
}

// entry adapts le, read as fp planned, for the engine.
func (fp *fetchPlan) entry(le *ldap.Entry) aci.Entry { return newEntry(le, fp.read) }

// fetchVisible reads the entry of a resource id that the caller may see;
// anything else is 404, so an unreadable resource looks like a missing one.
func (b *Backend) fetchVisible(rc *reqCtx, ts *typeState, id string, fp *fetchPlan) (*ldap.Entry, aci.Entry, error) {
	le, err := b.fetchByID(rc, ts, id, fp.attrs)
	if err != nil {
		return nil, nil, err
	}
	e := fp.entry(le)
	if !rc.visible(e) {
		return nil, nil, resource.NotFound("%s %q not found", ts.t.Name, id)
	}
	return le, e, nil
}

// ask checks one request, reusing the context's scratch request.
func (rc *reqCtx) ask(r aci.Request) bool {
	rc.scratch = r
	return rc.allowed(&rc.scratch)
}

// allowed asks the ACI engine and remembers the decision for the audit log.
func (rc *reqCtx) allowed(req *aci.Request) bool {
	req.Subject = rc.subj
	d := rc.set.Evaluate(req, rc.dir)
	rc.note(d, *req)
	if !d.Allowed && rc.debug {
		_, exp := rc.set.Explain(req, rc.dir)
		rc.b.opt.Log.Debug().Str("request_id", rc.caller.RequestID).Str("target", req.TargetDN).Str("right", req.Right.String()).
			Str("attr", req.Attr).Interface("explanation", exp).Msg("access denied")
	}
	return d.Allowed
}

// note records a decision for the audit. A decision made on an entry read
// without an attribute some ACI reads failed closed; it is logged as the
// bug it is, whatever the outcome.
func (rc *reqCtx) note(d aci.Decision, req aci.Request) {
	if d.Incomplete != "" {
		rc.b.opt.Log.Error().Str("request_id", rc.caller.RequestID).Str("target", req.TargetDN).Str("right", req.Right.String()).
			Str("attr", req.Attr).Str("missing_attribute", d.Incomplete).Bool("allowed", d.Allowed).
			Msg("an access check met an entry read without an attribute an ACI reads; the rule that needed it was undefined (never grants, denies in a deny rule)")
	}
	if d.Allowed {
		rc.allowedN++
		rc.lastAllow = d
		if rc.debug {
			req.Subject = rc.subj
			rc.lastAllowReq = req
		}
		return
	}
	if rc.deniedN == 0 {
		rc.firstDeny = d
	}
	rc.deniedN++
}

// uniform asks the engine for the decision on req for every entry of the
// type at once (aci.Set.Uniform); a decision it gives is recorded like one
// made by allowed.
func (rc *reqCtx) uniform(ts *typeState, req aci.Request) (allowed, ok bool) {
	req.Subject = rc.subj
	d, ok := rc.set.Uniform(&req, ts.base, rc.dir)
	if !ok {
		return false, false
	}
	req.TargetDN = ts.base
	rc.note(d, req)
	return d.Allowed, true
}

// canRead reports whether the subject may read attr of the entry.
func (rc *reqCtx) canRead(e aci.Entry, attr string) bool {
	if rc.readOnce != nil && ldapfilter.IsDescendant(e.DN(), rc.readOnceBase) {
		if v, ok := rc.readOnce[attr]; ok && v >= 0 {
			return v == 1
		} else if !ok {
			// Decide for the whole subtree once, if the ACIs allow.
			d, uniform := rc.set.Uniform(&aci.Request{Subject: rc.subj, Right: aci.RightRead, Attr: attr}, rc.readOnceBase, rc.dir)
			switch {
			case !uniform:
				rc.readOnce[attr] = -1
			case d.Allowed:
				rc.readOnce[attr] = 1
				rc.note(d, aci.Request{TargetDN: rc.readOnceBase, Right: aci.RightRead, Attr: attr})
				return true
			default:
				rc.readOnce[attr] = 0
				rc.note(d, aci.Request{TargetDN: rc.readOnceBase, Right: aci.RightRead, Attr: attr})
				return false
			}
		}
	}
	return rc.ask(aci.Request{TargetDN: e.DN(), Entry: e, Right: aci.RightRead, Attr: attr})
}

// decideReadsOnce makes canRead decide each attribute once for every entry
// under base, where the ACIs cannot tell those entries apart (a page of a
// listing with such ACIs: see listVLV); other attributes and entries are
// decided one by one as always.
func (rc *reqCtx) decideReadsOnce(base string) {
	rc.readOnce, rc.readOnceBase = map[string]int8{}, base
}

// visibleHere is visible decided for this entry alone, never from a
// decision made for its whole subtree: the check that the subtree's
// decision holds.
func (rc *reqCtx) visibleHere(e aci.Entry) bool {
	return rc.ask(aci.Request{TargetDN: e.DN(), Entry: e, Right: aci.RightRead, Attr: "objectclass"})
}

// visible: an entry exists for the caller only if it may read its objectClass.
func (rc *reqCtx) visible(e aci.Entry) bool { return rc.canRead(e, "objectclass") }

type proxyKey struct{}

// proxied adds the Proxied Authorization control when the context asks for
// it (a mapped request with proxied_authz on).
func proxied(ctx context.Context, controls []ldap.Control) []ldap.Control {
	if dn, ok := ctx.Value(proxyKey{}).(string); ok {
		return append(controls, ldap.NewControlString(ControlTypeProxiedAuthz, true, "dn:"+dn))
	}
	return controls
}

// isUnder reports whether the entry dn (as the directory returned it) lies
// at or below the normalized DN base.
func isUnder(dn, base string) bool {
	n, err := ldapfilter.NormalizeDN(dn)
	return err == nil && ldapfilter.IsDescendant(n, base)
}

// ControlTypeProxiedAuthz is the Proxied Authorization control (RFC 4370).
const ControlTypeProxiedAuthz = "2.16.840.1.113730.3.4.18"

// search runs one LDAP search through the pool and maps errors.
func (b *Backend) search(ctx context.Context, req *ldap.SearchRequest, op string) (*ldap.SearchResult, error) {
	req.Controls = proxied(ctx, req.Controls)
	var res *ldap.SearchResult
	err := b.do(ctx, "search", func(c *ldap.Conn) error {
		var err error
		res, err = c.Search(req)
		return err
	})
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) && res != nil {
			return res, err
		}
		return nil, MapError(err, op)
	}
	return res, nil
}

// do runs one LDAP operation through the pool and observes its latency.
func (b *Backend) do(ctx context.Context, op string, fn func(*ldap.Conn) error) error {
	start := time.Now()
	err := b.opt.Pool.Do(ctx, fn)
	if b.opt.ObserveLDAP != nil {
		b.opt.ObserveLDAP(op, time.Since(start), err)
	}
	if err != nil && ldap.IsErrorAnyOf(err, ldap.LDAPResultInsufficientAccessRights, ldap.LDAPResultAuthorizationDenied) {
		b.directoryRefused(ctx, op, err)
	}
	if isWriteOp(op) {
		// Even a failed write may have been applied (a timeout): what was
		// cached about the directory (group memberships the ACIs read,
		// identities) is forgotten so the next request sees it as it is.
		b.opt.Directory.Flush()
		if b.opt.OnWrite != nil {
			b.opt.OnWrite()
		}
	}
	return err
}

// directoryRefused records, in the request's audit and at warning level,
// that the directory's own access control refused an operation the ACIs
// had allowed: with proxied authorization, the directory decides as the
// mapped user too.
func (b *Backend) directoryRefused(ctx context.Context, op string, err error) {
	as, proxiedAs := ctx.Value(proxyKey{}).(string)
	reason := "refused by the directory: its access control denied the service account's " + op
	if proxiedAs {
		reason = "refused by the directory: its access control denied the " + op + " to " + as + " (proxied authorization)"
	}
	ev := b.opt.Log.Warn().Str("op", op).Err(err)
	if c, ok := resource.CallerFrom(ctx); ok {
		ev = ev.Str("request_id", c.RequestID)
		if c.Audit != nil {
			c.Audit.Refuse(reason)
		}
	}
	ev.Msg(reason)
}

// isWriteOp reports whether op names an operation that changes the
// directory.
func isWriteOp(op string) bool {
	switch op {
	case "add", "modify", "modrdn", "delete":
		return true
	}
	return false
}

// typeFilter builds the filter that selects the entries of a resource type;
// New keeps it in ts.filter.
func (ts *typeState) typeFilter() ldapfilter.Filter {
	f := ldapfilter.Filter(&ldapfilter.Equality{Attr: "objectClass", Value: ts.structural})
	if ts.m.Filter != "" {
		if extra, err := ldapfilter.Parse(ts.m.Filter); err == nil {
			f = &ldapfilter.And{Filters: []ldapfilter.Filter{f, extra}}
		}
	}
	return f
}

// fetchByID finds the entry of the resource id. A missing entry and an id
// that cannot be an id are both 404.
func (b *Backend) fetchByID(rc *reqCtx, ts *typeState, id string, attrs []string) (*ldap.Entry, error) {
	if id == "" || len(id) > 256 {
		return nil, resource.NotFound("%s %q not found", ts.t.Name, id)
	}
	f := &ldapfilter.And{Filters: []ldapfilter.Filter{ts.filter, &ldapfilter.Equality{Attr: ts.m.IDAttr, Value: id}}}
	req := ldap.NewSearchRequest(ts.m.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 0, false, f.String(), attrs, nil)
	res, err := b.search(rc.ctx, req, "lookup by id")
	if err != nil {
		var se *resource.Error
		if errors.As(err, &se) && se.Status == 404 {
			return nil, resource.NotFound("%s %q not found", ts.t.Name, id)
		}
		return nil, err
	}
	if len(res.Entries) != 1 {
		return nil, resource.NotFound("%s %q not found", ts.t.Name, id)
	}
	return res.Entries[0], nil
}

// toResourceOf turns an entry, with its adaptation for the engine, into
// the resource the caller may see: only readable attributes, references
// resolved to ids.
func (b *Backend) toResourceOf(rc *reqCtx, ts *typeState, le *ldap.Entry, e aci.Entry, p resource.Projection) (*resource.Resource, error) {
	r := &resource.Resource{ID: le.GetAttributeValue(ts.m.IDAttr), Attrs: map[string]any{}}
	r.Meta.ResourceType = ts.t.Name
	r.Meta.Version = b.version(le)
	// id, the version and the resource type are always returned; the
	// timestamps only to a caller that may read them.
	if t, err := parseGeneralizedTime(le.GetAttributeValue("createTimestamp")); err == nil && rc.canRead(e, "createtimestamp") {
		r.Meta.Created = t
	}
	if t, err := parseGeneralizedTime(le.GetAttributeValue("modifyTimestamp")); err == nil && rc.canRead(e, "modifytimestamp") {
		r.Meta.LastModified = t
	}
	// Whether each LDAP attribute is readable (decided once per attribute)
	// and whether each SCIM attribute got a value yet, by the plan's indexes.
	var readableBuf, firstBuf [32]int8
	readable, firstOf := readableBuf[:0], firstBuf[:0]
	readable = append(readable, make([]int8, ts.nCanon)...)
	firstOf = append(firstOf, make([]int8, ts.nKey)...)
	for i := range ts.read {
		ra := &ts.read[i]
		a := ra.a
		if !resource.WantsAttr(p, ra.top) {
			continue
		}
		if readable[ra.canonIdx] == 0 {
			readable[ra.canonIdx] = -1
			if rc.canRead(e, ra.canon) {
				readable[ra.canonIdx] = 1
			}
		}
		if readable[ra.canonIdx] < 0 {
			continue
		}
		vals := le.GetAttributeValues(a.LDAP)
		if a.Kind == KindReference {
			refs, err := b.resolveDNs(rc, vals, a, ts)
			if err != nil {
				return nil, err
			}
			if a.Sub == "value" && len(refs) > 0 {
				// References become whole complex values.
				c := container(r.Attrs, a, true)
				if ra.multi {
					c[ra.name] = refs
				} else {
					c[ra.name] = refs[0]
				}
			}
			continue
		}
		var out []any
		if len(vals) > 0 {
			out = make([]any, 0, len(vals))
		}
		for _, v := range vals {
			if sv, ok := toSCIMValue(a, v); ok {
				out = append(out, sv)
			}
		}
		if len(out) == 0 && a.Kind == KindBoolean && a.DefaultTrue {
			out = []any{true}
		}
		setSCIMValues(r.Attrs, ra, out, firstOf[ra.keyIdx] == 0)
		if len(out) > 0 {
			firstOf[ra.keyIdx] = 1
		}
	}
	return r, nil
}

// topPath is the attribute a mapping belongs to, as a projection names it.
func topPath(a *AttrMapping) string {
	if a.URN != "" {
		return a.URN + ":" + a.Attr
	}
	return a.Attr
}

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

// fetchAttrs lists the LDAP attributes to request, leaving out those the
// projection excludes (Entra's excludedAttributes=members must not even
// fetch the members).
func (b *Backend) fetchAttrs(ts *typeState, p resource.Projection) []string {
	if len(p.Attributes) == 0 && len(p.ExcludedAttributes) == 0 {
		return ts.fetch
	}
	skip := map[string]bool{}
	keep := map[string]bool{}
	for _, ra := range ts.read {
		if resource.WantsAttr(p, ra.top) {
			keep[strings.ToLower(ra.a.LDAP)] = true
		} else {
			skip[strings.ToLower(ra.a.LDAP)] = true
		}
	}
	var out []string
	for _, a := range ts.fetch {
		l := strings.ToLower(a)
		if skip[l] && !keep[l] {
			continue
		}
		out = append(out, a)
	}
	return out
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
