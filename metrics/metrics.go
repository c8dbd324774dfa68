// Package metrics holds scimgate's Prometheus metrics and the HTTP
// middleware that records them. It serves them on a separate listener, so
// the SCIM port never exposes them.
package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the set of series scimgate exposes.
type Metrics struct {
	Registry      *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	inFlight      prometheus.Gauge
	rejected      prometheus.Counter
	aciDecisions  *prometheus.CounterVec
	aciAllowed    prometheus.Counter // aciDecisions' two series, looked up once
	aciDenied     prometheus.Counter
	tokenFailures *prometheus.CounterVec
	ldapOps       *prometheus.HistogramVec
	listPages     *prometheus.CounterVec
}

// New creates the metrics in a registry of their own, with Go and process
// collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimgate_http_requests_total", Help: "SCIM requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "scimgate_http_request_duration_seconds", Help: "SCIM request latency by route and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scimgate_http_requests_in_flight", Help: "SCIM requests being served.",
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimgate_http_requests_rejected_total", Help: "Requests refused with 429 because the concurrency cap was reached.",
		}),
		aciDecisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimgate_aci_decisions_total", Help: "ACI access checks by result (allow, deny).",
		}, []string{"result"}),
		tokenFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimgate_token_validation_failures_total", Help: "Refused bearer tokens by reason.",
		}, []string{"reason"}),
		ldapOps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "scimgate_ldap_operation_duration_seconds", Help: "LDAP operations by kind and outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}, []string{"op", "outcome"}),
		listPages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimgate_list_pages_total",
			Help: "List pages by how they were served: walk (the next page of a walk kept here), paged (a cursor walk's first page, or a seek), sorted (the directory sorted every match), window (a page of a list the directory sorted for another page), indexed (a 389 browsing index), ids, small, lookthrough (the gateway read every match), count, none.",
		}, []string{"served"}),
	}
	m.aciAllowed, m.aciDenied = m.aciDecisions.WithLabelValues("allow"), m.aciDecisions.WithLabelValues("deny")
	r.MustRegister(m.requests, m.latency, m.inFlight, m.rejected, m.aciDecisions, m.tokenFailures, m.ldapOps, m.listPages,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// ACIDecisions counts one operation's access checks.
func (m *Metrics) ACIDecisions(allowed, denied int) {
	if allowed > 0 {
		m.aciAllowed.Add(float64(allowed))
	}
	if denied > 0 {
		m.aciDenied.Add(float64(denied))
	}
}

// TokenFailure counts one refused token by its reason.
func (m *Metrics) TokenFailure(reason string) { m.tokenFailures.WithLabelValues(reason).Inc() }

// LDAPOp records one LDAP operation.
func (m *Metrics) LDAPOp(op string, d time.Duration, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.ldapOps.WithLabelValues(op, outcome).Observe(d.Seconds())
}

// ListPage counts one list page by how it was served.
func (m *Metrics) ListPage(how string) { m.listPages.WithLabelValues(how).Inc() }

// PoolStats exposes connection-pool numbers read at scrape time.
func (m *Metrics) PoolStats(open, idle, inUse func() float64) {
	m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "scimgate_ldap_pool_open_connections", Help: "Open LDAP connections."}, open),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "scimgate_ldap_pool_idle_connections", Help: "Idle LDAP connections."}, idle),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "scimgate_ldap_pool_in_use_connections", Help: "LDAP connections in use."}, inUse),
	)
}

// Gauge registers a gauge read at scrape time.
func (m *Metrics) Gauge(name, help string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// Middleware records requests and caps how many run at once: beyond
// maxConcurrent (0 = no cap) it answers 429 with Retry-After and a SCIM
// error. basePath is stripped to name routes, with ids replaced by {id}
// so the label set stays small.
func (m *Metrics) Middleware(basePath string, maxConcurrent int) func(http.Handler) http.Handler {
	var slots chan struct{}
	if maxConcurrent > 0 {
		slots = make(chan struct{}, maxConcurrent)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if slots != nil {
				select {
				case slots <- struct{}{}:
					defer func() { <-slots }()
				default:
					m.rejected.Inc()
					w.Header().Set("Retry-After", "1")
					w.Header().Set("Content-Type", "application/scim+json")
					w.WriteHeader(http.StatusTooManyRequests)
					_, _ = w.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"429","detail":"too many requests in progress; retry shortly"}` + "\n"))
					m.requests.WithLabelValues(Route(basePath, r.URL.Path), r.Method, "429").Inc()
					return
				}
			}
			start := time.Now()
			m.inFlight.Inc()
			defer m.inFlight.Dec()
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			next.ServeHTTP(sw, r)
			route := Route(basePath, r.URL.Path)
			m.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
			m.latency.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
		})
	}
}

// Route names a request path for labels: "/Users/{id}", "/Groups/.search".
// It allocates nothing: it runs on every request.
func Route(basePath, path string) string {
	rest := path
	if len(rest) >= len(basePath) && strings.EqualFold(rest[:len(basePath)], basePath) {
		rest = rest[len(basePath):]
	}
	rest = strings.Trim(rest, "/")
	if rest == "" {
		return "/"
	}
	first, second, _ := strings.Cut(rest, "/")
	if i := strings.IndexByte(second, '/'); i >= 0 {
		second = second[:i]
	}
	for i := range routes {
		r := &routes[i]
		if !strings.EqualFold(first, r.name) {
			continue
		}
		switch {
		case second == "" && !strings.Contains(rest, "/"):
			return r.head
		case strings.EqualFold(second, ".search"):
			return r.search
		}
		return r.byID
	}
	return "other"
}

// routes are the endpoints Route names, with their labels.
var routes = func() []struct{ name, head, search, byID string } {
	var out []struct{ name, head, search, byID string }
	for _, h := range []string{"/Users", "/Groups", "/ServiceProviderConfig", "/Schemas", "/ResourceTypes", "/Me", "/SyncProfiles", "/Connectors", "/Bulk"} {
		out = append(out, struct{ name, head, search, byID string }{h[1:], h, h + "/.search", h + "/{id}"})
	}
	return out
}()

type statusWriter struct {
	http.ResponseWriter
	status  int
	written bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.written {
		w.status, w.written = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.written = true
	return w.ResponseWriter.Write(b)
}
