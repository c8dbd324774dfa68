package ldapbackend

import (
	"cmp"
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/ldapbackend/acisource"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/ldapbackend/scimldap"
	"github.com/scimgate/scimgate/scim/resource"
)

// List implements resource.Backend. The directory evaluates the filter;
// the gateway then keeps the entries the caller may see (read on
// objectClass) and search (the search right on every attribute of the
// client's filter), sorts them by sortBy and then id so pages are stable,
// and converts only the requested page. At most Lookthrough entries may
// match; more is 400 tooMany. The request is worked out once (listPlan);
// each way of serving it is a method of the plan, tried in this order:
// a filtered search that matches a handful of entries is read whole at
// once (small); a listing whose access cannot differ between entries is
// cut to the page by the directory (uniform, list_vlv.go); anything else
// reads every match's order and access attributes, then the page
// (lookthrough).
func (b *Backend) List(ctx context.Context, t *resource.Type, q *resource.ListQuery) (*resource.Page, error) {
	ts, rc, err := b.open(ctx, t)
	if err != nil {
		return nil, err
	}
	defer rc.flush()
	p, err := b.newListPlan(rc, ts, q)
	if err != nil {
		return nil, err
	}
	page, err := p.serve()
	if err == nil && b.opt.OnListPage != nil {
		b.opt.OnListPage(cmp.Or(p.how, "none"))
	}
	if err == nil && q.ByCursor && page.Next == nil {
		// Cursor pages in id order start at the first match after the
		// cursor, so more follow when more matched than the page holds.
		page.More = page.TotalResults > p.count
	}
	return page, err
}

// serve serves the plan the first way that applies.
func (p *listPlan) serve() (*resource.Page, error) {
	if p.q.From != nil {
		// A cursor walk in the directory's own order goes on only that way.
		switch {
		case !p.b.walks.naturalOn():
			return nil, invalidCursor("this gateway keeps no cursor walks (limits.cursor_walks is -1), so it cannot go on with a walk in the directory's order: start it again with an empty cursor")
		case p.count == 0:
			return nil, &resource.Error{Status: http.StatusBadRequest, ScimType: "invalidCount",
				Detail: "the pages of a cursor walk keep the count of its first page"}
		}
		if page, ok, err := p.uniform(); ok {
			return page, err
		}
		if p.pushTransient {
			return nil, resource.Unavailable(errors.New(aci.ReasonGroupsIncomplete),
				"the caller's groups could not all be read: retry")
		}
		return nil, invalidCursor("this walk cannot go on in the directory's order (the caller's access to the listing changed): start it again with an empty cursor")
	}
	if p.q.Filter != nil {
		res, read, ok, err := p.small()
		if err != nil {
			return nil, err
		}
		if ok {
			p.how = "small"
			return p.pageOf(res, read, true, p.sortKey != nil && sortSucceeded(res.Controls))
		}
	}
	if page, ok, err := p.uniform(); ok {
		return page, err
	}
	p.how = "lookthrough"
	return p.lookthrough()
}

// listPlan is one list request, worked out once.
type listPlan struct {
	b  *Backend
	rc *reqCtx
	ts *typeState
	q  *resource.ListQuery

	tree         ldapfilter.Filter // the type's filter and the client's, and a cursor's condition
	base         ldapfilter.Filter // tree without the cursor's condition
	filter       string            // tree, printed once
	clientAttrs  []string          // the attributes the client's filter names: the search right is needed on them
	start, count int
	sortAttr     string // "" = by id
	sortKind     scimldap.Kind
	sortKey      *ldap.SortKey // nil when the directory is not asked to sort
	fp           *fetchPlan    // how the page's entries are read
	pass1        []string      // what ordering and the access decisions read of every match

	pushed   string              // filter with the caller's access compiled in (pushdown); "" = cannot be
	access   []ldapfilter.Filter // what pushdown added to tree
	pushDone bool
	cutRead  *acisource.ReadSet // what the entries of a page the directory cut hold (list_vlv.go)
	browse   bool               // the page is cut with the type's browsing index (Options.BrowsingIndexes)
	// pushTransient: pushdown declined for a reason that may pass (the
	// caller's groups could not all be found).
	pushTransient bool
	rechecker     *ldapfilter.Compiled // recheckFilter, compiled by recheck
	how           string               // how the page was served (Options.OnListPage)
}

func (b *Backend) newListPlan(rc *reqCtx, ts *typeState, q *resource.ListQuery) (*listPlan, error) {
	p := &listPlan{b: b, rc: rc, ts: ts, q: q}
	f := ts.filter
	if q.Filter != nil {
		tr, err := scimldap.TranslateFilter(rc.ctx, q.Filter, ts.m, b)
		if err != nil {
			return nil, err
		}
		f = &ldapfilter.And{Filters: []ldapfilter.Filter{f, tr.Filter}}
		p.clientAttrs = tr.Attributes
	}
	if q.ByCursor && q.SortBy != "" {
		return nil, resource.InvalidValue("cursor paging has its own order: sortBy cannot be combined with a cursor")
	}
	p.base = f
	if q.ByCursor && q.After != "" && q.From == nil {
		// Keyset paging (RFC 9865 cursors): the ids after the last one
		// served, in id order. A walk so made needs no state here, and
		// neither repeats nor skips an entry that is there throughout.
		f = &ldapfilter.And{Filters: []ldapfilter.Filter{f, afterID(ts.m.IDAttr, q.After)}}
	}
	p.tree, p.filter = f, f.String()
	p.count = q.Count
	if p.count < 0 {
		p.count = b.opt.DefaultPageSize
	}
	p.count = min(p.count, b.opt.MaxPageSize)
	// Past the int32 offsets LDAP's Virtual List View carries, no listing
	// has entries; the HTTP layer refuses such indexes already.
	p.start = min(max(q.StartIndex, 1), math.MaxInt32)
	var err error
	if p.sortAttr, p.sortKind, err = ts.sortAttr(q.SortBy); err != nil {
		return nil, err
	}
	// With sortBy, the directory sorts (server-side sort, RFC 2891) with the
	// attribute's ordering rule; the gateway then only drops what the caller
	// may not see, which keeps the order.
	p.sortKey = b.sortKey(p.sortAttr, p.sortKind, q.SortDescending)
	// The first pass fetches only what ordering and the access decisions
	// need (the attributes the ACIs' target filters and userattr rules
	// read); the returned page is fetched in full afterwards.
	first := []string{"objectClass", ts.m.IDAttr}
	if p.sortAttr != "" {
		first = append(first, p.sortAttr)
	}
	p.pass1 = planAttrs(rc.set, first)
	if resource.WantsAttr(q.Projection, "meta") {
		p.fp = rc.plan(ts, q.Projection)
	} else {
		// The client named attributes without meta: the page's entries
		// are read without the version and timestamps (an ACI that reads
		// one still gets it: planAttrs).
		meta := []string{b.opt.VersionAttr, "createTimestamp", "modifyTimestamp", b.opt.WriteToken}
		p.fp = rc.newPlan(slices.DeleteFunc(slices.Clone(b.fetchAttrs(ts, q.Projection)), func(a string) bool {
			return slices.ContainsFunc(meta, func(m string) bool { return m != "" && strings.EqualFold(a, m) })
		}))
	}
	return p, nil
}

// sortControls asks the directory to sort, if it is to.
func (p *listPlan) sortControls() []ldap.Control {
	if p.sortKey == nil {
		return nil
	}
	return []ldap.Control{ldap.NewControlServerSideSortingWithSortKeys([]*ldap.SortKey{p.sortKey})}
}

// search runs a search of the type's entries matching the plan's filter,
// with the request's proxied authorization, its error unmapped.
func (p *listPlan) search(sizeLimit int, attrs []string, controls []ldap.Control) (*ldap.SearchResult, error) {
	req := p.ts.searchRequest(p.filter, sizeLimit, attrs, controls)
	req.Controls = proxied(p.rc.ctx, req.Controls)
	return p.b.searchRaw(p.rc.ctx, req)
}

// small reads the matches of a filtered search whole, in one search, when
// there are at most smallResult of them (a userName or externalId lookup):
// ok is false when there are more, or when the directory cannot sort them
// (the two passes then sort); any other error is returned.
func (p *listPlan) small() (res *ldap.SearchResult, read *acisource.ReadSet, ok bool, err error) {
	attrs := appendMissing(slices.Clone(p.fp.attrs), p.pass1...) // never append to the shared plan
	controls := p.sortControls()
	res, err = p.search(smallResult+1, attrs, controls)
	switch {
	case err == nil && len(res.Entries) <= smallResult:
		return res, p.rc.readSetFor(attrs), true, nil
	case err == nil, isSizeLimit(err):
		return nil, nil, false, nil // more than smallResult
	case len(controls) > 0 && cannotSort(err):
		return nil, nil, false, nil
	}
	return nil, nil, false, MapError(err, "search")
}

// lookthrough reads the order and access attributes of every match (at
// most Lookthrough), then the page's entries in full.
func (p *listPlan) lookthrough() (*resource.Page, error) {
	b := p.b
	if pushed, ok := p.pushdown(); ok {
		// The directory drops what the caller may not see, so lookthrough
		// bounds only what it may; every match is still checked here.
		p.filter = pushed
	}
	controls := p.sortControls()
	res, err := p.search(b.opt.Lookthrough+1, p.pass1, controls)
	if err != nil && len(controls) > 0 && cannotSort(err) {
		// A directory that cannot sort now (busy, unwilling, no overlay)
		// still answers: the gateway sorts instead.
		controls = nil
		res, err = p.search(b.opt.Lookthrough+1, p.pass1, nil)
	}
	if err != nil {
		if !isSizeLimit(err) {
			return nil, MapError(err, "search")
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
	return p.pageOf(res, p.rc.readSetFor(p.pass1), false, len(controls) > 0 && sortSucceeded(res.Controls))
}

// pageOf keeps the matches the caller may see, in order, and renders the
// page of them. read is what the matches hold; whole says they hold what
// rendering needs (small), else the page's entries are read again;
// serverSorted that the directory sorted them.
func (p *listPlan) pageOf(res *ldap.SearchResult, read *acisource.ReadSet, whole, serverSorted bool) (*resource.Page, error) {
	b, rc, ts, q := p.b, p.rc, p.ts, p.q
	type hit struct {
		le  *ldap.Entry
		e   aci.Entry // le adapted for the engine
		key string
		id  string
	}
	var hits []hit
	// A sort key the caller may not read must not order what it sees: the
	// entry sorts as if it had no value, and the gateway sorts then.
	hidden, canonSort := false, aci.CanonicalAttr(p.sortAttr)
	for _, le := range res.Entries {
		e := acisource.Adapt(le, read)
		if !rc.visible(e) || !rc.maySearch(e, p.clientAttrs) {
			continue
		}
		h := hit{le: le, e: e, id: le.GetAttributeValue(ts.m.IDAttr)}
		if p.sortAttr != "" {
			if rc.canRead(e, canonSort) {
				h.key = le.GetAttributeValue(p.sortAttr)
			} else {
				hidden = true
			}
		}
		hits = append(hits, h)
	}
	if !serverSorted || hidden {
		sort.SliceStable(hits, func(i, j int) bool {
			if c := compareKeys(p.sortKind, hits[i].key, hits[j].key); c != 0 {
				return c < 0 != q.SortDescending
			}
			return hits[i].id < hits[j].id
		})
	}
	start, count := p.start, p.count
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
	} else {
		var err error
		if full, err = b.fetchByIDs(rc.ctx, ts, ids, p.fp.attrs); err != nil {
			return nil, err
		}
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
			if e = p.fp.entry(le); !rc.visible(e) {
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

// cannotSort reports whether a search carrying the server-side sort
// control failed because the directory cannot sort it here (RFC 2891's
// sortResult codes, an overlay that is missing or busy), so that the same
// search without the control may succeed. A deadline, a lost connection
// or a refusal of the search itself are not such failures.
func cannotSort(err error) bool {
	return ldap.IsErrorAnyOf(err, ldap.LDAPResultUnavailableCriticalExtension, ldap.LDAPResultAdminLimitExceeded,
		ldap.LDAPResultNoSuchAttribute, ldap.LDAPResultInappropriateMatching, ldap.LDAPResultBusy,
		ldap.LDAPResultUnwillingToPerform, ldap.LDAPResultOther) && !errors.Is(err, ldapconn.ErrUnavailable)
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

// anyOf is the filter of the entries whose attr equals one of values.
func anyOf(attr string, values []string) ldapfilter.Filter {
	ors := make([]ldapfilter.Filter, len(values))
	for i, v := range values {
		ors[i] = &ldapfilter.Equality{Attr: attr, Value: v}
	}
	return &ldapfilter.Or{Filters: ors}
}

// searchAnyOf reads the entries of type ts whose attr equals one of
// values, chunk values to a search, and hands each to found.
func (b *Backend) searchAnyOf(ctx context.Context, ts *typeState, attr string, values []string, chunk int, attrs []string,
	op string, found func(*ldap.Entry)) error {
	for len(values) > 0 {
		part := values[:min(len(values), chunk)]
		values = values[len(part):]
		f := &ldapfilter.And{Filters: []ldapfilter.Filter{ts.filter, anyOf(attr, part)}}
		req := ts.searchRequest(f.String(), 0, attrs, nil)
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
	req := entryRequest(dn, attrs)
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
func (ts *typeState) sortAttr(sortBy string) (string, scimldap.Kind, error) {
	if sortBy == "" {
		return "", scimldap.KindString, nil
	}
	p, err := resource.ParsePath(sortBy)
	if err != nil {
		return "", scimldap.KindString, resource.InvalidValue("sortBy %q is not an attribute path", sortBy)
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
		return "", scimldap.KindString, nil
	case urn == "" && attr == "meta" && sub == "created":
		return "createTimestamp", scimldap.KindDateTime, nil
	case urn == "" && attr == "meta" && sub == "lastmodified":
		return "modifyTimestamp", scimldap.KindDateTime, nil
	}
	for _, a := range ts.m.Attrs {
		if strings.ToLower(a.URN) != urn || a.Attr != attr || a.WriteOnly || a.Kind == scimldap.KindReference || a.Kind == scimldap.KindJSON {
			continue
		}
		if sub == "" || a.Sub == sub {
			return a.LDAP, a.Kind, nil
		}
	}
	return "", scimldap.KindString, resource.InvalidValue("cannot sort by %q", sortBy)
}

// sortKey is the server-side sort key ordering by attr, a value of kind,
// or nil when attr is "" or the directory cannot order such values.
func (b *Backend) sortKey(attr string, kind scimldap.Kind, desc bool) *ldap.SortKey {
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
func orderingRule(k scimldap.Kind) string {
	switch k {
	case scimldap.KindString:
		return "caseIgnoreOrderingMatch"
	case scimldap.KindInteger:
		return "integerOrderingMatch"
	case scimldap.KindDateTime:
		return "generalizedTimeOrderingMatch"
	}
	return ""
}

// compareKeys orders two sort keys by kind, for when the gateway sorts. An
// absent key ("") sorts after every value, as the directory's server-side
// sort places an entry without the attribute (RFC 2891), so the two agree.
func compareKeys(k scimldap.Kind, a, b string) int {
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	if k == scimldap.KindInteger {
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
