package main

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// cursorRandomUsers is how many generated users the directory of
// TestCursorWalkRandom holds (the demo users come on top), and
// cursorRandomBudget how many requests a seed sends at most, about (the
// changes stop when the pages left would not fit).
const (
	cursorRandomUsers  = 300
	cursorRandomBudget = 400
	// cursorPositionIDs is how many of the ids served last a cursor in
	// the directory's order names (ldapbackend's maxPositionIDs).
	cursorPositionIDs = 4
)

// TestCursorWalkRandom: RFC 9865 cursor walks in the directory's own order,
// through three gateways in front of one slapd (one keeps a single cursor
// walk, so that it often has no room and seeks, or reads on a spare
// connection), each page sent to a gateway picked at random, while users
// are created, deleted and renamed (PATCH userName: a modrdn) between the
// pages, also through random gateways. Each seed (math/rand/v2 PCG: the
// same scenario every run, on a directory of its own) runs rounds of one
// walk, or of two interleaved page by page, with a random count (for some
// walks, a new random count for each page), until its budget of about
// cursorRandomBudget requests is spent.
// Every page: 200, no startIndex, no totalResults (the walks are longer
// than their first page), at most count users, each user served as it is
// then (the name last given), none whose deletion was acknowledged before
// the page was asked for, none served twice in the walk; the walk ends
// (no nextCursor) within a bounded number of pages. At the end of a walk,
// every user that existed from before its first page to after its last
// (renamed or not) was served exactly once. Users created or deleted
// during the walk may or may not show. After the rounds, the listing is
// the model (every user alive, under its last name).
//
// A cursor names the last few ids the walk served, and a gateway that
// seeks finds the walk again by them: when all of them are gone the
// cursor is invalid (the client starts again; TestCursorPaging checks
// that). So the oldest of them, for each walk going on, is not deleted;
// the newer ones may be, which the seek must go past.
//
// SCIMGATE_CURSOR_SEEDS (a comma-separated list) runs other seeds.
func TestCursorWalkRandom(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6}
	if s := os.Getenv("SCIMGATE_CURSOR_SEEDS"); s != "" {
		seeds = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			if err != nil {
				t.Fatalf("SCIMGATE_CURSOR_SEEDS: %v", err)
			}
			seeds = append(seeds, n)
		}
	}
	ldif := writeUsersLDIF(t, cursorRandomUsers)
	var walks, kept, paged int
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			w, k, p := runCursorRandom(t, seed, ldif)
			walks, kept, paged = walks+w, kept+k, paged+p
		})
	}
	// The scenarios went through both ways of going on with a walk: the
	// walk kept on the gateway, and a new one that seeks (or the spare
	// connection of the gateway without room).
	if !t.Failed() && (kept == 0 || paged <= walks) {
		t.Errorf("%d walks were served %d pages from a kept walk and %d paged (first pages and seeks): want both ways", walks, kept, paged)
	}
	t.Logf("%d walks: %d pages from a kept walk, %d paged (%d of them seeks)", walks, kept, paged, paged-walks)
}

// crUser is a user of the scenario's model of the directory.
type crUser struct {
	id, name string
	demo     bool // of the demo directory: neither deleted nor renamed
	gone     bool
	goneAt   int // the clock when its deletion was acknowledged
}

// crWalk is one cursor walk of a scenario.
type crWalk struct {
	name       string
	count      int  // the count of every page, unless vary
	vary       bool // a new random count for each page
	cursor     string
	pages      int
	maxPages   int
	done       bool
	startClock int
	endClock   int
	start      []string // the ids that existed before its first page
	seen       map[string]int
	served     []string
}

// crScenario is the state of one seed's run.
type crScenario struct {
	t      *testing.T
	rng    *rand.Rand
	gws    []*testEnv
	users  []*crUser // in an order that does not depend on the ids: initial users by name, then those created
	byID   map[string]*crUser
	clock  int // writes acknowledged so far
	reqs   int
	trace  []string
	seed   uint64
	nextNo int // numbers the names of users created or renamed
	// named counts the deletions and renames of users named by the
	// cursor of a walk going on.
	named [2]int
}

func (s *crScenario) logf(format string, args ...any) {
	s.trace = append(s.trace, fmt.Sprintf(format, args...))
}

// fatalf ends the seed with the trace of what happened before.
func (s *crScenario) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Logf("scenario trace of seed %d (last 120 steps):\n%s", s.seed, strings.Join(s.trace[max(0, len(s.trace)-120):], "\n"))
	s.t.Fatalf("seed %d: "+format, append([]any{s.seed}, args...)...)
}

func (s *crScenario) gateway() (int, *testEnv) {
	i := s.rng.IntN(len(s.gws))
	return i, s.gws[i]
}

// listAll reads every user by index paging, in id order.
func (s *crScenario) listAll() map[string]string {
	s.t.Helper()
	s.reqs++
	r := s.gws[0].must(200, "GET", "/Users?attributes=userName&count=1000", "connector", nil)
	if num(r.body, "totalResults") != num(r.body, "itemsPerPage") {
		s.t.Fatalf("the listing of every user is not one page: %d of %d", num(r.body, "itemsPerPage"), num(r.body, "totalResults"))
	}
	out := map[string]string{}
	for i := range num(r.body, "itemsPerPage") {
		out[str(r.body, fmt.Sprintf("Resources[%d].id", i))] = str(r.body, fmt.Sprintf("Resources[%d].userName", i))
	}
	return out
}

// protected is what may not be deleted now: the demo users and, for each
// walk going on, the oldest of the ids its cursor names (the last
// cursorPositionIDs served).
func (s *crScenario) protected(walks []*crWalk) map[string]bool {
	p := map[string]bool{}
	for _, w := range walks {
		if !w.done && len(w.served) > 0 {
			p[w.served[max(0, len(w.served)-cursorPositionIDs)]] = true
		}
	}
	return p
}

// candidates are the users a deletion or a rename may pick (never a demo
// user; ok says which others): one time in three, only those a cursor of
// a walk going on names (the ids it served last), so that seeks meet ids
// gone or renamed; else any.
func (s *crScenario) candidates(walks []*crWalk, ok func(*crUser) bool) []*crUser {
	var out []*crUser
	if s.rng.IntN(3) == 0 {
		for _, w := range walks {
			if w.done {
				continue
			}
			for _, id := range w.served[max(0, len(w.served)-cursorPositionIDs):] {
				if u := s.byID[id]; u != nil && !u.gone && !u.demo && ok(u) && !slices.Contains(out, u) {
					out = append(out, u)
				}
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	for _, u := range s.users {
		if !u.gone && !u.demo && ok(u) {
			out = append(out, u)
		}
	}
	return out
}

// cursorNote says which walks going on name id in their cursor, and
// counts the change (what: 0 a deletion, 1 a rename) if any does.
func (s *crScenario) cursorNote(walks []*crWalk, id string, what int) string {
	var in []string
	for _, w := range walks {
		if !w.done && slices.Contains(w.served[max(0, len(w.served)-cursorPositionIDs):], id) {
			in = append(in, w.name)
		}
	}
	if len(in) == 0 {
		return ""
	}
	s.named[what]++
	return " (named by the cursor of walk " + strings.Join(in, ", ") + ")"
}

// change makes one random change through a random gateway.
func (s *crScenario) change(walks []*crWalk) {
	s.t.Helper()
	gi, g := s.gateway()
	c := "connector"
	switch s.rng.IntN(3) {
	case 0: // create
		s.nextNo++
		name := fmt.Sprintf("crw-%d-new-%d", s.seed, s.nextNo)
		s.reqs++
		r := g.do("POST", "/Users", c, map[string]any{"schemas": []string{userURN}, "userName": name})
		if r.status != 201 || str(r.body, "id") == "" {
			s.fatalf("create %s on gateway %d: %d %s", name, gi, r.status, r.raw)
		}
		u := &crUser{id: str(r.body, "id"), name: name}
		if s.byID[u.id] != nil {
			s.fatalf("create %s: id %s is already %s's", name, u.id, s.byID[u.id].name)
		}
		s.users = append(s.users, u)
		s.byID[u.id] = u
		s.clock++
		s.logf("  create %s %s on gateway %d", u.id, name, gi)
	case 1: // delete
		prot := s.protected(walks)
		cands := s.candidates(walks, func(u *crUser) bool { return !prot[u.id] })
		if len(cands) == 0 {
			return
		}
		u := cands[s.rng.IntN(len(cands))]
		s.reqs++
		if r := g.do("DELETE", "/Users/"+u.id, c, nil); r.status != 204 {
			s.fatalf("delete %s %s on gateway %d: %d %s", u.id, u.name, gi, r.status, r.raw)
		}
		s.clock++
		u.gone, u.goneAt = true, s.clock
		s.logf("  delete %s %s on gateway %d%s", u.id, u.name, gi, s.cursorNote(walks, u.id, 0))
	case 2: // rename
		cands := s.candidates(walks, func(*crUser) bool { return true })
		if len(cands) == 0 {
			return
		}
		u := cands[s.rng.IntN(len(cands))]
		s.nextNo++
		name := fmt.Sprintf("crw-%d-ren-%d", s.seed, s.nextNo)
		s.reqs++
		r := g.do("PATCH", "/Users/"+u.id, c, patchOp("replace", "userName", name))
		if r.status != 200 && r.status != 204 {
			s.fatalf("rename %s %s to %s on gateway %d: %d %s", u.id, u.name, name, gi, r.status, r.raw)
		}
		if r.status == 200 && (str(r.body, "id") != u.id || str(r.body, "userName") != name) {
			s.fatalf("rename %s %s to %s: the answer is %s", u.id, u.name, name, r.raw)
		}
		s.clock++
		s.logf("  rename %s %s -> %s on gateway %d%s", u.id, u.name, name, gi, s.cursorNote(walks, u.id, 1))
		u.name = name
	}
}

// page reads the next page of w through a random gateway and checks it.
func (s *crScenario) page(w *crWalk) {
	s.t.Helper()
	t := s.t
	count := w.count
	if w.vary {
		count = 1 + s.rng.IntN(60)
	}
	gi, g := s.gateway()
	if w.pages == 0 {
		w.startClock = s.clock
		for _, u := range s.users {
			if !u.gone {
				w.start = append(w.start, u.id)
			}
		}
	}
	w.pages++
	s.reqs++
	path := fmt.Sprintf("/Users?attributes=userName&count=%d&cursor=%s", count, url.QueryEscape(w.cursor))
	r := g.do("GET", path, "connector", nil)
	if r.status != 200 {
		s.fatalf("walk %s page %d (count %d) on gateway %d: %d %s", w.name, w.pages, count, gi, r.status, r.raw)
	}
	n := num(r.body, "itemsPerPage")
	res, _ := r.body["Resources"].([]any)
	next := str(r.body, "nextCursor")
	var ids []string
	for i := range res {
		ids = append(ids, str(res[i], "id"))
	}
	s.logf("walk %s page %d on gateway %d, count %d: %d users %v, next %v", w.name, w.pages, gi, count, len(ids), shortIDs(ids), next != "")
	if n != len(res) || n > count {
		s.fatalf("walk %s page %d: itemsPerPage %d, %d Resources, count %d", w.name, w.pages, n, len(res), count)
	}
	if _, has := r.body["startIndex"]; has {
		t.Errorf("seed %d: walk %s page %d has startIndex: %s", s.seed, w.name, w.pages, r.raw)
	}
	// Every walk is longer than its first page (count 60 at most, some
	// 300 users): no page has totalResults.
	if _, has := r.body["totalResults"]; has {
		t.Errorf("seed %d: walk %s page %d (next cursor %v) has totalResults: %s", s.seed, w.name, w.pages, next != "", r.raw)
	}
	if w.pages == 1 && next == "" {
		s.fatalf("walk %s ended with its first page of %d users", w.name, n)
	}
	for i, id := range ids {
		name := str(res[i], "userName")
		w.seen[id]++
		w.served = append(w.served, id)
		u := s.byID[id]
		switch {
		case w.seen[id] > 1:
			t.Errorf("seed %d: walk %s page %d served %s (%s) again", s.seed, w.name, w.pages, id, name)
		case u == nil:
			t.Errorf("seed %d: walk %s page %d served %s (%s), which is no user known", s.seed, w.name, w.pages, id, name)
		case u.gone:
			t.Errorf("seed %d: walk %s page %d served %s (%s), deleted before the page was asked for (clock %d, walk began at %d)",
				s.seed, w.name, w.pages, id, name, u.goneAt, w.startClock)
		case name != u.name:
			t.Errorf("seed %d: walk %s page %d served %s as %q, its name is %q", s.seed, w.name, w.pages, id, name, u.name)
		}
	}
	w.cursor = next
	if next == "" {
		w.done, w.endClock = true, s.clock
		return
	}
	if w.pages >= w.maxPages {
		s.fatalf("walk %s has not ended after %d pages of %d (%d users served)", w.name, w.pages, count, len(w.served))
	}
}

// check checks what a finished walk served as a whole.
func (s *crScenario) check(w *crWalk) {
	s.t.Helper()
	throughout, missing := 0, 0
	for _, id := range w.start {
		u := s.byID[id]
		if u.gone && u.goneAt <= w.endClock {
			continue // deleted during the walk: may or may not show
		}
		throughout++
		if w.seen[id] != 1 {
			missing++
			s.t.Errorf("seed %d: walk %s served %s (%s), present throughout, %d times", s.seed, w.name, id, u.name, w.seen[id])
		}
	}
	s.logf("walk %s done: %d pages, %d users served, %d present throughout", w.name, w.pages, len(w.served), throughout)
	if missing > 0 {
		s.t.Logf("scenario trace of seed %d (last 120 steps):\n%s", s.seed, strings.Join(s.trace[max(0, len(s.trace)-120):], "\n"))
	}
}

func shortIDs(ids []string) string {
	if len(ids) > 6 {
		return fmt.Sprintf("[%s %s %s ... %s]", short(ids[0]), short(ids[1]), short(ids[2]), short(ids[len(ids)-1]))
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = short(id)
	}
	return "[" + strings.Join(out, " ") + "]"
}

func short(id string) string { return id[:min(8, len(id))] }

// runCursorRandom runs the scenario of seed on a directory of its own, and
// returns how many walks it ran and how their pages were served by the
// gateways (from a kept walk, or paged: a first page or a seek).
func runCursorRandom(t *testing.T, seed uint64, ldif string) (walks, kept, paged int) {
	quiet := func(extra func(*Config)) func(*Config) {
		metrics := withMetrics(t)
		return func(c *Config) {
			c.Log.Level = "warn"
			metrics(c)
			if extra != nil {
				extra(c)
			}
		}
	}
	e := startEnvWith(t, quiet(nil), ldif)
	g2 := startGateway(t, e.ldap.URL, "dc=example,dc=com", quiet(nil))
	g3 := startGateway(t, e.ldap.URL, "dc=example,dc=com", quiet(func(c *Config) { c.Limits.CursorWalks = 1 }))
	s := &crScenario{t: t, rng: rand.New(rand.NewPCG(seed, 0x9865)), gws: []*testEnv{e, g2, g3}, byID: map[string]*crUser{}, seed: seed}

	for id, name := range s.listAll() {
		u := &crUser{id: id, name: name, demo: !strings.HasPrefix(name, "user")}
		s.users = append(s.users, u)
		s.byID[id] = u
	}
	slices.SortFunc(s.users, func(a, b *crUser) int { return strings.Compare(a.name, b.name) })
	if n := len(s.users); n < cursorRandomUsers {
		t.Fatalf("%d users in the directory, want at least %d", n, cursorRandomUsers)
	}

	// Rounds of one walk, or two interleaved page by page, while the
	// budget lasts (the first round whatever its size).
	var desc []string
	for round := 1; ; round++ {
		ws := []*crWalk{{name: fmt.Sprintf("%dA", round)}}
		if s.rng.IntN(2) == 0 {
			ws = append(ws, &crWalk{name: fmt.Sprintf("%dB", round)})
		}
		pagesLeft := 0
		for _, w := range ws {
			w.count = 1 + s.rng.IntN(60)
			w.vary = s.rng.IntN(4) == 0
			w.seen = map[string]int{}
			// Enough pages for every user, those that may be created
			// during the walk too, one per page... and a few.
			least := w.count
			if w.vary {
				least = 1
			}
			w.maxPages = (len(s.users)+cursorRandomBudget)/least + 10
			est := (len(s.users)+w.count-1)/w.count + 1
			if w.vary {
				est = len(s.users)/20 + 1
			}
			pagesLeft += est
		}
		if round > 1 && s.reqs+pagesLeft+1 > cursorRandomBudget {
			break
		}
		for _, w := range ws {
			s.logf("walk %s: count %d (vary %v)", w.name, w.count, w.vary)
		}
		walks += len(ws)
		for {
			var going []*crWalk
			for _, w := range ws {
				if !w.done {
					going = append(going, w)
				}
			}
			if len(going) == 0 {
				break
			}
			// Interleaved: the walks take turns, at random.
			w := going[s.rng.IntN(len(going))]
			for range s.rng.IntN(4) {
				// The changes stop when the pages left would not fit the
				// budget.
				if s.reqs+pagesLeft+1 >= cursorRandomBudget {
					break
				}
				s.change(ws)
			}
			s.page(w)
			pagesLeft = max(pagesLeft-1, len(going))
		}
		for _, w := range ws {
			s.check(w)
			desc = append(desc, fmt.Sprintf("%s: count %d%s, %d pages, %d users", w.name, w.count, map[bool]string{true: " varied"}[w.vary], w.pages, len(w.served)))
		}
	}

	// The model is the directory: every user as it is now, once.
	now := s.listAll()
	alive := 0
	for _, u := range s.users {
		if !u.gone {
			alive++
			if now[u.id] != u.name {
				t.Errorf("seed %d: after the walks, %s is %q, want %q", seed, u.id, now[u.id], u.name)
			}
		}
	}
	if len(now) != alive {
		t.Errorf("seed %d: after the walks, %d users, want %d", seed, len(now), alive)
	}

	for _, g := range s.gws {
		body := g.scrape()
		v := func(how string) int {
			n, _ := strconv.Atoi(metricValue(body, `scimgate_list_pages_total{served="`+how+`"}`))
			return n
		}
		kept, paged = kept+v("walk"), paged+v("paged")
	}
	deleted := 0
	for _, u := range s.users {
		if u.gone {
			deleted++
		}
	}
	t.Logf("seed %d: walks %s; %d requests, %d writes (%d deletions, %d of them and %d renames of users a cursor named); pages from a kept walk %d, paged %d",
		seed, strings.Join(desc, "; "), s.reqs, s.clock, deleted, s.named[0], s.named[1], kept, paged)
	return walks, kept, paged
}
