package scimldap

import (
	"maps"
	"slices"
	"strings"
)

// What a write of a json mapping's attribute needs: the caller's view of
// it is filtered (Reconcile takes out what a typed mapping beside it
// hides), but the attribute is written whole.

// Beside is a typed mapping of a json mapping's attribute (mail beside
// scimEmails) as a read reconciles it with the elements (Reconcile).
type Beside struct {
	Mapping *AttrMapping
	Sub     string // the sub-attribute's schema spelling
	First   bool   // the attribute's first typed mapping: it claims untyped elements
	Vals    []any  // the values its LDAP attribute holds; nil: hidden from the caller
}

// Reconciled returns elements, the elements of a json mapping's
// attribute, as a read shows them once each of beside, in order, is
// reconciled with them; elements is not changed.
func Reconciled(elements []any, beside []Beside) []any {
	const name = "elements"
	c := map[string]any{}
	if len(elements) > 0 {
		c[name] = cloneElements(elements)
	}
	for _, b := range beside {
		Reconcile(c, b.Mapping, name, b.Sub, b.Vals, b.First)
	}
	list, _ := c[name].([]any)
	return list
}

// SameElements reports whether x and y hold the same elements, in any
// order (the values of a multi-valued attribute have none).
func SameElements(x, y []any) bool {
	return len(x) == len(y) && slices.Equal(canonicalSorted(x), canonicalSorted(y))
}

// KeepUnseen puts back into elems, the elements of a json mapping's
// attribute that a caller sends, what the caller could not see of the
// stored ones because a typed mapping of the attribute in hidden is not
// readable to it (Reconcile took it out): each stored element whose value
// such a mapping stores, whole; each other sub-attribute it stores (an
// address's locality) into the element sent for that stored one (see
// matchSeen), where the caller did not set it. A client never erases what
// it was not allowed to read. elems is not changed.
func KeepUnseen(stored, elems []any, hidden, beside []Beside) []any {
	out := cloneElements(elems)
	filled := make([]bool, len(out))
	for _, e := range stored {
		el, ok := e.(map[string]any)
		if !ok {
			continue
		}
		var by []Beside // the hidden mappings that store something of el
		whole := false
		for _, h := range hidden {
			if !Claims(h.Mapping, el, h.First) {
				continue
			}
			if _, v, _ := lookupSub(el, h.Sub); v != nil {
				by = append(by, h)
				whole = whole || strings.EqualFold(h.Sub, "value")
			}
		}
		switch {
		case whole:
			out = append(out, maps.Clone(el))
		case len(by) > 0:
			if i := matchSeen(out, filled, el, by, beside); i >= 0 {
				m := out[i].(map[string]any)
				for _, h := range by {
					if _, v, _ := lookupSub(m, h.Sub); v == nil {
						k, v, _ := lookupSub(el, h.Sub)
						m[k] = v
					}
				}
				filled[i] = true
			}
		}
	}
	return out
}

// matchSeen finds in out the element, not yet filled, that the caller
// sent for el, which it saw without what the mappings by store: first
// one equal to that view; else one that agrees with it in what no typed
// mapping stores (the caller changed a street it could see); else, as a
// read would place the hidden value (Reconcile), the first one by
// claims that lacks it. -1 when there is none.
func matchSeen(out []any, filled []bool, el map[string]any, by, beside []Beside) int {
	seen := maps.Clone(el)
	for _, h := range by {
		k, _, _ := lookupSub(seen, h.Sub)
		delete(seen, k)
	}
	want, _ := encodeJSON(seen)
	rest := untyped(el, beside)
	lacks := func(m map[string]any) bool {
		for _, h := range by {
			if _, v, _ := lookupSub(m, h.Sub); v != nil || !Claims(h.Mapping, m, h.First) {
				return false
			}
		}
		return true
	}
	for pass := 0; pass < 3; pass++ {
		for i, n := range out {
			m, ok := n.(map[string]any)
			if !ok || filled[i] {
				continue
			}
			switch pass {
			case 0:
				if s, _ := encodeJSON(m); s == want {
					return i
				}
			case 1:
				if untyped(m, beside) == rest {
					return i
				}
			default:
				if lacks(m) {
					return i
				}
			}
		}
	}
	return -1
}

// untyped is el in canonical JSON without the sub-attributes the typed
// mappings beside store of it.
func untyped(el map[string]any, beside []Beside) string {
	c := maps.Clone(el)
	for _, b := range beside {
		if Claims(b.Mapping, el, b.First) {
			k, _, _ := lookupSub(c, b.Sub)
			delete(c, k)
		}
	}
	s, _ := encodeJSON(c)
	return s
}

// cloneElements copies a list of elements and each element's map (the
// values inside are shared: Reconcile and KeepUnseen set and delete
// sub-attributes, never change their values).
func cloneElements(list []any) []any {
	out := make([]any, len(list))
	for i, e := range list {
		if m, ok := e.(map[string]any); ok {
			e = maps.Clone(m)
		}
		out[i] = e
	}
	return out
}

// canonicalSorted is list in canonical JSON, sorted.
func canonicalSorted(list []any) []string {
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, _ := encodeJSON(e)
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
