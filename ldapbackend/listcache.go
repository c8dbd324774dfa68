package ldapbackend

import (
	"sync"
	"time"
)

// listCache remembers, for listings every entry of which the caller may
// see (see listVLV), the ordered ids of all matches, so that a client
// walking through the pages (Okta and Entra import this way) costs the
// directory one read of each page's entries rather than one sort of every
// match per page. A list is good only while the directory's change marker
// (ACIStore.ChangeMarker) is the one it was read under, so it never shows
// the directory staler than the ACIs do; it is built on the second request
// for the same listing under the same marker, so that a one-off page or a
// directory that keeps changing does not pay for it.
type listCache struct {
	mu sync.Mutex
	m  map[listKey]*cachedList
}

// listKey names a listing: the type, the complete LDAP filter, and the order.
type listKey struct {
	typ, filter, sort string
	desc              bool
}

type cachedList struct {
	marker   string
	ids      []string // nil until built
	building bool
	used     time.Time
	built    time.Time
}

// maxCachedLists and maxCachedIDs bound the lists kept (about 50 bytes an
// id); the least recently used goes first.
const (
	maxCachedLists = 16
	maxCachedIDs   = 1 << 20
)

// lookup returns the ids of key's listing if a list built under marker is
// at hand, or build true when the caller should build it now (it then
// calls store or abandon). marker "" means the directory's state is not
// known: nothing is cached then.
func (c *listCache) lookup(key listKey, marker string, now time.Time) (ids []string, build bool) {
	if marker == "" {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.m[key]
	switch {
	case !ok || l.marker != marker || l.ids != nil && now.Sub(l.built) > refQuietMax:
		if c.m == nil {
			c.m = map[listKey]*cachedList{}
		}
		c.evict(key)
		c.m[key] = &cachedList{marker: marker, used: now}
		return nil, false
	case l.ids != nil:
		l.used = now
		return l.ids, false
	case l.building:
		return nil, false
	}
	l.building, l.used = true, now
	return nil, true
}

// store installs the list a lookup asked to build.
func (c *listCache) store(key listKey, marker string, ids []string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.m[key]
	if !ok || l.marker != marker {
		return
	}
	l.ids, l.building, l.built = ids, false, now
	for c.ids() > maxCachedIDs {
		oldest, ok := c.oldestExcept(key)
		if !ok {
			return
		}
		delete(c.m, oldest)
	}
}

// ids counts the ids of every list kept.
func (c *listCache) ids() int {
	n := 0
	for _, l := range c.m {
		n += len(l.ids)
	}
	return n
}

// oldestExcept names the least recently used list other than key.
func (c *listCache) oldestExcept(key listKey) (oldest listKey, ok bool) {
	var at time.Time
	for k, l := range c.m {
		if k != key && (!ok || l.used.Before(at)) {
			oldest, at, ok = k, l.used, true
		}
	}
	return oldest, ok
}

// abandon gives up a build a lookup asked for.
func (c *listCache) abandon(key listKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.m[key]; ok {
		l.building = false
	}
}

// evict makes room for key, dropping the least recently used other list.
func (c *listCache) evict(key listKey) {
	if _, ok := c.m[key]; ok || len(c.m) < maxCachedLists {
		return
	}
	if oldest, ok := c.oldestExcept(key); ok {
		delete(c.m, oldest)
	}
}
