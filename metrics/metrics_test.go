package metrics

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRoute: ids become {id}, .search stays, case and trailing slashes are
// ignored, anything unknown is "other", so the route label has a small,
// fixed set of values whatever clients send.
func TestRoute(t *testing.T) {
	const base = "/scim/v2"
	for _, c := range []struct{ path, want string }{
		{"/scim/v2", "/"},
		{"/scim/v2/", "/"},
		{"/scim/v2/Users", "/Users"},
		{"/scim/v2/Users/", "/Users"},
		{"/scim/v2/users", "/Users"},
		{"/scim/v2/USERS", "/Users"},
		{"/scim/v2/Users/2819c223-7f76-453a-919d-413861904646", "/Users/{id}"},
		{"/scim/v2/Users/2819c223-7f76-453a-919d-413861904646/", "/Users/{id}"},
		{"/scim/v2/Users/another-id", "/Users/{id}"},
		{"/scim/v2/Users/.search", "/Users/.search"},
		{"/scim/v2/users/.SEARCH", "/Users/.search"},
		{"/scim/v2/Groups", "/Groups"},
		{"/scim/v2/Groups/g1", "/Groups/{id}"},
		{"/scim/v2/Groups/.search", "/Groups/.search"},
		{"/scim/v2/Me", "/Me"},
		{"/scim/v2/ServiceProviderConfig", "/ServiceProviderConfig"},
		{"/scim/v2/serviceproviderconfig", "/ServiceProviderConfig"},
		{"/scim/v2/Schemas", "/Schemas"},
		{"/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "/Schemas/{id}"},
		{"/scim/v2/ResourceTypes", "/ResourceTypes"},
		{"/scim/v2/ResourceTypes/User", "/ResourceTypes/{id}"},
		{"/scim/v2/SyncProfiles/p1", "/SyncProfiles/{id}"},
		{"/scim/v2/Connectors", "/Connectors"},
		{"/scim/v2/Bulk", "/Bulk"},
		{"/scim/v2/Unknown", "other"},
		{"/scim/v2/Unknown/123", "other"},
		{"/scim/v2/.search", "other"},
		{"/scim/v2/x-" + strings.Repeat("a", 300), "other"},
		{"/elsewhere/Users", "other"},
		{"/SCIM/V2/Users/abc", "/Users/{id}"}, // the base path matches case-insensitively
	} {
		if got := Route(base, c.path); got != c.want {
			t.Errorf("Route(%q) = %q, want %q", c.path, got, c.want)
		}
	}
	// It runs on every request: it must not allocate.
	if n := testing.AllocsPerRun(100, func() { Route(base, "/scim/v2/Users/2819c223-7f76-453a-919d-413861904646") }); n != 0 {
		t.Errorf("Route allocates %v times per call", n)
	}
}

// scrape returns the text exposition of m.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// hasLine reports whether the exposition holds a sample line starting with
// prefix (name and labels) whose value is want.
func hasLine(body, prefix, want string) bool {
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix+" ") && strings.TrimSpace(strings.TrimPrefix(l, prefix)) == want {
			return true
		}
	}
	return false
}

// TestMiddlewareCapAndCounts: beyond maxConcurrent requests get 429 with
// Retry-After and a SCIM error body; every request is counted by route,
// method and status, and the rejected counter moves.
func TestMiddlewareCapAndCounts(t *testing.T) {
	m := New()
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	h := m.Middleware("/scim/v2", 1)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/scim/v2/Users/slow" {
			entered <- struct{}{}
			<-release
		}
		if r.URL.Path == "/scim/v2/Nope" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_, _ = io.WriteString(w, "{}")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	var wg sync.WaitGroup
	wg.Add(1)
	var slowStatus int
	go func() {
		defer wg.Done()
		resp, err := http.Get(srv.URL + "/scim/v2/Users/slow")
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		slowStatus = resp.StatusCode
	}()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the first request never reached the handler")
	}
	if !hasLine(scrape(t, m), "scimgate_http_requests_in_flight", "1") {
		t.Error("in-flight gauge is not 1 while a request runs")
	}
	resp, err := http.Get(srv.URL + "/scim/v2/Users")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/scim+json") || !strings.Contains(string(body), `"status":"429"`) {
		t.Errorf("over the cap: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	close(release)
	wg.Wait()
	if slowStatus != 200 {
		t.Errorf("the request holding the slot got %d", slowStatus)
	}
	// The slot is free again.
	for _, p := range []string{"/scim/v2/Users", "/scim/v2/Nope"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	out := scrape(t, m)
	for _, c := range []struct{ prefix, want string }{
		{`scimgate_http_requests_total{method="GET",route="/Users",status="429"}`, "1"},
		{`scimgate_http_requests_total{method="GET",route="/Users",status="200"}`, "1"},
		{`scimgate_http_requests_total{method="GET",route="/Users/{id}",status="200"}`, "1"},
		{`scimgate_http_requests_total{method="GET",route="other",status="404"}`, "1"},
		{`scimgate_http_requests_rejected_total`, "1"},
		{`scimgate_http_requests_in_flight`, "0"},
		{`scimgate_http_request_duration_seconds_count{method="GET",route="/Users"}`, "1"},
	} {
		if !hasLine(out, c.prefix, c.want) {
			t.Errorf("no %s %s in\n%s", c.prefix, c.want, grepLines(out, "scimgate_http"))
		}
	}
}

// TestNoCap: maxConcurrent 0 means no cap.
func TestNoCap(t *testing.T) {
	m := New()
	release := make(chan struct{})
	var entered sync.WaitGroup
	entered.Add(3)
	h := m.Middleware("/scim/v2", 0)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered.Done()
		<-release
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	var wg sync.WaitGroup
	codes := make(chan int, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(srv.URL + "/scim/v2/Groups")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	done := make(chan struct{})
	go func() { entered.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("three concurrent requests did not all reach the handler without a cap")
	}
	close(release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("status %d", c)
		}
	}
}

// TestDecisionsTokenFailuresLDAPAndGauges covers the remaining recorders.
func TestDecisionsTokenFailuresLDAPAndGauges(t *testing.T) {
	m := New()
	m.ACIDecisions(1, 0)
	m.ACIDecisions(1, 1)
	m.TokenFailure("expired")
	m.LDAPOp("search", 3*time.Millisecond, nil)
	m.LDAPOp("modify", time.Millisecond, errors.New("boom"))
	m.PoolStats(func() float64 { return 3 }, func() float64 { return 2 }, func() float64 { return 1 })
	lock := 0.0
	m.Gauge("scimgate_aci_lockdown", "test", func() float64 { return lock })
	out := scrape(t, m)
	for _, c := range []struct{ prefix, want string }{
		{`scimgate_aci_decisions_total{result="allow"}`, "2"},
		{`scimgate_aci_decisions_total{result="deny"}`, "1"},
		{`scimgate_token_validation_failures_total{reason="expired"}`, "1"},
		{`scimgate_ldap_operation_duration_seconds_count{op="search",outcome="ok"}`, "1"},
		{`scimgate_ldap_operation_duration_seconds_count{op="modify",outcome="error"}`, "1"},
		{`scimgate_ldap_pool_open_connections`, "3"},
		{`scimgate_ldap_pool_idle_connections`, "2"},
		{`scimgate_ldap_pool_in_use_connections`, "1"},
		{`scimgate_aci_lockdown`, "0"},
	} {
		if !hasLine(out, c.prefix, c.want) {
			t.Errorf("no %s %s", c.prefix, c.want)
		}
	}
	lock = 1
	if !hasLine(scrape(t, m), "scimgate_aci_lockdown", "1") {
		t.Error("gauge not read at scrape time")
	}
	if !strings.Contains(out, "go_goroutines") || !strings.Contains(out, "process_") {
		t.Error("Go or process collector missing")
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
