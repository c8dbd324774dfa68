package dirsrv

import (
	"time"

	"github.com/scimgate/scimgate/ldapbackend/internal/childproc"
)

// TestServer describes 389 Directory Server to the test helper (dirsrvtest.StartT).
var TestServer = childproc.TestServer{
	Name:         "389 Directory Server",
	Program:      "ns-slapd",
	Slow:         5 * time.Second,
	NotInstalled: ErrNotInstalled,
	Install:      "389-ds-base",
}
