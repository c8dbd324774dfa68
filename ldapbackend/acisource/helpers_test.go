package acisource

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scimgate/scimgate/ldapbackend/internal/ldaptest"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/ldapbackend/slapd"
)

// The shared helpers of this package's integration tests (ldaptest).

var demoLDIF = ldaptest.DemoLDIF

func startDemo(t *testing.T, o slapd.Options, extraSeeds ...string) *slapd.Server {
	t.Helper()
	return ldaptest.StartDemo(t, o, extraSeeds...)
}

func testConfig(s *slapd.Server) ldapconn.LDAPConfig { return ldaptest.Config(s) }

func testLogger(t *testing.T) zerolog.Logger { return ldaptest.Logger(t) }

func newTestPool(t *testing.T, cfg ldapconn.LDAPConfig) *ldapconn.Pool {
	t.Helper()
	return ldaptest.NewPool(t, cfg)
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	ldaptest.Eventually(t, timeout, what, cond)
}
