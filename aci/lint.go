package aci

import (
	"fmt"
	"strings"

	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// Warning is a risky but valid construct found by Lint.
type Warning struct {
	Pos Pos
	Msg string
}

// LintContext says where an ACI lives, which changes what is risky.
type LintContext struct {
	EntryDN string // normalized DN of the entry holding the ACI, "" when global
	Global  bool
	Suffix  bool // the entry is a naming context (the top of a tree)
	// IdentityAttrs are the attributes token subjects are mapped to entries
	// by (those of the identity filter, such as uid); an ACI that lets
	// ordinary users write one is reported. Empty: not checked.
	IdentityAttrs []string
	// IdentityBase is the normalized DN identities are searched under: an
	// ACI held by an entry neither above nor below it cannot reach them.
	// "" means anywhere.
	IdentityBase string
}

// Lint reports risky constructs in a valid ACI: grants to every
// authenticated user or to anyone without an oauthscope condition (through
// the service account they reach every SCIM caller whatever its scopes),
// write on every attribute, objectClass readable by everyone at the suffix,
// "!=" attribute lists that expose more than intended, and write on an
// identity attribute granted to ordinary users (who could then choose
// which token subject maps to them).
func Lint(a *ACI, ctx LintContext) []Warning {
	var ws []Warning
	warn := func(p Pos, format string, args ...any) {
		ws = append(ws, Warning{p, fmt.Sprintf(format, args...)})
	}
	var attr *Target
	for _, t := range a.Targets {
		if t.Keyword == KwTargetAttr {
			attr = t
		}
	}
	top := ctx.Global || ctx.Suffix
	for _, r := range a.Rules {
		if !r.Allow {
			continue
		}
		broad := broadSubject(r.Bind)
		scoped := hasKeyword(r.Bind, KwOAuthScope)
		if broad != "" && !scoped {
			where := "this subtree"
			if top {
				where = "the whole tree"
			}
			warn(r.Pos, "allow (%s) to %s without oauthscope applies to %s for every request made through the service account, whatever the token's scopes; add an oauthscope condition", r.Rights, broad, where)
		}
		if broad == "ldap:///anyone" && r.Rights&(RightWrite|RightAdd|RightDelete|RightSelfWrite) != 0 {
			warn(r.Pos, "allow (%s) to ldap:///anyone lets anonymous clients change the directory", r.Rights)
		}
		if attr == nil {
			continue
		}
		if r.Rights&RightWrite != 0 && attr.Op == OpEq && contains(attr.Attrs, "*") {
			warn(attr.Pos, `targetattr="*" with write lets the holder change every user attribute, userPassword included; list the attributes instead`)
		}
		if attr.Op == OpNe {
			msg := fmt.Sprintf(`targetattr!= grants (%s) on every user attribute not listed, including any added to the schema later`, r.Rights)
			if r.Rights&(RightRead|RightSearch|RightCompare|RightWrite) != 0 && !containsFold(attr.Attrs, "userPassword") {
				msg += ", and userPassword is not listed"
			}
			warn(attr.Pos, "%s; prefer an explicit list", msg)
		}
		if top && r.Rights&RightRead != 0 && (broad != "" || !scoped) && coversObjectClass(attr) && !hasTargetNarrowing(a) {
			warn(r.Pos, "read of objectClass is granted at the suffix to %s; grant it on each subtree SCIM exposes instead", orDefault(broad, "callers without an oauthscope condition"))
		}
	}
	if pos, name := oidAttribute(a); name != "" {
		warn(pos, "attribute %s is named by OID: the directory returns entries under attribute names, so name it by its primary name (as the schema's first NAME)", name)
	}
	if pos, why := pushdownBlocker(a); why != "" {
		warn(pos, "lists cannot be cut by the directory for callers this ACI reaches: %s, so the gateway reads every match of such a listing itself (up to limits.lookthrough)", why)
	}
	if reachesIdentities(ctx) {
		for _, r := range a.Rules {
			if !r.Allow || r.Rights&(RightWrite|RightSelfWrite) == 0 {
				continue
			}
			who := userSubject(r.Bind)
			if who == "" {
				continue
			}
			if id := identityAttrCovered(a, attr, ctx.IdentityAttrs); id != "" {
				warn(r.Pos, "allow (%s) to %s lets users change %s, which token subjects are mapped to entries by: a user who may change it chooses which token subject becomes them; leave %s out of the ACI or grant it to administrators only", r.Rights, who, id, id)
			}
		}
	}
	return ws
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// broadSubject returns "ldap:///all" or "ldap:///anyone" when the rule can
// hold for every (authenticated) subject: an or-branch that is a userdn
// with one of those values, not combined by "and" with anything narrower.
func broadSubject(b BindRule) string {
	switch b := b.(type) {
	case *Or:
		if s := broadSubject(b.Left); s != "" {
			return s
		}
		return broadSubject(b.Right)
	case *And:
		l, r := broadSubject(b.Left), broadSubject(b.Right)
		if l != "" && r != "" {
			return l
		}
		// "userdn=all and authmethod=..." and the like stay broad.
		if l != "" && weakCond(b.Right) {
			return l
		}
		if r != "" && weakCond(b.Left) {
			return r
		}
	case *Cond:
		if b.Keyword == KwUserDN && b.Op == OpEq {
			for _, v := range b.Values {
				switch strings.ToLower(v) {
				case "ldap:///anyone":
					return "ldap:///anyone"
				case "ldap:///all":
					return "ldap:///all"
				}
			}
		}
	}
	return ""
}

// reachesIdentities reports whether an ACI in ctx can govern the entries
// tokens are mapped to, and whether anyone asked.
func reachesIdentities(ctx LintContext) bool {
	if len(ctx.IdentityAttrs) == 0 {
		return false
	}
	if ctx.Global || ctx.EntryDN == "" || ctx.IdentityBase == "" {
		return true
	}
	return ldapfilter.IsDescendant(ctx.EntryDN, ctx.IdentityBase) || ldapfilter.IsDescendant(ctx.IdentityBase, ctx.EntryDN)
}

// identityAttrCovered returns the first of ids that the ACI's targetattr
// (attr, nil when absent) or targattrfilters let be written, or "".
func identityAttrCovered(a *ACI, attr *Target, ids []string) string {
	for _, id := range ids {
		if attr != nil && targetAttrCovers(attr, id) {
			return id
		}
		for _, t := range a.Targets {
			if t.Keyword != KwTargAttrFilters {
				continue
			}
			for _, l := range t.AttrFilters {
				for _, f := range l.Filters {
					if CanonicalAttr(f.Attr) == CanonicalAttr(id) {
						return id
					}
				}
			}
		}
	}
	return ""
}

// targetAttrCovers applies targetattr to one attribute as the evaluator
// does: "*" is every user attribute, "+" every operational one, and "!="
// lists every user attribute not named.
func targetAttrCovers(t *Target, attr string) bool {
	key, oper := CanonicalAttr(attr), IsOperational(attr)
	listed := false
	for _, x := range t.Attrs {
		switch {
		case x == "*" && t.Op == OpNe:
			return false
		case x == "*" && !oper, x == "+" && oper:
			listed = true
		case x != "*" && x != "+" && CanonicalAttr(x) == key:
			listed = true
		}
	}
	if t.Op == OpNe {
		return !oper && !listed
	}
	return listed
}

// userSubject returns the condition through which the rule can hold for
// ordinary directory users, as the ACI writes it, or "" when it holds only
// for named accounts or names no subject at all (an oauthscope grant, for
// one, is the client's, not the user's). An operand of "and" keeps the
// other's reach unless it restricts the rule to named accounts.
func userSubject(b BindRule) string {
	switch b := b.(type) {
	case *Or:
		if s := userSubject(b.Left); s != "" {
			return s
		}
		return userSubject(b.Right)
	case *And:
		if s := userSubject(b.Left); s != "" && !namedAccountsOnly(b.Right) {
			return s
		}
		if s := userSubject(b.Right); s != "" && !namedAccountsOnly(b.Left) {
			return s
		}
	case *Not:
		// "not userdn=..." or "not groupdn=..." holds for everyone else.
		if c, ok := b.Rule.(*Cond); ok && (c.Keyword == KwUserDN || c.Keyword == KwGroupDN || c.Keyword == KwUserAttr) {
			return b.String()
		}
	case *Cond:
		switch b.Keyword {
		case KwGroupDN, KwUserAttr:
			return b.String()
		case KwUserDN:
			if b.Op == OpNe {
				return b.String()
			}
			for _, v := range b.Values {
				if !namedDN(v) {
					return b.String()
				}
			}
		}
	}
	return ""
}

// namedAccountsOnly reports whether the rule holds only for subjects named
// one by one (userdn="ldap:///cn=admin,...").
func namedAccountsOnly(b BindRule) bool {
	switch b := b.(type) {
	case *And:
		return namedAccountsOnly(b.Left) || namedAccountsOnly(b.Right)
	case *Or:
		return namedAccountsOnly(b.Left) && namedAccountsOnly(b.Right)
	case *Cond:
		if b.Keyword != KwUserDN || b.Op != OpEq {
			return false
		}
		for _, v := range b.Values {
			if !namedDN(v) {
				return false
			}
		}
		return true
	}
	return false
}

// namedDN reports whether a userdn value names one account: not self,
// all, anyone or parent, no pattern, no search URL.
func namedDN(v string) bool {
	switch strings.ToLower(v) {
	case "ldap:///self", "ldap:///all", "ldap:///anyone", "ldap:///parent":
		return false
	}
	return !strings.ContainsAny(v, "*?")
}

// weakCond is a condition that does not narrow who the subject is.
func weakCond(b BindRule) bool {
	c, ok := b.(*Cond)
	return ok && (c.Keyword == KwAuthMethod || c.Keyword == KwSecure || c.Keyword == KwIP || c.Keyword == KwDNS || c.Keyword == KwTimeOfDay || c.Keyword == KwDayOfWeek)
}

func coversObjectClass(t *Target) bool {
	if t.Op == OpNe {
		return !containsFold(t.Attrs, "objectClass") && !contains(t.Attrs, "*")
	}
	return contains(t.Attrs, "*") || containsFold(t.Attrs, "objectClass")
}

func hasTargetNarrowing(a *ACI) bool {
	for _, t := range a.Targets {
		if t.Keyword == KwTarget || t.Keyword == KwTargetFilter {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// pushdownBlocker names what in an ACI that grants or denies read, search
// or compare keeps Set.Pushdown from turning it into an LDAP filter (see
// Pushdown), with where it is; "" when nothing does.
func pushdownBlocker(a *ACI) (Pos, string) {
	reads := false
	for _, r := range a.Rules {
		reads = reads || r.Rights&(RightRead|RightSearch|RightCompare) != 0
	}
	if !reads {
		return Pos{}, ""
	}
	for _, t := range a.Targets {
		switch {
		case t.Keyword == KwTarget && strings.Contains(t.DN, "*"):
			return t.Pos, "its target is a DN pattern"
		case t.Keyword == KwTargetFilter:
			if why := filterBlocker(t.Filter); why != "" {
				return t.Pos, why
			}
		}
	}
	for _, r := range a.Rules {
		if r.Rights&(RightRead|RightSearch|RightCompare) == 0 {
			continue
		}
		var pos Pos
		why := ""
		walkConds(r.Bind, func(c *Cond) {
			if why != "" || c.Keyword != KwUserAttr {
				return
			}
			if ua, err := parseUserAttr(c.Values[0]); err == nil {
				pos, why = c.Pos, ua.pushBlocker()
			}
		})
		if why != "" {
			return pos, why
		}
	}
	return Pos{}, ""
}

// oidAttribute returns the first attribute the ACI names by an OID the
// engine does not know a name for, with where it is; "" when none.
func oidAttribute(a *ACI) (Pos, string) {
	isOID := func(n string) bool {
		c := CanonicalAttr(n)
		return c != "" && c[0] >= '0' && c[0] <= '9'
	}
	for _, t := range a.Targets {
		var names []string
		switch t.Keyword {
		case KwTargetAttr:
			names = t.Attrs
		case KwTargetFilter:
			names = ldapfilter.Attributes(t.Filter)
		case KwTargAttrFilters:
			for _, l := range t.AttrFilters {
				for _, f := range l.Filters {
					names = append(names, f.Attr)
				}
			}
		}
		for _, n := range names {
			if isOID(n) {
				return t.Pos, n
			}
		}
	}
	for _, r := range a.Rules {
		var pos Pos
		name := ""
		walkConds(r.Bind, func(c *Cond) {
			if name != "" || c.Keyword != KwUserAttr {
				return
			}
			if ua, err := parseUserAttr(c.Values[0]); err == nil && isOID(ua.attr) {
				pos, name = c.Pos, ua.attr
			}
		})
		if name != "" {
			return pos, name
		}
	}
	return Pos{}, ""
}
