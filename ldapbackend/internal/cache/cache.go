// Package cache is the one cache type of the backend: what the ACI engine
// reads of the directory, what references name, the order of listings
// being paged through and the identity mapper's mappings are all kept in
// a Cache, each with its own Policy.
//
// An item is good for a time (Policy.TTL, longer while the directory is
// known to be at rest: Policy.Quiet) and only while the directory's change
// marker (the ACI store's ChangeMarker, the suffix's contextCSN as last
// polled) is the one it was read under. Flush, which the backend calls
// after each of its writes, drops everything, and a read that began before
// a Flush does not install what it read: Get hands out a Mark, taken before
// the directory is read, that Put checks.
package cache

import (
	"container/list"
	"sync"
	"sync/atomic"
	"time"
)

// Policy says how long items stay good and how many are kept.
type Policy[V any] struct {
	// Size bounds the items kept; the least recently used goes first. 0
	// disables the cache.
	Size int
	// TTL is how long an item is good while the marker is the one it was
	// read under. 0 disables the cache.
	TTL time.Duration
	// Quiet, when longer than TTL, is how long an item is good while the
	// marker is known and has not moved since it was read.
	Quiet time.Duration
	// Unmarked, when set, is how long any item is good while the marker
	// is unknown (""), whatever marker it was read under (at most TTL).
	// Unset, only an item read without a marker is good then, for TTL.
	Unmarked time.Duration
	// Weigh and MaxWeight, when set, bound the sum of the items' weights
	// too; the item just put is never evicted for it.
	Weigh     func(V) int
	MaxWeight int
}

// Mark is the state of the directory as a read began: the change marker
// and the Flush count. Get returns it; Put takes it.
type Mark struct {
	Marker string
	gen    uint64
}

// Cache is a size-bounded LRU cache whose items expire by its Policy and
// whenever the change marker moves on or Flush is called. Safe for
// concurrent use.
type Cache[K comparable, V any] struct {
	p      Policy[V]
	now    func() time.Time
	marker atomic.Pointer[func() string]

	mu     sync.Mutex
	gen    uint64
	items  map[K]*list.Element
	order  *list.List // front = most recently used
	weight int
}

type item[K comparable, V any] struct {
	key    K
	val    V
	read   time.Time // when the read it came from began
	marker string
	weight int
}

// New returns an empty cache with policy p.
func New[K comparable, V any](p Policy[V]) *Cache[K, V] {
	return &Cache[K, V]{p: p, now: time.Now, items: map[K]*list.Element{}, order: list.New()}
}

// SetClock replaces time.Now, for tests.
func (c *Cache[K, V]) SetClock(now func() time.Time) { c.now = now }

// FollowChanges makes items stale as soon as marker names another state
// of the directory; until it is called the marker is always "".
func (c *Cache[K, V]) FollowChanges(marker func() string) {
	if marker == nil {
		c.marker.Store(nil)
		return
	}
	c.marker.Store(&marker)
}

// Marker is the change marker now ("" when none is followed or known).
func (c *Cache[K, V]) Marker() string {
	if m := c.marker.Load(); m != nil {
		return (*m)()
	}
	return ""
}

// Begin returns the Mark to put what is read from now on under: for a
// read of several keys at once.
func (c *Cache[K, V]) Begin() Mark {
	m := c.Marker()
	c.mu.Lock()
	defer c.mu.Unlock()
	return Mark{Marker: m, gen: c.gen}
}

// Get returns the item of key if it is good. It also returns the Mark to
// put the value read next under, taken before the directory is read, so
// that a change or a Flush during the read shows.
func (c *Cache[K, V]) Get(key K) (v V, ok bool, mark Mark) {
	m := c.Marker()
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	mark = Mark{Marker: m, gen: c.gen}
	el, found := c.items[key]
	if !found {
		return v, false, mark
	}
	it := el.Value.(*item[K, V])
	if !c.fresh(it, now, m) {
		c.remove(el)
		return v, false, mark
	}
	c.order.MoveToFront(el)
	return it.val, true, mark
}

// fresh applies the policy to it at now under the marker m.
func (c *Cache[K, V]) fresh(it *item[K, V], now time.Time, m string) bool {
	age := now.Sub(it.read)
	switch {
	case age < 0: // the clock went back
		return false
	case m == "" && c.p.Unmarked > 0:
		return age < min(c.p.Unmarked, c.p.TTL)
	case it.marker != m:
		return false
	case m != "" && c.p.Quiet > c.p.TTL:
		return age < c.p.Quiet
	}
	return age < c.p.TTL
}

// Put keeps val for key, read under mark (from Get). Nothing is kept if
// the cache was flushed since mark was taken.
func (c *Cache[K, V]) Put(key K, val V, mark Mark) {
	if c.p.Size <= 0 || c.p.TTL <= 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.put(key, val, mark, now)
}

// put is Put under c.mu.
func (c *Cache[K, V]) put(key K, val V, mark Mark, now time.Time) {
	if c.p.Size <= 0 || c.p.TTL <= 0 || mark.gen != c.gen {
		return
	}
	w := 0
	if c.p.Weigh != nil {
		w = c.p.Weigh(val)
	}
	if el, ok := c.items[key]; ok {
		c.remove(el)
	}
	for c.order.Len() >= c.p.Size {
		c.remove(c.order.Back())
	}
	el := c.order.PushFront(&item[K, V]{key: key, val: val, read: now, marker: mark.Marker, weight: w})
	c.items[key] = el
	c.weight += w
	for c.p.MaxWeight > 0 && c.weight > c.p.MaxWeight && c.order.Back() != el {
		c.remove(c.order.Back())
	}
}

// GetOrAdd returns the good item of key if there is one (loaded true);
// else it keeps val, read under mark, and returns it. The two happen at
// once: of several callers that miss together, one adds.
func (c *Cache[K, V]) GetOrAdd(key K, val V, mark Mark) (v V, loaded bool) {
	now := c.now()
	m := c.Marker()
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		it := el.Value.(*item[K, V])
		if c.fresh(it, now, m) {
			c.order.MoveToFront(el)
			return it.val, true
		}
		c.remove(el)
	}
	c.put(key, val, mark, now)
	return val, false
}

// Flush drops every item; a read that began before does not install what
// it read.
func (c *Cache[K, V]) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.items = map[K]*list.Element{}
	c.order.Init()
	c.weight = 0
}

// Len is the number of items kept, good or not.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// Weight is the sum of the weights of the items kept.
func (c *Cache[K, V]) Weight() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.weight
}

func (c *Cache[K, V]) remove(el *list.Element) {
	it := el.Value.(*item[K, V])
	c.order.Remove(el)
	delete(c.items, it.key)
	c.weight -= it.weight
}
