package aci

import "github.com/scimgate/scimgate/aci/ldapfilter"

// Uniform decides req (its subject, right and attribute; TargetDN and Entry
// are ignored) for every entry at or below base at once, when the ACIs
// cannot tell those entries apart: it returns the decision (as Evaluate
// gives it for base) and ok, or ok false when the decision could differ
// from one entry to another. base is a normalized DN.
//
// It answers only when no ACI lives strictly below base, and every ACI
// that grants or denies the right and is found at base, above it or
// globally:
//   - has no target, targetfilter or (for writes) targattrfilters, all of
//     which look at the entry;
//   - has a targetscope that covers all of those entries or none of them;
//   - has bind rules that look at the subject and the connection only
//     (not userattr, and no userdn "self" or "parent").
//
// ACIs with targetcontrol or extop never apply to a plain operation, and
// ACIs whose targetattr leaves the attribute out never apply to it, so they
// do not matter. A caller listing entries can then ask the directory
// for just a page instead of checking every match; it should still check
// the entries it gets (a mismatch means the directory changed under it).
func (s *Set) Uniform(req *Request, base string, dir Directory) (d Decision, ok bool) {
	_, need, attr, oper := s.asked(req)
	for dn := range s.byDN {
		if dn != base && ldapfilter.IsDescendant(dn, base) {
			return Decision{}, false
		}
	}
	for d := base; ; d = ldapfilter.ParentDN(d) {
		for _, c := range s.byDN[d] {
			if !c.uniformOver(base, need, attr, oper) {
				return Decision{}, false
			}
		}
		if d == "" {
			break
		}
	}
	for _, c := range s.global {
		if !c.uniformOver(base, need, attr, oper) {
			return Decision{}, false
		}
	}
	probe := *req
	probe.TargetDN, probe.Entry = base, nil
	return s.Evaluate(&probe, dir), true
}

// uniformOver reports whether c decides need on attr (canonical; "" at the
// entry level) alike for base and every entry below it. c lives at base,
// above it, or globally ("").
func (c *Compiled) uniformOver(base string, need Right, attr string, oper bool) bool {
	if c.rights&need == 0 || c.controls != nil || c.extops != nil {
		return true
	}
	if attr != "" && c.tafAdd == nil && c.tafDel == nil && !c.coversAttr(attr, oper) {
		return true // its targetattr leaves attr out, whatever the entry
	}
	if c.target != nil || c.filter != nil {
		return false
	}
	if need&(RightWrite|RightSelfWrite|RightAdd|RightDelete) != 0 && (c.tafAdd != nil || c.tafDel != nil) {
		return false
	}
	at := c.EntryDN
	switch c.scope {
	case ScopeBase, ScopeSubordinate:
		// base alone, or all but base: split when c lives at base.
		if at == base {
			return false
		}
	case ScopeOneLevel:
		// The children of c's entry only: base's parent's children
		// include base but not what lies below it.
		if at == base || at == ldapfilter.ParentDN(base) {
			return false
		}
	}
	for i := range c.rules {
		if r := &c.rules[i]; r.rights&need != 0 && !targetFree(r.bind) {
			return false
		}
	}
	return true
}

// targetFree reports whether a bind rule looks at the subject and the
// connection only, never at the target entry or its DN.
func targetFree(n node) bool {
	switch n := n.(type) {
	case *andNode:
		return targetFree(n.l) && targetFree(n.r)
	case *orNode:
		return targetFree(n.l) && targetFree(n.r)
	case *notNode:
		return targetFree(n.n)
	case *leaf:
		switch c := n.cond.(type) {
		case *userAttrCond:
			return false
		case *userDNCond:
			for _, it := range c.items {
				if it.kind == udnSelf || it.kind == udnParent {
					return false
				}
			}
			return true
		case authMethodCond, secureCond, *timeOfDayCond, dayOfWeekCond, scopeCond, *ipCond, dnsCond, *groupDNCond:
			return true
		}
	}
	return false // a kind this list does not know: assume it looks
}
