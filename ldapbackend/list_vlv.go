package ldapbackend

import (
	"context"
	"errors"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/ldapbackend/acisource"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/scim/resource"
)

// uniform serves a list reading only the page's entries: with one search
// the directory sorts (RFC 2891) and cuts to the page with Virtual List
// View by offset, counting the matches; or, for a client paging on through
// the same listing, with one search for the page's entries by id, the
// listing's order read once (listCache). That is right when every match is
// an entry the caller may see and search: when its rights cannot differ
// from one entry of the type to another (aci.Set.Uniform), or when the
// ACIs that tell entries apart are compiled into the filter (pushdown).
// Every entry of the page is still checked on its own (renderUniform). ok
// is false when this path does not apply or the directory cannot serve
// it; the caller then lists the usual way.
func (p *listPlan) uniform() (page *resource.Page, ok bool, err error) {
	b, rc, ts, q := p.b, p.rc, p.ts, p.q
	filter, sortAttr, start, count := p.filter, p.sortAttr, p.start, p.count
	// A cursor walk goes through the listing in the directory's own order
	// (list_natural.go), from its first page on.
	natural := q.ByCursor && count > 0 && (q.After == "" || q.From != nil) && b.walks.naturalOn()
	if !natural && (!b.opt.VLV || b.vlvOff.Load()) && !(b.opt.SortedPaging && b.walks.on()) && !ts.browse.Load() {
		return nil, false, nil
	}
	if _, mapped := rc.ctx.Value(proxyKey{}).(string); mapped {
		// The directory's own access control then drops entries after
		// VLV counted them.
		return nil, false, nil
	}
	empty := &resource.Page{StartIndex: start, Resources: []*resource.Resource{}}
	switch visible, uniform := p.uniformAccess(); {
	case uniform && !visible:
		return empty, true, nil
	case !uniform:
		// The ACIs tell the type's entries apart: the directory applies
		// them as part of the filter, if they can be written as one.
		pushed, ok := p.pushdown()
		if !ok {
			return nil, false, nil
		}
		p.filter, filter = pushed, pushed
	}
	rc.decideReadsOnce(ts.base)
	if natural {
		return p.natural(filter)
	}

	var keys []*ldap.SortKey
	if sortAttr != "" {
		// The directory orders by values the caller must be able to read
		// on every entry, or the order would tell what it may not see.
		may, ok := rc.uniform(ts, aci.Request{Right: aci.RightRead, Attr: aci.CanonicalAttr(sortAttr)})
		if !ok || !may {
			return nil, false, nil
		}
		if p.sortKey == nil {
			return nil, false, nil
		}
		keys = append(keys, p.sortKey)
	}
	// By id, or ties by id: the order the gateway itself uses.
	keys = append(keys, &ldap.SortKey{AttributeType: ts.m.IDAttr})

	// Every entry of the type in id order, which the directory has a
	// browsing index for (389 DS): each page, and the count, from the
	// index, wherever it is in the listing; no walk is needed.
	var res *ldap.SearchResult
	var total int
	err = errNotCut
	if ts.browse.Load() && sortAttr == "" && !q.ByCursor && filter == ts.filter.String() {
		p.browse = true
		if res, total, err = p.cut(keys, filter, nil); err == nil {
			p.how = "indexed"
		}
		p.browse = false
	}
	if errors.Is(err, errNotCut) {
		// A client going on with a walk kept here (walks), or paging
		// through a listing whose ordered ids are at hand while the
		// directory has not changed (listCache).
		key := p.walkKey()
		w := b.walks.take(key, count, start, q.After, q.ByCursor)
		tooLarge := p.windowed() && b.walks.windowTotal(key) > b.opt.Lookthrough
		if w == nil && !(b.walks.on() && (q.ByCursor || start == 1)) && !tooLarge {
			// A walk begins on the first page; the listing's ids serve a
			// page elsewhere in it, or every page when walks are not kept,
			// unless a window (cutWindow) found the listing larger than
			// the ids kept: reading them would sort it for nothing.
			if page, ok, err := p.fromListCache(keys, filter); ok {
				return page, ok, err
			}
		}
		res, total, err = p.cut(keys, filter, w)
	}
	switch {
	case errors.Is(err, errNotCut):
		return nil, false, nil
	case err != nil:
		return nil, true, err
	}
	page = &resource.Page{TotalResults: total, StartIndex: start, Resources: []*resource.Resource{}}
	if count == 0 || res == nil {
		return page, true, nil
	}
	return p.renderUniform(res.Entries, page)
}

// fromListCache serves the page from the listing's ordered ids if they
// are at hand, or reads them now if this listing is being paged through
// (listCache); ok is false otherwise.
func (p *listPlan) fromListCache(keys []*ldap.SortKey, filter string) (page *resource.Page, ok bool, err error) {
	b, ts, q := p.b, p.ts, p.q
	key := listKey{typ: ts.t.ID, filter: filter, sort: p.sortAttr, desc: q.SortDescending}
	ids, build, mark := b.lists.lookup(key)
	if build {
		var err error
		if ids, err = p.orderedIDs(keys); errors.Is(err, errListTooLarge) {
			b.lists.tooLarge(key)
			ids = nil
		} else if err != nil {
			b.opt.Log.Debug().Err(err).Msg("could not read a listing's order; paging with Virtual List View")
			b.lists.abandon(key)
			ids = nil
		} else {
			b.lists.store(key, mark, ids)
		}
	}
	if ids == nil {
		return nil, false, nil
	}
	p.how = "ids"
	return p.pageOfIDs(ids)
}

// errNotCut: the directory did not cut the page (it lacks or refused the
// controls); the listing is served the usual way.
var errNotCut = errors.New("the directory did not cut the page")

// cut has the directory sort the listing's matches and cut the page from
// them. A client's walk w, if one is kept, goes on (cutPaged); else a page
// that can begin a walk does, and one that cannot (no room, or a count
// alone) is cut with Virtual List View by offset. It returns the page's
// entries (nil past the end) and the listing's total: for a cursor page,
// the matches after the cursor.
func (p *listPlan) cut(keys []*ldap.SortKey, filter string, w *walk) (*ldap.SearchResult, int, error) {
	b, rc := p.b, p.rc
	start, count := p.start, p.count
	attrs := p.cutAttrs()
	vlv := p.browse || b.opt.VLV && !b.vlvOff.Load()
	// A walk begins with the first page (or a cursor's). A later page
	// that continues none is a window of a sorted list kept here
	// (cutWindow, OpenLDAP), or else begins a walk a few pages further on
	// (cutPaged reads the pages before it); deeper, the directory cuts
	// the one page where it can (Virtual List View). A listing with a
	// browsing index is always cut that way.
	if w == nil && p.windowed() {
		// A page deeper than the first that continues no walk: from a
		// sorted list kept here, sorted now if there is none.
		res, total, err := p.cutWindow(keys, filter, attrs)
		if !errors.Is(err, errNotCut) {
			return res, total, err
		}
	}
	if !p.browse && (w != nil || b.walks.on() && (!vlv || count > 0)) {
		res, total, err := p.cutPaged(keys, filter, attrs, w)
		if !errors.Is(err, errNotCut) || !vlv {
			return res, total, err
		}
	}
	if !vlv {
		return nil, 0, errNotCut
	}
	windowAttrs := attrs
	if count == 0 {
		windowAttrs = []string{"1.1"} // the count alone: the one entry VLV returns is not read
	}
	res, v, err := vlvPage(func(offset, after int, attrs []string) (*ldap.SearchResult, ldapconn.VLVResult, error) {
		// The pool does not keep the connection of a VLV search (see
		// ldapconn.Pool.Search): sssvlv keeps its sorted list there.
		return p.vlvSearch(func(req *ldap.SearchRequest) (*ldap.SearchResult, error) { return b.searchRaw(rc.ctx, req) },
			keys, filter, attrs, offset, after, nil)
	}, start, max(count, 1)-1, windowAttrs)
	if err != nil {
		switch {
		case ldap.IsErrorWithCode(err, ldap.LDAPResultUnavailableCriticalExtension):
			b.vlvOff.Store(true)
			b.opt.Log.Warn().Msg("the directory does not support Virtual List View (sssvlv overlay on OpenLDAP): lists read every match instead")
			return nil, 0, errNotCut
		case unreachable(err):
			return nil, 0, MapError(err, "search")
		}
		// Busy, unwilling, a size limit below the match count, no response
		// control: the usual way still answers.
		b.opt.Log.Debug().Err(err).Msg("Virtual List View search failed; listing the usual way")
		return nil, 0, errNotCut
	}
	p.how = "sorted"
	if start > v.Count {
		res = nil
	}
	return res, v.Count, nil
}

// vlvSearch sends, through search, the Virtual List View request for the
// after+1 entries from offset of filter's matches sorted by keys (of the
// list sorted before that context names, if not nil), and reads the
// response control: an error if the directory did not sort or cut.
func (p *listPlan) vlvSearch(search func(*ldap.SearchRequest) (*ldap.SearchResult, error), keys []*ldap.SortKey, filter string,
	attrs []string, offset, after int, context []byte) (*ldap.SearchResult, ldapconn.VLVResult, error) {
	req := p.ts.searchRequest(filter, 0, attrs, []ldap.Control{ldap.NewControlServerSideSortingWithSortKeys(keys),
		&ldapconn.VLVRequest{Offset: offset, After: after, ContextID: context}})
	res, err := search(req)
	if err != nil {
		return nil, ldapconn.VLVResult{}, err
	}
	v, err := ldapconn.ParseVLVResponse(res.Controls)
	if err == nil && (v.Code != 0 || !sortSucceeded(res.Controls)) {
		err = errors.New("the directory did not sort or cut the list")
	}
	return res, v, err
}

// vlvPage asks window for the after+1 entries from start, read with
// attrs; at an offset past the last match (which the directory refuses)
// it asks for the count alone, and the page is nil.
func vlvPage(window func(offset, after int, attrs []string) (*ldap.SearchResult, ldapconn.VLVResult, error),
	start, after int, attrs []string) (*ldap.SearchResult, ldapconn.VLVResult, error) {
	res, v, err := window(start, after, attrs)
	if ldap.IsErrorWithCode(err, ldapconn.ResultVLVError) {
		_, v, err = window(1, 0, []string{"1.1"})
		if err == nil && start <= v.Count {
			err = errors.New("the directory refused an offset within the list")
		}
		res = nil
	}
	return res, v, err
}

// uniformAccess reports whether the caller's access to the type's entries
// is the same for all of them (aci.Set.Uniform), for reading them and for
// searching every attribute of the client's filter, and if so whether it
// may see them.
func (p *listPlan) uniformAccess() (visible, uniform bool) {
	rc, ts := p.rc, p.ts
	visible, uniform = rc.uniform(ts, aci.Request{Right: aci.RightRead, Attr: "objectclass"})
	if !uniform || !visible {
		return visible, uniform
	}
	for _, a := range p.clientAttrs {
		may, ok := rc.uniform(ts, aci.Request{Right: aci.RightSearch, Attr: a})
		if !ok || !may {
			return may, ok
		}
	}
	return true, true
}

// renderUniform adds entries, in order, to page. Each entry is checked
// on its own against the uniform decision that let the page skip the
// per-entry checks; ok is false if one disagrees (never trust the page
// then: the caller lists the usual way).
func (p *listPlan) renderUniform(entries []*ldap.Entry, page *resource.Page) (_ *resource.Page, ok bool, err error) {
	b, rc, ts, q := p.b, p.rc, p.ts, p.q
	if err := b.prefetchRefs(rc, ts, entries, q.Projection); err != nil {
		return nil, true, err
	}
	read := p.fp.read
	if p.cutRead != nil {
		read = p.cutRead
	}
	for _, le := range entries {
		e := acisource.Adapt(le, read)
		if !rc.visibleHere(e) || !rc.maySearch(e, p.clientAttrs) {
			b.opt.Log.Error().Str("entry", le.DN).Msg("an entry's access differs from its type's uniform decision; listing the usual way")
			return nil, false, nil
		}
		r, err := b.toResourceOf(rc, ts, le, e, q.Projection)
		if err != nil {
			return nil, true, err
		}
		page.Resources = append(page.Resources, r)
	}
	return page, true, nil
}

// orderedIDs reads the ids of every match in the order keys give,
// sorted by the directory as for a VLV page. More than lookthrough
// matches is errListTooLarge: the gateway keeps no longer lists, and the
// directory then cuts each page (Virtual List View).
func (p *listPlan) orderedIDs(keys []*ldap.SortKey) ([]string, error) {
	b, ts := p.b, p.ts
	req := ts.searchRequest(p.filter, b.opt.Lookthrough+1, []string{ts.m.IDAttr},
		[]ldap.Control{ldap.NewControlServerSideSortingWithSortKeys(keys)})
	res, err := b.searchRaw(p.rc.ctx, req)
	if isSizeLimit(err) {
		return nil, errListTooLarge
	}
	if err != nil {
		return nil, err
	}
	if !sortSucceeded(res.Controls) {
		return nil, errors.New("the directory did not sort the listing")
	}
	if len(res.Entries) > b.opt.Lookthrough {
		return nil, errListTooLarge
	}
	ids := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		ids = append(ids, e.GetAttributeValue(ts.m.IDAttr))
	}
	return ids, nil
}

// pageOfIDs serves a page of a listing whose ordered ids are known: it
// reads just the page's entries.
func (p *listPlan) pageOfIDs(ids []string) (*resource.Page, bool, error) {
	start, count := p.start, p.count
	page := &resource.Page{TotalResults: len(ids), StartIndex: start, Resources: []*resource.Resource{}}
	if count == 0 || start > len(ids) {
		return page, true, nil
	}
	want := ids[start-1 : min(len(ids), start-1+count)]
	full, err := p.b.fetchByIDs(p.rc.ctx, p.ts, want, p.fp.attrs)
	if err != nil {
		return nil, true, err
	}
	entries := make([]*ldap.Entry, 0, len(want))
	for _, id := range want {
		if le, ok := full[id]; ok { // else deleted since the list was read, before the change check saw it
			entries = append(entries, le)
		}
	}
	return p.renderUniform(entries, page)
}

// errListTooLarge: a listing has more matches than the gateway keeps the
// order of (limits.lookthrough).
var errListTooLarge = errors.New("more matches than the lookthrough limit")

// unreachable reports whether err means the directory could not be
// reached or used (or the request ended), not that it refused a search.
func unreachable(err error) bool {
	var le *ldap.Error
	return errors.Is(err, ldapconn.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.As(err, &le) && isConnLevel(le.ResultCode) || !errors.As(err, &le) && ldapconn.IsConnError(err)
}

// isConnLevel reports whether an LDAP result code means the directory
// could not be reached or used at all, rather than that it turned this
// search down.
func isConnLevel(code uint16) bool {
	return code == ldap.ErrorNetwork || code == ldap.LDAPResultServerDown || code == ldap.LDAPResultTimeout ||
		code == ldap.LDAPResultUnavailable || code == ldap.LDAPResultTimeLimitExceeded
}
