// Package ldapbackend stores SCIM resources in an LDAP directory and
// decides every operation with the ACI engine; Backend implements
// resource.Backend.
//
// A request's path through it: the backend takes the request's ACI set and
// subject (begin, in access.go), maps the SCIM operation to LDAP with the
// type's mapping (package scimldap), and reads every entry the engine
// decides on through a fetch plan (fetch.go), which asks the directory for
// what rendering needs and for every attribute the ACIs read, so that no
// decision is made on an entry lacking what an ACI tests. Lists are a plan
// served one of three ways (list.go, list_vlv.go); writes are one LDAP
// operation each, guarded by the LDAP Assertion control for If-Match
// (write.go, members.go); references become ids through a cache
// (refs.go). LDAP errors become typed SCIM errors in one place
// (errors.go).
//
// The backend reaches the directory only through the interfaces in
// Options: an ldapconn.Conn (the pool, or internal/memdir in tests), an
// ACISource (acisource.ACIStore) and a DirectoryView (acisource.Directory).
// Its caches share one type (internal/cache).
package ldapbackend
