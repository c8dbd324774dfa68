package dirsrv

import (
	"io"
	"testing"

	"github.com/scimgate/scimgate/ldapbackend/internal/childproc/childproctest"
)

// StartT is dirsrvtest.StartT for this package's own tests, which cannot
// import dirsrvtest (it imports this package).
func StartT(t testing.TB, o Options) *Server {
	t.Helper()
	return childproctest.StartT(t, TestServer, func(logger io.Writer) (*Server, error) {
		if o.Logger == nil {
			o.Logger = logger
		}
		return Start(t.Context(), o)
	})
}
