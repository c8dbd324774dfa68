package slapd

import (
	"io"
	"testing"

	"github.com/scimgate/scimgate/ldapbackend/internal/childproc/childproctest"
)

// StartT is slapdtest.StartT for this package's own tests, which cannot
// import slapdtest (it imports this package).
func StartT(t testing.TB, o Options) *Server {
	t.Helper()
	return childproctest.StartT(t, TestServer, func(logger io.Writer) (*Server, error) {
		if o.Logger == nil {
			o.Logger = logger
		}
		return Start(t.Context(), o)
	})
}

// StartProvidersT is slapdtest.StartProvidersT for this package's own tests.
func StartProvidersT(t testing.TB, o Options, n int) Providers {
	t.Helper()
	return childproctest.StartT(t, TestServer, func(logger io.Writer) (Providers, error) {
		if o.Logger == nil {
			o.Logger = logger
		}
		return StartProviders(t.Context(), o, n)
	})
}
