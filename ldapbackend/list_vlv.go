package ldapbackend

import (
	"context"
	"errors"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/scim/resource"
)

// listVLV serves a list reading only the page's entries: with one search
// the directory sorts (RFC 2891) and cuts to the page with Virtual List
// View by offset, counting the matches; or, for a client paging on through
// the same listing, with one search for the page's entries by id, the
// listing's order read once (listCache). That is right only when the
// caller's rights cannot differ from one entry of the type to another
// (aci.Set.Uniform), for reading them and for searching the attributes its
// filter names: otherwise the gateway must see every match to drop those
// the caller may not see. ok is false when this path does not apply or the
// directory cannot serve it; the caller then lists the usual way.
func (b *Backend) listVLV(rc *reqCtx, ts *typeState, q *resource.ListQuery, filter string, fp *fetchPlan, clientAttrs []string,
	sortAttr string, sortKind Kind, start, count int) (page *resource.Page, ok bool, err error) {
	if !b.opt.VLV || b.vlvOff.Load() {
		return nil, false, nil
	}
	if _, mapped := rc.ctx.Value(proxyKey{}).(string); mapped {
		// The directory's own access control then drops entries after
		// VLV counted them.
		return nil, false, nil
	}
	empty := &resource.Page{StartIndex: start, Resources: []*resource.Resource{}}
	visible, ok := rc.uniform(ts, aci.Request{Right: aci.RightRead, Attr: "objectclass"})
	if !ok {
		return nil, false, nil
	}
	if !visible {
		return empty, true, nil
	}
	rc.decideReadsOnce(ts.base)
	for _, a := range clientAttrs {
		may, ok := rc.uniform(ts, aci.Request{Right: aci.RightSearch, Attr: a})
		if !ok {
			return nil, false, nil
		}
		if !may {
			return empty, true, nil
		}
	}

	var keys []*ldap.SortKey
	if sortAttr != "" {
		// The directory orders by values the caller must be able to read
		// on every entry, or the order would tell what it may not see.
		may, ok := rc.uniform(ts, aci.Request{Right: aci.RightRead, Attr: aci.CanonicalAttr(sortAttr)})
		if !ok || !may {
			return nil, false, nil
		}
		k := b.sortKey(sortAttr, sortKind, q.SortDescending)
		if k == nil {
			return nil, false, nil
		}
		keys = append(keys, k)
	}
	// By id, or ties by id: the order the gateway itself uses.
	keys = append(keys, &ldap.SortKey{AttributeType: ts.m.IDAttr})

	// A client walking the pages: serve them from the ordered ids while the
	// directory has not changed.
	key := listKey{typ: ts.t.ID, filter: filter, sort: sortAttr, desc: q.SortDescending}
	marker, now := b.changeMarker(), time.Now()
	ids, build := b.lists.lookup(key, marker, now)
	if build {
		var err error
		if ids, err = b.orderedIDs(rc, ts, filter, keys); err != nil {
			b.opt.Log.Debug().Err(err).Msg("could not read a listing's order; paging with Virtual List View")
			b.lists.abandon(key)
			ids = nil
		} else {
			b.lists.store(key, marker, ids, now)
		}
	}
	if ids != nil {
		return b.pageOfIDs(rc, ts, q, ids, clientAttrs, fp, start, count)
	}

	window := func(offset, after int) (*ldap.SearchResult, vlvResult, error) {
		req := ldap.NewSearchRequest(ts.m.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, fp.attrs,
			[]ldap.Control{ldap.NewControlServerSideSortingWithSortKeys(keys), &vlvRequest{offset: offset, after: after}})
		var res *ldap.SearchResult
		err := b.do(rc.ctx, "search", func(c *ldap.Conn) error {
			var err error
			res, err = c.Search(req)
			// OpenLDAP's sssvlv keeps a VLV search's sorted list on
			// its connection for a continuation, until the connection
			// closes, and answers Busy once sssvlv-max lists are kept.
			// The gateway never continues one (a new search sees
			// changes): the pool closes the connection and replaces it.
			b.opt.Pool.Retire(c)
			return err
		})
		if err != nil {
			return nil, vlvResult{}, err
		}
		v, err := vlvResponse(res.Controls)
		if err == nil && (v.code != 0 || !sortSucceeded(res.Controls)) {
			err = errors.New("the directory did not sort or cut the list")
		}
		return res, v, err
	}

	res, v, err := window(start, max(count, 1)-1)
	if ldap.IsErrorWithCode(err, resultVLVError) {
		// An offset past the last match: ask for the count alone.
		_, v, err = window(1, 0)
		if err == nil && start <= v.count {
			err = errors.New("the directory refused an offset within the list")
		}
		res = &ldap.SearchResult{}
	}
	if err != nil {
		var le *ldap.Error
		switch {
		case errors.As(err, &le) && le.ResultCode == ldap.LDAPResultUnavailableCriticalExtension:
			b.vlvOff.Store(true)
			b.opt.Log.Warn().Msg("the directory does not support Virtual List View (sssvlv overlay on OpenLDAP): lists read every match instead")
			return nil, false, nil
		case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
			errors.As(err, &le) && isConnLevel(le.ResultCode), !errors.As(err, &le) && isConnError(err):
			return nil, true, MapError(err, "search")
		}
		// Busy, unwilling, a size limit below the match count, no response
		// control: the usual way still answers.
		b.opt.Log.Debug().Err(err).Msg("Virtual List View search failed; listing the usual way")
		return nil, false, nil
	}
	if v.count > b.opt.Lookthrough {
		return nil, true, resource.TooMany("the search matched more than %d resources; narrow the filter", b.opt.Lookthrough)
	}
	page = &resource.Page{TotalResults: v.count, StartIndex: start, Resources: []*resource.Resource{}}
	if count == 0 || start > v.count {
		return page, true, nil
	}
	return b.renderUniform(rc, ts, q, res.Entries, fp, clientAttrs, page)
}

// renderUniform adds entries, in order, to page. Each entry is checked
// on its own against the uniform decision that let the page skip the
// per-entry checks; ok is false if one disagrees (never trust the page
// then: the caller lists the usual way).
func (b *Backend) renderUniform(rc *reqCtx, ts *typeState, q *resource.ListQuery, entries []*ldap.Entry, fp *fetchPlan, clientAttrs []string,
	page *resource.Page) (_ *resource.Page, ok bool, err error) {
	if err := b.prefetchRefs(rc, ts, entries, q.Projection); err != nil {
		return nil, true, err
	}
	for _, le := range entries {
		e := fp.entry(le)
		if !rc.visibleHere(e) || !rc.maySearch(e, clientAttrs) {
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

// orderedIDs reads the ids of every match of filter in the order keys give,
// sorted by the directory as for a VLV page. More than lookthrough
// matches is an error: the caller then pages with VLV, which says tooMany.
func (b *Backend) orderedIDs(rc *reqCtx, ts *typeState, filter string, keys []*ldap.SortKey) ([]string, error) {
	req := ldap.NewSearchRequest(ts.m.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, b.opt.Lookthrough+1, 0, false, filter,
		[]string{ts.m.IDAttr}, []ldap.Control{ldap.NewControlServerSideSortingWithSortKeys(keys)})
	var res *ldap.SearchResult
	err := b.do(rc.ctx, "search", func(c *ldap.Conn) error {
		var err error
		res, err = c.Search(req)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !sortSucceeded(res.Controls) {
		return nil, errors.New("the directory did not sort the listing")
	}
	if len(res.Entries) > b.opt.Lookthrough {
		return nil, errors.New("more matches than the lookthrough limit")
	}
	ids := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		ids = append(ids, e.GetAttributeValue(ts.m.IDAttr))
	}
	return ids, nil
}

// pageOfIDs serves a page of a listing whose ordered ids are known: it
// reads just the page's entries.
func (b *Backend) pageOfIDs(rc *reqCtx, ts *typeState, q *resource.ListQuery, ids, clientAttrs []string, fp *fetchPlan, start, count int) (*resource.Page, bool, error) {
	page := &resource.Page{TotalResults: len(ids), StartIndex: start, Resources: []*resource.Resource{}}
	if count == 0 || start > len(ids) {
		return page, true, nil
	}
	want := ids[start-1 : min(len(ids), start-1+count)]
	full, err := b.fetchByIDs(rc.ctx, ts, want, fp.attrs)
	if err != nil {
		return nil, true, err
	}
	entries := make([]*ldap.Entry, 0, len(want))
	for _, id := range want {
		if le, ok := full[id]; ok { // else deleted since the list was read, before the change check saw it
			entries = append(entries, le)
		}
	}
	return b.renderUniform(rc, ts, q, entries, fp, clientAttrs, page)
}

// resultVLVError is LDAP result code 76, virtualListViewError: here, an
// offset past the last match.
const resultVLVError = 76

// isConnLevel reports whether an LDAP result code means the directory
// could not be reached or used at all, rather than that it turned this
// search down.
func isConnLevel(code uint16) bool {
	return code == ldap.ErrorNetwork || code == ldap.LDAPResultServerDown || code == ldap.LDAPResultTimeout ||
		code == ldap.LDAPResultUnavailable || code == ldap.LDAPResultTimeLimitExceeded
}
