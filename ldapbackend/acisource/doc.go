// Package acisource is where the ACI engine's inputs come from: the live
// ACI set (ACIStore: the aci values under the configured bases plus the
// global ACIs, reloaded when the suffix's contextCSN moves on, lockdown on
// an invalid ACI), the directory the engine reads while it decides
// (Directory: entries, group memberships, dynamic groups, cached and
// following the store's change marker), and the adaptation of LDAP
// entries for the engine (Adapt, NewEntry, ReadSet), which tells the
// engine which attributes a search read so that it never decides on one
// that was simply not asked for.
//
// A request's path through it: the backend takes ACIStore.Current for the
// request, hands the engine Directory.WithContext bounded by the request's
// context, and adapts every entry it reads with Adapt and the ReadSet of
// the search that read it. All reads go through an ldapconn.PagedSearcher.
package acisource
