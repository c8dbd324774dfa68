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
	var c listCache
	now := time.Unix(1000, 0)
	k := listKey{typ: "User", filter: "(objectClass=inetOrgPerson)"}
	ids := []string{"a", "b"}

	if got, build := c.lookup(k, "", now); got != nil || build {
		t.Fatal("a list without a change marker")
	}
	if got, build := c.lookup(k, "m1", now); got != nil || build {
		t.Fatal("the first request built the list")
	}
	if _, build := c.lookup(k, "m1", now); !build {
		t.Fatal("the second request did not build the list")
	}
	if _, build := c.lookup(k, "m1", now); build {
		t.Fatal("two builders at once")
	}
	c.abandon(k)
	if _, build := c.lookup(k, "m1", now); !build {
		t.Fatal("an abandoned build is not retried")
	}
	c.store(k, "m1", ids, now)
	if got, _ := c.lookup(k, "m1", now.Add(time.Minute)); !slices.Equal(got, ids) {
		t.Fatalf("the stored list: %v", got)
	}
	if got, build := c.lookup(k, "m2", now); got != nil || build {
		t.Fatal("the list outlived a change in the directory")
	}
	c.lookup(k, "m2", now)
	c.store(k, "m2", ids, now)
	if got, _ := c.lookup(k, "m2", now.Add(refQuietMax+time.Second)); got != nil {
		t.Fatal("the list outlived refQuietMax")
	}
	c.store(k, "m1", ids, now) // a build under an old marker is dropped
	if got, _ := c.lookup(k, "m2", now); got != nil {
		t.Fatal("a list built under an old marker was installed")
	}

	for i := range maxCachedLists + 5 {
		c.lookup(listKey{typ: "User", filter: fmt.Sprint(i)}, "m2", now.Add(time.Duration(i)*time.Second))
	}
	if len(c.m) != maxCachedLists {
		t.Fatalf("%d lists kept, want %d", len(c.m), maxCachedLists)
	}
	if _, ok := c.m[listKey{typ: "User", filter: "0"}]; ok {
		t.Error("the least recently used list was kept")
	}

	// Too many ids in all: older lists go.
	big := make([]string, maxCachedIDs/2+1)
	for i := range 3 {
		bk := listKey{typ: "User", filter: fmt.Sprint("big", i)}
		at := now.Add(time.Hour + time.Duration(i)*time.Second)
		c.lookup(bk, "m2", at)
		c.lookup(bk, "m2", at)
		c.store(bk, "m2", big, at)
	}
	total := 0
	for _, l := range c.m {
		total += len(l.ids)
	}
	if total > maxCachedIDs || c.m[listKey{typ: "User", filter: "big2"}].ids == nil {
		t.Errorf("%d ids kept (at most %d), the newest list kept: %v", total, maxCachedIDs, c.m[listKey{typ: "User", filter: "big2"}].ids != nil)
	}
}
