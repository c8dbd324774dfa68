package ldapbackend

import (
	"context"
	"errors"
	"slices"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/ldapbackend/acisource"
)

// cutPaged serves a page of a walk: a sorted Simple Paged Results search
// (RFC 2891 with RFC 2696) on a connection held for it, whose next page
// the directory serves from the list it sorted for the first, taking up
// where the last page ended (OpenLDAP's sssvlv, and 389 DS): each page
// after the first costs its own entries, at any depth. A walk keeps the
// page size of its first page, so one begun further on (a client whose
// walk is not kept here) reaches start in pages of that size, reading
// DNs alone. The count (totalResults) is the directory's own on OpenLDAP
// (what follows each page, in the paged response), and one search of the
// matches' DNs on 389 (whose paged response holds an estimate). With no
// room for a walk, or a start the pages do not reach, errNotCut.
func (p *listPlan) cutPaged(keys []*ldap.SortKey, filter string, attrs []string, w *walk) (*ldap.SearchResult, int, error) {
	b, rc, ts, q := p.b, p.rc, p.ts, p.q
	start, count := p.start, max(p.count, 1)
	sized := b.opt.VLV // sssvlv: the paged response's size is what follows, exactly
	before := 0        // matches before the walk's list (a walk resumed after an id)
	// page reads the walk's next page; rest is what follows it (sized).
	page := func(w *walk, attrs []string) (res *ldap.SearchResult, rest int, err error) {
		paging := ldap.NewControlPaging(uint32(count))
		paging.SetCookie(w.cookie)
		req := ts.searchRequest(filter, 0, attrs, []ldap.Control{ldap.NewControlServerSideSortingWithSortKeys(keys), paging})
		res, err = p.busyRetry(w.cookie != nil, func(ctx context.Context) (*ldap.SearchResult, error) { return w.conn.Search(ctx, req) })
		if err != nil {
			return nil, 0, err
		}
		if !sortSucceeded(res.Controls) {
			return nil, 0, errors.New("the directory did not sort the list")
		}
		w.cookie = nil
		if c, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging); ok {
			rest = int(c.PagingSize)
			if len(c.Cookie) > 0 {
				w.cookie = c.Cookie
			}
		}
		return res, rest, nil
	}
	// served ends the request with the page read from offset: the walk
	// is kept if the list goes on past it.
	served := func(w *walk, res *ldap.SearchResult, offset int) (*ldap.SearchResult, int, error) {
		total := w.total
		if q.ByCursor {
			total = w.total - (offset - 1)
		}
		keep := w.cookie != nil && w.advance(p, res, w.total)
		b.walks.done(w, keep)
		if offset > w.total {
			res = nil
		}
		return res, max(total, 0), nil
	}

	if w != nil {
		offset := w.next
		res, _, err := page(w, attrs)
		for tries := 0; err == nil; tries++ {
			p.recheck(res)
			if !q.ByCursor || len(res.Entries) > 0 || w.cookie == nil || tries == 16 {
				break
			}
			// Every entry of this page is gone, or no longer matches,
			// since the walk began: a cursor needs an entry to go on from.
			w.next += count
			res, _, err = page(w, attrs)
		}
		if err == nil {
			p.how = "walk"
			return served(w, res, offset)
		}
		last, resume := w.lastID, !q.ByCursor && p.sortAttr == "" && w.lastID != "" && w.next == start
		b.walks.done(w, false)
		b.opt.Log.Warn().Err(err).Bool("resumed", resume).Msg("a listing's walk could not go on; a new one begins where it stopped")
		if resume {
			// An index walk in id order goes on after its last id (the
			// start-1 matches before it are the ones it served).
			filter = "(&" + filter + afterID(ts.m.IDAttr, last).String() + ")"
			before = start - 1
		}
	}

	// matches counts what the directory matches now, reading their DNs.
	matches := func() (int, error) {
		all, err := b.searchRaw(rc.ctx, ts.searchRequest(filter, 0, []string{"1.1"}, nil))
		if err != nil {
			return 0, err
		}
		return len(all.Entries), nil
	}
	if p.count == 0 { // a count alone (389: the VLV count serves it on OpenLDAP)
		n, err := matches()
		if err != nil {
			return nil, 0, errNotCut
		}
		p.how = "count"
		return nil, n, nil
	}
	if skip := start - 1 - before; skip%count != 0 || skip > b.opt.Lookthrough || skip/count > maxSkipPages {
		// Pages of count do not reach start, or only after reading too
		// many (more than the gateway reads of a listing itself).
		return nil, 0, errNotCut
	}
	w = b.walks.begin(rc.ctx, p.walkKey(), count)
	if w == nil {
		return nil, 0, errNotCut
	}
	fail := func(err error) (*ldap.SearchResult, int, error) {
		b.walks.done(w, false)
		if unreachable(err) {
			return nil, 0, MapError(err, "search")
		}
		if isSizeLimit(err) {
			b.opt.Log.Error().Msg("the directory's size limit for the service account cut a listing: lift it (size=unlimited on OpenLDAP, nsSizeLimit -1 on 389) for walks through large listings")
		} else {
			b.opt.Log.Debug().Err(err).Msg("a sorted paged search failed; listing another way")
		}
		return nil, 0, errNotCut
	}
	if !sized {
		// The count: what the directory matches now. The walk's list is
		// sorted just after, so an entry added in between may be in the
		// list and not in the count.
		n, err := matches()
		if err != nil {
			return fail(err)
		}
		w.total = before + n
	}
	w.next = start
	p.how = "sorted"
	skipped := 0
	for skipped < start-1-before {
		// Pages before start, their DNs alone.
		res, _, err := page(w, []string{"1.1"})
		if err != nil {
			return fail(err)
		}
		skipped += count
		if w.cookie == nil { // the list ends before start
			b.walks.done(w, false)
			return nil, max(w.total, before+skipped-count+len(res.Entries)), nil
		}
	}
	res, rest, err := page(w, attrs)
	if err != nil {
		return fail(err)
	}
	if sized {
		w.total = start - 1 + len(res.Entries)
		if w.cookie != nil {
			w.total = start - 1 + count + rest
		}
	}
	return served(w, res, start)
}

// maxSkipPages bounds the pages a walk begun further on reads before its
// first.
const maxSkipPages = 100

// afterID is the condition of the entries after id in id order.
func afterID(idAttr, id string) ldapfilter.Filter {
	return &ldapfilter.And{Filters: []ldapfilter.Filter{
		&ldapfilter.GreaterOrEqual{Attr: idAttr, Value: id},
		&ldapfilter.Not{Filter: &ldapfilter.Equality{Attr: idAttr, Value: id}}}}
}

// recheck drops from a walk's page the entries that no longer match the
// listing's filter, the caller's access compiled in: the walk's list holds
// what matched when it began, and the directory serves each entry of it
// as it is now. Each entry left is still decided afresh (renderUniform).
func (p *listPlan) recheck(res *ldap.SearchResult) {
	if p.rechecker == nil { // compiled once: a walk's pages may be read several times a request
		p.rechecker = ldapfilter.Compile(p.recheckFilter())
	}
	res.Entries = slices.DeleteFunc(res.Entries, func(le *ldap.Entry) bool {
		return p.rechecker.Match(acisource.Adapt(le, p.cutRead)) == ldapfilter.False
	})
}

// cutAttrs is what the entries of a page the directory cuts are read
// with: what the page renders, what the listing's filter (the caller's
// access compiled in) reads, so that recheck can test each entry against
// it again, and extra; cutRead is set to match.
func (p *listPlan) cutAttrs(extra ...string) []string {
	attrs := appendMissing(slices.Clone(p.fp.attrs), ldapfilter.Attributes(p.recheckFilter())...)
	attrs = appendMissing(attrs, extra...)
	p.cutRead = p.rc.readSetFor(attrs)
	return attrs
}

// recheckFilter is the listing's filter with the caller's access
// compiled in (pushdown), if it was.
func (p *listPlan) recheckFilter() ldapfilter.Filter {
	return &ldapfilter.And{Filters: append([]ldapfilter.Filter{p.tree}, p.access...)}
}

// walkKey names the listing a walk goes through: the type, the complete
// filter with the caller's access compiled in but without a cursor's
// condition, and the order.
func (p *listPlan) walkKey() listKey {
	parts := append([]ldapfilter.Filter{p.base}, p.access...)
	return listKey{typ: p.ts.t.ID, filter: (&ldapfilter.And{Filters: parts}).String(), sort: p.sortAttr, desc: p.q.SortDescending}
}

// advance moves a walk past the page res served; keep reports whether
// the walk may go on (there are more matches after the page). It keeps
// the page's last id, which a cursor names and from which a walk that
// could not go on is resumed.
func (k *walk) advance(p *listPlan, res *ldap.SearchResult, total int) (keep bool) {
	k.next += max(p.count, 1)
	if n := len(res.Entries); n > 0 {
		k.lastID = res.Entries[n-1].GetAttributeValue(p.ts.m.IDAttr)
	} else if p.q.ByCursor {
		k.lastID = p.q.After
	}
	k.index = 0
	if !p.q.ByCursor {
		k.index = p.start + max(p.count, 1)
	}
	return k.next <= total
}
