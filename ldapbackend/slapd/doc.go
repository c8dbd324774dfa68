// Package slapd runs private OpenLDAP slapd instances for scimgate's integration tests,
// benchmarks and `make run`.
//
// Start writes a slapd.conf into a working directory (the system schemas core, cosine,
// inetorgperson and nis plus testdata/schema/scimgate.schema; an mdb database of up to 1 GiB
// with the indexes a SCIM gateway needs; the memberof, refint, sssvlv and syncprov overlays by
// default; the ppolicy overlay, which stores the passwords clients write as {ARGON2} hashes),
// loads seed LDIF files offline with slapadd, starts slapd as a child process on a loopback
// address and returns once an admin bind and a search succeed. Stop ends the process and
// removes a temporary working directory; Halt and Resume stop and start it again on the same
// address with the same data, for tests of a directory that goes away and comes back; Kill
// ends it as a crash would.
//
// StartProviders starts a multi-provider replica set: servers that each replicate every write
// to all the others (Options.ServerID and Options.Peers, for servers started one by one). The
// first is seeded from the seed files and the others from its SaveLDIF, so that entryUUIDs,
// which are SCIM ids, agree; Providers.WaitInSync waits until all have the same data.
//
// slapd's own access control in the generated configuration is deliberately simple (see
// DefaultAccess): the gateway authorizes every operation itself with its ACI engine and binds
// as a service account, not as the rootdn. The rootdn (AdminDN) is for setting up tests.
//
// Tests use slapdtest.StartT, which fails the test (never skips it) when slapd is not installed;
// `make test` installs it through scripts/ensure-deps.sh.
package slapd
