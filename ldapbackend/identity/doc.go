// Package identity maps a token's subject to one directory entry for the
// mapped identity modes (mapping: optional | required): the configured
// filter template, with the claim's value escaped once where it is put in,
// searched under the search base; exactly one active entry maps.
//
// A request's path through it: the HTTP layer's identity hook calls
// Mapper.Map with the claim's value; a mapping read recently is served
// from the cache (internal/cache) while the directory's change marker
// holds; otherwise one search through an ldapconn.Conn finds the entry.
// The backend's writes call Forget (Options.OnWrite), so a user the
// gateway deactivates stops at the next request.
package identity
