package main

// Benchmarks of the whole stack (HTTP, OAuth, SCIM, ACI engine, LDAP pool)
// against a private slapd, each beside the raw go-ldap search the operation
// needs, in the same run. `make bench` runs them; -short skips the
// 100,000-user scaling case.
//
//	go test ./cmd/scimgate -run '^$' -bench . -benchmem
//
// At the end of each benchmark the gateway/raw throughput ratios are logged.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/ldapbackend/scimldap"
	"github.com/scimgate/scimgate/ldapbackend/slapd"
)

const (
	benchUsers   = 10000
	benchPeople  = "ou=People,dc=example,dc=com"
	benchClients = 16 // concurrent clients of the throughput benchmarks
	benchPage    = 100
)

// benchUser is one generated user: its userName and its SCIM id.
type benchUser struct{ uid, id string }

// benchUserAttrs are the LDAP attributes the gateway requests for a User
// (ldapbackend's typeState.fetch for the default mapping): the raw searches
// ask for the same.
func benchUserAttrs() []string {
	m := scimldap.DefaultUserMapping(benchPeople)
	out := []string{"objectClass", "entryUUID", "entryCSN", "createTimestamp", "modifyTimestamp"}
	seen := map[string]bool{}
	for _, a := range out {
		seen[strings.ToLower(a)] = true
	}
	for _, a := range m.Attrs {
		if a.WriteOnly || a.KindName == "password" || seen[strings.ToLower(a.LDAP)] {
			continue
		}
		seen[strings.ToLower(a.LDAP)] = true
		out = append(out, a.LDAP)
	}
	return out
}

// writeUsersLDIF writes n generated users to a temporary LDIF file.
func writeUsersLDIF(b testing.TB, n int) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), fmt.Sprintf("users-%d.ldif", n))
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := slapd.GenerateUsersLDIF(f, slapd.DefaultSuffix, n); err != nil {
		b.Fatal(err)
	}
	return p
}

// benchConfig is the configuration of the benchmarked server: the defaults
// a deployment gets (log level info, so the audit line per request is
// written as in production; ACI refresh every second), plus a metrics
// listener from which the benchmarks count LDAP searches and ACI decisions.
// The lookthrough limit is raised above the directory's size: with the
// default of 10,000, an unfiltered listing of 10,000 generated users plus
// the demo users is refused with 400 tooMany.
func benchConfig(metricsAddr string) func(*Config) {
	return func(c *Config) {
		c.Log.Level = "info"
		c.LDAP.RefreshInterval = 0 // default
		c.MetricsListen = metricsAddr
		c.Limits.Lookthrough = 200000
		// As many LDAP connections as the raw side has (newLDAPPool) and
		// as there are clients.
		c.LDAP.PoolSize = benchClients
		if v := os.Getenv("SCIMGATE_BENCH_POOL_SIZE"); v != "" { // for experiments
			n, _ := strconv.Atoi(v)
			c.LDAP.PoolSize = n
		}
	}
}

// benchServer is a running gateway with its directory and what the
// benchmarks need from them.
type benchServer struct {
	env     *testEnv
	metrics string // http://host:port/metrics
	users   []benchUser
	load    *loadClient
}

// loadClient is the benchmarks' HTTP load generator: keep-alive HTTP/1.1
// connections, each used by one request at a time, with the request
// written and the response read by hand. The server under test is the
// real one; the load generator shares the machine's two cores with it and
// with slapd, so it is kept lean, as load generators are: net/http's
// Transport spends two goroutines per connection and a handoff between
// them on every request, a cost a real deployment's clients pay on their
// own machines. The server sends every response with its length
// (scim.writeJSON), which is all this reader understands.
type loadClient struct {
	addr, prefix string // host:port, and the base path (/scim/v2)
	header       string // the request's fixed header lines
	idle         chan *loadConn
}

type loadConn struct {
	c   net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	buf []byte // the last response body
}

func newLoadClient(b *testing.B, base, auth string) *loadClient {
	b.Helper()
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	lc := &loadClient{addr: u.Host, prefix: u.Path, idle: make(chan *loadConn, 4*benchClients),
		header: "Host: " + u.Host + "\r\nAuthorization: " + auth + "\r\nAccept: " + scimJSONType + "\r\n\r\n"}
	b.Cleanup(func() {
		for {
			select {
			case c := <-lc.idle:
				c.c.Close()
			default:
				return
			}
		}
	})
	return lc
}

// get sends one GET and hands the status and body to check, which must
// not keep the body.
func (lc *loadClient) get(path string, check func(status int, body []byte) error) error {
	var c *loadConn
	select {
	case c = <-lc.idle:
	default:
		nc, err := net.DialTimeout("tcp", lc.addr, 5*time.Second)
		if err != nil {
			return err
		}
		c = &loadConn{c: nc, r: bufio.NewReaderSize(nc, 16<<10), w: bufio.NewWriterSize(nc, 4<<10)}
	}
	_ = c.c.SetDeadline(time.Now().Add(60 * time.Second))
	c.w.WriteString("GET " + lc.prefix + path + " HTTP/1.1\r\n")
	c.w.WriteString(lc.header)
	if err := c.w.Flush(); err != nil {
		c.c.Close()
		return err
	}
	status, body, closeAfter, err := c.readResponse()
	if err != nil {
		c.c.Close()
		return err
	}
	err = check(status, body)
	if closeAfter {
		c.c.Close()
		return err
	}
	select {
	case lc.idle <- c:
	default:
		c.c.Close()
	}
	return err
}

// readResponse reads an HTTP/1.1 response with a Content-Length.
func (c *loadConn) readResponse() (status int, body []byte, closeAfter bool, err error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, false, fmt.Errorf("not an HTTP/1.1 status line: %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, nil, false, fmt.Errorf("status line %q: %v", line, err)
	}
	length := -1
	for {
		if line, err = c.r.ReadSlice('\n'); err != nil {
			return 0, nil, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		k, v, _ := bytes.Cut(line, []byte(":"))
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(v)); err != nil || length < 0 {
				return 0, nil, false, fmt.Errorf("Content-Length %q", v)
			}
		case bytes.EqualFold(k, []byte("Connection")) && bytes.EqualFold(v, []byte("close")):
			closeAfter = true
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			return 0, nil, false, fmt.Errorf("Transfer-Encoding %q: the server should send lengths", v)
		}
	}
	if length < 0 {
		return 0, nil, false, errors.New("a response without Content-Length")
	}
	if cap(c.buf) < length {
		c.buf = make([]byte, length)
	}
	body = c.buf[:length]
	_, err = io.ReadFull(c.r, body)
	return status, body, closeAfter, err
}

func startBenchServer(b *testing.B, users int) *benchServer {
	b.Helper()
	start := time.Now()
	seed := writeUsersLDIF(b, users)
	maddr := freeAddr(b)
	// Loading 100,000 users takes slapadd some seconds, a million about two
	// minutes on two cores: more than a test's start, and a larger map.
	// SCIMGATE_BENCH_CACHE keeps each directory slapadd made, and the next
	// run copies it: seconds instead of minutes at a million users (make
	// bench sets it).
	o := slapd.Options{StartTimeout: 2 * time.Minute, SeedCache: os.Getenv("SCIMGATE_BENCH_CACHE")}
	if users > 200000 {
		o.StartTimeout, o.MaxSize = 10*time.Minute, int64(users)*16<<10
	}
	env := startEnvOn(b, o, benchConfig(maddr), seed)
	env.logs.Discard() // format every audit line as in production, keep none
	s := &benchServer{env: env, metrics: "http://" + maddr + "/metrics", load: newLoadClient(b, env.base, "Bearer "+env.tokens["connector"])}
	s.users = loadBenchUsers(b, env.ldap, users)
	b.Logf("%d users: slapd and server ready in %v", users, time.Since(start).Round(time.Millisecond))
	return s
}

// loadBenchUsers reads the uid and entryUUID of the generated users, in uid order.
func loadBenchUsers(b *testing.B, s *slapd.Server, want int) []benchUser {
	b.Helper()
	c, err := s.Bind(b.Context(), serviceDN, servicePass)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	res, err := c.SearchWithPaging(ldap.NewSearchRequest(benchPeople, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=inetOrgPerson)(uid=user*))", []string{"uid", "entryUUID"}, nil), 1000)
	if err != nil {
		b.Fatal(err)
	}
	var out []benchUser
	for _, e := range res.Entries {
		out = append(out, benchUser{uid: e.GetAttributeValue("uid"), id: e.GetAttributeValue("entryUUID")})
	}
	if len(out) != want {
		b.Fatalf("found %d generated users, want %d", len(out), want)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].uid < out[j].uid })
	return out
}

// get sends one GET with the connector token and checks the status and
// that the body contains check.
func (s *benchServer) get(path string, check []byte) error {
	err := s.load.get(path, func(status int, body []byte) error {
		if status != http.StatusOK {
			return fmt.Errorf("status %d: %.300s", status, body)
		}
		if check != nil && !bytes.Contains(body, check) {
			return fmt.Errorf("body lacks %q: %.300s", check, body)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("GET %s: %v", path, err)
	}
	return nil
}

// counters reads the gateway's LDAP search and ACI decision counters.
func (s *benchServer) counters(b *testing.B) (searches, decisions float64) {
	b.Helper()
	resp, err := http.Get(s.metrics)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var dst *float64
		switch {
		case strings.HasPrefix(line, "scimgate_ldap_operation_duration_seconds_count"):
			dst = &searches
		case strings.HasPrefix(line, "scimgate_aci_decisions_total"):
			dst = &decisions
		default:
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			v, err := strconv.ParseFloat(line[i+1:], 64)
			if err == nil {
				*dst += v
			}
		}
	}
	return searches, decisions
}

// ldapPool is a fixed pool of go-ldap connections bound as the service account.
type ldapPool chan *ldap.Conn

func newLDAPPool(b *testing.B, s *slapd.Server, n int) ldapPool {
	b.Helper()
	p := make(ldapPool, n)
	for range n {
		c, err := s.Bind(b.Context(), serviceDN, servicePass)
		if err != nil {
			b.Fatal(err)
		}
		// go-ldap's default, no request timeout: its timeout costs a
		// goroutine per request and a timer per message, which the
		// gateway does not pay either (it closes a connection whose
		// deadline passes).
		c.SetTimeout(0)
		b.Cleanup(func() { c.Close() })
		p <- c
	}
	return p
}

// search runs req on a pooled connection; a size-limit result with entries
// is not an error (it is what a search with a size limit returns).
func (p ldapPool) search(req *ldap.SearchRequest, want int) error {
	c := <-p
	defer func() { p <- c }()
	res, err := c.Search(req)
	if err != nil && !(ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) && res != nil) {
		return err
	}
	if want >= 0 && len(res.Entries) != want {
		return fmt.Errorf("%s: %d entries, want %d", req.Filter, len(res.Entries), want)
	}
	return nil
}

// meter measures, around one benchmark round, the CPU time of this process
// (the HTTP client and the gateway, or the raw go-ldap client) and of slapd,
// and for the gateway the LDAP searches it made and the ACI decisions it
// took (from its metrics).
type meter struct {
	pid int          // slapd's
	srv *benchServer // nil for a raw LDAP benchmark
}

func processCPU(pid int) time.Duration {
	if pid == 0 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return 0
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th, in clock ticks (100 per second on Linux).
	rest := string(data)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// start begins a measurement; the function it returns reports it per
// operation.
func (m meter) start(b *testing.B) func(ops int) {
	self, ldap := processCPU(0), processCPU(m.pid)
	var searches, decisions float64
	if m.srv != nil {
		searches, decisions = m.srv.counters(b)
	}
	return func(ops int) {
		if ops == 0 {
			return
		}
		n := float64(ops)
		b.ReportMetric(float64((processCPU(0)-self).Microseconds())/n, "go-cpu-µs/op")
		b.ReportMetric(float64((processCPU(m.pid)-ldap).Microseconds())/n, "slapd-cpu-µs/op")
		if m.srv != nil {
			s1, d1 := m.srv.counters(b)
			b.ReportMetric((s1-searches)/n, "ldap-searches/op")
			b.ReportMetric((d1-decisions)/n, "aci-decisions/op")
		}
	}
}

// rates collects the throughput of each sub-benchmark's final run.
type rates struct {
	mu sync.Mutex
	m  map[string]float64
}

func (r *rates) set(name string, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]float64{}
	}
	r.m[name] = v
}

func (r *rates) get(name string) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[name]
}

// parallel runs op with benchClients concurrent clients (GOMAXPROCS×p
// goroutines), i counting up across all of them so that every iteration
// uses another id, and reports ops/s.
func parallel(b *testing.B, r *rates, m meter, name string, op func(i int) error) {
	procs := max(1, benchClients/runtime.GOMAXPROCS(0))
	b.Run(name, func(b *testing.B) {
		var next atomic.Int64
		var failed atomic.Value
		b.SetParallelism(procs)
		done := m.start(b)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := op(int(next.Add(1) - 1)); err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
			}
		})
		b.StopTimer()
		done(b.N)
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
		ops := float64(b.N) / b.Elapsed().Seconds()
		b.ReportMetric(ops, "ops/s")
		r.set(name, ops)
	})
}

// batches runs op as rounds of benchClients concurrent requests, for
// operations so slow that b.N would stay below the number of clients
// (RunParallel would then run them with less concurrency). b.N counts
// rounds; every metric reported (ns/op, B/op, allocs/op, ops/s, CPU) is
// per request.
func batches(b *testing.B, r *rates, m meter, name string, op func(i int) error) {
	b.Run(name, func(b *testing.B) {
		var failed atomic.Value
		var wg sync.WaitGroup
		i := 0
		done := m.start(b)
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		for b.Loop() {
			for range benchClients {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					if err := op(i); err != nil {
						failed.CompareAndSwap(nil, err)
					}
				}(i)
				i++
			}
			wg.Wait()
			if err, _ := failed.Load().(error); err != nil {
				b.Fatal(err)
			}
		}
		runtime.ReadMemStats(&ms1)
		done(i)
		ops := float64(i) / b.Elapsed().Seconds()
		b.ReportMetric(1e9/ops, "ns/op")
		b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(i), "B/op")
		b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(i), "allocs/op")
		b.ReportMetric(ops, "ops/s")
		r.set(name, ops)
	})
}

// BenchmarkGatewayVsLDAP compares, at 16 concurrent clients against 10,000
// users, three SCIM reads through the whole gateway with the raw go-ldap
// search each needs (16 connections bound as the service account):
//
//   - GET /Users/{id} vs the subtree search (&(objectClass=inetOrgPerson)(entryUUID=X))
//     with the same attributes;
//   - GET /Users?filter=userName eq "X" vs (&(objectClass=inetOrgPerson)(uid=X));
//   - GET /Users?startIndex=K&count=100 vs, first, the search the gateway
//     really sends for it (with the demo ACIs every user is alike to the
//     caller, so the gateway reads the listing's order once, then each
//     page's 100 entries by id), and second, a search that simply matches
//     100 entries. The Virtual List View search that serves the first
//     page of a walk is measured too, for reference.
//
// Every iteration uses another user (round robin), so no cache flatters
// either side. The gateway sub-benchmarks also report the LDAP searches and
// ACI decisions per request, read from the server's metrics.
func BenchmarkGatewayVsLDAP(b *testing.B) {
	s := startBenchServer(b, benchUsers)
	pool := newLDAPPool(b, s.env.ldap, benchClients)
	attrs := benchUserAttrs()
	n := len(s.users)
	pid := s.env.ldap.PID()
	var r rates

	// Warm both sides before measuring, so that neither pays for what the
	// first to run loads: the directory's pages (one full search), and the
	// gateway's token and reference caches (a GET of one user in 25, which
	// names every manager).
	if err := pool.search(ldap.NewSearchRequest(benchPeople, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=inetOrgPerson)", attrs, nil), -1); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i += 25 {
		if err := s.get("/Users/"+s.users[i].id, nil); err != nil {
			b.Fatal(err)
		}
	}

	// The gateway side, with the LDAP searches and ACI decisions per request.
	gw := func(name string, op func(i int) error) {
		if strings.HasPrefix(name, "Page") {
			batches(b, &r, meter{pid, s}, name, op)
		} else {
			parallel(b, &r, meter{pid, s}, name, op)
		}
	}

	gw("GetByID/gateway", func(i int) error {
		u := s.users[i%n]
		return s.get("/Users/"+u.id, []byte(`"userName":"`+u.uid+`"`))
	})
	parallel(b, &r, meter{pid: pid}, "GetByID/ldap", func(i int) error {
		u := s.users[i%n]
		return pool.search(ldap.NewSearchRequest(benchPeople, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 0, false,
			"(&(objectClass=inetOrgPerson)(entryUUID="+ldap.EscapeFilter(u.id)+"))", attrs, nil), 1)
	})

	gw("FilterUserName/gateway", func(i int) error {
		u := s.users[i%n]
		return s.get("/Users?filter="+url.QueryEscape(`userName eq "`+u.uid+`"`), []byte(`"totalResults":1}`))
	})
	parallel(b, &r, meter{pid: pid}, "FilterUserName/ldap", func(i int) error {
		u := s.users[i%n]
		return pool.search(ldap.NewSearchRequest(benchPeople, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 10001, 0, false,
			"(&(objectClass=inetOrgPerson)(uid="+ldap.EscapeFilter(u.uid)+"))", attrs, nil), 1)
	})

	pages := n / benchPage
	byID := slices.Clone(s.users)
	slices.SortFunc(byID, func(a, b benchUser) int { return strings.Compare(a.id, b.id) })
	gw("Page100/gateway", func(i int) error {
		start := (i%pages)*benchPage + 1
		return s.get(fmt.Sprintf("/Users?startIndex=%d&count=%d", start, benchPage), []byte(`"itemsPerPage":100,`))
	})
	// What the gateway sends for a page: with the demo ACIs every user is
	// alike to the caller, so once a listing's order is known (read once
	// per change in the directory, ldapbackend's listCache) a page is one
	// search for its 100 entries by id.
	batches(b, &r, meter{pid: pid}, "Page100/ldap-page-by-ids", func(i int) error {
		k := i % pages
		var f strings.Builder
		f.WriteString("(&(objectClass=inetOrgPerson)(|")
		for _, u := range byID[k*benchPage : (k+1)*benchPage] {
			f.WriteString("(entryUUID=" + ldap.EscapeFilter(u.id) + ")")
		}
		f.WriteString("))")
		return pool.search(ldap.NewSearchRequest(benchPeople, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			f.String(), attrs, nil), benchPage)
	})
	// What the first page of a walk costs (ldapbackend's listPlan.uniform): one
	// search the directory sorts by entryUUID and cuts to the page with
	// Virtual List View, on a connection closed afterwards (sssvlv keeps
	// each VLV list until its connection closes), so the client binds a
	// new one.
	vlvAttrs := attrs
	batches(b, &r, meter{pid: pid}, "Page100/ldap-vlv-search", func(i int) error {
		c := <-pool
		start := (i%pages)*benchPage + 1
		res, err := c.Search(ldap.NewSearchRequest(benchPeople, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=inetOrgPerson)", vlvAttrs, []ldap.Control{
				ldap.NewControlServerSideSortingWithSortKeys([]*ldap.SortKey{{AttributeType: "entryUUID"}}),
				ldapconn.NewVLVRequest(start, benchPage-1)}))
		c.Close()
		nc, berr := s.env.ldap.Bind(b.Context(), serviceDN, servicePass)
		if berr != nil {
			return berr
		}
		nc.SetTimeout(0)
		pool <- nc
		if err != nil {
			return err
		}
		if len(res.Entries) != benchPage {
			return fmt.Errorf("VLV page at %d: %d entries", start, len(res.Entries))
		}
		return nil
	})
	// A search that returns just 100 users, another 100 each time: uid=user00KK*
	// selects user00KK00..user00KK99.
	parallel(b, &r, meter{pid: pid}, "Page100/ldap-100-entries", func(i int) error {
		k := i % pages
		want := benchPage
		if k == 0 {
			want = benchPage - 1 // user000000 does not exist
		}
		return pool.search(ldap.NewSearchRequest(benchPeople, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			fmt.Sprintf("(&(objectClass=inetOrgPerson)(uid=user%04d*))", k), attrs, nil), want)
	})

	pairs := []struct{ metric, gw, raw string }{
		{"get-gw/raw-%", "GetByID/gateway", "GetByID/ldap"},
		{"filter-gw/raw-%", "FilterUserName/gateway", "FilterUserName/ldap"},
		{"page-gw/raw-%", "Page100/gateway", "Page100/ldap-page-by-ids"},
		{"page-gw/raw100-%", "Page100/gateway", "Page100/ldap-100-entries"},
	}
	summary(b, func(log func(string)) map[string]float64 {
		log(fmt.Sprintf("gateway/raw throughput at %d clients, %d users (target: at least 60%%):", benchClients, n))
		m := map[string]float64{}
		for _, p := range pairs {
			g, raw := r.get(p.gw), r.get(p.raw)
			if g == 0 || raw == 0 {
				log(fmt.Sprintf("  %-54s n/a (not run)", p.gw+" / "+p.raw))
				continue
			}
			verdict := "meets"
			if g/raw < 0.60 {
				verdict = "MISSES"
			}
			log(fmt.Sprintf("  %-54s %8.1f / %8.1f ops/s = %5.1f%%  %s", p.gw+" / "+p.raw, g, raw, 100*g/raw, verdict))
			m[p.metric] = 100 * g / raw
		}
		return m
	})
}

// summary adds a last sub-benchmark that logs the conclusions of the
// benchmark and reports them as metrics (a parent benchmark's log is shown
// only with -v, a leaf's always). It does no work of its own.
func summary(b *testing.B, f func(log func(string)) map[string]float64) {
	var once sync.Once
	var metrics map[string]float64
	b.Run("summary", func(b *testing.B) {
		once.Do(func() { metrics = f(func(s string) { b.Log(s) }) })
		for k, v := range metrics {
			b.ReportMetric(v, k)
		}
		b.ReportMetric(0, "ns/op")
	})
}

// BenchmarkFilterScaling measures a userName filter query from one client
// on 1,000 and 100,000 users (the target: within 20%). Both directories and
// gateways run at once and every iteration queries each in turn, timing
// each query, so that a machine that speeds up or slows down during the
// run weighs on both sizes alike. Each gateway is warmed first: every
// manager a user of its directory names (one per 50 users) is resolved
// once, as in a gateway that has been serving for a while; the cost of a
// cold reference is a search per distinct manager. The 100,000-user case
// (some seconds of generating and loading) is skipped with -short.
func BenchmarkFilterScaling(b *testing.B) {
	sizes := []int{1000, 100000}
	if testing.Short() {
		b.Logf("users=100000 skipped with -short")
		sizes = sizes[:1]
	}
	type side struct {
		size int
		srv  *benchServer
		pool ldapPool
	}
	var sides []side
	attrs := benchUserAttrs()
	query := func(s *benchServer, u benchUser) error {
		return s.get("/Users?filter="+url.QueryEscape(`userName eq "`+u.uid+`"`), []byte(`"totalResults":1}`))
	}
	for _, size := range sizes {
		s := startBenchServer(b, size)
		// users[1], users[51], ... are the second user of each block of
		// 50, managed by the block's first: one query per manager.
		for k := 1; k < len(s.users); k += 50 {
			if err := query(s, s.users[k]); err != nil {
				b.Fatal(err)
			}
		}
		sides = append(sides, side{size, s, newLDAPPool(b, s.env.ldap, 1)})
	}
	var r rates
	// run times op on every side in turn, one query each per iteration, and
	// reports each side's time per query and, for the gateway, its LDAP
	// searches per query.
	run := func(name string, gateway bool, op func(sd side, u benchUser) error) {
		b.Run(name, func(b *testing.B) {
			spent := make([]time.Duration, len(sides))
			before := make([]float64, len(sides))
			for k, sd := range sides {
				if gateway {
					before[k], _ = sd.srv.counters(b)
				}
			}
			n := 0
			for b.Loop() {
				for k, sd := range sides {
					u := sd.srv.users[(n*7919)%len(sd.srv.users)] // spread over the directory
					t0 := time.Now()
					if err := op(sd, u); err != nil {
						b.Fatal(err)
					}
					spent[k] += time.Since(t0)
				}
				n++
			}
			for k, sd := range sides {
				ns := float64(spent[k].Nanoseconds()) / float64(n)
				b.ReportMetric(ns, fmt.Sprintf("ns/query-%dusers", sd.size))
				r.set(fmt.Sprintf("users=%d/%s", sd.size, name), 1e9/ns)
				if gateway {
					after, _ := sd.srv.counters(b)
					b.ReportMetric((after-before[k])/float64(n), fmt.Sprintf("ldap-searches/query-%dusers", sd.size))
				}
			}
		})
	}
	run("gateway", true, func(sd side, u benchUser) error { return query(sd.srv, u) })
	run("ldap", false, func(sd side, u benchUser) error {
		return sd.pool.search(ldap.NewSearchRequest(benchPeople, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(&(objectClass=inetOrgPerson)(uid="+ldap.EscapeFilter(u.uid)+"))", attrs, nil), 1)
	})
	summary(b, func(log func(string)) map[string]float64 {
		small, large := r.get("users=1000/gateway"), r.get("users=100000/gateway")
		if small == 0 || large == 0 {
			log("userName filter scaling: n/a (the 100,000-user case did not run)")
			return nil
		}
		// ns/op is 1e9/(ops/s).
		d := small/large - 1
		verdict := "meets"
		if d > 0.20 || d < -0.20 {
			verdict = "MISSES"
		}
		log(fmt.Sprintf("userName filter, 1 client: gateway %.0f ns/op on 1,000 users, %.0f ns/op on 100,000 (%+.1f%%, %s the ±20%% target); raw LDAP %.0f vs %.0f ns/op",
			1e9/small, 1e9/large, 100*d, verdict, 1e9/r.get("users=1000/ldap"), 1e9/r.get("users=100000/ldap")))
		return map[string]float64{"large/small-%": 100 * small / large}
	})
}
