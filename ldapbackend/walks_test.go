package ldapbackend

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
)

// fakeHolder hands out connections that only count whether they are open.
type fakeHolder struct {
	ldapconn.Conn
	open atomic.Int32
}

type fakeHeld struct{ h *fakeHolder }

func (f *fakeHolder) Hold(context.Context) (ldapconn.HeldConn, error) {
	f.open.Add(1)
	return &fakeHeld{f}, nil
}
func (c *fakeHeld) Search(context.Context, *ldap.SearchRequest) (*ldap.SearchResult, error) {
	return nil, nil
}
func (c *fakeHeld) Close()         { c.h.open.Add(-1) }
func (c *fakeHeld) Server() string { return "fake" }

// TestWalksKeeping: a walk is continued only by the request that goes on
// from where it stopped (the next startIndex, or the last id by cursor)
// for the same listing with pages of the same size; at most max are held,
// the least recently used idle one that nobody went on with making room,
// or else one idle for walkProtect; a flush closes the idle ones and keeps a busy one from being
// continued; with no Holder nothing is kept.
func TestWalksKeeping(t *testing.T) {
	h := &fakeHolder{}
	w := newWalks(h, 2, 0)
	ctx := t.Context()
	a, b := listKey{typ: "User", filter: "(a)"}, listKey{typ: "User", filter: "(b)"}

	k := w.begin(ctx, a, 100)
	k.index, k.lastID = 101, ""
	w.done(k, true)
	if w.take(b, 100, 101, "", false) != nil || w.take(a, 100, 201, "", false) != nil || w.take(a, 100, 1, "", false) != nil ||
		w.take(a, 100, 0, "x", true) != nil || w.take(a, 50, 101, "", false) != nil || w.take(a, 0, 101, "", false) != nil {
		t.Fatal("a walk was continued by a request that does not go on from it")
	}
	if got := w.take(a, 100, 101, "", false); got != k {
		t.Fatal("the next startIndex did not continue the walk")
	}
	k.index, k.lastID = 0, "id-9"
	w.done(k, true)
	if got := w.take(a, 100, 0, "id-9", true); got != k {
		t.Fatal("the cursor did not continue the walk")
	}
	w.done(k, true)

	k2 := w.begin(ctx, b, 100)
	if w.begin(ctx, b, 100) != nil {
		t.Fatal("a walk used just now was closed to make room")
	}
	w.idle[0].used = time.Now().Add(-walkProtect)
	k3 := w.begin(ctx, b, 100) // makes room: the idle walk of a is closed
	if k2 == nil || k3 == nil || h.open.Load() != 2 {
		t.Fatalf("begin with one idle walk at the limit: %v %v, %d open", k2, k3, h.open.Load())
	}
	if w.begin(ctx, b, 100) != nil {
		t.Fatal("a walk began beyond the limit while every walk is busy")
	}
	k2.index = 11
	w.done(k2, true)
	w.flush()
	k3.index = 11
	w.done(k3, true) // begun before the flush: closed, not kept
	if h.open.Load() != 0 || w.take(b, 100, 11, "", false) != nil {
		t.Fatalf("after a flush: %d open", h.open.Load())
	}
	w.done(w.begin(ctx, a, 100), false)
	if h.open.Load() != 0 {
		t.Fatal("a walk given back without keep stayed open")
	}

	// A walk nobody went on with makes room at once, however recent.
	one := newWalks(h, 1, 0)
	first := one.begin(ctx, a, 100)
	first.index = 101
	one.done(first, true)
	if second := one.begin(ctx, b, 100); second == nil {
		t.Fatal("a walk nobody went on with did not make room")
	} else {
		one.done(second, false)
	}
	if h.open.Load() != 0 {
		t.Fatalf("%d open after the walk that made room was closed", h.open.Load())
	}

	none := newWalks(nil, 4, 4)
	if none.on() || none.naturalOn() || none.begin(ctx, a, 100) != nil {
		t.Fatal("walks kept without a Holder")
	}

	// Sorted walks and walks in the directory's order are counted apart:
	// neither makes room among the other's; a flush ends only sorted ones.
	both := newWalks(h, 1, 1)
	sorted := both.begin(ctx, a, 100)
	natural := both.beginOn(ctx, b, 100, true, "")
	if sorted == nil || natural == nil || !natural.natural || sorted.natural {
		t.Fatalf("one walk of each kind: %v %v", sorted, natural)
	}
	if both.beginOn(ctx, a, 100, true, "") != nil || both.begin(ctx, b, 100) != nil {
		t.Fatal("a walk began beyond its kind's limit")
	}
	sorted.index, natural.lastID = 101, "id-1"
	both.done(sorted, true)
	both.done(natural, true)
	both.flush()
	if both.take(a, 100, 101, "", false) != nil {
		t.Fatal("a sorted walk went on after a flush")
	}
	if got := both.take(b, 100, 0, "id-1", true); got != natural {
		t.Fatal("a walk in the directory's order did not go on after a flush")
	} else {
		both.done(got, false)
	}
	if h.open.Load() != 0 {
		t.Fatalf("%d open after every walk was closed", h.open.Load())
	}
}

// TestPositionIDs: a cursor names the last few ids served, at least the
// newest, within maxPositionBytes beyond it.
func TestPositionIDs(t *testing.T) {
	long := strings.Repeat("x", maxPositionBytes)
	for _, tc := range []struct {
		in, want []string
	}{
		{nil, nil},
		{[]string{"a"}, []string{"a"}},
		{[]string{"a", "b", "c", "d", "e", "f"}, []string{"c", "d", "e", "f"}},
		{[]string{"a", long, "b"}, []string{"b"}},
		{[]string{"a", long + "y"}, []string{long + "y"}},
	} {
		if got := positionIDs(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("positionIDs(%d ids) = %v, want %v", len(tc.in), got, tc.want)
		}
	}
}

// TestWalksSeeks: one seek at a time for a page (the others wait on its
// channel, closed once), and at most half of the cursor walks going on
// after their requests ended.
func TestWalksSeeks(t *testing.T) {
	w := newWalks(&fakeHolder{}, 0, 5)
	sk := seekKey{key: listKey{typ: "User"}, after: "x", server: "s", count: 100}
	ch := w.beginSeek(sk)
	if ch == nil || w.beginSeek(sk) != nil || w.seeking(sk) == nil {
		t.Fatal("a second seek for the same page began, or the first is not seen")
	}
	other := sk
	other.after = "y"
	if w.seeking(other) != nil {
		t.Error("a seek for another page is seen")
	}
	w.endSeek(sk, ch)
	w.endSeek(sk, ch) // once only: a second end does nothing
	select {
	case <-ch:
	default:
		t.Error("the seek's end did not wake its waiters")
	}
	if w.seeking(sk) != nil || w.beginSeek(sk) == nil {
		t.Error("an ended seek is still seen")
	}
	var got []bool
	for range 3 {
		got = append(got, w.detach())
	}
	if !slices.Equal(got, []bool{true, true, false}) {
		t.Errorf("five cursor walks: seeks going on after their requests %v, want two, not more", got)
	}
	w.undetach()
	if !w.detach() {
		t.Error("a seek ended: another may go on")
	}
	one := newWalks(&fakeHolder{}, 0, 1)
	if first, second := one.detach(), one.detach(); !first || second {
		t.Error("one cursor walk: one seek may go on")
	}
}

// TestWalksWindows: a window walk serves any page of its listing (no
// startIndex or count to match), while the directory's change marker is
// the one it was sorted under or for windowFresh, and not once the
// gateway wrote; index walks never take it, nor it them.
func TestWalksWindows(t *testing.T) {
	h := &fakeHolder{}
	w := newWalks(h, 4, 0)
	ctx := t.Context()
	a, b := listKey{typ: "User", filter: "(a)"}, listKey{typ: "User", filter: "(b)"}
	// take is takeWindow, giving back the window it counts in use when it
	// finds none (the caller would begin one).
	// The directory's change marker, as the sweep sees it too.
	cur := ""
	w.marker = func() string { return cur }
	take := func(key listKey, mark string) *walk {
		cur = mark
		k, begin := w.takeWindow(ctx, key)
		if begin {
			w.mu.Lock()
			w.windowUse(key, -1)
			w.mu.Unlock()
		}
		return k
	}
	k := w.begin(ctx, a, 100)
	k.window, k.sortedAt, k.mark = true, time.Now(), "m1"
	w.done(k, true)
	if w.take(a, 100, 101, "", false) != nil || w.take(a, 100, 0, "", true) != nil || take(b, "m1") != nil {
		t.Fatal("a window walk was taken as an index walk, or for another listing")
	}
	if got := take(a, "m2"); got != k {
		t.Fatal("the window walk, fresh, was not taken after a change")
	}
	w.done(k, true)
	idx := w.begin(ctx, a, 100)
	idx.index = 101
	w.done(idx, true)
	k.sortedAt = time.Now().Add(-time.Hour)
	if got := take(a, "m1"); got != k {
		t.Fatal("an old window was not taken while the directory has not changed, or an index walk was taken as a window")
	}
	w.done(k, true)
	if take(a, "m2") != nil || w.held() != 1 {
		t.Fatalf("a window sorted windowFresh ago, before a change, was taken, or kept (%d held)", w.held())
	}
	k = w.begin(ctx, a, 100)
	k.window, k.sortedAt = true, time.Now().Add(-windowFresh)
	w.done(k, true)
	if take(a, "") != nil {
		t.Fatal("a window sorted windowFresh ago, with no change marker, was taken")
	}
	k = w.begin(ctx, a, 100)
	k.window, k.sortedAt, k.mark = true, time.Now(), "m1"
	w.done(k, true)
	w.flush()
	if take(a, "m1") != nil {
		t.Fatal("a window sorted before the gateway's write was taken")
	}
	// The sweep closes the windows that can no longer serve: sorted
	// windowFresh ago under another marker. One whose marker holds stays.
	cur = "m1"
	old := w.begin(ctx, a, 100)
	old.window, old.sortedAt, old.mark = true, time.Now().Add(-windowFresh), "m1"
	w.done(old, true)
	w.sweep()
	if w.held() != 1 {
		t.Fatalf("a window whose marker holds was swept (%d held)", w.held())
	}
	cur = "m2"
	w.sweep()
	if w.held() != 0 {
		t.Fatalf("a stale window was not swept (%d held)", w.held())
	}

	// The counts windows found: a listing noted again keeps the others;
	// one more than maxWindowTotals begins afresh.
	for i := range maxWindowTotals {
		w.windowSorted(listKey{typ: "User", filter: fmt.Sprint(i)}, i)
	}
	w.windowSorted(listKey{typ: "User", filter: "7"}, 70)
	if w.windowTotal(listKey{typ: "User", filter: "7"}) != 70 || w.windowTotal(listKey{typ: "User", filter: "200"}) != 200 {
		t.Error("noting a listing's count again lost the others")
	}
	w.windowSorted(b, 5)
	if w.windowTotal(b) != 5 || w.windowTotal(listKey{typ: "User", filter: "200"}) != -1 {
		t.Error("the counts grew past maxWindowTotals")
	}
}

// TestWalksWindowWait: while a listing's only window is in use (its list
// being sorted, say), a request for the listing waits for it rather than
// sort again; it gives up when its context ends, and waits for nothing
// when no window of the listing is in use.
func TestWalksWindowWait(t *testing.T) {
	w := newWalks(&fakeHolder{}, 4, 0)
	a := listKey{typ: "User", filter: "(a)"}
	k, begin := w.takeWindow(t.Context(), a)
	if k != nil || !begin {
		t.Fatal("no window and no sort to begin")
	}
	// The first request sorts; the next waits for its window.
	k = w.beginWindow(t.Context(), a, 100)
	type taken struct {
		k     *walk
		begin bool
	}
	got := make(chan taken)
	go func() { k, begin := w.takeWindow(t.Context(), a); got <- taken{k, begin} }()
	select {
	case g := <-got:
		t.Fatalf("a request did not wait for the window in use: %v", g)
	case <-time.After(50 * time.Millisecond):
	}
	w.done(k, true)
	if g := <-got; g.k != k {
		t.Fatal("the request waiting did not get the window back")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if g, begin := w.takeWindow(ctx, a); g != nil || begin {
		t.Fatal("a window in use was taken twice, or another sort begun")
	}
	// Given back and closed (a failed page): the waiter sorts anew.
	go func() { k, begin := w.takeWindow(t.Context(), a); got <- taken{k, begin} }()
	time.Sleep(20 * time.Millisecond)
	w.done(k, false)
	if g := <-got; g.k != nil || !g.begin {
		t.Fatal("a closed window was handed out, or the waiter was not told to sort")
	}
	// No walk to be had: the count is given back, and nobody waits.
	full := newWalks(&fakeHolder{}, 0, 0)
	if k, begin := full.takeWindow(t.Context(), a); k != nil || begin {
		t.Fatal("a window with walks off")
	}
	if w.beginWindow(t.Context(), a, 100) == nil {
		t.Fatal("no window begun")
	}
}
