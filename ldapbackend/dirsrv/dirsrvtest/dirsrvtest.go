// Package dirsrvtest starts a private 389 Directory Server for a test (package dirsrv
// does the work). It is kept apart from package dirsrv so that the
// production binary, which runs dirsrv for `make run`, does not link package
// testing.
package dirsrvtest

import (
	"io"
	"testing"

	"github.com/scimgate/scimgate/ldapbackend/dirsrv"
	"github.com/scimgate/scimgate/ldapbackend/internal/childproc/childproctest"
)

// StartT starts a server for a test and stops it in t.Cleanup. It fails the test when
// the server cannot start; when it is not installed the message says to run `make test`,
// which installs it. It never skips: integration tests must run everywhere, CI included.
func StartT(t testing.TB, o dirsrv.Options) *dirsrv.Server {
	t.Helper()
	return childproctest.StartT(t, dirsrv.TestServer, func(logger io.Writer) (*dirsrv.Server, error) {
		if o.Logger == nil {
			o.Logger = logger
		}
		return dirsrv.Start(t.Context(), o)
	})
}
