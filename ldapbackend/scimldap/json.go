package scimldap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/scim/resource"
)

// A json mapping stores each element of a multi-valued complex attribute
// as one LDAP value holding the element as a JSON object, encoded
// canonically (keys sorted, no insignificant space, no HTML escaping) so
// that one element always has one spelling: the filter translation
// relies on it (jsonFilter), and so does the diff of a write.

// encodeJSON writes v canonically.
func encodeJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// jsonElement is FromSCIMValue for KindJSON: one element, an object.
func jsonElement(a *AttrMapping, v any) (string, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return "", resource.InvalidValue("each value of %s must be an object", a.SCIM)
	}
	s, err := encodeJSON(m)
	if err != nil {
		return "", resource.InvalidValue("%s: %v", a.SCIM, err)
	}
	return s, nil
}

// decodeElement is ToSCIMValue for KindJSON. A value that is not a JSON
// object (written by another LDAP client) is left out.
func decodeElement(v string) (any, bool) {
	var m map[string]any
	if err := json.Unmarshal([]byte(v), &m); err != nil || len(m) == 0 {
		return nil, false
	}
	return m, true
}

// Claims reports whether a, a mapping of one sub-attribute of a
// multi-valued complex attribute, stores that sub-attribute of element
// el: el has a's type, or (first, for the attribute's first such mapping)
// no type at all. A mapping without a type selector claims every element.
func Claims(a *AttrMapping, el map[string]any, first bool) bool {
	if a.TypeEq == "" {
		return true
	}
	typ, ok := GetCI(el, "type")
	if !ok || typ == nil {
		return first
	}
	s, _ := typ.(string)
	return strings.EqualFold(s, a.TypeEq)
}

// Reconcile is SetSCIMValues for a mapping whose attribute also has a
// json mapping, rendered before it into c[name]. a's LDAP attribute is
// authoritative for the elements a claims: a claimed element keeps its
// sub-attribute, with a's spelling, when a holds that value (compared as
// the directory compares, FoldSpaceCase; one value serves every element
// that carries it: two work addresses in one town share one value of l).
// A value a no longer holds (changed by another LDAP client or by a
// caller allowed to write a's attribute only, or unreadable to the
// caller: vals is then empty) gives way, in order, to a value of a that
// no element carries,
// so the element keeps its other sub-attributes; with none left to take
// its place it is taken out: the whole element when the sub-attribute is
// "value", the sub-attribute alone otherwise (an address without its
// street). A value of a still left goes into a claimed element that
// lacks the sub-attribute, or else becomes an element of its own.
func Reconcile(c map[string]any, a *AttrMapping, name, sub string, vals []any, first bool) {
	list, _ := c[name].([]any)
	// left holds the values no element carries: nil where one does.
	left := slices.Clone(vals)
	take := func(v any) (any, bool) {
		for pass := 0; pass < 2; pass++ {
			for i, w := range vals {
				ws, wok := w.(string)
				vs, vok := v.(string)
				if w == v || pass == 1 && wok && vok && FoldSpaceCase(ws) == FoldSpaceCase(vs) {
					left[i] = nil
					return w, true
				}
			}
		}
		return nil, false
	}
	out := list[:0:0]
	var orphans []int // indexes in out of claimed elements whose value a lost
	for _, e := range list {
		el, ok := e.(map[string]any)
		if !ok || !Claims(a, el, first) {
			out = append(out, e)
			continue
		}
		k, v, _ := lookupSub(el, sub)
		if v == nil {
			out = append(out, e) // claimed, but a does not store what it has
			continue
		}
		if w, ok := take(v); ok {
			el[k] = w
		} else {
			orphans = append(orphans, len(out))
		}
		out = append(out, el)
	}
	drop := map[int]bool{}
	for _, i := range orphans {
		el := out[i].(map[string]any)
		k, _, _ := lookupSub(el, sub)
		j := slices.IndexFunc(left, func(v any) bool { return v != nil })
		switch {
		case j >= 0:
			el[k], left[j] = left[j], nil
		case strings.EqualFold(sub, "value"):
			drop[i] = true
		default:
			delete(el, k)
		}
	}
	if len(drop) > 0 {
		kept := out[:0]
		for i, e := range out {
			if !drop[i] {
				kept = append(kept, e)
			}
		}
		out = kept
	}
	for _, v := range left {
		if v == nil {
			continue
		}
		placed := false
		if !strings.EqualFold(sub, "value") {
			for _, e := range out {
				if el, ok := e.(map[string]any); ok && Claims(a, el, first) {
					if k, has, _ := lookupSub(el, sub); has == nil {
						el[k], placed = v, true
						break
					}
				}
			}
		}
		if !placed {
			el := map[string]any{sub: v}
			if a.TypeEq != "" {
				el["type"] = a.TypeEq
			}
			out = append(out, el)
		}
	}
	if len(out) == 0 {
		delete(c, name)
		return
	}
	c[name] = out
}

// Unclaimed returns 400 invalidValue for an element of a multi-valued
// complex attribute that no mapping would store: without a json mapping
// of the attribute, an element whose type no mapping selects (a "home"
// email when only work emails are mapped) would be dropped.
func (m *TypeMapping) Unclaimed(attrs map[string]any) error {
	byAttr := map[string][]*AttrMapping{}
	var order []string
	for _, a := range m.Attrs {
		if a.Sub == "" && a.TypeEq == "" && a.Kind != KindJSON || a.ReadOnly {
			continue
		}
		k := strings.ToLower(a.URN) + "|" + a.Attr
		if _, ok := byAttr[k]; !ok {
			order = append(order, k)
		}
		byAttr[k] = append(byAttr[k], a)
	}
	for _, k := range order {
		maps := byAttr[k]
		if slices.ContainsFunc(maps, func(a *AttrMapping) bool { return a.Kind == KindJSON }) {
			continue
		}
		c := Container(attrs, maps[0], false)
		if c == nil {
			continue
		}
		_, v, _ := lookupSub(c, maps[0].Attr)
		list, _ := v.([]any)
		for _, e := range list {
			el, ok := e.(map[string]any)
			if !ok {
				continue
			}
			claimed := false
			for i, a := range maps {
				if Claims(a, el, i == 0) {
					claimed = true
					break
				}
			}
			if !claimed {
				typ, _ := GetCI(el, "type")
				return resource.InvalidValue("%s of type %v are not stored by this server (see /Schemas)", maps[0].Attr, typ)
			}
		}
	}
	return nil
}

// jsonSub is what a json mapping stores of each sub-attribute: its
// schema spelling, its type, and whether its values compare exactly.
type jsonSub struct {
	Name      string
	Type      string // string, boolean, reference, binary...
	CaseExact bool
}

// describeJSON names a json mapping's storage in messages.
func describeJSON(a *AttrMapping) string {
	return fmt.Sprintf("%s (stored as JSON in %s)", a.SCIM, a.LDAP)
}

// jsonFilter translates a value filter (nil: the attribute is present)
// over a json mapping. Each LDAP value is one element, so a substring
// filter whose components are `"key":value` pieces, in the order the
// canonical encoding sorts keys, matches exactly the entries with one
// element that has all of them: a key's quotes cannot occur unescaped
// inside a string. That serves eq (whole JSON value: the closing quote
// ends it), sw (a string value without its closing quote) and pr, joined
// by and; or joins such filters. The sub-attribute whose key sorts last
// ("value", where there is one) also serves co and ew: nothing but its
// own string follows it in the element, so the element's closing `"}`
// ends the filter and a needle must lie before it. (A needle can still meet the
// letters of an escape, n in "\n", in a value holding a character JSON
// escapes.) What this cannot express exactly (co and ew elsewhere, ne,
// ordering, not, and over or, and a case-exact sub-attribute, since the
// attribute's substring rule ignores case) is 400 invalidFilter rather
// than an approximate answer.
func (tr *filterTranslator) jsonFilter(a *AttrMapping, vf filter.Expression, text string) (fpart, error) {
	if vf == nil {
		return withAttr(fLeaf(ldapfilter.Present{Attr: a.LDAP}), a.LDAP), nil
	}
	if x, ok := vf.(*filter.LogicalExpression); ok && strings.EqualFold(string(x.Operator), "or") {
		l, err := tr.jsonFilter(a, x.Left, text)
		if err != nil {
			return fpart{}, err
		}
		r, err := tr.jsonFilter(a, x.Right, text)
		if err != nil {
			return fpart{}, err
		}
		return fOr(l, r), nil
	}
	conj, err := andTerms(vf, a, text)
	if err != nil {
		return fpart{}, err
	}
	type piece struct{ key, s string }
	var pieces []piece
	final := ""
	last := ""
	for _, s := range a.subs {
		if s.Name > last {
			last = s.Name
		}
	}
	for _, x := range conj {
		ap := x.AttributePath
		full := text + "." + ap.AttributeName
		if ap.URIPrefix != nil || ap.SubAttribute != nil {
			return fpart{}, resource.InvalidFilter("%q inside the value filter of %q: name a sub-attribute", ap.String(), text)
		}
		sub, ok := a.subs[strings.ToLower(ap.AttributeName)]
		if !ok {
			return fpart{}, resource.InvalidFilter("unknown attribute %q", full)
		}
		for _, p := range pieces {
			if p.key == sub.Name {
				return fpart{}, resource.InvalidFilter("%q is tested twice in one value filter of %s", full, describeJSON(a))
			}
		}
		key, _ := encodeJSON(sub.Name)
		op := filter.CompareOperator(strings.ToLower(string(x.Operator)))
		var s string
		switch {
		case op == filter.PR:
			s = key + ":"
		case op != filter.EQ && op != filter.SW && !((op == filter.CO || op == filter.EW) && sub.Name == last):
			return fpart{}, resource.InvalidFilter("%q: %s can be filtered with eq, sw and pr only (co and ew on %s), not %s", full, describeJSON(a), last, op)
		case sub.CaseExact:
			return fpart{}, resource.InvalidFilter("%q is case-exact and %s compares without case: it can be filtered with pr only", full, describeJSON(a))
		case sub.Type == "boolean":
			b, ok := x.CompareValue.(bool)
			if !ok || op != filter.EQ {
				return fpart{}, resource.InvalidFilter("%q is a boolean: compare it with eq true or eq false", full)
			}
			s = key + ":" + strconv.FormatBool(b)
		default:
			v, ok := x.CompareValue.(string)
			if !ok {
				return fpart{}, resource.InvalidFilter("%q is a string: compare it with a string", full)
			}
			enc, err := encodeJSON(v)
			if err != nil {
				return fpart{}, resource.InvalidFilter("%q: %v", full, err)
			}
			enc = strings.TrimSuffix(strings.TrimPrefix(enc, `"`), `"`)
			switch op {
			case filter.EQ:
				s = key + `:"` + enc + `"`
			case filter.SW:
				s = key + `:"` + enc
			case filter.CO:
				// The needle lies inside the value's string: without the
				// final quote and brace, "}" would meet the element's end.
				pieces = append(pieces, piece{sub.Name, key + `:"`})
				final, s = `"}`, enc
			case filter.EW:
				pieces = append(pieces, piece{sub.Name, key + `:"`})
				final, s = enc+`"}`, ""
			}
		}
		if s != "" {
			pieces = append(pieces, piece{sub.Name, s})
		}
	}
	slices.SortStableFunc(pieces, func(x, y piece) int { return strings.Compare(x.key, y.key) })
	sf := ldapfilter.Substrings{Attr: a.LDAP, Final: final}
	for _, p := range pieces {
		sf.Any = append(sf.Any, p.s)
	}
	return withAttr(fLeaf(sf), a.LDAP), nil
}

// pinnedToTyped reports whether the value filter vf is an and of
// comparisons that selects one type (type eq "work") that typed mappings
// of maps store, and otherwise compares only sub-attributes those
// mappings store.
func pinnedToTyped(vf filter.Expression, maps []*AttrMapping) bool {
	if vf == nil {
		return false
	}
	conj, bad := resource.AndTerms(vf)
	if bad != nil || slices.ContainsFunc(conj, func(x *filter.AttributeExpression) bool {
		return x.AttributePath.URIPrefix != nil || x.AttributePath.SubAttribute != nil
	}) {
		return false
	}
	typ := ""
	for _, x := range conj {
		if strings.EqualFold(x.AttributePath.AttributeName, "type") {
			s, ok := x.CompareValue.(string)
			if !ok || !strings.EqualFold(string(x.Operator), "eq") || typ != "" && !strings.EqualFold(typ, s) {
				return false
			}
			typ = strings.ToLower(s)
		}
	}
	if typ == "" {
		return false
	}
	for _, x := range conj {
		sub := strings.ToLower(x.AttributePath.AttributeName)
		if sub == "type" {
			continue
		}
		if !slices.ContainsFunc(maps, func(a *AttrMapping) bool {
			return a.TypeEq == typ && mappingSub(a) == sub && a.Kind != KindReference && !a.WriteOnly
		}) {
			return false
		}
	}
	return slices.ContainsFunc(maps, func(a *AttrMapping) bool { return a.TypeEq == typ })
}

// andTerms collects the comparisons of a value filter made of and
// (resource.AndTerms), or says why it is not one.
func andTerms(e filter.Expression, a *AttrMapping, text string) ([]*filter.AttributeExpression, error) {
	conj, bad := resource.AndTerms(e)
	switch bad.(type) {
	case nil:
		return conj, nil
	case *filter.LogicalExpression:
		return nil, resource.InvalidFilter("in a value filter of %s, or can join and-ed comparisons but not be inside them", describeJSON(a))
	case *filter.NotExpression:
		return nil, resource.InvalidFilter("not cannot be used inside a value filter of %s", describeJSON(a))
	}
	return nil, resource.InvalidFilter("%q: unsupported value filter over %s", text, describeJSON(a))
}

// FoldSpaceCase approximates how caseIgnoreMatch compares two values:
// without case, leading and trailing spaces, and with runs of spaces as
// one.
func FoldSpaceCase(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}
