package ldapbackend

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/scim/resource"
)

// List implements resource.Backend. The directory evaluates the filter;
// the gateway then keeps the entries the caller may see (read on
// objectClass) and search (the search right on every attribute of the
// client's filter), sorts them by sortBy and then id so pages are stable,
// and converts only the requested page. At most Lookthrough entries may
// match; more is 400 tooMany.
func (b *Backend) List(ctx context.Context, t *resource.Type, q *resource.ListQuery) (*resource.Page, error) {
	ts, rc, err := b.open(ctx, t)
	if err != nil {
		return nil, err
	}
	defer rc.flush()
	ctx = rc.ctx
	f := ts.filter
	var clientAttrs []string
	if q.Filter != nil {
		tr, err := TranslateFilter(ctx, q.Filter, ts.m, b)
		if err != nil {
			return nil, err
		}
		f = &ldapfilter.And{Filters: []ldapfilter.Filter{f, tr.Filter}}
		clientAttrs = tr.Attributes
	}
	count := q.Count
	if count < 0 {
		count = b.opt.DefaultPageSize
	}
	count = min(count, b.opt.MaxPageSize)
	start := max(q.StartIndex, 1)

	sortAttr, sortKind, err := ts.sortAttr(q.SortBy)
	if err != nil {
		return nil, err
	}
	// The first pass fetches only what ordering and the access decisions
	// need (the attributes the ACIs' target filters and userattr rules
	// read); the returned page is fetched in full afterwards.
	pass1 := []string{"objectClass", ts.m.IDAttr}
	if sortAttr != "" {
		pass1 = append(pass1, sortAttr)
	}
	for _, a := range rc.set.EntryAttributes() {
		if !containsFold(pass1, a) {
			pass1 = append(pass1, a)
		}
	}
	// With sortBy, the directory sorts (server-side sort, RFC 2891) with the
	// attribute's ordering rule; the gateway then only drops what the caller
	// may not see, which keeps the order.
	var controls []ldap.Control
	if k := b.sortKey(sortAttr, sortKind, q.SortDescending); k != nil {
		controls = append(controls, ldap.NewControlServerSideSortingWithSortKeys([]*ldap.SortKey{k}))
	}
	fp := rc.plan(ts, q.Projection)
	filter, fetch := f.String(), fp.attrs
	read1 := newReadSet(pass1) // what the entries of the first pass hold
	// A filtered search usually matches a handful of entries (a userName
	// or externalId lookup): read them in full at once, and fall back to
	// two passes only when more than smallResult match.
	var res *ldap.SearchResult
	whole := false
	if q.Filter != nil {
		attrs := slices.Clone(fetch) // never append to the shared plan
		for _, a := range pass1 {
			if !containsFold(attrs, a) {
				attrs = append(attrs, a)
			}
		}
		read0 := newReadSet(attrs)
		req0 := ldap.NewSearchRequest(ts.m.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			smallResult+1, 0, false, filter, attrs, controls)
		if r0, err0 := b.search(ctx, req0, "search"); err0 == nil && len(r0.Entries) <= smallResult {
			res, whole, read1 = r0, true, read0
		}
	}
	// When the caller's access is the same for every entry of the type,
	// the directory can cut the page itself.
	if !whole {
		if page, ok, err := b.listVLV(rc, ts, q, filter, fp, clientAttrs, sortAttr, sortKind, start, count); ok {
			return page, err
		}
	}
	req := ldap.NewSearchRequest(ts.m.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		b.opt.Lookthrough+1, 0, false, filter, pass1, controls)
	if !whole {
		res, err = b.search(ctx, req, "search")
	}
	if err != nil && len(controls) > 0 && !isSizeLimit(err) {
		// A directory that cannot sort now (busy, unwilling, no overlay)
		// still answers: the gateway sorts instead.
		req.Controls = nil
		res, err = b.search(ctx, req, "search")
		controls = nil
	}
	serverSorted := len(controls) > 0 && res != nil && sortSucceeded(res.Controls)
	if err != nil {
		if !isSizeLimit(err) {
			return nil, err
		}
		if res == nil || len(res.Entries) > b.opt.Lookthrough {
			return nil, resource.TooMany("the search matched more than %d resources; narrow the filter", b.opt.Lookthrough)
		}
		// The directory stopped short of our own limit: its size limit for
		// the service account is below lookthrough. A deployment problem,
		// not the client's.
		b.opt.Log.Error().Int("entries", len(res.Entries)).Int("lookthrough", b.opt.Lookthrough).
			Msg("the directory cut a search short: raise the service account's size limit to at least limits.lookthrough")
		return nil, resource.Unavailable(err, "the directory limited the search; see the server log")
	}
	if len(res.Entries) > b.opt.Lookthrough {
		return nil, resource.TooMany("the search matched more than %d resources; narrow the filter", b.opt.Lookthrough)
	}
	type hit struct {
		le  *ldap.Entry
		e   aci.Entry // le adapted for the engine
		key string
		id  string
	}
	var hits []hit
	// A sort key the caller may not read must not order what it sees: the
	// entry sorts as if it had no value, and the gateway sorts then.
	hidden, canonSort := false, aci.CanonicalAttr(sortAttr)
	for _, le := range res.Entries {
		e := newEntry(le, read1)
		if !rc.visible(e) || !rc.maySearch(e, clientAttrs) {
			continue
		}
		h := hit{le: le, e: e, id: le.GetAttributeValue(ts.m.IDAttr)}
		if sortAttr != "" {
			if rc.canRead(e, canonSort) {
				h.key = le.GetAttributeValue(sortAttr)
			} else {
				hidden = true
			}
		}
		hits = append(hits, h)
	}
	if !serverSorted || hidden {
		sort.SliceStable(hits, func(i, j int) bool {
			if c := compareKeys(sortKind, hits[i].key, hits[j].key); c != 0 {
				return c < 0 != q.SortDescending
			}
			return hits[i].id < hits[j].id
		})
	}
	page := &resource.Page{TotalResults: len(hits), StartIndex: start, Resources: []*resource.Resource{}}
	if start > len(hits) || count == 0 {
		return page, nil
	}
	pageHits := hits[start-1 : min(len(hits), start-1+count)]
	ids := make([]string, len(pageHits))
	for i, h := range pageHits {
		ids[i] = h.id
	}
	var full map[string]*ldap.Entry
	var adapted map[string]aci.Entry // read whole: checked and adapted already
	if whole {
		full = make(map[string]*ldap.Entry, len(pageHits))
		adapted = make(map[string]aci.Entry, len(pageHits))
		for _, h := range pageHits {
			full[h.id], adapted[h.id] = h.le, h.e
		}
	} else if full, err = b.fetchByIDs(ctx, ts, ids, fetch); err != nil {
		return nil, err
	}
	pageEntries := make([]*ldap.Entry, 0, len(full))
	for _, le := range full {
		pageEntries = append(pageEntries, le)
	}
	if err := b.prefetchRefs(rc, ts, pageEntries, q.Projection); err != nil {
		return nil, err
	}
	for _, id := range ids {
		le, ok := full[id]
		if !ok {
			continue // deleted between the two passes
		}
		e, ok := adapted[id]
		if !ok {
			if e = fp.entry(le); !rc.visible(e) {
				continue // changed between the two passes
			}
		}
		r, err := b.toResourceOf(rc, ts, le, e, q.Projection)
		if err != nil {
			return nil, err
		}
		page.Resources = append(page.Resources, r)
	}
	return page, nil
}

// fetchByIDs reads the entries of a page in one search per chunk of ids.
func (b *Backend) fetchByIDs(ctx context.Context, ts *typeState, ids []string, attrs []string) (map[string]*ldap.Entry, error) {
	out := make(map[string]*ldap.Entry, len(ids))
	err := b.searchAnyOf(ctx, ts, ts.m.IDAttr, ids, 500, attrs, "read page", func(e *ldap.Entry) {
		out[e.GetAttributeValue(ts.m.IDAttr)] = e
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// searchAnyOf reads the entries of type ts whose attr equals one of
// values, chunk values to a search, and hands each to found.
func (b *Backend) searchAnyOf(ctx context.Context, ts *typeState, attr string, values []string, chunk int, attrs []string,
	op string, found func(*ldap.Entry)) error {
	for len(values) > 0 {
		part := values[:min(len(values), chunk)]
		values = values[len(part):]
		ors := make([]ldapfilter.Filter, len(part))
		for i, v := range part {
			ors[i] = &ldapfilter.Equality{Attr: attr, Value: v}
		}
		f := &ldapfilter.And{Filters: []ldapfilter.Filter{ts.filter, &ldapfilter.Or{Filters: ors}}}
		req := ldap.NewSearchRequest(ts.m.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, f.String(), attrs, nil)
		res, err := b.search(ctx, req, op)
		if err != nil {
			return err
		}
		for _, e := range res.Entries {
			found(e)
		}
	}
	return nil
}

// smallResult is how many matches a filtered search reads in full in one
// pass before it switches to two passes.
const smallResult = 20

// maySearch: the caller needs the search right on every attribute its
// filter names; the parts the gateway adds itself need none.
func (rc *reqCtx) maySearch(e aci.Entry, attrs []string) bool {
	for _, a := range attrs {
		if !rc.ask(aci.Request{TargetDN: e.DN(), Entry: e, Right: aci.RightSearch, Attr: a}) {
			return false
		}
	}
	return true
}

// fetchDN reads attributes of one entry by DN; nil when it is gone.
func (b *Backend) fetchDN(ctx context.Context, dn string, attrs []string) (*ldap.Entry, error) {
	req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", attrs, nil)
	res, err := b.search(ctx, req, "read")
	if err != nil {
		var se *resource.Error
		if errors.As(err, &se) && se.Status == 404 {
			return nil, nil
		}
		return nil, err
	}
	if len(res.Entries) == 0 {
		return nil, nil
	}
	return res.Entries[0], nil
}

// sortAttr maps sortBy to the LDAP attribute to order by ("" = by id) and
// the kind of its values.
func (ts *typeState) sortAttr(sortBy string) (string, Kind, error) {
	if sortBy == "" {
		return "", KindString, nil
	}
	p, err := resource.ParsePath(sortBy)
	if err != nil {
		return "", KindString, resource.InvalidValue("sortBy %q is not an attribute path", sortBy)
	}
	urn, attr, sub := "", strings.ToLower(p.AttributePath.AttributeName), ""
	if p.AttributePath.URIPrefix != nil && !strings.EqualFold(*p.AttributePath.URIPrefix, ts.t.Schema.ID) {
		urn = strings.ToLower(*p.AttributePath.URIPrefix)
	}
	if p.AttributePath.SubAttribute != nil {
		sub = strings.ToLower(*p.AttributePath.SubAttribute)
	}
	switch {
	case urn == "" && attr == "id":
		return "", KindString, nil
	case urn == "" && attr == "meta" && sub == "created":
		return "createTimestamp", KindDateTime, nil
	case urn == "" && attr == "meta" && sub == "lastmodified":
		return "modifyTimestamp", KindDateTime, nil
	}
	for _, a := range ts.m.Attrs {
		if strings.ToLower(a.URN) != urn || a.Attr != attr || a.WriteOnly || a.Kind == KindReference {
			continue
		}
		if sub == "" || a.Sub == sub {
			return a.LDAP, a.Kind, nil
		}
	}
	return "", KindString, resource.InvalidValue("cannot sort by %q", sortBy)
}

// sortKey is the server-side sort key ordering by attr, a value of kind,
// or nil when attr is "" or the directory cannot order such values.
func (b *Backend) sortKey(attr string, kind Kind, desc bool) *ldap.SortKey {
	rule := orderingRule(kind)
	if attr == "" || rule == "" {
		return nil
	}
	if b.opt.PlainSortKeys {
		rule = "" // the attribute's own ordering rule
	}
	return &ldap.SortKey{AttributeType: attr, MatchingRule: rule, Reverse: desc}
}

// orderingRule names the LDAP ordering matching rule for a kind ("" when
// the directory cannot order such values).
func orderingRule(k Kind) string {
	switch k {
	case KindString:
		return "caseIgnoreOrderingMatch"
	case KindInteger:
		return "integerOrderingMatch"
	case KindDateTime:
		return "generalizedTimeOrderingMatch"
	}
	return ""
}

// compareKeys orders two sort keys by kind, for when the gateway sorts. An
// absent key ("") sorts after every value, as the directory's server-side
// sort places an entry without the attribute (RFC 2891), so the two agree.
func compareKeys(k Kind, a, b string) int {
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	if k == KindInteger {
		x, errA := strconv.ParseInt(a, 10, 64)
		y, errB := strconv.ParseInt(b, 10, 64)
		if errA == nil && errB == nil {
			return cmp.Compare(x, y)
		}
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}

// sortSucceeded reports whether the directory says it sorted the results.
func sortSucceeded(controls []ldap.Control) bool {
	for _, c := range controls {
		if r, ok := c.(*ldap.ControlServerSideSortingResult); ok {
			return r.Result == ldap.ControlServerSideSortingCodeSuccess
		}
	}
	return false
}

func isSizeLimit(err error) bool {
	return ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) || ldap.IsErrorWithCode(errors.Unwrap(err), ldap.LDAPResultSizeLimitExceeded)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
