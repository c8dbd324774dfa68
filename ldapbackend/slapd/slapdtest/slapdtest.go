// Package slapdtest starts a private slapd for a test (package slapd
// does the work). It is kept apart from package slapd so that the
// production binary, which runs slapd for `make run`, does not link package
// testing.
package slapdtest

import (
	"io"
	"testing"

	"github.com/scimgate/scimgate/ldapbackend/internal/childproc/childproctest"
	"github.com/scimgate/scimgate/ldapbackend/slapd"
)

// StartT starts a server for a test and stops it in t.Cleanup. It fails the test when
// the server cannot start; when it is not installed the message says to run `make test`,
// which installs it. It never skips: integration tests must run everywhere, CI included.
func StartT(t testing.TB, o slapd.Options) *slapd.Server {
	t.Helper()
	return childproctest.StartT(t, slapd.TestServer, func(logger io.Writer) (*slapd.Server, error) {
		if o.Logger == nil {
			o.Logger = logger
		}
		return slapd.Start(t.Context(), o)
	})
}

// StartProvidersT starts n servers that replicate every write to each other (see
// slapd.StartProviders) for a test, and stops them in t.Cleanup. It fails the test, never
// skips it, like StartT.
func StartProvidersT(t testing.TB, o slapd.Options, n int) slapd.Providers {
	t.Helper()
	return childproctest.StartT(t, slapd.TestServer, func(logger io.Writer) (slapd.Providers, error) {
		if o.Logger == nil {
			o.Logger = logger
		}
		return slapd.StartProviders(t.Context(), o, n)
	})
}
