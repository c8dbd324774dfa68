package aci

import (
	"fmt"
	"strings"
)

// Warning is a risky but valid construct found by Lint.
type Warning struct {
	Pos Pos
	Msg string
}

// LintContext says where an ACI lives, which changes what is risky.
type LintContext struct {
	EntryDN string // DN of the entry holding the ACI, "" when global
	Global  bool
	Suffix  bool // the entry is a naming context (the top of a tree)
}

// Lint reports risky constructs in a valid ACI: grants to every
// authenticated user or to anyone without an oauthscope condition (through
// the service account they reach every SCIM caller whatever its scopes),
// write on every attribute, objectClass readable by everyone at the suffix,
// and "!=" attribute lists that expose more than intended.
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
