package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/ldapbackend/slapd"
	"github.com/scimgate/scimgate/ldapbackend/slapd/slapdtest"
)

// haGateways starts two gateways in front of a two-provider slapd replica
// set, both with the servers in the same order (so that both write to the
// same provider and the directory's DN uniqueness holds among them).
func haGateways(t *testing.T) (slapd.Providers, [2]*testEnv) {
	t.Helper()
	ps := slapdtest.StartProvidersT(t, slapd.Options{SeedLDIF: []string{demoLDIF}}, 2)
	if err := ps.WaitInSync(t.Context()); err != nil {
		t.Fatal(err)
	}
	var gws [2]*testEnv
	for i := range gws {
		gws[i] = startGateway(t, "", ps[0].Suffix, func(c *Config) {
			c.LDAP.URL = ""
			c.LDAP.Servers = []ldapconn.ServerConfig{{URL: ps[0].URL}, {URL: ps[1].URL}}
			c.LDAP.CheckInterval = 250 * time.Millisecond
			c.LDAP.OpTimeout = 2 * time.Second
			c.Log.Level = "warn"
		})
	}
	return ps, gws
}

// haOutcome is what one request of the load answered, and when.
type haOutcome struct {
	at     time.Duration
	status int
	what   string
}

// haUser is a user the load created: its name and, once acknowledged, its
// id and the last displayName a PATCH of it was answered 2xx for.
type haUser struct {
	name, id, display string
}

// TestHAFailover: 16 clients create, change and read users through two
// gateways while the provider both write to is killed (SIGKILL) and
// started again, then while it hangs (SIGSTOP) and resumes. No request
// answers 500; errors (503) last a few seconds around each fault; every
// write answered 2xx is on both providers afterwards, the same on each;
// and each gateway reads every acknowledged write.
func TestHAFailover(t *testing.T) {
	ps, gws := haGateways(t)
	for _, fault := range []struct {
		name         string
		break_, mend func() error
	}{
		{"SIGKILL", ps[0].Kill, func() error { return ps[0].Resume(t.Context()) }},
		{"SIGSTOP", ps[0].Freeze, ps[0].Thaw},
	} {
		t.Run(fault.name, func(t *testing.T) {
			haLoad(t, ps, gws, fault.break_, fault.mend)
		})
	}
}

func haLoad(t *testing.T, ps slapd.Providers, gws [2]*testEnv, break_, mend func() error) {
	const clients = 16
	const (
		breakAt = 1500 * time.Millisecond
		mendAt  = 4 * time.Second
		stopAt  = 7 * time.Second
		// 503s may answer requests in flight at the fault (until the
		// operation deadline, 2 s, and a check or two after), and the
		// writes of entries a hung provider may still apply, until it has
		// answered again for a check interval.
		faultErrors = 2*time.Second + time.Second
		mendErrors  = time.Second
	)
	var (
		mu       sync.Mutex
		outcomes []haOutcome
		users    []*haUser
		n        atomic.Int64
		crossGW  time.Duration // the longest a user took to show through the other gateway
	)
	start := time.Now()
	record := func(status int, what string) {
		mu.Lock()
		outcomes = append(outcomes, haOutcome{time.Since(start), status, what})
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gw, other := gws[c%2], gws[(c+1)%2]
			for time.Since(start) < stopAt {
				u := &haUser{name: fmt.Sprintf("ha-%s-%d", t.Name()[len("TestHAFailover/"):], n.Add(1))}
				mu.Lock()
				users = append(users, u)
				mu.Unlock()
				r := gw.do("POST", "/Users", "connector", map[string]any{
					"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
					"userName": u.name, "displayName": "v0",
					"emails": []any{map[string]any{"value": u.name + "@example.com", "type": "work", "primary": true}},
				})
				record(r.status, "POST "+u.name+" "+r.raw)
				if r.status != 201 {
					continue
				}
				mu.Lock()
				u.id, u.display = str(r.body, "id"), "v0"
				mu.Unlock()
				// Each client keeps to one gateway for its writes (sticky
				// sessions: see the README on writes retried through
				// another gateway while a provider hangs).
				for v := 1; v <= 2; v++ {
					d := fmt.Sprintf("v%d", v)
					r := gw.do("PATCH", "/Users/"+u.id, "connector", patchOp("replace", "displayName", d))
					record(r.status, "PATCH "+u.name+" "+r.raw)
					if r.status/100 == 2 {
						mu.Lock()
						u.display = d
						mu.Unlock()
					}
				}
				// The other gateway reads it once replication has brought
				// it to the server that gateway reads from.
				seen := time.Now()
				for {
					r = other.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+u.name+`"`), "connector", nil)
					if r.status != 200 || num(r.body, "totalResults") == 1 || time.Since(seen) > 5*time.Second {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				record(r.status, "GET via the other gateway")
				if r.status == 200 && num(r.body, "totalResults") != 1 {
					record(0, "GET via the other gateway: "+u.name+" not found within 5 s")
				}
				mu.Lock()
				crossGW = max(crossGW, time.Since(seen))
				mu.Unlock()
			}
		}()
	}
	time.Sleep(breakAt)
	if err := break_(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(mendAt - breakAt)
	if err := mend(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	// No 500; errors only around the fault, each 503, for a few seconds at
	// most after the fault and after the recovery.
	var bad []string
	var firstErr, lastErr time.Duration = -1, -1
	ok := 0
	for _, o := range outcomes {
		switch {
		case o.status/100 == 2:
			ok++
		case o.status == 503:
			if firstErr < 0 {
				firstErr = o.at
			}
			lastErr = o.at
			if !(o.at >= breakAt && o.at <= breakAt+faultErrors || o.at >= mendAt && o.at <= mendAt+mendErrors) {
				bad = append(bad, fmt.Sprintf("%s: 503 at %s, away from the fault (%s) and the recovery (%s)", o.what, o.at, breakAt, mendAt))
			}
		default:
			bad = append(bad, fmt.Sprintf("%s: %d at %s", o.what, o.status, o.at))
		}
	}
	t.Logf("%d requests, %d answered 2xx; 503s from %s to %s (fault at %s, recovery at %s); a user took up to %s to show through the other gateway",
		len(outcomes), ok, firstErr, lastErr, breakAt, mendAt, crossGW)
	if ok < len(outcomes)/2 {
		bad = append(bad, fmt.Sprintf("only %d of %d requests answered 2xx", ok, len(outcomes)))
	}
	for _, b := range bad[:min(len(bad), 20)] {
		t.Error(b)
	}
	for _, gw := range gws {
		for _, line := range strings.Split(gw.logs.String(), "\n") {
			if strings.Contains(line, `"status":500`) {
				t.Errorf("gateway log: %s", line)
			}
		}
	}

	// Both providers end up with every acknowledged write. A write that
	// was in flight when the provider was killed (answered 503) may have
	// been applied there and never replicated: slapd 2.5 takes the
	// contextCSN it saved at its last checkpoint for what it has, and a
	// write applied after it is not sent. That is counted, not failed
	// (the README says so); it never hides an acknowledged write.
	if err := ps.WaitInSync(t.Context()); err != nil {
		t.Fatal(err)
	}
	entries := [2]map[string]*ldap.Entry{}
	for i, s := range ps {
		entries[i] = haEntries(t, s)
	}
	stranded := 0
	for _, u := range users {
		a, b := entries[0][u.name], entries[1][u.name]
		if u.id == "" {
			for _, e := range []*ldap.Entry{a, b} {
				if e != nil && (e.GetAttributeValue("scimEmails") == "" || e.GetAttributeValue("mail") == "") {
					t.Errorf("%s: a create answered with an error left a partial entry", u.name)
				}
			}
			if (a == nil) != (b == nil) {
				stranded++
			}
			continue
		}
		if a == nil || b == nil {
			t.Errorf("%s: created (201) but on provider 1 %v, on provider 2 %v", u.name, a != nil, b != nil)
			continue
		}
		for i, e := range []*ldap.Entry{a, b} {
			if got := e.GetAttributeValue("displayName"); got < u.display { // a 503'd PATCH may have applied
				t.Errorf("%s on provider %d: displayName %q, acknowledged %q", u.name, i+1, got, u.display)
			}
			if e.GetAttributeValue("entryUUID") != u.id {
				t.Errorf("%s on provider %d: entryUUID %s, id %s", u.name, i+1, e.GetAttributeValue("entryUUID"), u.id)
			}
		}
		if a.GetAttributeValue("displayName") != b.GetAttributeValue("displayName") {
			stranded++ // one side has a change answered 503
		}
	}
	if stranded > 0 {
		t.Logf("%d writes answered 503 at the fault are on one provider only (slapd's checkpoint: see the README)", stranded)
	}
	// Writes go back to the first provider once it has caught up: its
	// server id (001) is in the change number of the next creates.
	for i, gw := range gws {
		waitFor(t, 10*time.Second, "writes back on provider 1", func() (bool, string) {
			name := fmt.Sprintf("ha-back-%s-%d-%d", t.Name()[len("TestHAFailover/"):], i, time.Now().UnixNano())
			r := gw.do("POST", "/Users", "connector", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": name})
			if r.status != 201 {
				return false, r.raw
			}
			csn := haEntryCSN(t, ps[0], name)
			return strings.Contains(csn, "#001#"), "entryCSN " + csn
		})
	}
	// Each gateway reads every acknowledged write.
	for _, gw := range gws {
		for _, u := range users {
			if u.id == "" {
				continue
			}
			r := gw.do("GET", "/Users/"+u.id, "connector", nil)
			if r.status != 200 || str(r.body, "displayName") < u.display {
				t.Errorf("GET %s: %d %s, acknowledged displayName %q", u.name, r.status, str(r.body, "displayName"), u.display)
			}
		}
	}
}

// haEntryCSN reads the entryCSN of the user uid from s, once it is there.
func haEntryCSN(t *testing.T, s *slapd.Server, uid string) string {
	t.Helper()
	c, err := s.Bind(t.Context(), s.AdminDN, s.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := c.Search(ldap.NewSearchRequest("uid="+ldap.EscapeDN(uid)+",ou=People,"+s.Suffix, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"entryCSN"}, nil))
	if err != nil || len(res.Entries) != 1 {
		return fmt.Sprint(err)
	}
	return res.Entries[0].GetAttributeValue("entryCSN")
}

// haEntries reads the users the load created from s, by userName.
func haEntries(t *testing.T, s *slapd.Server) map[string]*ldap.Entry {
	t.Helper()
	c, err := s.Bind(t.Context(), s.AdminDN, s.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := c.SearchWithPaging(ldap.NewSearchRequest("ou=People,"+s.Suffix, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(uid=ha-*)", []string{"uid", "displayName", "mail", "scimEmails", "entryUUID"}, nil), 500)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*ldap.Entry{}
	for _, e := range res.Entries {
		out[e.GetAttributeValue("uid")] = e
	}
	return out
}

// TestHACursorWalk: a cursor walk in the directory's own order through two
// gateways in front of two providers stays on the provider it began on: the
// other gateway goes on from it there (a seek); while that provider is
// down, a page is 503 (not a cursor to give up on), and once it is back
// the walk goes on and ends with every user once.
func TestHACursorWalk(t *testing.T) {
	ps, gws := haGateways(t)
	c := "connector"
	page := func(g *testEnv, cursor string, status int) response {
		t.Helper()
		return g.must(status, "GET", "/Users?attributes=userName&count=7&cursor="+url.QueryEscape(cursor), c, nil)
	}
	ids := func(r response) (out []string) {
		for i := range num(r.body, "itemsPerPage") {
			out = append(out, str(r.body, fmt.Sprintf("Resources[%d].id", i)))
		}
		return out
	}
	var ref []string
	for r := page(gws[0], "", 200); ; r = page(gws[0], str(r.body, "nextCursor"), 200) {
		ref = append(ref, ids(r)...)
		if str(r.body, "nextCursor") == "" {
			break
		}
	}

	first := page(gws[0], "", 200)
	second := page(gws[1], str(first.body, "nextCursor"), 200)
	got := append(ids(first), ids(second)...)
	if err := ps[0].Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the gateway sees the provider down", func() (bool, string) {
		r := gws[1].do("GET", "/Users?attributes=userName&count=7&cursor="+url.QueryEscape(str(second.body, "nextCursor")), c, nil)
		return r.status == 503, r.raw
	})
	if err := ps[0].Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	var r response
	waitFor(t, 10*time.Second, "the walk goes on once the provider is back", func() (bool, string) {
		r = gws[1].do("GET", "/Users?attributes=userName&count=7&cursor="+url.QueryEscape(str(second.body, "nextCursor")), c, nil)
		return r.status == 200, r.raw
	})
	for i := 0; ; i++ {
		got = append(got, ids(r)...)
		if str(r.body, "nextCursor") == "" {
			break
		}
		r = page(gws[i%2], str(r.body, "nextCursor"), 200)
	}
	if !slices.Equal(got, ref) {
		t.Errorf("the walk across a provider's outage: %d users, want the %d of a quiet walk, in the same order", len(got), len(ref))
	}
}
