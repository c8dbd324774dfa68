package ldapbackend

import (
	"testing"

	"github.com/scimgate/scimgate/ldapbackend/internal/ldaptest"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/ldapbackend/slapd"
)

// The shared helpers of this package's integration tests (ldaptest).

const (
	demoServicePass = ldaptest.DemoServicePass
	aliceDN         = ldaptest.AliceDN
)

var demoLDIF = ldaptest.DemoLDIF

func startDemo(t *testing.T, o slapd.Options, extraSeeds ...string) *slapd.Server {
	t.Helper()
	return ldaptest.StartDemo(t, o, extraSeeds...)
}

func testConfig(s *slapd.Server) ldapconn.LDAPConfig { return ldaptest.Config(s) }

func newTestPool(t *testing.T, cfg ldapconn.LDAPConfig) *ldapconn.Pool {
	t.Helper()
	return ldaptest.NewPool(t, cfg)
}
