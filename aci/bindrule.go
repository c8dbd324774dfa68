package aci

import (
	"fmt"

	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// result is a three-valued (Kleene) truth value.
type result = ldapfilter.Result

const (
	rFalse     = ldapfilter.False
	rTrue      = ldapfilter.True
	rUndefined = ldapfilter.Undefined
)

func and3(a, b result) result {
	if a == rFalse || b == rFalse {
		return rFalse
	}
	if a == rUndefined || b == rUndefined {
		return rUndefined
	}
	return rTrue
}

func or3(a, b result) result {
	if a == rTrue || b == rTrue {
		return rTrue
	}
	if a == rUndefined || b == rUndefined {
		return rUndefined
	}
	return rFalse
}

func not3(a result) result {
	switch a {
	case rTrue:
		return rFalse
	case rFalse:
		return rTrue
	}
	return rUndefined
}

func resultString(r result) string {
	switch r {
	case rTrue:
		return "true"
	case rFalse:
		return "false"
	}
	return "undefined"
}

// evalState is what a bind rule sees during one check.
type evalState struct {
	req      *Request
	subj     *Subject
	dir      Directory
	trace    *[]CondTrace // non-nil when explaining
	operAttr bool         // the request's attribute counts as operational
	// missing is the first attribute a rule needed of an entry that did
	// not hold it (see ldapfilter.PartialEntry); the rule was undefined.
	missing string
}

// holds reports whether e holds every one of attrs (ldapfilter.Lacks). An
// entry that lacks one makes the rule that reads it undefined, which never
// grants and, in a deny, denies; the decision reports it (Incomplete).
func (st *evalState) holds(e Entry, attrs ...string) bool {
	a := ldapfilter.Lacks(e, attrs)
	if a == "" {
		return true
	}
	if st.missing == "" {
		st.missing = a
	}
	return false
}

// CondTrace records the result of one condition, for explanations.
type CondTrace struct {
	Cond   string `json:"cond"`
	Result string `json:"result"`
	Note   string `json:"note,omitempty"`
}

// node is a compiled bind rule.
type node interface {
	eval(st *evalState) result
}

type andNode struct{ l, r node }
type orNode struct{ l, r node }
type notNode struct{ n node }

// and and or evaluate both sides only when the first does not decide, so a
// costly lookup on the right is skipped when the left is already false
// (and) or true (or).
func (n *andNode) eval(st *evalState) result {
	l := n.l.eval(st)
	if l == rFalse && st.trace == nil {
		return rFalse
	}
	return and3(l, n.r.eval(st))
}

func (n *orNode) eval(st *evalState) result {
	l := n.l.eval(st)
	if l == rTrue && st.trace == nil {
		return rTrue
	}
	return or3(l, n.r.eval(st))
}

func (n *notNode) eval(st *evalState) result { return not3(n.n.eval(st)) }

// leaf wraps a condition evaluator with its negation and source text.
type leaf struct {
	neg  bool
	src  *Cond
	cond condEval
}

// condEval evaluates a condition's value list (before "!=" negation); note
// explains the result for traces and may return "".
type condEval interface {
	eval(st *evalState) result
	note(st *evalState) string
}

func (l *leaf) eval(st *evalState) result {
	r := l.cond.eval(st)
	if l.neg {
		r = not3(r)
	}
	if st.trace != nil {
		*st.trace = append(*st.trace, CondTrace{Cond: l.src.String(), Result: resultString(r), Note: l.cond.note(st)})
	}
	return r
}

func compileBind(b BindRule) (node, error) {
	switch b := b.(type) {
	case *And:
		l, err := compileBind(b.Left)
		if err != nil {
			return nil, err
		}
		r, err := compileBind(b.Right)
		if err != nil {
			return nil, err
		}
		return &andNode{l, r}, nil
	case *Or:
		l, err := compileBind(b.Left)
		if err != nil {
			return nil, err
		}
		r, err := compileBind(b.Right)
		if err != nil {
			return nil, err
		}
		return &orNode{l, r}, nil
	case *Not:
		n, err := compileBind(b.Rule)
		if err != nil {
			return nil, err
		}
		return &notNode{n}, nil
	case *Cond:
		c, err := compileCond(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Pos, err)
		}
		return &leaf{neg: b.Op == OpNe, src: b, cond: c}, nil
	}
	return nil, fmt.Errorf("unknown bind rule node %T", b)
}

func compileCond(c *Cond) (condEval, error) {
	switch c.Keyword {
	case KwUserDN:
		return compileUserDN(c.Values)
	case KwGroupDN:
		return compileGroupDN(c.Values)
	case KwUserAttr:
		return compileUserAttr(c.Values[0])
	case KwAuthMethod:
		return authMethodCond(c.Values[0]), nil
	case KwIP:
		return compileIP(c.Values)
	case KwDNS:
		return dnsCond(c.Values), nil
	case KwTimeOfDay:
		return compileTimeOfDay(c.Op, c.Values[0])
	case KwDayOfWeek:
		return compileDayOfWeek(c.Values)
	case KwSecure:
		return secureCond(c.Values[0] == "true"), nil
	case KwOAuthScope:
		return compileScope(c.Values), nil
	}
	return nil, fmt.Errorf("unknown keyword %v", c.Keyword)
}

// checkCondValue validates one item of a condition's value and returns it
// in canonical spelling, or a message saying what is wrong.
func checkCondValue(k BindKeyword, v string) (string, string) {
	if v == "" {
		return "", fmt.Sprintf("empty value in %s", k)
	}
	var err error
	switch k {
	case KwUserDN:
		_, err = parseUserDNItem(v)
	case KwGroupDN:
		_, err = parseGroupDN(v)
	case KwUserAttr:
		return canonUserAttr(v)
	case KwAuthMethod:
		return canonAuthMethod(v)
	case KwIP:
		_, err = parseIPItem(v)
	case KwDNS:
		return canonDNS(v)
	case KwTimeOfDay:
		_, err = parseHHMM(v)
	case KwDayOfWeek:
		return canonDay(v)
	case KwSecure:
		return canonBool(v)
	case KwOAuthScope:
		return v, checkScopePattern(v)
	}
	if err != nil {
		return "", err.Error()
	}
	return v, ""
}
