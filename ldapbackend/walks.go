package ldapbackend

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
)

// walks keeps, for clients paging on through a listing the directory
// cuts (list_vlv.go), the listing's sorted list on the directory: a sorted
// Simple Paged Results search leaves it on its connection (OpenLDAP's
// sssvlv, 389 DS), and the next page is served from it, where the last
// ended, without searching or sorting again (list_paged.go). The first
// page of a walk costs one sort of every match; each page after it costs
// what its own entries cost, at any depth and any size of the directory.
// A walk is kept on a connection of its own (ldapconn.Holder), found again
// by the listing (its key: type, complete filter with the caller's access
// compiled in, order), the size of its pages, and where the client goes
// on (the next startIndex, or the last id of a cursor); it is closed when
// idle for walkIdle, when the gateway writes, or to make room (at most
// max; see begin).
//
// What a walk returns: the entries that matched when it began, in that
// order, each read and decided as it is when its page is served; an entry
// deleted since is left out, one added since is not in this walk (the
// next one has it). Nothing is returned twice and nothing that was there
// throughout is skipped, which RFC 9865 asks of cursors and index paging
// gains too.
type walks struct {
	holder ldapconn.Holder // nil: walks are not kept
	// max is how many walks of each kind are kept: sorted ones (by
	// startIndex; the directory holds a sorted list for each) and ones in
	// the directory's own order (by cursor; a connection each).
	max [2]int
	// spare bounds the connections held by cursor requests that could keep
	// no walk (all are in use): as many again.
	spare chan struct{}

	mu   sync.Mutex
	idle []*walk // least recently used first
	busy [2]int  // walks serving a page now, by kind
	gen  uint64  // bumped by flush: walks begun before are not continued
	// sweeping: a timer will close the walks left idle.
	sweeping bool
	// seeks are the seeks going on (list_natural.go), each with a channel
	// closed when it ends: a request for the same page waits for it.
	seeks map[seekKey]chan struct{}
	// detached counts the seeks going on after their requests ended.
	detached int
	// windowTotals is the count of the list last sorted for a window of
	// each listing (up to maxWindowTotals listings).
	windowTotals map[listKey]int
	// windowsInUse counts the windows of each listing serving a page now;
	// windowBack, if not nil, is closed when one comes back (takeWindow).
	windowsInUse map[listKey]int
	windowBack   chan struct{}
	// marker gives the directory's change marker ("" if not known), for
	// the sweep of stale windows; nil: not known.
	marker func() string
}

// maxWindowTotals bounds walks.windowTotals.
const maxWindowTotals = 256

// windowSorted notes the count of the list of a window of key.
func (w *walks) windowSorted(key listKey, total int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.windowTotals[key]; !ok && len(w.windowTotals) >= maxWindowTotals || w.windowTotals == nil {
		w.windowTotals = map[listKey]int{}
	}
	w.windowTotals[key] = total
}

// windowTotal is the count of the list last sorted for a window of key,
// -1 if none.
func (w *walks) windowTotal(key listKey) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n, ok := w.windowTotals[key]; ok {
		return n
	}
	return -1
}

// detach counts one more seek going on after its request ended, if fewer
// than half of the cursor walks (at least one) do; false if not.
func (w *walks) detach() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.detached >= max(1, w.max[1]/2) {
		return false
	}
	w.detached++
	return true
}

// undetach ends one detach.
func (w *walks) undetach() {
	w.mu.Lock()
	w.detached--
	w.mu.Unlock()
}

// seekKey says which page of which walk a seek is for.
type seekKey struct {
	key           listKey
	after, server string
	count         int
}

// seeking returns the channel of the seek going on for sk, or nil.
func (w *walks) seeking(sk seekKey) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seeks[sk]
}

// beginSeek registers a seek for sk and returns its channel, or nil when
// one is going on already.
func (w *walks) beginSeek(sk seekKey) chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seeks[sk] != nil {
		return nil
	}
	if w.seeks == nil {
		w.seeks = map[seekKey]chan struct{}{}
	}
	ch := make(chan struct{})
	w.seeks[sk] = ch
	return ch
}

// endSeek ends the seek of sk registered with ch (once: later calls do
// nothing), waking the requests that wait for it.
func (w *walks) endSeek(sk seekKey, ch chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seeks[sk] == ch {
		delete(w.seeks, sk)
		close(ch)
	}
}

// walkIdle is how long a walk waits for its client's next page;
// walkProtect how long after its last page it is not closed to make room
// for another.
const (
	walkIdle    = 2 * time.Minute
	walkProtect = 10 * time.Second
)

// walk is one listing being paged through on a held connection.
type walk struct {
	key    listKey
	conn   ldapconn.HeldConn
	cookie []byte // the paged results cookie of the next page
	total  int    // the matches when the walk began
	gen    uint64
	used   time.Time
	count  int // the size of its pages (the first page's: the directory keeps it)
	// continued: a client went on with the walk (take); a walk nobody went
	// on with yet is the first to make room for another.
	continued bool

	next   int    // the offset of the next page in the sorted list
	index  int    // startIndex that continues the walk (index paging), 0 if none
	lastID string // id a cursor continuing the walk names, "" if none

	// natural: the walk goes through the listing in the directory's own
	// order (list_natural.go). Such a walk reads each entry as it is when
	// its page is served, and what it has not reached yet as the
	// directory has it then (slapd; 389 keeps the matches of its first
	// page), so the gateway's writes do not end it (flush).
	natural bool
	paged   bool     // a paged search began (natural)
	pending []string // ids a seek read past the cursor, served first (natural)

	// window: a sorted list the directory keeps on the walk's connection,
	// whose pages are asked for by offset, any of them (list_window.go).
	window     bool
	vlvContext []byte    // the directory's name for the list
	sortedAt   time.Time // when it was sorted
	mark       string    // the directory's change marker then ("" if not known)
}

// done reports whether a walk in the directory's order read everything.
func (k *walk) done() bool { return k.paged && k.cookie == nil && len(k.pending) == 0 }

// newWalks keeps up to sorted walks by startIndex and natural ones by
// cursor on conn's held connections (none if conn cannot hold one).
func newWalks(conn ldapconn.Conn, sorted, natural int) *walks {
	h, _ := conn.(ldapconn.Holder)
	sorted, natural = max(sorted, 0), max(natural, 0)
	if sorted+natural == 0 {
		h = nil
	}
	return &walks{holder: h, max: [2]int{sorted, natural}, spare: make(chan struct{}, natural)}
}

// kind indexes walks.max and walks.busy: 0 sorted, 1 in the directory's
// order.
func kind(natural bool) int {
	if natural {
		return 1
	}
	return 0
}

// errNoSpare: every walk and every spare connection is in use.
var errNoSpare = errors.New("every walk is in use")

// holdOn holds a connection to the server tagged tag if the connection
// can tell servers apart and tag is not "" (else to a reader), for one
// request outside the walks kept: at most max at once, else errNoSpare.
// release gives it back.
func (w *walks) holdOn(ctx context.Context, tag string) (c ldapconn.HeldConn, release func(), err error) {
	select {
	case w.spare <- struct{}{}:
	default:
		return nil, nil, errNoSpare
	}
	if c, err = w.dial(ctx, tag); err != nil {
		<-w.spare
		return nil, nil, err
	}
	return c, func() { c.Close(); <-w.spare }, nil
}

// serves reports whether tag is one of several servers' that the
// connection can hold a connection to (TagHolder), and answers whether
// that server answers its checks now.
func (w *walks) serves(tag string) (serves, answers bool) {
	th, ok := w.holder.(ldapconn.TagHolder)
	if !ok {
		return false, false
	}
	return th.Serves(tag)
}

// dial holds a connection, to the server tagged tag when it can.
func (w *walks) dial(ctx context.Context, tag string) (ldapconn.HeldConn, error) {
	if th, ok := w.holder.(ldapconn.TagHolder); ok && tag != "" {
		return th.HoldOn(ctx, tag)
	}
	return w.holder.Hold(ctx)
}

// held is how many walks are kept now, serving a page or waiting for one.
func (w *walks) held() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.busy[0] + w.busy[1] + len(w.idle)
}

// on reports whether sorted walks are kept, naturalOn whether walks in
// the directory's order are.
func (w *walks) on() bool        { return w.holder != nil && w.max[0] > 0 }
func (w *walks) naturalOn() bool { return w.holder != nil && w.max[1] > 0 }

// take returns the idle walk that a request for key with pages of count
// continues: by index, the one whose next startIndex is start; by cursor,
// the one whose last id is after. nil if there is none. A walk's pages
// keep the size of its first (the directory holds it), so a request for
// another count continues none.
func (w *walks) take(key listKey, count, start int, after string, byCursor bool) *walk {
	return w.takeOn(key, count, start, after, byCursor, "")
}

// takeOn is take of a walk on the server tagged tag ("" any).
func (w *walks) takeOn(key listKey, count, start int, after string, byCursor bool, tag string) *walk {
	if w.holder == nil || count <= 0 {
		return nil
	}
	w.mu.Lock()
	defer closeAll(w.sweepLocked(time.Now())) // after the lock is let go (deferred calls run last first)
	defer w.mu.Unlock()
	for i := len(w.idle) - 1; i >= 0; i-- {
		k := w.idle[i]
		if k.window || k.key != key || k.gen != w.gen && !k.natural || k.count != count {
			continue
		}
		if byCursor && (after == "" || k.lastID != after) || !byCursor && (start <= 1 || k.index != start) {
			continue
		}
		if tag != "" && k.conn.Server() != tag {
			continue
		}
		w.idle = append(w.idle[:i], w.idle[i+1:]...)
		w.busy[kind(k.natural)]++
		k.continued = true
		return k
	}
	return nil
}

// takeWindow takes the most recently used window walk of key kept here.
// The windows kept are those whose list was sorted since the gateway's
// last write and can still serve (sweepLocked closes the stale ones).
//
// While every window of key is in use (one being sorted, say), it waits
// for one to come back rather than have the directory sort the listing
// again. With none kept or in use, begin is set: the caller must begin one
// (beginWindow), which the next requests wait for. nil and false if ctx
// ends first.
func (w *walks) takeWindow(ctx context.Context, key listKey) (k *walk, begin bool) {
	if w.holder == nil {
		return nil, false
	}
	for {
		k, back := w.takeWindowOnce(key)
		if k != nil || back == nil {
			return k, k == nil
		}
		select {
		case <-back:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// changeMarker is the directory's change marker now, "" if not known.
func (w *walks) changeMarker() string {
	if w.marker == nil {
		return ""
	}
	return w.marker()
}

// stale reports whether a window's list may no longer serve pages: the
// directory's change marker is not mark (or either is not known) and it
// was sorted windowFresh ago or more.
func (k *walk) stale(now time.Time, mark string) bool {
	return !(mark != "" && k.mark == mark) && now.Sub(k.sortedAt) >= windowFresh
}

// reserveWindow counts a window of key in use for a caller that will
// begin one (beginWindow) without looking for one first.
func (w *walks) reserveWindow(key listKey) {
	w.mu.Lock()
	w.windowUse(key, 1)
	w.mu.Unlock()
}

// takeWindowOnce is takeWindow without the wait: when every window of key
// is in use, back is closed once one comes back. When there is none, it
// counts one in use for the caller, who must begin it (beginWindow).
func (w *walks) takeWindowOnce(key listKey) (found *walk, back <-chan struct{}) {
	w.mu.Lock()
	expired := w.sweepLocked(time.Now())
	defer func() { closeAll(expired) }() // after the lock is let go (deferred calls run last first)
	defer w.mu.Unlock()
	// The most recently used (idle is least recently used first); others
	// stay, for requests of the listing at once.
	for i, k := range slices.Backward(w.idle) {
		if k.window && k.key == key {
			w.idle = slices.Delete(w.idle, i, i+1)
			w.busy[0]++
			k.continued = true
			w.windowUse(key, 1)
			return k, nil
		}
	}
	if w.windowsInUse[key] == 0 {
		// None: the caller sorts one (beginWindow), and those that come
		// meanwhile wait for it. The window counts as in use from now.
		w.windowUse(key, 1)
		return nil, nil
	}
	if w.windowBack == nil {
		w.windowBack = make(chan struct{})
	}
	return nil, w.windowBack
}

// beginWindow begins a window walk of key (begin), its list sorted now
// under the directory's change marker as it is before the sort, after a
// takeWindow that found none (and counted it in use). nil, and the count
// given back, if no walk can be kept.
func (w *walks) beginWindow(ctx context.Context, key listKey, count int) *walk {
	mark := w.changeMarker()
	k := w.begin(ctx, key, count)
	w.mu.Lock()
	defer w.mu.Unlock()
	if k == nil {
		w.windowUse(key, -1)
		return nil
	}
	k.window, k.sortedAt, k.mark = true, time.Now(), mark
	return k
}

// windowUse counts one window of key more (+1) or less (-1) in use, and
// wakes the requests waiting for one when one comes back. w.mu is held.
func (w *walks) windowUse(key listKey, d int) {
	if w.windowsInUse == nil {
		w.windowsInUse = map[listKey]int{}
	}
	if n := w.windowsInUse[key] + d; n > 0 {
		w.windowsInUse[key] = n
	} else {
		delete(w.windowsInUse, key)
	}
	if d < 0 && w.windowBack != nil {
		close(w.windowBack)
		w.windowBack = nil
	}
}

// begin holds a new connection for a walk of key with pages of count,
// making room if need be: it closes the least recently used idle walk that
// no client went on with, or else one idle for walkProtect. nil when walks
// are not kept, or every one is busy or in use by a client going on (a
// client asking for first pages over and over does not end other
// clients' walks).
func (w *walks) begin(ctx context.Context, key listKey, count int) *walk {
	return w.beginOn(ctx, key, count, false, "")
}

// beginOn is begin for a walk of either kind (natural: in the directory's
// order), on the server tagged tag when the connection can tell servers
// apart and tag is not "". Walks of one kind make room among their own.
func (w *walks) beginOn(ctx context.Context, key listKey, count int, natural bool, tag string) *walk {
	n := kind(natural)
	if w.holder == nil || count <= 0 || w.max[n] == 0 {
		return nil
	}
	w.mu.Lock()
	var evict *walk
	if w.busy[n]+w.idleOf(natural) >= w.max[n] {
		i := slices.IndexFunc(w.idle, func(k *walk) bool { return k.natural == natural && !k.continued })
		if i < 0 {
			i = slices.IndexFunc(w.idle, func(k *walk) bool { return k.natural == natural })
			if i >= 0 && time.Since(w.idle[i].used) < walkProtect {
				i = -1
			}
		}
		if i < 0 {
			w.mu.Unlock()
			return nil
		}
		evict = w.idle[i]
		w.idle = slices.Delete(w.idle, i, i+1)
	}
	w.busy[n]++
	gen := w.gen
	w.mu.Unlock()
	if evict != nil {
		evict.conn.Close()
	}
	c, err := w.dial(ctx, tag)
	if err != nil {
		w.mu.Lock()
		w.busy[n]--
		w.mu.Unlock()
		return nil
	}
	return &walk{key: key, conn: c, gen: gen, count: count, natural: natural}
}

// idleOf counts the idle walks of a kind; the caller holds mu.
func (w *walks) idleOf(natural bool) int {
	n := 0
	for _, k := range w.idle {
		if k.natural == natural {
			n++
		}
	}
	return n
}

// done gives back a walk a request used (take, begin): kept for a
// continuation when keep is true, closed otherwise.
func (w *walks) done(k *walk, keep bool) {
	n := kind(k.natural) // before the lock: a nil walk must not leave it held
	w.mu.Lock()
	w.busy[n]--
	if k.window {
		w.windowUse(k.key, -1)
	}
	if keep && (k.gen == w.gen || k.natural) {
		k.used = time.Now()
		w.idle = append(w.idle, k)
		k = nil
		if !w.sweeping {
			w.sweeping = true
			time.AfterFunc(walkIdle, w.sweep)
		}
	}
	w.mu.Unlock()
	if k != nil {
		k.conn.Close()
	}
}

// flush closes the idle walks and keeps those in use from being
// continued: the gateway wrote, and its next listing must show it. Walks
// in the directory's own order go on (see walk.natural).
func (w *walks) flush() {
	if w.holder == nil {
		return
	}
	w.mu.Lock()
	var closing []*walk
	w.idle = slices.DeleteFunc(w.idle, func(k *walk) bool {
		if !k.natural {
			closing = append(closing, k)
		}
		return !k.natural
	})
	w.gen++
	w.mu.Unlock()
	closeAll(closing)
}

// sweep closes the walks idle for walkIdle.
func (w *walks) sweep() {
	w.mu.Lock()
	expired := w.sweepLocked(time.Now())
	if w.sweeping = len(w.idle) > 0; w.sweeping {
		time.AfterFunc(walkIdle/4, w.sweep)
	}
	w.mu.Unlock()
	closeAll(expired)
}

// sweepLocked takes the walks idle for walkIdle out of the store, and the
// windows that can no longer serve (stale); the caller closes them once
// it no longer holds the lock.
func (w *walks) sweepLocked(now time.Time) (expired []*walk) {
	mark := w.changeMarker()
	n := 0
	for _, k := range w.idle {
		if now.Sub(k.used) >= walkIdle || k.window && k.stale(now, mark) {
			expired = append(expired, k)
			continue
		}
		w.idle[n] = k
		n++
	}
	clear(w.idle[n:])
	w.idle = w.idle[:n]
	return expired
}

func closeAll(ks []*walk) {
	for _, k := range ks {
		k.conn.Close()
	}
}
