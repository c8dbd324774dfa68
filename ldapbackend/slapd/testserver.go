package slapd

import (
	"time"

	"github.com/scimgate/scimgate/ldapbackend/internal/childproc"
)

// TestServer describes slapd to the test helper (slapdtest.StartT).
var TestServer = childproc.TestServer{
	Name:         "slapd",
	Program:      "slapd",
	Slow:         2 * time.Second,
	NotInstalled: ErrNotInstalled,
	Install:      "slapd and ldap-utils",
}
