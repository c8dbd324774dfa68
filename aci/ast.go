package aci

import "github.com/scimgate/scimgate/aci/ldapfilter"

// ACI is one parsed access control instruction: its targets, its name and
// its allow/deny rules. The tree is closed: it holds only the node types of
// this file, and String prints it back as canonical ACI text.
type ACI struct {
	Targets []*Target
	Name    string
	Rules   []*Rule
}

// Op is the comparison operator of a target or a bind rule.
type Op uint8

// The operators of the ACI language. Only timeofday takes the ordering ones.
const (
	OpEq Op = iota
	OpNe
	OpLt
	OpLe
	OpGt
	OpGe
)

var opText = [...]string{OpEq: "=", OpNe: "!=", OpLt: "<", OpLe: "<=", OpGt: ">", OpGe: ">="}

func (o Op) String() string { return opText[o] }

// TargetKeyword names the kind of a target.
type TargetKeyword uint8

// The target keywords.
const (
	KwTarget TargetKeyword = iota
	KwTargetAttr
	KwTargetFilter
	KwTargAttrFilters
	KwTargetScope
	KwTargetControl
	KwExtOp
)

var targetKeywords = [...]string{
	KwTarget: "target", KwTargetAttr: "targetattr", KwTargetFilter: "targetfilter",
	KwTargAttrFilters: "targattrfilters", KwTargetScope: "targetscope",
	KwTargetControl: "targetcontrol", KwExtOp: "extop",
}

func (k TargetKeyword) String() string { return targetKeywords[k] }

// Scope is the value of targetscope.
type Scope uint8

// The target scopes. ScopeOneLevel means the children of the target only,
// not the target itself (PingDirectory's reading).
const (
	ScopeSubtree Scope = iota
	ScopeBase
	ScopeOneLevel
	ScopeSubordinate
)

var scopeNames = [...]string{ScopeSubtree: "subtree", ScopeBase: "base", ScopeOneLevel: "onelevel", ScopeSubordinate: "subordinate"}

func (s Scope) String() string { return scopeNames[s] }

// Target is one "(keyword op "value")" clause. Which fields are set depends
// on Keyword.
type Target struct {
	Keyword TargetKeyword
	Op      Op
	Pos     Pos

	DN          string            // target: the DN or DN pattern after "ldap:///"
	Attrs       []string          // targetattr: names as written, "*" and "+" included
	Filter      ldapfilter.Filter // targetfilter
	AttrFilters []*AttrFilterList // targattrfilters: one or two lists
	Scope       Scope             // targetscope
	OIDs        []string          // targetcontrol, extop: OIDs or "*"
}

// AttrFilterList is one "add=..." or "del=..." part of targattrfilters.
type AttrFilterList struct {
	Add     bool // true for add=, false for del=
	Filters []*AttrFilter
}

// AttrFilter restricts the values of one attribute: "attr:(filter)".
type AttrFilter struct {
	Attr   string
	Filter ldapfilter.Filter
}

// Rule is one "allow|deny (rights) bindrule;" pair of an ACI.
type Rule struct {
	Allow  bool
	Rights Right
	Bind   BindRule
	Pos    Pos
}

// BindRule is a node of a bind rule expression: *And, *Or, *Not or *Cond.
type BindRule interface {
	String() string
	bindRule()
}

// And is "Left and Right".
type And struct{ Left, Right BindRule }

// Or is "Left or Right".
type Or struct{ Left, Right BindRule }

// Not is "not Rule".
type Not struct{ Rule BindRule }

// BindKeyword names the kind of a bind rule condition.
type BindKeyword uint8

// The bind rule keywords.
const (
	KwUserDN BindKeyword = iota
	KwGroupDN
	KwUserAttr
	KwAuthMethod
	KwIP
	KwDNS
	KwTimeOfDay
	KwDayOfWeek
	KwSecure
	KwOAuthScope
)

var bindKeywords = [...]string{
	KwUserDN: "userdn", KwGroupDN: "groupdn", KwUserAttr: "userattr", KwAuthMethod: "authmethod",
	KwIP: "ip", KwDNS: "dns", KwTimeOfDay: "timeofday", KwDayOfWeek: "dayofweek",
	KwSecure: "secure", KwOAuthScope: "oauthscope",
}

func (k BindKeyword) String() string { return bindKeywords[k] }

// listSep is how a keyword's value separates several items: "||" for URL
// and scope lists, "," for host, address and day lists, "" for one value.
func (k BindKeyword) listSep() string {
	switch k {
	case KwUserDN, KwGroupDN, KwOAuthScope:
		return "||"
	case KwIP, KwDNS, KwDayOfWeek:
		return ","
	}
	return ""
}

// Cond is one bind rule condition: keyword op "value". Values holds the
// items of the quoted value, split on the keyword's list separator and
// trimmed, in canonical spelling.
type Cond struct {
	Keyword BindKeyword
	Op      Op
	Values  []string
	Pos     Pos
}

func (*And) bindRule()  {}
func (*Or) bindRule()   {}
func (*Not) bindRule()  {}
func (*Cond) bindRule() {}
