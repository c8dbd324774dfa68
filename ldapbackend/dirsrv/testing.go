package dirsrv

import (
	"io"
	"testing"
	"time"

	"github.com/scimgate/scimgate/ldapbackend/internal/childproc"
)

// StartT starts a server for a test and stops it in t.Cleanup. It fails the test when the
// server cannot start; when 389 Directory Server is not installed the message says to run
// `make test`, which installs it. It never skips: integration tests must run everywhere.
func StartT(t testing.TB, o Options) *Server {
	t.Helper()
	return childproc.StartT(t, testServer, func(logger io.Writer) (*Server, error) {
		if o.Logger == nil {
			o.Logger = logger
		}
		return Start(t.Context(), o)
	})
}

var testServer = childproc.TestServer{
	Name:         "389 Directory Server",
	Program:      "ns-slapd",
	Slow:         5 * time.Second,
	NotInstalled: ErrNotInstalled,
	Install:      "389-ds-base",
}
