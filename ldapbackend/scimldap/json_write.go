package scimldap

import (
	"maps"
	"slices"
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

// cloneElements copies a list of elements and each element's map (the
// values inside are shared: Reconcile sets and deletes sub-attributes,
// never changes their values).
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
