package aci

import (
	"net/netip"
	"time"

	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// Entry is a directory entry as the engine sees it: its normalized DN and
// its attribute values, looked up by lowercased attribute name.
type Entry = ldapfilter.Entry

// PartialEntry is an Entry read with some attributes only. The engine
// never decides on an attribute such an entry does not hold: the rule that
// reads it is undefined (never grants; in a deny, denies) and the Decision
// names the attribute (Incomplete). Entries that are not PartialEntry are
// taken as complete.
type PartialEntry = ldapfilter.PartialEntry

// Directory gives the engine what it needs beyond the request: entries for
// userattr, LDAP URL filters and groups, and group membership. The caller
// implements it (an in-memory tree for `aci eval`, the LDAP backend for the
// server). A returned error makes the rule that needed the lookup
// undefined, which never grants and denies in a deny rule.
type Directory interface {
	// Entry returns the entry with the normalized DN, or nil when there is
	// no such entry.
	Entry(dn string) (Entry, error)
	// ParentGroups returns the normalized DNs of the static groups that
	// list dn directly as a member or uniqueMember.
	ParentGroups(dn string) ([]string, error)
	// DynamicGroups returns the normalized DNs of every group defined by a
	// memberURL.
	DynamicGroups() ([]string, error)
}

// Subject is who asks: the bind identity and what is known of the
// connection and the OAuth token. One Subject serves every check of one
// request and caches lookups (bind entry, group memberships) as it goes, so
// it must not be shared between goroutines.
type Subject struct {
	DN         string     // normalized bind DN; "" = anonymous
	AuthMethod string     // "none", "simple", "ssl" or "sasl MECH"; "" = simple when DN is set, none otherwise
	IP         netip.Addr // client address; invalid = unknown
	Host       string     // client host name from reverse DNS; "" = unknown
	Secure     bool       // TLS-protected connection
	Time       time.Time  // the clock for timeofday and dayofweek, in its own location
	HasToken   bool       // the request carries an OAuth token
	Scopes     []string   // the token's scopes

	cache   *subjectCache
	scratch evalState
}

type subjectCache struct {
	entry       Entry
	entryErr    error
	entryLoaded bool

	groups       map[string]bool // every group the subject belongs to, nested and dynamic
	groupsErr    bool            // the closure may be incomplete
	groupsLoaded bool
}

// Request is one access check: may the subject exercise Right on Attr (or
// on the entry as a whole) of the entry TargetDN?
type Request struct {
	Subject  *Subject
	TargetDN string // normalized
	// Entry is the target entry, or for RightAdd the entry to be added.
	// When nil, the engine asks the Directory for it if a rule needs it.
	Entry Entry
	Right Right
	// Attr is the attribute checked, "" for an entry-level check (add,
	// delete, proxy, import, export).
	Attr string
	// Value is the value being written or compared, when HasValue is set.
	Value    string
	HasValue bool
	// DeleteValue marks a write that removes Value rather than adds it.
	DeleteValue bool
	// Control and ExtOp ask whether the subject may use that request
	// control or extended operation (by OID); only ACIs with a matching
	// targetcontrol or extop apply then.
	Control, ExtOp string
}

// Decision is the outcome of one check.
type Decision struct {
	Allowed bool
	// By is the ACI that decided: the deny that matched, or the first
	// allow that granted. Nil when no ACI allowed.
	By *Compiled
	// Rule is the index of the deciding rule within By.
	Rule int
	// Undefined is set when the deciding deny rule was undefined rather
	// than true (a failed lookup, no token for oauthscope, ...).
	Undefined bool
	// Incomplete names an attribute that a rule needed of an entry (the
	// target, a parent, the subject's) and that the entry did not hold:
	// it was read without it (ldapfilter.PartialEntry). Such a rule is
	// undefined, so the decision fails closed, but it is a caller's bug
	// to hand the engine less than Set.EntryAttributes says it reads.
	Incomplete string
}

// Reason says in a few words why the decision was made.
func (d Decision) Reason() string {
	switch {
	case d.By == nil:
		return "no ACI allowed"
	case d.Allowed:
		return "allowed by " + d.By.Ref()
	case d.Undefined:
		return "denied by " + d.By.Ref() + " (undefined bind rule)"
	}
	return "denied by " + d.By.Ref()
}
