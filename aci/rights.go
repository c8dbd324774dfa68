package aci

import "strings"

// Right is a set of access rights, as named in an ACI's permission list.
type Right uint16

// The rights of the ACI language.
const (
	RightRead Right = 1 << iota
	RightSearch
	RightCompare
	RightWrite
	RightSelfWrite
	RightAdd
	RightDelete
	RightImport
	RightExport
	RightProxy

	// RightAll is what the keyword "all" grants: every right except proxy,
	// import and export (PingDirectory's definition).
	RightAll = RightRead | RightSearch | RightCompare | RightWrite | RightSelfWrite | RightAdd | RightDelete

	// entryRights are checked against an entry as a whole, never an attribute.
	entryRights = RightAdd | RightDelete | RightImport | RightExport | RightProxy
)

var rightNames = []struct {
	r    Right
	name string
}{
	{RightRead, "read"}, {RightSearch, "search"}, {RightCompare, "compare"},
	{RightWrite, "write"}, {RightSelfWrite, "selfwrite"}, {RightAdd, "add"},
	{RightDelete, "delete"}, {RightImport, "import"}, {RightExport, "export"},
	{RightProxy, "proxy"},
}

// ParseRight returns the right named by s ("all" included), case-insensitively.
func ParseRight(s string) (Right, bool) {
	if strings.EqualFold(s, "all") {
		return RightAll, true
	}
	for _, n := range rightNames {
		if strings.EqualFold(s, n.name) {
			return n.r, true
		}
	}
	return 0, false
}

// String lists the rights in canonical order, comma-separated, with "all"
// standing for the rights it covers.
func (r Right) String() string {
	var parts []string
	rest := r
	if r&RightAll == RightAll {
		parts = append(parts, "all")
		rest &^= RightAll
	}
	for _, n := range rightNames {
		if rest&n.r != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, ",")
}

// IsEntryLevel reports whether r is checked against the entry as a whole
// (add, delete, import, export, proxy) rather than an attribute.
func (r Right) IsEntryLevel() bool { return r&entryRights != 0 && r&^entryRights == 0 }
