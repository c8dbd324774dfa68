package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimgate/scimgate/scim/resource"
)

// waitFor polls cond every 25 ms until it holds or d has passed, and fails
// the test with cond's last description if it never held. It returns how
// long it took.
func waitFor(t testing.TB, d time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(d)
	for {
		ok, last := cond()
		if ok {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last: %s", what, d, last)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// rawGet is an HTTP GET that never calls t.Fatal, for goroutines and for
// polling while the server may be unable to answer: it returns status 0 and
// the error text on a transport error.
func rawGet(url, bearer string, timeout time.Duration) (int, http.Header, string) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return 0, nil, err.Error()
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	c := &http.Client{Timeout: timeout}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err.Error()
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(data)
}

// withMetrics enables the metrics listener on a free port; use it in
// startEnvWith and read the result with e.scrape.
func withMetrics(t testing.TB) func(*Config) {
	addr := freeAddr(t)
	return func(c *Config) { c.MetricsListen = addr }
}

// scrape returns the metrics exposition.
func (e *testEnv) scrape() string {
	e.t.Helper()
	if e.cfg.MetricsListen == "" {
		e.t.Fatal("metrics are off in this environment")
	}
	status, _, body := rawGet("http://"+e.cfg.MetricsListen+"/metrics", "", 5*time.Second)
	if status != 200 {
		e.t.Fatalf("/metrics: %d %s", status, body)
	}
	return body
}

// metricLines returns the sample lines of name (with any labels).
func metricLines(body, name string) []string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, name+"{") || strings.HasPrefix(l, name+" ") {
			out = append(out, l)
		}
	}
	return out
}

// metricValue returns the value of the sample whose name-and-labels is
// exactly series, or "" if absent.
func metricValue(body, series string) string {
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// scimError checks that r is a SCIM error with status (and scimType, if
// not "") and returns its detail.
func scimError(t testing.TB, r response, status int, scimType string) string {
	t.Helper()
	if r.status != status || str(r.body, "status") != fmt.Sprint(status) ||
		!strings.Contains(str(r.body, "schemas"), "urn:ietf:params:scim:api:messages:2.0:Error") ||
		(scimType != "" && str(r.body, "scimType") != scimType) {
		t.Fatalf("got %d %s, want a SCIM error %d %q", r.status, r.raw, status, scimType)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("error with content type %q", ct)
	}
	return str(r.body, "detail")
}

// TestBodyLimit: a body over limits.max_body_bytes is refused with 413 on
// POST, PUT, PATCH and .search, while one under it is served.
func TestBodyLimit(t *testing.T) {
	e := startEnvWith(t, func(c *Config) { c.Limits.MaxBodyBytes = 2048 })
	c := "connector"
	alice := e.firstID("/Users", `userName eq "alice"`, c)

	big := strings.Repeat("x", 4096)
	user := map[string]any{"schemas": []string{userURN}, "userName": "big", "displayName": big}
	d := scimError(t, e.do("POST", "/Users", c, user), 413, "")
	if !strings.Contains(d, "2048") {
		t.Errorf("413 detail does not name the limit: %q", d)
	}
	scimError(t, e.do("PUT", "/Users/"+alice, c, user), 413, "")
	scimError(t, e.do("PATCH", "/Users/"+alice, c, patchOp("replace", "title", big)), 413, "")
	scimError(t, e.do("POST", "/Users/.search", c, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "filter": `userName eq "` + big + `"`}), 413, "")
	// Whitespace counts too: the limit is on bytes read, not on the value.
	scimError(t, e.do("POST", "/Users", c, `{"schemas":["`+userURN+`"],"userName":"ws"`+strings.Repeat(" ", 3000)+`}`), 413, "")
	// Nothing was created, and a body under the limit still works.
	if n := num(e.must(200, "GET", "/Users?filter="+q(`userName eq "big"`), c, nil).body, "totalResults"); n != 0 {
		t.Fatalf("the oversized user was created (%d)", n)
	}
	r := e.must(201, "POST", "/Users", c, map[string]any{"schemas": []string{userURN}, "userName": "small", "name": map[string]any{"familyName": "Small"}})
	e.must(204, "DELETE", "/Users/"+str(r.body, "id"), c, nil)
}

// TestConcurrencyCap: with limits.max_concurrent 1 and one request stuck
// on a frozen directory, the next SCIM request gets 429 with Retry-After at
// once; health probes are not capped; once the directory answers the stuck
// request completes and the slot is free again.
func TestConcurrencyCap(t *testing.T) {
	e := startEnvWith(t, func(c *Config) {
		c.Limits.MaxConcurrent = 1
		withMetrics(t)(c)
	})
	// Warm the pool so the stuck request waits on slapd, not on a dial.
	e.must(200, "GET", "/Users?count=1", "connector", nil)

	if err := e.ldap.Freeze(); err != nil {
		t.Fatal(err)
	}
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			if err := e.ldap.Thaw(); err != nil {
				t.Errorf("thaw: %v", err)
			}
		}
	}
	t.Cleanup(thaw)

	type result struct {
		status int
		body   string
	}
	stuck := make(chan result, 1)
	go func() {
		s, _, b := rawGet(e.base+"/Users?count=2", e.tokens["connector"], 20*time.Second)
		stuck <- result{s, b}
	}()
	waitFor(t, 5*time.Second, "the first request in flight", func() (bool, string) {
		v := metricValue(e.scrape(), "scimgate_http_requests_in_flight")
		return v == "1", "in flight " + v
	})

	start := time.Now()
	r := e.do("GET", "/Users", "connector", nil)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the 429 took %v; it must not wait for a slot", took)
	}
	scimError(t, r, 429, "")
	if ra := r.header.Get("Retry-After"); ra == "" {
		t.Error("429 without Retry-After")
	} else if n := num(map[string]any{"v": ra}, "v"); n < 1 {
		t.Errorf("Retry-After %q is not a positive number of seconds", ra)
	}
	// Every SCIM route is capped, discovery included, whatever the token.
	scimError(t, e.do("GET", "/ServiceProviderConfig", "reporting", nil), 429, "")
	// Probes are outside the cap: /healthz answers while the slot is taken.
	if s, _, b := rawGet(e.root+"/healthz", "", 3*time.Second); s != 200 {
		t.Errorf("/healthz during the stall: %d %s", s, b)
	}
	if v := metricValue(e.scrape(), "scimgate_http_requests_rejected_total"); v != "2" {
		t.Errorf("rejected counter %q, want 2", v)
	}

	thaw()
	select {
	case res := <-stuck:
		if res.status != 200 || !strings.Contains(res.body, `"totalResults"`) {
			t.Fatalf("the stuck request: %d %s", res.status, res.body)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the stuck request did not complete after the thaw")
	}
	// The slot was released.
	e.must(200, "GET", "/Users?count=1", "connector", nil)
	out := e.scrape()
	if v := metricValue(out, `scimgate_http_requests_total{method="GET",route="/Users",status="429"}`); v != "1" {
		t.Errorf("429s counted on /Users: %q\n%s", v, strings.Join(metricLines(out, "scimgate_http_requests_total"), "\n"))
	}
}

// TestFilterLimits: a filter nested deeper than resource.MaxFilterDepth and
// one longer than limits.max_filter_bytes are 400 invalidFilter, on GET and
// on POST .search; the deepest allowed nesting still works.
func TestFilterLimits(t *testing.T) {
	const maxBytes = 512
	e := startEnvWith(t, func(c *Config) { c.Limits.MaxFilterBytes = maxBytes })
	c := "connector"
	nested := func(depth int) string {
		return strings.Repeat("(", depth) + `userName eq "alice"` + strings.Repeat(")", depth)
	}
	search := func(f string) map[string]any {
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "filter": f}
	}

	ok := nested(resource.MaxFilterDepth)
	if r := e.must(200, "GET", "/Users?filter="+q(ok), c, nil); num(r.body, "totalResults") != 1 {
		t.Fatalf("depth %d: %s", resource.MaxFilterDepth, r.raw)
	}
	deep := nested(resource.MaxFilterDepth + 1)
	if len(deep) > maxBytes {
		t.Fatal("test bug: the deep filter must fit the byte limit")
	}
	d := scimError(t, e.do("GET", "/Users?filter="+q(deep), c, nil), 400, "invalidFilter")
	if !strings.Contains(d, "nested") {
		t.Errorf("depth detail: %q", d)
	}
	scimError(t, e.do("POST", "/Users/.search", c, search(deep)), 400, "invalidFilter")
	// Deep nesting of value filters and logical operators, the other ways to nest.
	chain := strings.Repeat(`(userName eq "a" or `, 40) + `userName eq "b"` + strings.Repeat(")", 40)
	scimError(t, e.do("GET", "/Groups?filter="+q(chain), c, nil), 400, "invalidFilter")
	// A pathological filter far deeper still answers quickly with 400, not a crash.
	start := time.Now()
	scimError(t, e.do("GET", "/Users?filter="+q(strings.Repeat("(", 200)+"userName pr"+strings.Repeat(")", 200)), c, nil), 400, "invalidFilter")
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a 200-deep filter took %v", took)
	}

	long := `userName eq "` + strings.Repeat("a", maxBytes) + `"`
	d = scimError(t, e.do("GET", "/Users?filter="+q(long), c, nil), 400, "invalidFilter")
	if !strings.Contains(d, fmt.Sprint(maxBytes)) {
		t.Errorf("length detail does not name the limit: %q", d)
	}
	scimError(t, e.do("POST", "/Users/.search", c, search(long)), 400, "invalidFilter")
	// Exactly at the limit is fine.
	atLimit := `userName eq "` + strings.Repeat("a", maxBytes-len(`userName eq ""`)) + `"`
	if len(atLimit) != maxBytes {
		t.Fatal("test bug")
	}
	e.must(200, "GET", "/Users?filter="+q(atLimit), c, nil)
}

// TestPageSizeClamp: count above limits.max_page_size is clamped to it, no
// count gives default_page_size, and the service provider config announces
// the maximum.
func TestPageSizeClamp(t *testing.T) {
	e := startEnvWith(t, func(c *Config) { c.Limits.DefaultPageSize, c.Limits.MaxPageSize = 3, 5 })
	c := "connector"
	check := func(query string, want int) {
		t.Helper()
		r := e.must(200, "GET", "/Users"+query, c, nil)
		var res []any
		if l, ok := r.body["Resources"].([]any); ok {
			res = l
		}
		if num(r.body, "itemsPerPage") != want || len(res) != want || num(r.body, "totalResults") != 40 {
			t.Errorf("%s: itemsPerPage %d, %d resources, total %d; want %d of 40", query, num(r.body, "itemsPerPage"), len(res), num(r.body, "totalResults"), want)
		}
	}
	check("?count=1000", 5)
	check("?count=6", 5)
	check("?count=5", 5)
	check("?count=2", 2)
	check("", 3)
	check("?startIndex=39&count=1000", 2)
	r := e.must(200, "POST", "/Users/.search", c, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "count": 500})
	if num(r.body, "itemsPerPage") != 5 {
		t.Errorf(".search count 500: itemsPerPage %d", num(r.body, "itemsPerPage"))
	}
	spc := e.must(200, "GET", "/ServiceProviderConfig", c, nil)
	if num(spc.body, "filter.maxResults") != 5 {
		t.Errorf("filter.maxResults: %s", spc.raw)
	}
}

// TestReadiness: /readyz follows the directory. When slapd goes away,
// /readyz and SCIM answer 503 (never 500) within a few seconds, while
// /healthz stays 200; when it comes back both recover, without a restart of
// the server.
func TestReadiness(t *testing.T) {
	e := startEnv(t)
	c := "connector"
	if s, _, b := rawGet(e.root+"/readyz", "", 5*time.Second); s != 200 {
		t.Fatalf("/readyz: %d %s", s, b)
	}
	e.must(200, "GET", "/Users?count=1", c, nil)

	if err := e.ldap.Halt(); err != nil {
		t.Fatal(err)
	}
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			_ = e.ldap.Resume(t.Context())
		}
	})
	// Every answer while the directory is gone is 200 (not noticed yet) or
	// 503 with a SCIM error, never 500.
	var seen []int
	took := waitFor(t, 5*time.Second, "SCIM and /readyz 503 after the halt", func() (bool, string) {
		rs, _, rb := rawGet(e.root+"/readyz", "", 5*time.Second)
		r := e.do("GET", "/Users?count=1", c, nil)
		seen = append(seen, r.status)
		if r.status != 200 && r.status != 503 {
			t.Fatalf("SCIM while the directory is down: %d %s", r.status, r.raw)
		}
		return rs == 503 && r.status == 503, fmt.Sprintf("/readyz %d %s; /Users %d %s", rs, rb, r.status, r.raw)
	})
	t.Logf("503 after %v (statuses %v)", took.Round(time.Millisecond), seen)
	scimError(t, e.do("GET", "/Users?count=1", c, nil), 503, "")
	scimError(t, e.do("GET", "/Groups", "reporting", nil), 503, "")
	scimError(t, e.do("POST", "/Users", c, map[string]any{"schemas": []string{userURN}, "userName": "down"}), 503, "")
	if s, _, _ := rawGet(e.root+"/healthz", "", 3*time.Second); s != 200 {
		t.Errorf("/healthz while the directory is down: %d (liveness must not follow the directory)", s)
	}
	if strings.Contains(e.logs.String(), `"status":500`) {
		t.Error("a 500 was logged while the directory was down")
	}

	if err := e.ldap.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	resumed = true
	took = waitFor(t, 10*time.Second, "recovery after the resume", func() (bool, string) {
		rs, _, rb := rawGet(e.root+"/readyz", "", 5*time.Second)
		r := e.do("GET", "/Users?count=1", c, nil)
		if r.status != 200 && r.status != 503 {
			t.Fatalf("SCIM while the directory comes back: %d %s", r.status, r.raw)
		}
		return rs == 200 && r.status == 200, fmt.Sprintf("/readyz %d %s; /Users %d", rs, rb, r.status)
	})
	t.Logf("recovered %v after the resume", took.Round(time.Millisecond))
	if n := num(e.must(200, "GET", "/Users", c, nil).body, "totalResults"); n != 40 {
		t.Fatalf("after recovery: %d users", n)
	}
	// Writes work again too.
	r := e.must(201, "POST", "/Users", c, map[string]any{"schemas": []string{userURN}, "userName": "back", "name": map[string]any{"familyName": "Back"}})
	e.must(204, "DELETE", "/Users/"+str(r.body, "id"), c, nil)
}

// TestMetrics: the metrics listener exposes the request, ACI, token and LDAP
// series after real traffic, and the SCIM port does not serve them.
func TestMetrics(t *testing.T) {
	e := startEnvWith(t, withMetrics(t))
	alice := e.firstID("/Users", `userName eq "alice"`, "connector")
	e.must(200, "GET", "/Users/"+alice, "connector", nil)
	e.must(200, "GET", "/Users", "none", nil)                                            // sees nothing: denials
	e.must(403, "PATCH", "/Users/"+alice, "reporting", patchOp("replace", "title", "x")) // a denied write
	e.must(401, "GET", "/Users", "not-a-token", nil)
	e.must(401, "GET", "/Users", "", nil)
	e.must(200, "GET", "/Groups", "reporting", nil)

	// Not on the SCIM port.
	for _, p := range []string{"/metrics", "/scim/v2/metrics"} {
		if s, _, b := rawGet(e.root+p, "", 3*time.Second); s == 200 || strings.Contains(b, "scimgate_http_requests_total") {
			t.Errorf("%s on the SCIM port: %d", p, s)
		}
	}

	out := e.scrape()
	positive := func(series string) {
		t.Helper()
		v := metricValue(out, series)
		var f float64
		if _, err := fmt.Sscan(v, &f); err != nil || f <= 0 {
			t.Errorf("%s = %q, want > 0", series, v)
		}
	}
	positive(`scimgate_http_requests_total{method="GET",route="/Users",status="200"}`)
	positive(`scimgate_http_requests_total{method="GET",route="/Users",status="401"}`)
	positive(`scimgate_http_requests_total{method="GET",route="/Users/{id}",status="200"}`)
	positive(`scimgate_http_requests_total{method="PATCH",route="/Users/{id}",status="403"}`)
	positive(`scimgate_http_requests_total{method="GET",route="/Groups",status="200"}`)
	positive(`scimgate_http_request_duration_seconds_count{method="GET",route="/Users"}`)
	positive(`scimgate_http_request_duration_seconds_bucket{method="GET",route="/Users",le="+Inf"}`)
	positive(`scimgate_aci_decisions_total{result="allow"}`)
	positive(`scimgate_aci_decisions_total{result="deny"}`)
	positive(`scimgate_ldap_pool_open_connections`)
	if v := metricValue(out, "scimgate_ldap_servers_up"); v != "1" {
		t.Errorf("scimgate_ldap_servers_up = %q, want 1 (one server)", v)
	}
	if v := metricValue(out, "scimgate_aci_lockdown"); v != "0" {
		t.Errorf("scimgate_aci_lockdown = %q, want 0", v)
	}
	if l := metricLines(out, "scimgate_token_validation_failures_total"); len(l) == 0 || !regexp.MustCompile(`reason="[^"]+"`).MatchString(strings.Join(l, "\n")) {
		t.Errorf("no token failure by reason:\n%s", strings.Join(l, "\n"))
	}
	ldapOps := metricLines(out, "scimgate_ldap_operation_duration_seconds_count")
	if !regexp.MustCompile(`op="[^"]+",outcome="ok"} [1-9]`).MatchString(strings.Join(ldapOps, "\n")) {
		t.Errorf("no successful LDAP operation recorded:\n%s", strings.Join(ldapOps, "\n"))
	}
	// Ids never become labels.
	if strings.Contains(out, alice) {
		t.Error("a resource id appears in the metrics")
	}
	// The id-less routes stay few: only known names or "other".
	routes := map[string]bool{}
	for _, l := range metricLines(out, "scimgate_http_requests_total") {
		if m := regexp.MustCompile(`route="([^"]*)"`).FindStringSubmatch(l); m != nil {
			routes[m[1]] = true
		}
	}
	for r := range routes {
		if r != "other" && r != "/" && !strings.HasPrefix(r, "/") {
			t.Errorf("odd route label %q", r)
		}
	}
}

// TestConcurrentLoadNo500: a bounded burst of mixed requests from several
// clients gets only expected statuses (no 500s, no transport errors).
func TestConcurrentLoadNo500(t *testing.T) {
	e := startEnv(t)
	alice := e.firstID("/Users", `userName eq "alice"`, "connector")
	paths := []struct {
		path, tok string
		want      int
	}{
		{"/Users?count=5", "connector", 200},
		{"/Users/" + alice, "reporting", 200},
		{"/Users/" + alice, "none", 404},
		{"/Groups", "reporting", 200},
		{"/Users?filter=" + q(`title co "Eng"`), "connector", 200},
	}
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	deadline := time.Now().Add(10 * time.Second)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if time.Now().After(deadline) {
					return
				}
				p := paths[(w+i)%len(paths)]
				s, _, b := rawGet(e.base+p.path, e.tokens[p.tok], 10*time.Second)
				if s != p.want {
					errs <- fmt.Sprintf("%s as %s: %d %s", p.path, p.tok, s, tail(b, 200))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for msg := range errs {
		if n++; n <= 5 {
			t.Error(msg)
		}
	}
}
