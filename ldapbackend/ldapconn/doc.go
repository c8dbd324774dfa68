// Package ldapconn reaches the directory: the `ldap:` configuration
// section (LDAPConfig), a bounded pool of bound connections with TLS,
// backoff and health checks (Pool), the controls the gateway sends that
// go-ldap does not encode (LDAP Assertion, Virtual List View), and Conn,
// the narrow, context-first interface through which the rest of the
// gateway sends its LDAP operations.
//
// A request's path through it: the backend calls a Conn method with the
// request's context; the Pool waits for a free connection (or dials one),
// runs the operation under the request's deadline or op_timeout, whichever
// comes first, and returns the connection, or drops it after a network
// error, which then matches ErrUnavailable. Nothing here knows SCIM or
// ACIs (beyond validating the configured global ACIs).
package ldapconn
