package ldapbackend

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestListCache: nothing is kept without a change marker; the first
// request for a listing only marks it, the second builds it (one builder at
// a time), later ones get it while the marker holds; a new marker or age
// drops it; at most maxCachedLists are kept, the least recently used
// going first.
func TestListCache(t *testing.T) {
	c := newListCache()
	marker, now := "", time.Unix(1000, 0)
	c.FollowChanges(func() string { return marker })
	c.SetClock(func() time.Time { return now })
	k := listKey{typ: "User", filter: "(objectClass=inetOrgPerson)"}
	ids := []string{"a", "b"}

	if got, build, _ := c.lookup(k); got != nil || build {
		t.Fatal("a list without a change marker")
	}
	marker = "m1"
	if got, build, _ := c.lookup(k); got != nil || build {
		t.Fatal("the first request built the list")
	}
	if _, build, _ := c.lookup(k); !build {
		t.Fatal("the second request did not build the list")
	}
	if _, build, _ := c.lookup(k); build {
		t.Fatal("two builders at once")
	}
	c.abandon(k)
	_, build, m1 := c.lookup(k)
	if !build {
		t.Fatal("an abandoned build is not retried")
	}
	c.store(k, m1, ids)
	now = now.Add(time.Minute)
	if got, _, _ := c.lookup(k); !slices.Equal(got, ids) {
		t.Fatalf("the stored list: %v", got)
	}
	marker = "m2"
	if got, build, _ := c.lookup(k); got != nil || build {
		t.Fatal("the list outlived a change in the directory")
	}
	_, _, m2 := c.lookup(k)
	c.store(k, m2, ids)
	now = now.Add(refQuietMax + time.Second)
	if got, _, _ := c.lookup(k); got != nil {
		t.Fatal("the list outlived refQuietMax")
	}
	c.lookup(k)
	c.store(k, m1, ids) // a build under an old marker is dropped
	if got, _, _ := c.lookup(k); got != nil {
		t.Fatal("a list built under an old marker was installed")
	}

	for i := range maxCachedLists + 5 {
		now = now.Add(time.Second)
		c.lookup(listKey{typ: "User", filter: fmt.Sprint(i)})
	}
	if c.Len() != maxCachedLists {
		t.Fatalf("%d lists kept, want %d", c.Len(), maxCachedLists)
	}
	if _, ok, _ := c.Get(listKey{typ: "User", filter: "0"}); ok {
		t.Error("the least recently used list was kept")
	}

	// Too many ids in all: older lists go.
	big := make([]string, maxCachedIDs/2+1)
	for i := range 3 {
		bk := listKey{typ: "User", filter: fmt.Sprint("big", i)}
		now = now.Add(time.Second)
		c.lookup(bk)
		_, _, mark := c.lookup(bk)
		c.store(bk, mark, big)
	}
	newest, _, _ := c.Get(listKey{typ: "User", filter: "big2"})
	if c.Weight() > maxCachedIDs || newest == nil || newest.ids == nil {
		t.Errorf("%d ids kept (at most %d), the newest list kept: %v", c.Weight(), maxCachedIDs, newest != nil && newest.ids != nil)
	}
}
