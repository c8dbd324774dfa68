package ldapbackend

import (
	"context"
	"errors"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
)

// windowFresh is how long a window walk's sorted list serves pages once
// the directory has changed since it was sorted (its change marker moved
// on, or is not known): past it a page sorts the listing again, so what
// a listing shows is never older than that. While the directory has not
// changed, the list is what a sort would give now, and serves on.
const windowFresh = time.Minute

// cutWindow serves a page by startIndex that continues no walk kept here
// (a client whose pages are spread over several gateways, that began
// deeper, or that goes back or jumps about) from a sorted list OpenLDAP's
// sssvlv keeps on a connection held for it: Virtual List View with the
// list's context id. The first such page of a listing sorts its matches,
// as any page that continues no walk must; every later page of it on this
// gateway, at any offset and with any count, is a window of that list,
// which costs the page's entries and a walk through the list to the
// offset (a few ms at a million entries), while the directory has not
// changed since the sort, or else for windowFresh, and until the gateway
// writes. A request for the listing while its windows are all in use (the
// first being sorted, say) waits for one. totalResults is the list's
// count. errNotCut when no walk can be kept: the page is cut the usual
// way.
func (p *listPlan) cutWindow(keys []*ldap.SortKey, filter string, attrs []string) (*ldap.SearchResult, int, error) {
	b, rc := p.b, p.rc
	start, count := p.start, p.count
	key := p.walkKey()
	for attempt := 0; ; attempt++ {
		var w *walk
		if attempt == 0 {
			var begin bool
			if w, begin = b.walks.takeWindow(rc.ctx, key); w == nil && !begin {
				return nil, 0, errNotCut // the request ended while it waited
			}
		} else {
			b.walks.reserveWindow(key)
		}
		fresh := w == nil
		if fresh {
			if w = b.walks.beginWindow(rc.ctx, key, count); w == nil {
				return nil, 0, errNotCut
			}
		}
		window := func(offset, after int, attrs []string) (*ldap.SearchResult, ldapconn.VLVResult, error) {
			// Busy, on a list sorted before (the request names it, the
			// page just after a new list's count too): sssvlv had not yet
			// marked the last request done.
			res, v, err := p.vlvSearch(func(req *ldap.SearchRequest) (*ldap.SearchResult, error) {
				return p.busyRetry(w.vlvContext != nil, func(ctx context.Context) (*ldap.SearchResult, error) { return w.conn.Search(ctx, req) })
			}, keys, filter, attrs, offset, after, w.vlvContext)
			if len(v.ContextID) > 0 {
				w.vlvContext = v.ContextID
			}
			return res, v, err
		}
		var (
			res *ldap.SearchResult
			v   ldapconn.VLVResult
			err error
		)
		if fresh {
			// The sort, and the count alone: an offset past the end would
			// be refused with the list's context id lost, and the next
			// request would sort again.
			if _, v, err = window(1, 0, []string{"1.1"}); err == nil && len(w.vlvContext) == 0 {
				b.windowsOff.Store(true)
				b.opt.Log.Warn().Msg("the directory names no sorted list in its Virtual List View responses: pages that continue no walk are sorted again each")
				err = errNotCut
			}
		}
		if err == nil && (!fresh || start <= v.Count) {
			res, v, err = vlvPage(window, start, count-1, attrs)
		}
		if err != nil {
			b.walks.done(w, false)
			switch {
			case errors.Is(err, errNotCut):
				return nil, 0, errNotCut
			case !fresh && rc.ctx.Err() == nil:
				// The directory no longer has the list (the connection was
				// closed, or slapd restarted): the listing is sorted again.
				b.opt.Log.Debug().Err(err).Msg("a window's list could not be read; the listing is sorted again")
				continue
			case unreachable(err):
				return nil, 0, MapError(err, "search")
			}
			b.opt.Log.Debug().Err(err).Msg("a sorted window search failed; listing another way")
			return nil, 0, errNotCut
		}
		if res != nil && start <= v.Count {
			p.recheck(res)
			if len(res.Entries) == 0 {
				// Every entry of the page is gone, or no longer matches,
				// since the list was sorted: an empty page inside the list
				// would read as its end. A list sorted before is sorted
				// again; a new one is not kept.
				b.walks.done(w, false)
				if !fresh && rc.ctx.Err() == nil {
					continue
				}
				return nil, 0, errNotCut
			}
		}
		p.how = "window"
		if fresh {
			p.how = "sorted"
		}
		// Kept for the listing's other pages.
		b.walks.windowSorted(key, v.Count)
		b.walks.done(w, true)
		if res == nil || start > v.Count {
			return nil, v.Count, nil
		}
		return res, v.Count, nil
	}
}

// windowed reports whether a page that continues no walk is a window
// (cutWindow): one by startIndex after the first, on OpenLDAP (sssvlv)
// while walks are kept.
func (p *listPlan) windowed() bool {
	b := p.b
	return p.start > 1 && p.count > 0 && !p.q.ByCursor && !p.browse && b.opt.VLV && !b.vlvOff.Load() &&
		b.walks.on() && !b.windowsOff.Load()
}

// busyRetry runs a search on a walk's connection, asking again, when
// continuing is set, while sssvlv answers Busy: it does so when the next
// request comes before it has marked the last one done (it sends the
// result first), and the list is intact. (On a new list, Busy says every
// sort sssvlv may keep is in use: no retry.)
func (p *listPlan) busyRetry(continuing bool, search func(ctx context.Context) (*ldap.SearchResult, error)) (res *ldap.SearchResult, err error) {
	for busy := 0; ; busy++ {
		err = p.b.do(p.rc.ctx, "search", func(ctx context.Context) error {
			var err error
			res, err = search(ctx)
			return err
		})
		if !continuing || !ldap.IsErrorWithCode(err, ldap.LDAPResultBusy) || busy == 20 {
			return res, err
		}
		select {
		case <-p.rc.ctx.Done():
			return nil, p.rc.ctx.Err()
		case <-time.After(time.Duration(busy+1) * time.Millisecond):
		}
	}
}
