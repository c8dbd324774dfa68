// Package dirsrv runs private 389 Directory Server (ns-slapd) instances for scimgate's
// integration tests, the way package slapd runs OpenLDAP.
//
// Start renders 389's own template-dse.ldif into an instance directory (no dscreate, no
// systemd: about 0.6 s to a running server instead of dscreate's 5 s), with the USN
// (entryusn), MemberOf, Referential Integrity and entryUUID plugins enabled, no size or
// look-through limits, and testdata/schema/389/99scimgate.ldif in its schema directory. It
// starts ns-slapd as a child process on a loopback address, adds the userRoot backend for the
// suffix online and applies the seed LDIF files over LDAP (so that the plugins see them),
// then returns. Stop ends the process (SIGTERM; 389 takes about 2 s to shut down) and removes
// a temporary directory.
//
// Tests use dirsrvtest.StartT, which fails the test (never skips it) when 389 is not installed;
// `make test` installs it through scripts/ensure-deps.sh.
package dirsrv
