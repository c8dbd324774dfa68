// Package ldaptest holds what the integration tests of the backend's
// packages share: a slapd seeded with the demo directory, the gateway's
// configuration for it, a pool closed with the test, a test logger.
package ldaptest

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/ldapbackend/slapd"
	"github.com/scimgate/scimgate/ldapbackend/slapd/slapdtest"
)

// The demo directory's facts the tests rely on.
const (
	DemoServicePass = "scimgate-demo-password"
	AliceDN         = "uid=alice,ou=People,dc=example,dc=com"
)

// DemoLDIF is the path of the demo directory's LDIF.
var DemoLDIF = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "demo", "directory.ldif")
}()

// StartDemo starts a slapd seeded with the demo directory (plus extra seeds).
func StartDemo(t *testing.T, o slapd.Options, extraSeeds ...string) *slapd.Server {
	t.Helper()
	o.SeedLDIF = append([]string{DemoLDIF}, extraSeeds...)
	return slapdtest.StartT(t, o)
}

// Config is the configuration of a gateway binding as the demo service
// account, with short intervals.
func Config(s *slapd.Server) ldapconn.LDAPConfig {
	c := ldapconn.LDAPConfig{
		URL:             s.URL,
		BindDN:          s.ServiceDN,
		BindPassword:    DemoServicePass,
		Suffix:          s.Suffix,
		PoolSize:        4,
		DialTimeout:     2 * time.Second,
		OpTimeout:       2 * time.Second,
		HealthInterval:  200 * time.Millisecond,
		RefreshInterval: 100 * time.Millisecond,
	}
	c.Defaults()
	return c
}

// Logger writes to the test log.
func Logger(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.ConsoleWriter{Out: zerolog.TestWriter{T: t}, NoColor: true, PartsExclude: []string{zerolog.TimestampFieldName}})
}

// NewPool returns a pool closed at the end of the test.
func NewPool(t testing.TB, cfg ldapconn.LDAPConfig) *ldapconn.Pool {
	t.Helper()
	p, err := ldapconn.NewPool(t.Context(), cfg, Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// Eventually polls cond until it holds or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
