package ldapbackend

import (
	"sync/atomic"

	"github.com/scimgate/scimgate/ldapbackend/internal/cache"
)

// listCache remembers, for listings every entry of which the caller may
// see (see listPlan.uniform), the ordered ids of all matches, so that a client
// walking through the pages (Okta and Entra import this way) costs the
// directory one read of each page's entries rather than one sort of every
// match per page. A list is good only while the directory's change marker
// (ACIStore.ChangeMarker) is the one it was read under, so it never shows
// the directory staler than the ACIs do; it is built on the second request
// for the same listing under the same marker, so that a one-off page or a
// directory that keeps changing does not pay for it.
type listCache struct {
	*cache.Cache[listKey, *cachedList]
}

// listKey names a listing: the type, the complete LDAP filter, and the order.
type listKey struct {
	typ, filter, sort string
	desc              bool
}

// cachedList is a listing seen once (ids nil) or its ordered ids.
type cachedList struct {
	ids      []string
	building atomic.Bool // a request is reading ids for this entry
	tooLarge atomic.Bool // more matches than are kept: page with VLV
}

// maxCachedLists and maxCachedIDs bound the lists kept (about 50 bytes an
// id); the least recently used goes first. A list is rebuilt after
// refQuietMax even while the directory does not change.
const (
	maxCachedLists = 16
	maxCachedIDs   = 1 << 20
)

func newListCache() *listCache {
	return &listCache{cache.New[listKey, *cachedList](cache.Policy[*cachedList]{
		Size: maxCachedLists, TTL: refQuietMax,
		Weigh: func(l *cachedList) int { return len(l.ids) }, MaxWeight: maxCachedIDs,
	})}
}

// lookup returns the ids of key's listing if a list built under the
// current marker is at hand, or build true when the caller should build it
// now (it then calls store with mark, or abandon). While the directory's
// state is not known (marker "") nothing is cached.
func (c *listCache) lookup(key listKey) (ids []string, build bool, mark cache.Mark) {
	mark = c.Begin()
	if mark.Marker == "" {
		return nil, false, mark
	}
	l, loaded := c.GetOrAdd(key, &cachedList{}, mark)
	switch {
	case !loaded: // seen once
		return nil, false, mark
	case l.ids != nil:
		return l.ids, false, mark
	case l.tooLarge.Load():
		return nil, false, mark
	}
	return nil, l.building.CompareAndSwap(false, true), mark
}

// store installs the list a lookup asked to build, unless the directory
// changed meanwhile.
func (c *listCache) store(key listKey, mark cache.Mark, ids []string) {
	if _, _, now := c.Get(key); now.Marker != mark.Marker {
		return
	}
	c.Put(key, &cachedList{ids: ids}, mark)
}

// tooLarge gives up a build a lookup asked for because the listing has
// more matches than a list keeps: until the directory changes, its pages
// are cut by the directory one by one, without trying again.
func (c *listCache) tooLarge(key listKey) {
	if l, ok, _ := c.Get(key); ok {
		l.tooLarge.Store(true)
		l.building.Store(false)
	}
}

// abandon gives up a build a lookup asked for.
func (c *listCache) abandon(key listKey) {
	if l, ok, _ := c.Get(key); ok {
		l.building.Store(false)
	}
}
