// Package scimldap maps SCIM resources to LDAP entries and back, with no
// I/O: the per-type attribute mappings and their defaults (TypeMapping,
// AttrMapping), the conversion of values by kind, and the translation of
// SCIM filters to LDAP filter trees (TranslateFilter).
//
// A request's path through it: the backend finds the mapping of the
// resource type; a list's SCIM filter becomes an ldapfilter tree, with the
// attributes the client's filter names (the caller needs the search right
// on them) and references turned into DNs through a RefResolver the caller
// supplies; a write's SCIM values become LDAP values (FromSCIMValue,
// SCIMValues), and an entry read back becomes SCIM values (ToSCIMValue,
// SetSCIMValues). Values are escaped once, when the tree is printed.
package scimldap
