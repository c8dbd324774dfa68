package aci

import (
	"strings"

	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// Evaluate decides one request: deny if any applicable deny rule holds (or
// is undefined), else allow if an applicable allow rule holds, else deny.
// dir may be nil when no ACI needs lookups; rules that do then evaluate as
// undefined. Evaluate allocates nothing on the common path.
func (s *Set) Evaluate(req *Request, dir Directory) Decision {
	d, _ := s.evaluate(req, dir, nil)
	return d
}

// Explain decides like Evaluate and also records why: every ACI found on
// the target's path, whether it applied, and how each rule evaluated.
func (s *Set) Explain(req *Request, dir Directory) (Decision, *Explanation) {
	exp := &Explanation{}
	d, _ := s.evaluate(req, dir, exp)
	exp.finish(d)
	return d, exp
}

// notApplicable says why an ACI did not apply to a request.
type notApplicable uint8

const (
	naApplies notApplicable = iota
	naRights
	naTarget
	naScope
	naFilter
	naAttr
	naAttrFilters
	naControl
)

var naText = [...]string{
	naApplies:     "applies",
	naRights:      "its rights do not include the right asked for",
	naTarget:      "its target does not cover the entry",
	naScope:       "its targetscope does not cover the entry",
	naFilter:      "its targetfilter does not match the entry",
	naAttr:        "its targetattr does not cover the attribute",
	naAttrFilters: "its targattrfilters do not allow the values",
	naControl:     "its targetcontrol/extop does not match the request",
}

// asked works out what a request asks for: its subject (an anonymous one
// when nil), the rights an ACI must grant, and the attribute, canonical,
// with whether the engine treats it as operational.
func (s *Set) asked(req *Request) (subj *Subject, need Right, attr string, oper bool) {
	subj = req.Subject
	if subj == nil {
		subj = &Subject{}
	}
	need = neededRights(req, subj)
	if req.Attr != "" {
		attr = canonicalAttr(req.Attr)
		oper = IsOperational(attr) || s.oper[attr]
	}
	return subj, need, attr, oper
}

func (s *Set) evaluate(req *Request, dir Directory, exp *Explanation) (Decision, bool) {
	subj, need, attr, oper := s.asked(req)
	// The state lives in the Subject, which is per request and already on
	// the heap, so evaluation allocates nothing for it.
	st := &subj.scratch
	*st = evalState{req: req, subj: subj, dir: dir, operAttr: oper}
	defer func() { *st = evalState{} }()
	var deny, allow Decision
	denied := false
	visit := func(c *Compiled) bool {
		return s.check(c, st, need, attr, exp, &deny, &allow, &denied)
	}
	for d := req.TargetDN; ; d = ldapfilter.ParentDN(d) {
		for _, c := range s.byDN[d] {
			if visit(c) {
				deny.Incomplete = st.missing
				return deny, true
			}
		}
		if d == "" {
			break
		}
	}
	for _, c := range s.global {
		if visit(c) {
			deny.Incomplete = st.missing
			return deny, true
		}
	}
	if denied {
		deny.Incomplete = st.missing
		return deny, true
	}
	allow.Incomplete = st.missing
	return allow, false
}

// check evaluates one candidate ACI. It returns true when evaluation can
// stop: a deny matched and no explanation is being recorded.
func (s *Set) check(c *Compiled, st *evalState, need Right, attr string, exp *Explanation, deny, allow *Decision, denied *bool) bool {
	var tr *ACITrace
	if exp != nil {
		exp.ACIs = append(exp.ACIs, ACITrace{ACI: c.Text, Name: c.ACI.Name, Location: location(c)})
		tr = &exp.ACIs[len(exp.ACIs)-1]
	}
	if c.rights&need == 0 {
		if tr != nil {
			tr.Status = "not applicable: " + naText[naRights]
		}
		return false
	}
	app, denyApp, why := c.applies(st, attr)
	if app == rFalse && denyApp == rFalse {
		if tr != nil {
			tr.Status = "not applicable: " + naText[why]
		}
		return false
	}
	ruleNeed := need
	if attr != "" && c.governsByTAF(attr) {
		ruleNeed &^= RightSelfWrite // selfwrite does not reach value-filtered attributes
	}
	for i := range c.rules {
		r := &c.rules[i]
		if r.rights&ruleNeed == 0 {
			continue
		}
		if !r.allow && *denied && tr == nil {
			continue
		}
		if r.allow && allow.Allowed && tr == nil {
			continue
		}
		ruleApp := app
		if !r.allow {
			ruleApp = denyApp
		}
		if ruleApp == rFalse {
			continue
		}
		var res result
		if tr != nil {
			res = traceRule(st, tr, ruleApp, i, r)
		} else {
			res = and3(ruleApp, r.bind.eval(st))
		}
		if r.allow {
			if res == rTrue && !allow.Allowed {
				*allow = Decision{Allowed: true, By: c, Rule: i}
				if tr != nil {
					tr.Status = "allows"
				}
			}
			continue
		}
		if res != rFalse {
			if !*denied {
				*deny = Decision{By: c, Rule: i, Undefined: res == rUndefined}
				*denied = true
			}
			if tr != nil {
				tr.Status = "denies"
				continue
			}
			return true
		}
	}
	if tr != nil && tr.Status == "" {
		tr.Status = "applies, but no rule holds"
	}
	return false
}

// traceRule evaluates a rule while recording each condition's result.
func traceRule(st *evalState, tr *ACITrace, app result, i int, r *compiledRule) result {
	var trace []CondTrace
	st.trace = &trace
	res := and3(app, r.bind.eval(st))
	st.trace = nil
	rt := RuleTrace{Rule: i + 1, Allow: r.allow, Result: resultString(res), Conds: trace}
	if app == rUndefined {
		rt.Note = "targets undefined for this entry"
	}
	tr.Rules = append(tr.Rules, rt)
	return res
}

func location(c *Compiled) string {
	if c.Global {
		return "global"
	}
	return c.EntryDN
}

// neededRights is the set of rule rights that can serve the request: the
// right asked for, plus selfwrite when the subject writes its own DN.
func neededRights(req *Request, subj *Subject) Right {
	r := req.Right
	switch r {
	case RightSelfWrite:
		v := req.Value
		if !req.HasValue {
			v = subj.DN
		}
		if subj.DN != "" && sameDN(v, subj.DN) {
			return RightWrite | RightSelfWrite
		}
		return RightWrite
	case RightWrite:
		if req.HasValue && subj.DN != "" && sameDN(req.Value, subj.DN) {
			return RightWrite | RightSelfWrite
		}
	}
	return r
}

// sameDN compares a value with a normalized DN.
func sameDN(v, ndn string) bool {
	if v == ndn {
		return true
	}
	if !strings.Contains(v, "=") {
		return false
	}
	n, err := ldapfilter.NormalizeDN(v)
	return err == nil && n == ndn
}

// applies reports whether c applies to the request for its allow rules
// and for its deny rules, and if not why (for allow). The two differ only
// where targattrfilters judge the values of an entry being added or
// deleted: an allow needs every value to pass, a deny any one. A result is
// undefined when a filter could not be decided: such an ACI can deny but
// never allow.
func (c *Compiled) applies(st *evalState, attr string) (allowApp, denyApp result, why notApplicable) {
	out, why, whole := c.appliesToTarget(st)
	if why != naApplies {
		return rFalse, rFalse, why
	}
	if whole {
		return out, out, naApplies
	}
	req := st.req
	if attr == "" {
		// Entry level: targetattr is not tested; targattrfilters are, on
		// the values of the entry being added or deleted.
		if !c.entryTAF(req, attr) {
			return out, out, naApplies
		}
		items := c.tafAdd
		if req.Right&RightDelete != 0 {
			items = c.tafDel
		}
		allowApp, why = out, naApplies
		if r := c.entryValuesPass(st, items, false); r == rFalse {
			allowApp, why = rFalse, naAttrFilters
		} else {
			allowApp = and3(out, r)
		}
		denyApp = rFalse
		if r := c.entryValuesPass(st, items, true); r != rFalse {
			denyApp = and3(out, r)
		}
		return allowApp, denyApp, why
	}
	if items := c.tafFor(req); items != nil {
		if r, governed := valuePasses(st, items, attr); governed {
			if r == rFalse {
				return rFalse, rFalse, naAttrFilters
			}
			r = and3(out, r)
			return r, r, naApplies
		}
	}
	if !c.coversAttr(attr, st.operAttr) {
		return rFalse, rFalse, naAttr
	}
	return out, out, naApplies
}

// entryTAF reports whether targattrfilters judge this entry-level request.
func (c *Compiled) entryTAF(req *Request, attr string) bool {
	return attr == "" && (req.Right&RightAdd != 0 && c.tafAdd != nil || req.Right&RightDelete != 0 && c.tafDel != nil)
}

// appliesToTarget applies c's targetcontrol, extop, target, targetscope
// and targetfilter to the request. whole says nothing more is tested (a
// request to use a control or extended operation).
func (c *Compiled) appliesToTarget(st *evalState) (out result, why notApplicable, whole bool) {
	req := st.req
	if (c.controls != nil || c.extops != nil) != (req.Control != "" || req.ExtOp != "") {
		return rFalse, naControl, false
	}
	if c.controls != nil && !oidIn(c.controls, req.Control) || c.extops != nil && !oidIn(c.extops, req.ExtOp) {
		return rFalse, naControl, false
	}
	e := req.TargetDN
	base := c.EntryDN
	if c.target != nil {
		if c.targetNeg {
			if c.coveredByTarget(e) {
				return rFalse, naTarget, false
			}
		} else {
			m, ok := c.matchTarget(e)
			if !ok {
				return rFalse, naTarget, false
			}
			base = m
		}
	}
	if !scopeCovers(c.scope, e, base) {
		return rFalse, naScope, false
	}
	if req.Control != "" || req.ExtOp != "" {
		return rTrue, naApplies, true
	}
	out = rTrue
	if c.filter != nil {
		ent, err := st.targetEntry()
		var r result
		switch {
		case err != nil:
			r = rUndefined
		case ent == nil:
			r = rFalse
		case !st.holds(ent, c.filter.Attributes()...):
			r = rUndefined
		default:
			r = c.filter.Match(ent)
		}
		if c.filterNeg {
			r = not3(r)
		}
		if r == rFalse {
			return rFalse, naFilter, false
		}
		out = r
	}
	return out, naApplies, false
}

func oidIn(list []string, oid string) bool {
	for _, o := range list {
		if o == "*" || o == oid {
			return true
		}
	}
	return false
}

// matchTarget returns the DN that the target selects for entry e: the
// literal target, or the nearest ancestor-or-self of e that the pattern
// matches, within the ACI's own subtree.
func (c *Compiled) matchTarget(e string) (string, bool) {
	p := c.target
	if p.rdns == nil {
		if ldapfilter.IsDescendant(e, p.literal) {
			return p.literal, true
		}
		return "", false
	}
	for d := e; ldapfilter.IsDescendant(d, c.EntryDN); d = ldapfilter.ParentDN(d) {
		if p.matches(d) && scopeCovers(c.scope, e, d) {
			return d, true
		}
		if d == "" {
			break
		}
	}
	return "", false
}

// coveredByTarget reports whether e lies in the subtree the target names.
func (c *Compiled) coveredByTarget(e string) bool {
	p := c.target
	if p.rdns == nil {
		return ldapfilter.IsDescendant(e, p.literal)
	}
	for d := e; ldapfilter.IsDescendant(d, c.EntryDN); d = ldapfilter.ParentDN(d) {
		if p.matches(d) {
			return true
		}
		if d == "" {
			break
		}
	}
	return false
}

func scopeCovers(s Scope, e, base string) bool {
	switch s {
	case ScopeBase:
		return e == base
	case ScopeOneLevel:
		return e != base && ldapfilter.ParentDN(e) == base
	case ScopeSubordinate:
		return e != base && ldapfilter.IsDescendant(e, base)
	}
	return ldapfilter.IsDescendant(e, base)
}

// coversAttr applies targetattr: "*" is every user attribute, "+" every
// operational one, and "!=" lists every user attribute not named.
func (c *Compiled) coversAttr(attr string, oper bool) bool {
	if !c.hasAttr {
		return false
	}
	listed := false
	for _, a := range c.attrs {
		if a == attr {
			listed = true
			break
		}
	}
	if c.attrNeg {
		if oper || c.attrAllUser {
			return false
		}
		return !listed
	}
	return listed || c.attrAllUser && !oper || c.attrAllOper && oper
}

// tafFor picks the targattrfilters list that governs a value write.
func (c *Compiled) tafFor(req *Request) []tafItem {
	if req.Right&(RightWrite|RightSelfWrite) == 0 {
		return nil
	}
	if req.DeleteValue {
		return c.tafDel
	}
	return c.tafAdd
}

func (c *Compiled) governsByTAF(attr string) bool {
	for _, it := range c.tafAdd {
		if it.attr == attr {
			return true
		}
	}
	for _, it := range c.tafDel {
		if it.attr == attr {
			return true
		}
	}
	return false
}

// valuePasses tests the written value against the filter for its
// attribute; governed is false when the list does not name the attribute.
func valuePasses(st *evalState, items []tafItem, attr string) (result, bool) {
	for i := range items {
		if items[i].attr != attr {
			continue
		}
		if !st.req.HasValue {
			return rUndefined, true
		}
		return items[i].filter.Match(singleValue{dn: st.req.TargetDN, attr: attr, value: st.req.Value}), true
	}
	return rFalse, false
}

// entryValuesPass tests the values of each listed attribute of the entry
// against its filter: every value must pass (for allow rules), or, with
// anyValue, at least one (for deny rules, so that adding a forbidden value
// beside an innocent one is still denied).
func (c *Compiled) entryValuesPass(st *evalState, items []tafItem, anyValue bool) result {
	e, err := st.targetEntry()
	if err != nil {
		return rUndefined
	}
	if e == nil {
		return rFalse
	}
	out := rTrue
	if anyValue {
		out = rFalse
	}
	for i := range items {
		it := &items[i]
		if !st.holds(e, it.attr) {
			if anyValue {
				out = or3(out, rUndefined)
			} else {
				out = and3(out, rUndefined)
			}
			continue
		}
		for _, v := range e.Values(it.attr) {
			r := it.filter.Match(singleValue{dn: st.req.TargetDN, attr: it.attr, value: v})
			if anyValue {
				out = or3(out, r)
				if out == rTrue {
					return rTrue
				}
				continue
			}
			if r == rFalse {
				return rFalse
			}
			out = and3(out, r)
		}
	}
	return out
}

// singleValue is an entry holding one value of one attribute, for
// targattrfilters.
type singleValue struct{ dn, attr, value string }

func (s singleValue) DN() string { return s.dn }
func (s singleValue) Values(attr string) []string {
	if canonicalAttr(attr) == s.attr {
		return []string{s.value}
	}
	return nil
}
