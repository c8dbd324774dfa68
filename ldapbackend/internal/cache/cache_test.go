package cache

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestFresh: whether an item read under one marker is good at an age
// under another, for the policies the backend uses.
func TestFresh(t *testing.T) {
	const ttl = 30 * time.Second
	directory := Policy[int]{Size: 10, TTL: ttl}
	refs := Policy[int]{Size: 10, TTL: ttl, Quiet: 10 * time.Minute}
	identity := Policy[int]{Size: 10, TTL: ttl, Unmarked: time.Second}
	shortIdentity := Policy[int]{Size: 10, TTL: 100 * time.Millisecond, Unmarked: time.Second}
	cases := []struct {
		name       string
		p          Policy[int]
		readMarker string
		age        time.Duration
		marker     string
		want       bool
	}{
		{"no marker, young", directory, "", time.Second, "", true},
		{"no marker, at ttl", directory, "", ttl, "", false},
		{"same marker, young", directory, "m1", time.Second, "m1", true},
		{"same marker, just under ttl", directory, "m1", ttl - time.Millisecond, "m1", true},
		{"same marker, at ttl", directory, "m1", ttl, "m1", false},
		{"marker changed, at once", directory, "m1", 0, "m2", false},
		{"marker lost: cannot vouch", directory, "m1", 0, "", false},
		{"marker known since", directory, "", 0, "m1", false},
		{"clock went back", directory, "m1", -time.Second, "m1", false},

		{"quiet: same marker past ttl", refs, "m1", time.Minute, "m1", true},
		{"quiet: same marker past quiet", refs, "m1", 10 * time.Minute, "m1", false},
		{"quiet: marker changed", refs, "m1", time.Second, "m2", false},
		{"quiet: no marker, past ttl", refs, "", time.Minute, "", false},
		{"quiet: no marker, young", refs, "", time.Second, "", true},

		{"identity: same marker, young", identity, "m1", time.Second, "m1", true},
		{"identity: same marker, at ttl", identity, "m1", ttl, "m1", false},
		{"identity: marker changed", identity, "m1", 10 * time.Second, "m2", false},
		{"identity: marker lost, within unmarked", identity, "m1", 500 * time.Millisecond, "", true},
		{"identity: marker lost, at unmarked", identity, "m1", time.Second, "", false},
		{"identity: no marker, within unmarked", identity, "", 500 * time.Millisecond, "", true},
		{"identity: no marker, past unmarked", identity, "", 2 * time.Second, "", false},
		{"identity: no marker, marker known since", identity, "", 0, "m1", false},
		{"identity: ttl shorter than unmarked", shortIdentity, "", 200 * time.Millisecond, "", false},
		{"identity: clock went back", identity, "m1", -time.Second, "m1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New[string, int](tc.p)
			marker, now := tc.readMarker, time.Unix(1000, 0)
			c.FollowChanges(func() string { return marker })
			c.SetClock(func() time.Time { return now })
			_, _, mark := c.Get("k")
			c.Put("k", 1, mark)
			marker, now = tc.marker, now.Add(tc.age)
			if _, got, _ := c.Get("k"); got != tc.want {
				t.Errorf("good = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLRU: the size bound drops the least recently used item; a Get
// counts as a use; putting a kept key replaces its value.
func TestLRU(t *testing.T) {
	c := New[string, int](Policy[int]{Size: 2, TTL: time.Hour})
	put := func(k string, v int) {
		_, _, mark := c.Get(k)
		c.Put(k, v, mark)
	}
	put("a", 1)
	put("b", 2)
	c.Get("a") // a is now the most recently used
	put("c", 3)
	if _, ok, _ := c.Get("b"); ok {
		t.Error("b not evicted at the size bound")
	}
	if v, ok, _ := c.Get("a"); !ok || v != 1 {
		t.Error("a evicted although recently used")
	}
	put("a", 4)
	if v, _, _ := c.Get("a"); v != 4 || c.Len() != 2 {
		t.Errorf("a replaced: %d, %d kept", v, c.Len())
	}
}

// TestDisabled: a size or ttl of 0 keeps nothing.
func TestDisabled(t *testing.T) {
	for _, p := range []Policy[int]{{Size: 0, TTL: time.Hour}, {Size: 10, TTL: 0}} {
		c := New[string, int](p)
		c.Put("a", 1, c.Begin())
		if _, ok, _ := c.Get("a"); ok || c.Len() != 0 {
			t.Errorf("%+v kept an item", p)
		}
	}
}

// TestMarkBeforeRead: the mark handed out on a miss names the state before
// the directory is read, so a change during the read makes what was read
// stale at once; a Flush during the read keeps it out altogether.
func TestMarkBeforeRead(t *testing.T) {
	c := New[string, []string](Policy[[]string]{Size: 10, TTL: time.Hour})
	marker := "csn1"
	c.FollowChanges(func() string { return marker })
	_, ok, mark := c.Get("g")
	if ok || mark.Marker != "csn1" {
		t.Fatalf("miss: ok %v mark %q", ok, mark.Marker)
	}
	marker = "csn2" // the directory changed while it was read
	c.Put("g", []string{"old"}, mark)
	if _, ok, _ := c.Get("g"); ok {
		t.Fatal("an item read before a change outlived it")
	}
	_, _, mark = c.Get("g")
	c.Put("g", []string{"new"}, mark)
	if v, ok, _ := c.Get("g"); !ok || v[0] != "new" {
		t.Fatalf("fresh item: %v %v", v, ok)
	}

	began := c.Begin()
	c.Flush() // the gateway wrote while the read was under way
	c.Put("h", []string{"read before the write"}, began)
	if c.Len() != 0 {
		t.Fatalf("%d items after Flush and a Put begun before it", c.Len())
	}
	c.Put("h", []string{"read after"}, c.Begin())
	if _, ok, _ := c.Get("h"); !ok {
		t.Fatal("a read begun after Flush was not kept")
	}

	c.FollowChanges(nil) // no marker: every mark is ""
	if c.Marker() != "" || c.Begin().Marker != "" {
		t.Error("a marker without FollowChanges")
	}
}

// TestWeight: the weights of the items stay within MaxWeight, the least
// recently used going first, but never the item just put.
func TestWeight(t *testing.T) {
	c := New[string, []string](Policy[[]string]{Size: 10, TTL: time.Hour,
		Weigh: func(v []string) int { return len(v) }, MaxWeight: 10})
	for i := range 3 {
		c.Put(fmt.Sprint(i), make([]string, 4), c.Begin())
	}
	if c.Weight() != 8 || c.Len() != 2 {
		t.Errorf("weight %d with %d items, want 8 with 2", c.Weight(), c.Len())
	}
	if _, ok, _ := c.Get("0"); ok {
		t.Error("the least recently used item was kept")
	}
	c.Put("big", make([]string, 20), c.Begin())
	if _, ok, _ := c.Get("big"); !ok || c.Len() != 1 || c.Weight() != 20 {
		t.Errorf("an item heavier than MaxWeight: kept %v, %d items weighing %d", ok, c.Len(), c.Weight())
	}
	c.Flush()
	if c.Weight() != 0 {
		t.Errorf("weight %d after Flush", c.Weight())
	}
}

// TestConcurrent: Get, Put, Flush and a moving marker from many
// goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	c := New[int, int](Policy[int]{Size: 50, TTL: time.Hour, Weigh: func(int) int { return 1 }, MaxWeight: 40})
	var mu sync.Mutex
	marker := 0
	c.FollowChanges(func() string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprint(marker)
	})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				k := (g*31 + i) % 100
				if v, ok, mark := c.Get(k); !ok {
					c.Put(k, k, mark)
				} else if v != k {
					t.Errorf("key %d holds %d", k, v)
					return
				}
				switch i % 500 {
				case 0:
					c.Flush()
				case 250:
					mu.Lock()
					marker++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if c.Len() > 40 || c.Weight() != c.Len() {
		t.Errorf("%d items weighing %d", c.Len(), c.Weight())
	}
}

// TestGetOrAdd: of callers that miss together, one adds and the others
// get what it added; a good item is never replaced, a stale one is.
func TestGetOrAdd(t *testing.T) {
	c := New[string, *int](Policy[*int]{Size: 10, TTL: time.Minute})
	marker, now := "m1", time.Unix(1000, 0)
	c.FollowChanges(func() string { return marker })
	c.SetClock(func() time.Time { return now })
	mark := c.Begin()
	one, two := 1, 2
	if v, loaded := c.GetOrAdd("k", &one, mark); loaded || v != &one {
		t.Fatal("the first caller did not add")
	}
	if v, loaded := c.GetOrAdd("k", &two, mark); !loaded || v != &one {
		t.Fatal("a second caller replaced a good item")
	}
	marker = "m2"
	if v, loaded := c.GetOrAdd("k", &two, c.Begin()); loaded || v != &two {
		t.Fatal("a stale item was not replaced")
	}
	var wg sync.WaitGroup
	adds := make(chan bool, 8)
	for range 8 {
		wg.Go(func() {
			v := 0
			_, loaded := c.GetOrAdd("race", &v, c.Begin())
			adds <- !loaded
		})
	}
	wg.Wait()
	close(adds)
	n := 0
	for a := range adds {
		if a {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d callers added, want 1", n)
	}
}
