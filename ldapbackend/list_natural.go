package ldapbackend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/scim/resource"
)

// natural serves a cursor page (RFC 9865) in the directory's own order,
// for a listing the directory can cut (list_vlv.go): with an unsorted
// Simple Paged Results search (RFC 2696), which the directory goes on
// with from the entry after the last one it returned (OpenLDAP's back-mdb
// and 389 DS go through the matches in the order of their entry ids, which
// an entry keeps for its life, renames included). Nothing sorts or counts
// every match, so every page costs what its own entries cost, the first
// one too, whatever the size of the directory; totalResults is left out
// (RFC 9865 §2 allows it), unless the first page is the whole walk.
//
// The walk is kept on its connection for the next page (walks). A cursor
// that continues no walk kept here (another gateway served the page
// before, or the walk was closed) names the ids served last and the server
// whose order they are in: a new walk on that server reads the matches'
// ids from the first until it finds them (seek), which costs a pass over
// the ids before them, once. A walk goes on where it was, whatever is
// added or removed meanwhile: nothing is returned twice and nothing
// present throughout is skipped.
func (p *listPlan) natural(filter string) (*resource.Page, bool, error) {
	b, rc, ts, q := p.b, p.rc, p.ts, p.q
	count := p.count
	attrs := p.cutAttrs(ts.m.IDAttr)
	key := p.walkKey()
	key.sort = naturalOrder

	// read holds the ids of the entries served last (the next cursor
	// names them); a page that serves none leaves it as it was.
	var (
		w       *walk
		release func(keep bool)
		read    []string
		entries []*ldap.Entry
		keep    bool
	)
	// The walk goes back however the request ends (a panic in rendering
	// included): kept for the next page only when that is set.
	defer func() {
		if release != nil {
			release(keep)
		}
	}()
	for attempt := 0; ; attempt++ {
		var err error
		if w, release, err = p.openNatural(key, filter, attempt == 0); err != nil {
			if errors.Is(err, errNotCut) {
				return nil, false, nil
			}
			return nil, true, err
		}
		read, entries = nil, nil
		if q.From != nil {
			read = slices.Clone(q.From.IDs)
		}
		lastRead := ""
		for tries := 0; err == nil; tries++ {
			var got []*ldap.Entry
			if got, err = p.naturalNext(w, filter, attrs, count); err != nil {
				break
			}
			if len(got) > 0 {
				lastRead = got[len(got)-1].GetAttributeValue(ts.m.IDAttr)
			}
			res := &ldap.SearchResult{Entries: got}
			p.recheck(res)
			entries = res.Entries
			for _, le := range entries {
				read = append(read, le.GetAttributeValue(ts.m.IDAttr))
			}
			if len(entries) > 0 || w.done() {
				break
			}
			if tries == 16 {
				// The directory returns entries the gateway's own check
				// drops (their access as the engine decides it differs
				// from the filter's): the cursor stays where it was, as it
				// names only entries served, and the kept walk goes on.
				b.opt.Log.Warn().Str("last", lastRead).Msg("a cursor page found no entry the caller may see in 17 pages the directory returned")
				break
			}
		}
		if err == nil {
			break
		}
		release(false)
		release = nil
		switch {
		case p.how == "walk" && attempt == 0 && rc.ctx.Err() == nil:
			// The kept walk cannot go on (its connection is gone: the
			// directory restarted): a new walk finds where it was.
			b.opt.Log.Warn().Err(err).Msg("a listing's walk could not go on; a new one begins where it stopped")
			continue
		case unreachable(err):
			return nil, true, MapError(err, "search")
		case q.From == nil:
			// The directory would not page the search (a limit, no
			// paged results): the first page is served the usual way.
			b.opt.Log.Debug().Err(err).Msg("an unsorted paged search failed; listing another way")
			return nil, false, nil
		}
		return nil, true, resource.Unavailable(err, "the directory could not page through the listing")
	}
	more := !w.done()
	if more && len(read) == 0 {
		// Sixteen pages of entries that no longer match, and nothing
		// read to go on from: the first page is served the usual way.
		return nil, false, nil
	}
	read = positionIDs(read)
	if len(read) > 0 {
		w.lastID = read[len(read)-1]
	}
	server := w.conn.Server()
	page, ok, err := p.renderUniform(entries, &resource.Page{StartIndex: 1, Resources: []*resource.Resource{}})
	if !ok || err != nil {
		return page, ok, err
	}
	keep = more
	page.More = more
	page.Next = &resource.Position{IDs: read, Server: server}
	if q.From == nil && !more {
		page.TotalResults = len(page.Resources)
	} else {
		page.NoTotal = true
	}
	return page, true, nil
}

// openNatural finds the walk a cursor page goes on with: the walk kept
// here that ends where the cursor does (if kept is set), or a new one on
// the cursor's server, moved to where the cursor is (seek). release gives
// it back (keep: for the next page). errNotCut when a first page finds no
// room (it is served the usual way).
func (p *listPlan) openNatural(key listKey, filter string, kept bool) (w *walk, release func(keep bool), err error) {
	b, rc, q := p.b, p.rc, p.q
	tag := ""
	if q.From != nil {
		tag = q.From.Server
		// kept: the walk kept here that ends where the cursor does.
		keptWalk := func() (*walk, func(keep bool)) {
			k := b.walks.takeOn(key, p.count, 0, q.After, true, tag)
			if k == nil {
				return nil, nil
			}
			p.how = "walk"
			return k, func(keep bool) { b.walks.done(k, keep) }
		}
		if kept {
			if k, give := keptWalk(); k != nil {
				return k, give, nil
			}
		}
		if serves, answers := b.walks.serves(tag); serves && !answers {
			return nil, nil, walkServerDown()
		}
		if kept {
			// A seek for this very page may be going on (one that outlived
			// its request, say): wait for its walk rather than seek again.
			// (A seek that ended since the walk was looked for above has
			// kept it: it is looked for again.)
			if ch := b.walks.seeking(p.seekKey(key)); ch != nil {
				select {
				case <-ch:
				case <-rc.ctx.Done():
					return nil, nil, seekGoesOn()
				}
			}
			if k, give := keptWalk(); k != nil {
				return k, give, nil
			}
		}
	}
	// The closures below hold the walk itself: w, a result, is nil by the
	// time a deferred call runs after an error.
	var give func(keep bool)
	keepable := false
	if k := b.walks.beginOn(rc.ctx, key, p.count, true, tag); k != nil {
		w, give, keepable = k, func(keep bool) { b.walks.done(k, keep) }, true
	} else {
		// No room to keep a walk: this request holds a connection of its
		// own while it reads (as many as walks may be kept), and the next
		// page seeks again.
		conn, done, err := b.walks.holdOn(rc.ctx, tag)
		switch {
		case errors.Is(err, errNoSpare) && q.From == nil:
			return nil, nil, errNotCut
		case errors.Is(err, errNoSpare):
			return nil, nil, resource.Unavailable(err, "every cursor walk is in use: retry shortly, or raise limits.cursor_walks")
		case err != nil:
			return nil, nil, MapError(err, "search")
		}
		w = &walk{key: key, conn: conn, count: p.count}
		give = func(bool) { done() }
	}
	// The walk goes back unless it is handed out: a failed seek, or a
	// panic in it.
	handed := false
	defer func() {
		if !handed {
			give(false)
		}
	}()
	w.natural = true
	p.how = "paged"
	if q.From != nil {
		var err error
		if keepable {
			err = p.seekKept(w, filter, p.seekKey(key))
		} else {
			err = p.seek(rc.ctx, w, filter)
		}
		if errors.Is(err, errSeekGoesOn) {
			handed = true // to the seek
			return nil, nil, seekGoesOn()
		}
		if err != nil {
			if unreachable(err) {
				return nil, nil, MapError(err, "search")
			}
			var se *resource.Error
			if !errors.As(err, &se) {
				err = resource.Unavailable(err, "the directory could not page through the listing")
			}
			return nil, nil, err
		}
	}
	handed = true
	return w, give, nil
}

// seekBudget bounds a seek that outlives its request (seekKept).
const seekBudget = 5 * time.Minute

// errSeekGoesOn: the request ended before the seek it began, which goes
// on; the walk it finds is kept for the client's retry (seekGoesOn).
var errSeekGoesOn = errors.New("a seek outlived its request")

func seekGoesOn() error {
	return resource.Unavailable(errSeekGoesOn,
		"this gateway is finding where the walk was, which takes a while in a large directory: retry the same request shortly")
}

// seekKey says which page a seek is for.
func (p *listPlan) seekKey(key listKey) seekKey {
	return seekKey{key: key, after: p.q.After, server: p.q.From.Server, count: p.count}
}

// seekKept seeks on a walk that can be kept, on a context of its own
// (bounded by seekBudget): when the request ends first (its deadline, or
// the client gave up), the seek goes on and the walk it finds is kept, so
// the client's retry of the same page goes on from there (errSeekGoesOn).
// A seek over millions of entries may take longer than a request may: it
// is not begun again by every retry. Meanwhile a retry waits for it. At
// most half of the cursor walks go on that way (walks.detach), so that
// requests given up at once cannot hold them all; past that a seek ends
// with its request.
func (p *listPlan) seekKept(w *walk, filter string, sk seekKey) error {
	b := p.b
	ch := b.walks.beginSeek(sk)
	if ch == nil {
		// Another seek for the same page began meanwhile: this one runs
		// within its request.
		return p.seek(p.rc.ctx, w, filter)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.rc.ctx), seekBudget)
	result := make(chan error, 1)
	var (
		mu        sync.Mutex
		abandoned bool
	)
	go func() {
		defer cancel()
		err := func() (err error) {
			// A panic here would end the process (no request recovers
			// it): it fails the seek instead.
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("the seek panicked: %v", r)
				}
			}()
			return p.seek(ctx, w, filter)
		}()
		mu.Lock()
		// Once it is set, the request is gone: the walk is this
		// goroutine's to keep or close.
		gone := abandoned
		result <- err
		mu.Unlock()
		if gone {
			p.keepSought(w, sk, err)
			b.walks.undetach()
		}
		b.walks.endSeek(sk, ch)
	}()
	select {
	case err := <-result:
		b.walks.endSeek(sk, ch)
		return err
	case <-p.rc.ctx.Done():
	}
	var err error
	mu.Lock()
	select {
	case err = <-result: // it ended just now, after the request did
		mu.Unlock()
	default:
		if b.walks.detach() {
			abandoned = true
			mu.Unlock()
			return errSeekGoesOn
		}
		mu.Unlock()
		// As many seeks go on without their requests as may: this one
		// ends with its own.
		cancel()
		err = <-result
	}
	// Where a seek that ended after the request did found the walk is
	// kept for the retry. (A failed seek's walk is given back by the
	// caller.)
	if err == nil {
		p.keepSought(w, sk, nil)
		err = errSeekGoesOn
	}
	b.walks.endSeek(sk, ch)
	return err
}

// keepSought gives back a walk whose seek ended after its request did:
// kept for the retry of the same page if the seek found where the walk
// was, closed if not.
func (p *listPlan) keepSought(w *walk, sk seekKey, err error) {
	b := p.b
	if err != nil {
		var se *resource.Error
		ev := b.opt.Log.Warn()
		if errors.As(err, &se) && se.Status < 500 {
			ev = b.opt.Log.Info() // the cursor's own fault (invalidCursor)
		}
		ev.Err(err).Msg("a seek that outlived its request failed")
		b.walks.done(w, false)
		return
	}
	w.lastID = sk.after
	// The retry goes on with it: it is not the first walk closed to make
	// room for another.
	w.continued = true
	b.opt.Log.Info().Str("after", sk.after).Msg("a seek outlived its request: its walk is kept for the retry")
	b.walks.done(w, true)
}

// naturalOrder is the order of a walk in the directory's own order, in
// its listKey.
const naturalOrder = "\x00directory"

// maxPositionIDs is how many of the ids served last a cursor names, and
// maxPositionBytes how long they may be together (a cursor is a query
// parameter).
const (
	maxPositionIDs   = 4
	maxPositionBytes = 512
)

// positionIDs keeps of the ids served, oldest first, the last few a cursor
// names: at least one, at most maxPositionIDs and, beyond the newest,
// maxPositionBytes together.
func positionIDs(read []string) []string {
	if len(read) > maxPositionIDs {
		read = read[len(read)-maxPositionIDs:]
	}
	size := 0
	for i := len(read) - 1; i >= 0; i-- {
		if size += len(read[i]); size > maxPositionBytes && i < len(read)-1 {
			return read[i+1:]
		}
	}
	return read
}

// seekPage is how many ids a page of a seek reads, at most (fifty pages'
// worth of the walk's, at least 250): the fewer round trips, the faster.
const seekPage = 5000

// naturalNext reads the next count entries of a walk in the directory's
// order: the ids a seek read past the cursor first, then the directory's
// next page (the page size may change from one request to the next).
func (p *listPlan) naturalNext(w *walk, filter string, attrs []string, count int) ([]*ldap.Entry, error) {
	var out []*ldap.Entry
	if len(w.pending) > 0 {
		ids := w.pending[:min(count, len(w.pending))]
		w.pending = w.pending[len(ids):]
		// On the walk's own connection: the server the seek read them on;
		// with the walk's filter (the caller's access compiled in).
		byID := "(&" + filter + anyOf(p.ts.m.IDAttr, ids).String() + ")"
		var res *ldap.SearchResult
		err := p.b.do(p.rc.ctx, "search", func(ctx context.Context) error {
			var err error
			res, err = w.conn.Search(ctx, p.ts.searchRequest(byID, 0, attrs, nil))
			return err
		})
		if err != nil {
			return nil, err
		}
		full := make(map[string]*ldap.Entry, len(res.Entries))
		for _, le := range res.Entries {
			full[le.GetAttributeValue(p.ts.m.IDAttr)] = le
		}
		for _, id := range ids {
			if le, ok := full[id]; ok { // else deleted, or no longer matching, since the seek read it
				out = append(out, le)
			}
		}
		count -= len(ids)
	}
	if count == 0 || len(w.pending) > 0 || w.paged && w.cookie == nil {
		return out, nil
	}
	res, err := p.pagedSearch(p.rc.ctx, w, filter, attrs, count)
	if err != nil {
		return nil, err
	}
	return append(out, res.Entries...), nil
}

// pagedSearch asks the walk's connection for the next page of an unsorted
// Simple Paged Results search.
func (p *listPlan) pagedSearch(ctx context.Context, w *walk, filter string, attrs []string, size int) (*ldap.SearchResult, error) {
	paging := ldap.NewControlPaging(uint32(size))
	paging.SetCookie(w.cookie)
	req := p.ts.searchRequest(filter, 0, attrs, []ldap.Control{paging})
	var res *ldap.SearchResult
	err := p.b.do(ctx, "search", func(ctx context.Context) error {
		var err error
		res, err = w.conn.Search(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	c, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
	if !ok {
		return nil, errors.New("the directory did not page the search")
	}
	w.cookie, w.paged = nil, true
	if len(c.Cookie) > 0 {
		w.cookie = c.Cookie
	}
	return res, nil
}

// seek moves a new walk to just after the ids the cursor names (the ids
// read last, the newest last): it reads the matches' ids in the
// directory's order until it finds the newest of them still there, and
// keeps the ids after it in that page for the next pages. The matches the
// walk read are in the same order, with entries added since after them
// all, so whatever follows the newest one found is what the walk had not
// read. A cursor of another server, or whose entries are all gone, is 400
// invalidCursor: the walk cannot go on, and the client starts it again.
func (p *listPlan) seek(ctx context.Context, w *walk, filter string) error {
	from, idAttr := p.q.From, p.ts.m.IDAttr
	if from.Server != w.conn.Server() {
		if serves, _ := p.b.walks.serves(from.Server); serves {
			return walkServerDown()
		}
		return invalidCursor("the directory server whose order this walk follows is not one this gateway reads from: start the walk again with an empty cursor")
	}
	want := make(map[string]int, len(from.IDs))
	for i, id := range from.IDs {
		want[id] = i
	}
	// pass reads the ids from the first; it stops in the page holding the
	// id of index stop, or else at the end, and says which was the newest
	// found.
	pass := func(stop int) (newest int, err error) {
		w.cookie, w.paged, w.pending, newest = nil, false, nil, -1
		for {
			res, err := p.pagedSearch(ctx, w, filter, []string{idAttr}, min(seekPage, max(50*p.count, 250)))
			if err != nil {
				return -1, err
			}
			for i, le := range res.Entries {
				k, ok := want[le.GetAttributeValue(idAttr)]
				if !ok {
					continue
				}
				if k < newest {
					// Out of the order the walk read them in: this is not
					// the order the cursor follows.
					return -1, errOtherOrder
				}
				if newest = k; k == stop {
					for _, rest := range res.Entries[i+1:] {
						w.pending = append(w.pending, rest.GetAttributeValue(idAttr))
					}
					return newest, nil
				}
			}
			if w.cookie == nil {
				return newest, nil
			}
		}
	}
	last := len(from.IDs) - 1
	newest, err := pass(last)
	switch {
	case errors.Is(err, errOtherOrder):
		return cursorOtherOrder()
	case err != nil:
		return err
	case newest == last:
		return nil
	case newest < 0:
		return cursorGone()
	}
	// The newest id is gone: the walk goes on after the newest found,
	// which a second pass stops at (if it is still there).
	switch again, err := pass(newest); {
	case errors.Is(err, errOtherOrder):
		return cursorOtherOrder()
	case err != nil:
		return err
	case again != newest:
		return cursorGone()
	}
	return nil
}

// cursorOtherOrder and cursorGone refuse a cursor a seek cannot go on
// from: the server's order is not the walk's, or its entries are gone.
func cursorOtherOrder() error {
	return invalidCursor("this directory server's order is not the one the walk followed: start the walk again with an empty cursor")
}

func cursorGone() error {
	return invalidCursor("the entries this cursor goes on after are gone: start the walk again with an empty cursor")
}

// walkServerDown answers a cursor page whose walk's server is one of the
// gateway's but does not answer now: the walk can go on there once it
// does.
func walkServerDown() error {
	return resource.Unavailable(errors.New("the directory server of the walk does not answer"),
		"the directory server whose order this walk follows does not answer: retry")
}

// errOtherOrder: a seek met the cursor's ids out of their order.
var errOtherOrder = errors.New("the ids come in another order")

func invalidCursor(detail string) error {
	return &resource.Error{Status: http.StatusBadRequest, ScimType: "invalidCursor", Detail: detail}
}
