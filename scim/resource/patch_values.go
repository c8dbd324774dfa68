package resource

import (
	"maps"
	"slices"
	"strings"

	"github.com/elimity-com/scim/schema"
)

// mergeComplex merges the sub-attributes of raw into the complex value
// cur: null or "" sub-attributes clear, others are set.
func mergeComplex(def schema.CoreAttribute, cur any, raw map[string]any, path string) (map[string]any, error) {
	out, _ := deepCopy(cur).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	// "value" first: changing it drops the sub-attributes derived from
	// it, which raw may then set anew.
	keys := slices.SortedFunc(maps.Keys(raw), func(a, b string) int {
		av, bv := strings.EqualFold(a, "value"), strings.EqualFold(b, "value")
		if av != bv {
			if av {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys {
		sub, ok := def.SubAttributes().ContainsAttribute(k)
		if !ok {
			return nil, unstored(path + "." + k)
		}
		if sub.Mutability() == "readOnly" {
			continue
		}
		val, err := coerceAttr(sub, raw[k], path+"."+sub.Name(), true)
		if err != nil {
			return nil, err
		}
		setSub(def, out, sub, val)
	}
	return out, nil
}

// appendValues appends add to list, merging a value into an equal existing
// one instead of duplicating it; it returns the indexes touched.
func appendValues(def schema.CoreAttribute, list, add []any) ([]any, []int) {
	var touched []int
	for _, e := range add {
		i := indexEqual(def, list, e)
		switch {
		case i < 0:
			list = append(list, e)
			touched = append(touched, len(list)-1)
		default:
			if have, ok := list[i].(map[string]any); ok {
				if nm, ok := e.(map[string]any); ok {
					for k, v := range nm {
						have[k] = v
					}
				}
			}
			touched = append(touched, i)
		}
	}
	return list, touched
}

// indexEqual returns the index of the value of list equal to e, or -1:
// complex values with a "value" sub-attribute compare by it, other values
// as a whole.
func indexEqual(def schema.CoreAttribute, list []any, e any) int {
	for i, x := range list {
		if valueEqual(def, x, e) {
			return i
		}
	}
	return -1
}

func valueEqual(def schema.CoreAttribute, a, b any) bool {
	if !def.HasSubAttributes() {
		return scalarEqual(def, a, b)
	}
	am, ok1 := a.(map[string]any)
	bm, ok2 := b.(map[string]any)
	if !ok1 || !ok2 {
		return false
	}
	if vs, ok := def.SubAttributes().ContainsAttribute("value"); ok {
		_, av, ok1 := lookupKey(am, "value")
		_, bv, ok2 := lookupKey(bm, "value")
		if ok1 && ok2 {
			return scalarEqual(vs, av, bv)
		}
	}
	if len(am) != len(bm) {
		return false
	}
	for _, s := range def.SubAttributes() {
		_, av, ok1 := lookupKey(am, s.Name())
		_, bv, ok2 := lookupKey(bm, s.Name())
		if ok1 != ok2 || (ok1 && !scalarEqual(s, av, bv)) {
			return false
		}
	}
	return true
}

func scalarEqual(def schema.CoreAttribute, a, b any) bool {
	c, ok, _ := compareScalar(def, a, b)
	return ok && c == 0
}

// fixPrimary keeps primary true on at most one value (RFC 7643 §2.4): the
// last of prefer that has it, else the first that has it.
func fixPrimary(def schema.CoreAttribute, list []any, prefer []int) []any {
	if _, ok := def.SubAttributes().ContainsAttribute("primary"); !ok {
		return list
	}
	isPrimary := func(i int) bool {
		m, _ := list[i].(map[string]any)
		_, v, _ := lookupKey(m, "primary")
		b, _ := v.(bool)
		return b
	}
	keep := -1
	for _, i := range prefer {
		if i < len(list) && isPrimary(i) {
			keep = i
		}
	}
	for i := range list {
		if keep < 0 && isPrimary(i) {
			keep = i
		}
		if i != keep && isPrimary(i) {
			m := list[i].(map[string]any)
			k, _, _ := lookupKey(m, "primary")
			m[k] = false
		}
	}
	return list
}

// asList returns a copy of a multi-valued attribute's values.
func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return deepCopy(x).([]any)
	}
	return []any{deepCopy(v)}
}

// dropEmpty removes empty values from a list.
func dropEmpty(list []any) []any {
	out := list[:0]
	for _, e := range list {
		if !isEmptyValue(e) {
			out = append(out, e)
		}
	}
	return out
}
