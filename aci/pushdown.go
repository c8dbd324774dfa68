package aci

import (
	"fmt"
	"sort"
	"strings"

	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// PushdownOptions say what the directory can match beyond plain filters.
type PushdownOptions struct {
	// DNMatching: the directory matches entryDN with dnSubtreeMatch and
	// dnOneLevelMatch (OpenLDAP). Without it, an ACI whose reach depends
	// on where an entry sits below the base cannot be pushed down.
	DNMatching bool
}

// NotPushable says why a request cannot be decided by a filter: the ACI in
// the way (nil when it is the request itself) and the reason.
type NotPushable struct {
	ACI    *Compiled
	Reason string
}

// ReasonGroupsIncomplete is the NotPushable reason that may pass: the
// caller's groups could not all be found (a lookup failed, or nesting was
// cut), so a filter naming them could leave some out.
const ReasonGroupsIncomplete = "the caller's groups could not all be found"

func (e *NotPushable) Error() string {
	if e.ACI == nil {
		return e.Reason
	}
	return e.ACI.Ref() + ": " + e.Reason
}

// Pushdown returns an LDAP filter that an entry at or below base (a
// normalized DN) matches exactly when Evaluate would allow req (its
// subject, right and attribute; TargetDN and Entry are ignored) on that
// entry: partial evaluation of the set for one caller. Bind rules that look
// only at the caller (oauthscope, groupdn, userdn patterns, ip, time, ...)
// become constants; targetfilter becomes itself; target and targetscope
// become conditions on entryDN; userattr "attr#USERDN" becomes
// (attr=<caller>), "#GROUPDN" an equality with each of the caller's groups;
// userdn "ldap:///self" (entryDN=<caller>) and "ldap:///parent" the caller's
// children. Deny beats allow and undefined never grants, as in Evaluate.
//
// It answers only read, search and compare, and returns NotPushable when a
// rule cannot be expressed exactly: userattr with parent levels, LDAP URLs
// or a plain value; a target DN pattern; a filter item that may be
// undefined on some entries (integer, time or boolean syntaxes); an
// incomplete group closure; DN conditions below base without DNMatching.
// dir serves the caller's lookups (its groups, its entry).
func (s *Set) Pushdown(req *Request, base string, dir Directory, opt PushdownOptions) (ldapfilter.Filter, *NotPushable) {
	subj, need, attr, oper := s.asked(req)
	if need == 0 || need&^(RightRead|RightSearch|RightCompare) != 0 || req.Control != "" || req.ExtOp != "" {
		return nil, &NotPushable{Reason: "only read, search and compare are pushed down"}
	}
	probe := &Request{Subject: subj, TargetDN: base, Right: req.Right, Attr: req.Attr}
	p := &pusher{base: base, opt: opt, subj: subj, st: &evalState{req: probe, subj: subj, dir: dir, operAttr: oper}}
	var allows, denies []*pnode
	visit := func(c *Compiled) *NotPushable {
		if c.rights&need == 0 || c.controls != nil || c.extops != nil {
			return nil
		}
		if attr != "" && !c.coversAttr(attr, oper) {
			return nil
		}
		app, np := p.target(c)
		if np != nil {
			return np
		}
		if app.isConst(rFalse) {
			return nil
		}
		for i := range c.rules {
			r := &c.rules[i]
			if r.rights&need == 0 {
				continue
			}
			b, reason := p.bind(r.bind)
			if reason != "" {
				return &NotPushable{ACI: c, Reason: reason}
			}
			res := pAnd(app, b)
			if r.allow {
				allows = append(allows, res)
			} else {
				denies = append(denies, res)
			}
		}
		return nil
	}
	for d := base; ; d = ldapfilter.ParentDN(d) {
		for _, c := range s.byDN[d] {
			if np := visit(c); np != nil {
				return nil, np
			}
		}
		if d == "" {
			break
		}
	}
	var below []string
	for dn := range s.byDN {
		if dn != base && ldapfilter.IsDescendant(dn, base) {
			below = append(below, dn)
		}
	}
	sort.Strings(below)
	for _, dn := range below {
		for _, c := range s.byDN[dn] {
			if np := visit(c); np != nil {
				return nil, np
			}
		}
	}
	for _, c := range s.global {
		if np := visit(c); np != nil {
			return nil, np
		}
	}
	// Allowed: no deny rule is anything but false, and some allow rule is true.
	visible := pAnd(pOr(allows...).truth(false), pNot(pOr(denies...).truth(true)))
	return visible.filter(), nil
}

// pusher partially evaluates ACIs for one caller over the entries at or
// below base.
type pusher struct {
	base string
	opt  PushdownOptions
	subj *Subject
	st   *evalState // for the rules that look at the caller only
}

// under: the entry lies at or below x.
func (p *pusher) under(x string) (*pnode, string) {
	switch {
	case ldapfilter.IsDescendant(p.base, x):
		return pConst(rTrue), ""
	case ldapfilter.IsDescendant(x, p.base):
		if !p.opt.DNMatching {
			return nil, "it reaches part of the entries below the base, and the directory cannot match entryDN by subtree"
		}
		return pItem(&ldapfilter.Extensible{Attr: "entryDN", Rule: ldapfilter.DNSubtreeMatch, Value: x}), ""
	}
	return pConst(rFalse), ""
}

// is: the entry is x.
func (p *pusher) is(x string) *pnode {
	if ldapfilter.IsDescendant(x, p.base) {
		return pItem(&ldapfilter.Equality{Attr: "entryDN", Value: x})
	}
	return pConst(rFalse)
}

// childOf: the entry lies right below x.
func (p *pusher) childOf(x string) (*pnode, string) {
	switch {
	case ldapfilter.IsDescendant(x, p.base):
		if !p.opt.DNMatching {
			return nil, "it reaches the children of an entry below the base, and the directory cannot match entryDN by level"
		}
		return pItem(&ldapfilter.Extensible{Attr: "entryDN", Rule: ldapfilter.DNOneLevelMatch, Value: x}), ""
	case p.base != "" && x == ldapfilter.ParentDN(p.base):
		return p.is(p.base), ""
	}
	return pConst(rFalse), ""
}

// target is where c applies: the entry holding it, its target and
// targetscope, and its targetfilter.
func (p *pusher) target(c *Compiled) (*pnode, *NotPushable) {
	fail := func(reason string) (*pnode, *NotPushable) { return nil, &NotPushable{ACI: c, Reason: reason} }
	out := pConst(rTrue)
	if !c.Global {
		loc, why := p.under(c.EntryDN)
		if why != "" {
			return fail(why)
		}
		out = loc
	}
	scopeBase := c.EntryDN
	if c.target != nil {
		if c.target.rdns != nil {
			return fail("its target is a DN pattern")
		}
		t, why := p.under(c.target.literal)
		if why != "" {
			return fail(why)
		}
		if c.targetNeg {
			t = pNot(t)
		} else {
			scopeBase = c.target.literal
		}
		out = pAnd(out, t)
	}
	var sc *pnode
	var why string
	switch c.scope {
	case ScopeBase:
		sc = p.is(scopeBase)
	case ScopeOneLevel:
		sc, why = p.childOf(scopeBase)
	case ScopeSubordinate:
		sc, why = p.under(scopeBase)
		if why == "" {
			sc = pAnd(sc, pNot(p.is(scopeBase)))
		}
	default:
		sc, why = p.under(scopeBase)
	}
	if why != "" {
		return fail(why)
	}
	out = pAnd(out, sc)
	if c.filter != nil {
		f, why := filterNode(c.filter.Filter())
		if why != "" {
			return fail(why)
		}
		if c.filterNeg {
			f = pNot(f)
		}
		out = pAnd(out, f)
	}
	return out, nil
}

// filterNode turns a targetfilter into a formula whose items are never
// undefined (or constants where an item always is).
func filterNode(f ldapfilter.Filter) (*pnode, string) {
	var kids []ldapfilter.Filter
	op := pAndOp
	switch v := ldapfilter.Unptr(f).(type) {
	case ldapfilter.And:
		kids = v.Filters
	case ldapfilter.Or:
		kids, op = v.Filters, pOrOp
	case ldapfilter.Not:
		n, why := filterNode(v.Filter)
		if why != "" {
			return nil, why
		}
		return pNot(n), ""
	default:
		if why := itemBlocker(f); why != "" {
			return nil, why
		}
		if _, undefined := ldapfilter.ItemDecided(f); undefined {
			return pConst(rUndefined), ""
		}
		return pItem(f), ""
	}
	nodes := make([]*pnode, 0, len(kids))
	for _, k := range kids {
		n, why := filterNode(k)
		if why != "" {
			return nil, why
		}
		nodes = append(nodes, n)
	}
	if op == pOrOp {
		return pOr(nodes...), ""
	}
	return pAnd(nodes...), ""
}

// itemBlocker says why a targetfilter item cannot be pushed down, or "".
func itemBlocker(f ldapfilter.Filter) string {
	if why := directoryMayDiffer(f); why != "" {
		return why
	}
	if decided, undefined := ldapfilter.ItemDecided(f); !decided && !undefined {
		return fmt.Sprintf("its targetfilter item %s may be undefined on some entries (integer, time or boolean syntax)", f)
	}
	return ""
}

// filterBlocker is itemBlocker for the first item of a filter that has one.
func filterBlocker(f ldapfilter.Filter) string {
	var kids []ldapfilter.Filter
	switch v := ldapfilter.Unptr(f).(type) {
	case ldapfilter.And:
		kids = v.Filters
	case ldapfilter.Or:
		kids = v.Filters
	case ldapfilter.Not:
		return filterBlocker(v.Filter)
	default:
		return itemBlocker(f)
	}
	for _, k := range kids {
		if why := filterBlocker(k); why != "" {
			return why
		}
	}
	return ""
}

// supertypes are attribute types that other types are subtypes of: the
// directory matches an assertion on one against every subtype's values
// (name covers cn, sn, ...), the engine only against the type itself.
var supertypes = map[string]bool{"name": true, "distinguishedname": true}

// directoryMayDiffer says why the directory could match the filter item
// otherwise than the engine does, or "": an approximate match (phonetic
// in OpenLDAP, folded equality in the engine), a supertype, an attribute
// named by OID (the engine knows few), or a DN assertion whose attribute
// types are spelt otherwise than the engine's canonical names (the
// directory folds userid into uid, the engine does not).
func directoryMayDiffer(f ldapfilter.Filter) string {
	var attr, value string
	switch v := ldapfilter.Unptr(f).(type) {
	case ldapfilter.Approx:
		return fmt.Sprintf("its targetfilter item %s is an approximate match, whose rule differs between directories", f)
	case ldapfilter.Equality:
		attr, value = v.Attr, v.Value
	default:
		attrs := ldapfilter.Attributes(f)
		if len(attrs) == 1 {
			attr = attrs[0]
		}
	}
	a := canonicalAttr(attr)
	switch {
	case supertypes[a]:
		return fmt.Sprintf("its targetfilter item %s names %s, a supertype the directory expands to its subtypes", f, attr)
	case a != "" && a[0] >= '0' && a[0] <= '9':
		return fmt.Sprintf("its targetfilter item %s names an attribute by OID", f)
	case value != "" && ldapfilter.SyntaxOf(a) == ldapfilter.SyntaxDN:
		n, err := ldapfilter.NormalizeDN(value)
		if err != nil {
			return ""
		}
		for _, rdn := range ldapfilter.SplitDN(n) {
			if typ, _, ok := strings.Cut(rdn, "="); ok && canonicalAttr(typ) != typ {
				return fmt.Sprintf("its targetfilter item %s holds a DN whose attribute type %s the directory spells otherwise", f, typ)
			}
		}
	}
	return ""
}

// bind partially evaluates a compiled bind rule; a non-empty reason says
// why it cannot be.
func (p *pusher) bind(n node) (*pnode, string) {
	switch n := n.(type) {
	case *andNode:
		return p.both(n.l, n.r, pAnd)
	case *orNode:
		return p.both(n.l, n.r, pOr)
	case *notNode:
		x, why := p.bind(n.n)
		if why != "" {
			return nil, why
		}
		return pNot(x), ""
	case *leaf:
		x, why := p.cond(n.cond)
		if why != "" {
			return nil, why
		}
		if n.neg {
			x = pNot(x)
		}
		return x, ""
	}
	return nil, fmt.Sprintf("unknown bind rule node %T", n)
}

// both partially evaluates the two sides of an and or an or.
func (p *pusher) both(l, r node, join func(...*pnode) *pnode) (*pnode, string) {
	x, why := p.bind(l)
	if why != "" {
		return nil, why
	}
	y, why := p.bind(r)
	if why != "" {
		return nil, why
	}
	return join(x, y), ""
}

// cond partially evaluates one condition.
func (p *pusher) cond(c condEval) (*pnode, string) {
	dn := p.subj.DN
	switch c := c.(type) {
	case *userDNCond:
		out := pConst(rFalse)
		for _, it := range c.items {
			var x *pnode
			switch {
			case it.kind == udnSelf && dn != "":
				x = p.is(dn)
			case it.kind == udnParent && dn != "":
				var why string
				if x, why = p.childOf(dn); why != "" {
					return nil, why
				}
			default:
				x = pConst((&userDNCond{items: []userDNItem{it}}).eval(p.st))
			}
			out = pOr(out, x)
		}
		return out, ""
	case *userAttrCond:
		if dn == "" {
			return pConst(rFalse), ""
		}
		if why := c.pushBlocker(); why != "" {
			return nil, why
		}
		switch c.kind {
		case uaUserDN:
			return pItem(&ldapfilter.Equality{Attr: c.attr, Value: dn}), ""
		case uaGroupDN:
			groups, incomplete := p.st.groups()
			if incomplete {
				return nil, ReasonGroupsIncomplete
			}
			items := make([]*pnode, 0, len(groups))
			for _, g := range sortedKeys(groups) {
				items = append(items, pItem(&ldapfilter.Equality{Attr: c.attr, Value: g}))
			}
			return pOr(items...), ""
		}
	}
	return pConst(c.eval(p.st)), ""
}

// pushBlocker says why a userattr rule cannot become a filter, or "": it
// must read the decided entry itself (no parent levels) and name the caller
// or its groups in an attribute the engine knows as a DN attribute.
func (c *userAttrCond) pushBlocker() string {
	switch {
	case c.attr == "entrydn":
		return "userattr on entryDN, which the directory keeps for every entry"
	case len(c.levels) != 1 || c.levels[0] != 0:
		return "userattr with parent levels reads entries above the one decided"
	case c.kind != uaUserDN && c.kind != uaGroupDN:
		return "userattr with an LDAP URL or a value"
	case ldapfilter.SyntaxOf(c.attr) != ldapfilter.SyntaxDN:
		return fmt.Sprintf("userattr on %s, which the engine does not know as a DN attribute", c.attr)
	}
	return ""
}

// pnode is a bind rule or target condition partially evaluated for one
// caller: a three-valued constant, or a formula over filter items that are
// never undefined (ldapfilter.ItemDecided).
type pnode struct {
	op   pOp
	c    result
	item ldapfilter.Filter
	kids []*pnode
}

type pOp uint8

const (
	pConstOp pOp = iota
	pItemOp
	pAndOp
	pOrOp
	pNotOp
)

func pConst(r result) *pnode           { return &pnode{op: pConstOp, c: r} }
func pItem(f ldapfilter.Filter) *pnode { return &pnode{op: pItemOp, item: f} }
func (x *pnode) isConst(r result) bool { return x.op == pConstOp && x.c == r }
func pAnd(kids ...*pnode) *pnode       { return pJoin(pAndOp, kids) }
func pOr(kids ...*pnode) *pnode        { return pJoin(pOrOp, kids) }
func pNot(x *pnode) *pnode {
	switch x.op {
	case pConstOp:
		return pConst(not3(x.c))
	case pNotOp:
		return x.kids[0] // not not x is x, in Kleene logic too
	}
	return &pnode{op: pNotOp, kids: []*pnode{x}}
}

// pJoin folds constants with Kleene logic: false absorbs an and, true an
// or; the identity drops out; undefined stays.
func pJoin(op pOp, kids []*pnode) *pnode {
	absorb, identity := rFalse, rTrue
	if op == pOrOp {
		absorb, identity = rTrue, rFalse
	}
	var keep []*pnode
	for _, k := range kids {
		switch {
		case k.isConst(absorb):
			return pConst(absorb)
		case k.isConst(identity):
		case k.op == op:
			keep = append(keep, k.kids...)
		default:
			keep = append(keep, k)
		}
	}
	switch len(keep) {
	case 0:
		return pConst(identity)
	case 1:
		return keep[0]
	}
	return &pnode{op: op, kids: keep}
}

// truth is the two-valued formula "x is true" (notFalse false) or "x is
// not false" (notFalse true), whose constants are true or false only: a
// filter item is never undefined, so only constants and negation need
// care (not x is true when x is false).
func (x *pnode) truth(notFalse bool) *pnode {
	switch x.op {
	case pConstOp:
		if notFalse {
			return pConst(boolResult(x.c != rFalse))
		}
		return pConst(boolResult(x.c == rTrue))
	case pItemOp:
		return x
	case pNotOp:
		return pNot(x.kids[0].truth(!notFalse))
	}
	kids := make([]*pnode, len(x.kids))
	for i, k := range x.kids {
		kids[i] = k.truth(notFalse)
	}
	return pJoin(x.op, kids)
}

// filter renders a two-valued formula (see truth): true is
// (objectClass=*), false its negation.
func (x *pnode) filter() ldapfilter.Filter {
	switch x.op {
	case pConstOp:
		all := &ldapfilter.Present{Attr: "objectClass"}
		if x.c == rTrue {
			return all
		}
		return &ldapfilter.Not{Filter: all}
	case pItemOp:
		return x.item
	case pNotOp:
		return &ldapfilter.Not{Filter: x.kids[0].filter()}
	}
	fs := make([]ldapfilter.Filter, len(x.kids))
	for i, k := range x.kids {
		fs[i] = k.filter()
	}
	if x.op == pOrOp {
		return &ldapfilter.Or{Filters: fs}
	}
	return &ldapfilter.And{Filters: fs}
}
