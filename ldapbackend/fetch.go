package ldapbackend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/ldapbackend/acisource"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/scim/resource"
)

// version is the entry's version, for ETags and If-Match.
func (b *Backend) version(le *ldap.Entry) string { return le.GetAttributeValue(b.opt.VersionAttr) }

// versionAssertion is the LDAP Assertion control that makes a write fail
// (and 412) if the entry changed since it was read; nil when the directory
// has no such control.
//
// The filter holds of every other entry: OpenLDAP's memberof overlay runs
// its own modifies of the members (memberOf) with the group's operation
// copied, assertion included, and they would fail, leaving memberOf stale,
// if the filter tested the version alone.
func (b *Backend) versionAssertion(le *ldap.Entry) (ldap.Control, error) {
	if b.opt.NoAssertion {
		return nil, nil
	}
	f := &ldapfilter.Or{Filters: []ldapfilter.Filter{
		&ldapfilter.Equality{Attr: b.opt.VersionAttr, Value: b.version(le)},
		&ldapfilter.Not{Filter: &ldapfilter.Equality{Attr: "entryDN", Value: le.DN}},
	}}
	return ldapconn.NewAssertionControl(f.String())
}

// tokenExchange is a modify's exchange of the entry's write token
// (Options.WriteToken): the value read is deleted and a new one added in
// the same modify, so the modify fails when another writer exchanged it
// since the entry was read. That makes If-Match, and the read-modify-write
// of every write, atomic among gateways on a directory without the LDAP
// Assertion control (389 DS 2.3). A writer that does not exchange the
// token (another LDAP client) is not caught that way.
type tokenExchange struct {
	first bool // the entry had no token: the add alone guards (a second value of a single-valued attribute)
}

// exchangeToken adds the token exchange to mods; nil when there is none
// (no WriteToken, the Assertion control guards instead, or an entry whose
// classes do not allow the token).
func (b *Backend) exchangeToken(le *ldap.Entry, mods *ldap.ModifyRequest) *tokenExchange {
	attr := b.opt.WriteToken
	if attr == "" || !slices.ContainsFunc(le.GetAttributeValues("objectClass"), func(c string) bool { return strings.EqualFold(c, tokenClass) }) {
		return nil
	}
	cur := le.GetAttributeValue(attr)
	if cur != "" {
		mods.Delete(attr, []string{cur})
	}
	mods.Add(attr, []string{newToken()})
	return &tokenExchange{first: cur == ""}
}

// tokenClass is the auxiliary class that allows the write token.
const tokenClass = "scimResource"

// newToken returns a fresh write token.
func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// conflict turns the failure of a modify that exchanged the token because
// another writer exchanged it first into a failed assertion (412 for an
// If-Match, worked out again without one: retryConflicts); other errors
// pass unchanged.
func (t *tokenExchange) conflict(err error) error {
	if t == nil || err == nil {
		return err
	}
	var le *ldap.Error
	if !errors.As(err, &le) {
		return err
	}
	switch le.ResultCode {
	case ldap.LDAPResultNoSuchAttribute, ldap.LDAPResultAttributeOrValueExists:
	case ldap.LDAPResultConstraintViolation, ldap.LDAPResultObjectClassViolation:
		if !t.first {
			return err
		}
	default:
		return err
	}
	return ldap.NewError(ldap.LDAPResultAssertionFailed, fmt.Errorf("the entry changed since it was read: %w", err))
}

// withControl appends c unless it is nil.
func withControl(list []ldap.Control, c ldap.Control) []ldap.Control {
	if c == nil {
		return list
	}
	return append(list, c)
}

// fetchPlan is the attribute list of a search whose entries the engine
// decides on: what rendering needs and every attribute the request's ACIs
// read of an entry (aci.Set.EntryAttributes), with the acisource.ReadSet that lets
// each entry say what it holds. An entry read any other way lacks what an
// ACI reads, and the engine then denies (fail closed) and says so.
type fetchPlan struct {
	set   *aci.Set
	attrs []string
	read  *acisource.ReadSet
}

// planAttrs is base and every attribute set reads of an entry, each once;
// base is not changed.
func planAttrs(set *aci.Set, base []string) []string {
	return slices.Clip(appendMissing(slices.Clone(base), set.EntryAttributes()...))
}

// appendMissing appends to list each of more it does not hold already
// (names compared case-insensitively).
func appendMissing(list []string, more ...string) []string {
	for _, a := range more {
		if !containsFold(list, a) {
			list = append(list, a)
		}
	}
	return list
}

// newPlan plans a search of this request for base plus what its ACIs read
// of an entry.
func (rc *reqCtx) newPlan(base []string) *fetchPlan {
	attrs := planAttrs(rc.set, base)
	return &fetchPlan{set: rc.set, attrs: attrs, read: rc.readSetFor(attrs)}
}

// plan returns the fetchPlan for entries of ts that the request decides on
// and renders with projection p.
func (rc *reqCtx) plan(ts *typeState, p resource.Projection) *fetchPlan {
	whole := len(p.Attributes) == 0 && len(p.ExcludedAttributes) == 0
	full := &ts.full
	if rc.proxied {
		full = &ts.fullProxied
	}
	if whole {
		if fp := full.Load(); fp != nil && fp.set == rc.set {
			return fp
		}
	}
	fp := rc.newPlan(rc.b.fetchAttrs(ts, p))
	if whole {
		full.Store(fp)
	}
	return fp
}

// readSetFor is the acisource.ReadSet of a search for attrs made by this
// request, whose entries the engine decides on. An attribute an entry comes
// back with that nothing asked for is logged (warnRenamed). Under proxied
// authorization the directory answers as the mapped user and may leave out,
// silently, what its own access control hides from that user: the entries
// then hold none of the attributes the ACIs read (acisource.ReadSet.Filtered),
// and a check that needs one is decided again on the service account's view
// of the entry (reqCtx.allowed).
func (rc *reqCtx) readSetFor(attrs []string) *acisource.ReadSet {
	s := acisource.NewReadSet(attrs).OnUnexpected(rc.b.warnRenamed)
	if rc.proxied {
		s = s.Filtered(rc.set.EntryAttributes())
	}
	return s
}

// warnRenamed logs, once per name, an attribute the directory returned
// although no name asked for it: the directory names attributes by its
// schema's primary name, so an ACI that names one by OID or by an alias the
// engine does not know finds no value under that name. The entry then holds
// none of the attributes that did not come back (acisource.Adapt), so the
// checks that need them fail closed and are logged at error level.
func (b *Backend) warnRenamed(returned string, missing []string) {
	if _, seen := b.renamedWarned.LoadOrStore(strings.ToLower(returned), true); seen {
		return
	}
	b.opt.Log.Warn().Str("returned_attribute", returned).Strs("requested_not_returned", missing).
		Msg("the directory returned an attribute under a name no ACI or mapping asked for: an ACI probably names it by OID or by an alias; name it " +
			returned + " (its primary name) in the ACIs, until then the checks that read it fail closed")
}

// entry adapts le, read as fp planned, for the engine.
func (fp *fetchPlan) entry(le *ldap.Entry) aci.Entry { return acisource.Adapt(le, fp.read) }

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

// search runs one LDAP search and maps errors.
func (b *Backend) search(ctx context.Context, req *ldap.SearchRequest, op string) (*ldap.SearchResult, error) {
	req.Controls = proxied(ctx, req.Controls)
	res, err := b.searchRaw(ctx, req)
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) && res != nil {
			return res, err
		}
		return nil, MapError(err, op)
	}
	return res, nil
}

// searchRaw runs one LDAP search as it is, its error unmapped.
func (b *Backend) searchRaw(ctx context.Context, req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	var res *ldap.SearchResult
	err := b.do(ctx, "search", func(ctx context.Context) error {
		var err error
		res, err = b.opt.Conn.Search(ctx, req)
		return err
	})
	return res, err
}

// do runs one LDAP operation and observes its latency.
func (b *Backend) do(ctx context.Context, op string, fn func(context.Context) error) error {
	start := time.Now()
	err := fn(ctx)
	if b.opt.ObserveLDAP != nil {
		b.opt.ObserveLDAP(op, time.Since(start), err)
	}
	if err != nil && ldap.IsErrorAnyOf(err, ldap.LDAPResultInsufficientAccessRights, ldap.LDAPResultAuthorizationDenied) {
		b.directoryRefused(ctx, op, err)
	}
	if isWriteOp(op) {
		// Even a failed write may have been applied (a timeout): what was
		// cached about the directory (group memberships the ACIs read,
		// what references name, the ids of listings, identities) is
		// forgotten so the next request sees it as it is.
		b.opt.Directory.Flush()
		b.refs.Flush()
		b.lists.Flush()
		b.walks.flush()
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

// searchRequest is a search of the type's subtree for filter (printed
// from an ldapfilter tree), reading attrs.
func (ts *typeState) searchRequest(filter string, sizeLimit int, attrs []string, controls []ldap.Control) *ldap.SearchRequest {
	return &ldap.SearchRequest{BaseDN: ts.m.BaseDN, Scope: ldap.ScopeWholeSubtree, DerefAliases: ldap.NeverDerefAliases,
		SizeLimit: sizeLimit, Filter: filter, Attributes: attrs, Controls: controls}
}

// entryRequest is a read of the one entry dn.
func entryRequest(dn string, attrs []string) *ldap.SearchRequest {
	return &ldap.SearchRequest{BaseDN: dn, Scope: ldap.ScopeBaseObject, DerefAliases: ldap.NeverDerefAliases,
		SizeLimit: 1, Filter: everyEntry, Attributes: attrs}
}

// everyEntry is the filter of a read of one entry.
var everyEntry = (&ldapfilter.Present{Attr: "objectClass"}).String()

// fetchByID finds the entry of the resource id. A missing entry and an id
// that cannot be an id are both 404.
func (b *Backend) fetchByID(rc *reqCtx, ts *typeState, id string, attrs []string) (*ldap.Entry, error) {
	if id == "" || len(id) > 256 {
		return nil, resource.NotFound("%s %q not found", ts.t.Name, id)
	}
	f := &ldapfilter.And{Filters: []ldapfilter.Filter{ts.filter, &ldapfilter.Equality{Attr: ts.m.IDAttr, Value: id}}}
	req := ts.searchRequest(f.String(), 2, attrs, nil)
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
