package aci

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// Compiled is an ACI ready for evaluation, bound to the entry that holds it
// (or marked global). Compiling resolves every DN, pattern, filter and
// address once, so evaluation never looks at source text.
type Compiled struct {
	ACI     *ACI
	Text    string // canonical text
	EntryDN string // normalized DN of the entry holding the ACI; "" when global
	Global  bool
	Index   int // position among the entry's aci values, or among the global ACIs

	rights Right // union of the rules' rights

	target    *dnPattern // nil when there is no target
	targetNeg bool
	scope     Scope

	hasAttr     bool
	attrNeg     bool
	attrAllUser bool
	attrAllOper bool
	attrs       []string // canonical names

	filter    *ldapfilter.Compiled
	filterNeg bool

	tafAdd, tafDel []tafItem // targattrfilters

	controls, extops []string // nil when absent; "*" matches any

	rules []compiledRule

	ref string // Ref: audit lines name the ACI on every request
}

type tafItem struct {
	attr   string // canonical
	filter *ldapfilter.Compiled
}

type compiledRule struct {
	allow  bool
	rights Right
	bind   node
}

// Ref names the ACI for logs and explanations: its name and where it lives.
func (c *Compiled) Ref() string { return c.ref }

// setRef works out Ref once EntryDN, Global and Index are known.
func (c *Compiled) setRef() {
	if c.Global {
		c.ref = fmt.Sprintf("global ACI %d %q", c.Index+1, c.ACI.Name)
	} else {
		c.ref = fmt.Sprintf("ACI %q on %s", c.ACI.Name, c.EntryDN)
	}
}

// Name is the ACI's name.
func (c *Compiled) Name() string { return c.ACI.Name }

// Compile binds a parsed ACI to the normalized DN of the entry holding it.
// global marks an ACI from configuration, which applies everywhere. A
// target outside the entry's subtree is an error, as in every product.
func Compile(a *ACI, entryDN string, global bool) (*Compiled, error) {
	c := &Compiled{ACI: a, Text: a.String(), EntryDN: entryDN, Global: global}
	if global {
		c.EntryDN = ""
	}
	for _, t := range a.Targets {
		if err := c.compileTarget(t); err != nil {
			return nil, fmt.Errorf("%s: %w", t.Pos, err)
		}
	}
	for _, r := range a.Rules {
		n, err := compileBind(r.Bind)
		if err != nil {
			return nil, err
		}
		c.rules = append(c.rules, compiledRule{allow: r.Allow, rights: r.Rights, bind: n})
		c.rights |= r.Rights
	}
	c.setRef()
	return c, nil
}

func (c *Compiled) compileTarget(t *Target) error {
	neg := t.Op == OpNe
	switch t.Keyword {
	case KwTarget:
		p, err := parseDNPattern(t.DN)
		if err != nil {
			return err
		}
		if p.rdns == nil && !ldapfilter.IsDescendant(p.literal, c.EntryDN) {
			return fmt.Errorf("target %q is not within the subtree of the entry holding the ACI (%s)", t.DN, c.EntryDN)
		}
		c.target, c.targetNeg = p, neg
	case KwTargetAttr:
		c.hasAttr, c.attrNeg = true, neg
		for _, a := range t.Attrs {
			switch a {
			case "*":
				c.attrAllUser = true
			case "+":
				c.attrAllOper = true
			default:
				c.attrs = append(c.attrs, canonicalAttr(a))
			}
		}
	case KwTargetFilter:
		c.filter, c.filterNeg = ldapfilter.Compile(t.Filter), neg
	case KwTargAttrFilters:
		for _, l := range t.AttrFilters {
			for _, f := range l.Filters {
				it := tafItem{attr: canonicalAttr(f.Attr), filter: ldapfilter.Compile(f.Filter)}
				if l.Add {
					c.tafAdd = append(c.tafAdd, it)
				} else {
					c.tafDel = append(c.tafDel, it)
				}
			}
		}
	case KwTargetScope:
		c.scope = t.Scope
	case KwTargetControl:
		c.controls = t.OIDs
	case KwExtOp:
		c.extops = t.OIDs
	default:
		return errors.New("unknown target keyword " + strconv.Itoa(int(t.Keyword)))
	}
	return nil
}

func hasKeyword(b BindRule, k BindKeyword) bool {
	switch b := b.(type) {
	case *And:
		return hasKeyword(b.Left, k) || hasKeyword(b.Right, k)
	case *Or:
		return hasKeyword(b.Left, k) || hasKeyword(b.Right, k)
	case *Not:
		return hasKeyword(b.Rule, k)
	case *Cond:
		return b.Keyword == k
	}
	return false
}

// entryAttributes lists the target-entry attributes the ACI reads.
func (c *Compiled) entryAttributes() []string {
	var out []string
	for _, t := range c.ACI.Targets {
		switch t.Keyword {
		case KwTargetFilter:
			out = append(out, ldapfilter.Attributes(t.Filter)...)
		case KwTargAttrFilters:
			for _, l := range t.AttrFilters {
				for _, f := range l.Filters {
					out = append(out, strings.ToLower(f.Attr))
				}
			}
		}
	}
	for _, r := range c.ACI.Rules {
		walkConds(r.Bind, func(cd *Cond) {
			if cd.Keyword == KwUserAttr {
				if ua, err := parseUserAttr(cd.Values[0]); err == nil {
					out = append(out, ua.attr)
				}
			}
		})
	}
	return out
}

func walkConds(b BindRule, f func(*Cond)) {
	switch b := b.(type) {
	case *And:
		walkConds(b.Left, f)
		walkConds(b.Right, f)
	case *Or:
		walkConds(b.Left, f)
		walkConds(b.Right, f)
	case *Not:
		walkConds(b.Rule, f)
	case *Cond:
		f(b)
	}
}
