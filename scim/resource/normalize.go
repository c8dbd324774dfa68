package resource

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/elimity-com/scim/schema"
)

// Normalize validates a POST or PUT body against t's schema and
// extensions and returns it in canonical shape: core attributes under
// their schema spelling, each extension's attributes in a map under the
// extension's URN (spelled as in its schema), values of the attribute's
// JSON type (int64 for integers, float64 for decimals). It is
// NormalizeReport without the list of ignored names.
func Normalize(attrs map[string]any, t *Type, forCreate bool) (map[string]any, error) {
	out, _, err := NormalizeReport(attrs, t, forCreate)
	return out, err
}

// NormalizeReport is Normalize that also returns the names it ignored
// because no schema of t defines them (Entra sends attributes of schemas
// we do not serve), sorted, for logging.
//
// The rules:
//   - attribute and sub-attribute names match case-insensitively;
//   - extension attributes may come nested ({"urn:...:User": {"department":
//     "x"}}) or flat ("urn:...:User:department": "x"), and core attributes
//     may carry the core URN as a prefix;
//   - "schemas", "id" and "meta" are dropped unread, and readOnly
//     attributes and sub-attributes (groups, manager.displayName) are
//     dropped once their type is checked: the backend owns them, and
//     clients echo them;
//   - values must have the attribute's type; nothing is dropped or
//     converted to fit, except what Okta and Entra send: "True" and
//     "False" (any case) for booleans, a list of one value for a
//     single-valued attribute, {"value": x} for a simple one, a bare
//     string for a single-valued complex attribute with a "value"
//     sub-attribute (Entra's manager: {"value": s}), and one value of a
//     multi-valued attribute given alone (a list of one). Numbers in
//     strings, a string where a list of objects belongs ("emails":
//     "a@b.c" says neither type nor primary), [] for a single-valued
//     attribute and {} for a multi-valued one or inside its list are 400
//     invalidValue, as is any other mismatch;
//   - null and "" mean "no value", as do [] for a multi-valued attribute
//     and {} for a single-valued complex one. With forCreate they are
//     dropped; otherwise (PUT) the attribute is kept with an explicit nil
//     value, and an extension given as null is kept as a nil map, so that
//     the backend can tell "clear this" from "not mine to touch";
//   - names under a schema t does not serve ("urn:...:CustomExtension:x")
//     are ignored, with their values unread (Entra sends attributes of
//     schemas we do not serve); any other name that no schema of t
//     defines, attribute or sub-attribute, is 400 invalidValue: t's
//     schemas say what is stored, and a value nothing stores is refused
//     rather than dropped;
//   - at most one value of a multi-valued attribute is primary;
//   - required attributes (schema Required, and Required extensions) must
//     have a value, on create and on replace, else 400 invalidValue.
//
// The schemas member itself is checked by DecodeResource (CheckSchemas).
func NormalizeReport(attrs map[string]any, t *Type, forCreate bool) (map[string]any, []string, error) {
	n := normalizer{t: t, out: map[string]any{}}
	for _, key := range slices.Sorted(maps.Keys(attrs)) {
		if err := n.topLevel(key, attrs[key]); err != nil {
			return nil, nil, err
		}
	}
	if forCreate {
		dropNils(n.out)
	}
	if err := checkRequired(t, n.out); err != nil {
		return nil, nil, err
	}
	slices.Sort(n.ignored)
	return n.out, slices.Compact(n.ignored), nil
}

type normalizer struct {
	t       *Type
	out     map[string]any
	ignored []string
}

func (n *normalizer) topLevel(key string, v any) error {
	if strings.EqualFold(key, "schemas") {
		return nil
	}
	ref, ok := resolveKey(n.t, key, false)
	if !ok {
		if n.t.served(key) {
			return unstored(key)
		}
		n.ignored = append(n.ignored, key)
		return nil
	}
	if ref.whole {
		return n.wholeSchema(key, ref.urn, v)
	}
	return n.put(ref, key, v)
}

// wholeSchema takes the nested object of one schema: an extension, or
// (rarely) the core schema under its URN.
func (n *normalizer) wholeSchema(key, urn string, v any) error {
	if v == nil {
		if urn != "" {
			if _, exists := n.out[urn]; !exists {
				n.out[urn] = nil
			}
		}
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return InvalidValue("%q must be an object, not %s", key, describeValue(v))
	}
	if urn != "" {
		if _, ok := n.out[urn].(map[string]any); !ok {
			n.out[urn] = map[string]any{}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ref, ok := resolveKeyIn(n.t, urn, k)
		if !ok {
			return unstored(qualify(urn, k))
		}
		if err := n.put(ref, qualify(urn, k), m[k]); err != nil {
			return err
		}
	}
	return nil
}

// put stores the coerced value of one resolved key. A readOnly
// attribute's value is checked and dropped.
func (n *normalizer) put(ref keyRef, key string, v any) error {
	if isCommonOwned(ref) {
		return nil
	}
	if ref.attr.Mutability() == "readOnly" || (ref.sub != nil && ref.sub.Mutability() == "readOnly") {
		def, path := ref.attr, ref.attr.Name()
		if ref.sub != nil {
			def, path = *ref.sub, path+"."+ref.sub.Name()
		}
		_, err := coerceAttr(def, v, path, false)
		return err
	}
	c := n.out
	if ref.urn != "" {
		m, ok := n.out[ref.urn].(map[string]any)
		if !ok {
			m = map[string]any{}
			n.out[ref.urn] = m
		}
		c = m
	}
	name := ref.attr.Name()
	if ref.sub != nil {
		val, err := coerceAttr(*ref.sub, v, name+"."+ref.sub.Name(), true)
		if err != nil {
			return err
		}
		if ref.attr.MultiValued() {
			return InvalidValue("%q: set the sub-attributes of multi-valued %q inside its list", key, name)
		}
		cur, exists := c[name]
		m, ok := cur.(map[string]any)
		if exists && cur != nil && !ok {
			return InvalidValue("attribute %q given twice", name)
		}
		if m == nil {
			m = map[string]any{}
			c[name] = m
		}
		if _, dup := m[ref.sub.Name()]; dup {
			return InvalidValue("attribute %q given twice", name+"."+ref.sub.Name())
		}
		m[ref.sub.Name()] = val
		return nil
	}
	val, err := coerceAttr(ref.attr, v, name, true)
	if err != nil {
		return err
	}
	if cur, exists := c[name]; exists {
		cm, ok1 := cur.(map[string]any)
		vm, ok2 := val.(map[string]any)
		if !ok1 || !ok2 {
			return InvalidValue("attribute %q given twice", name)
		}
		for k, sv := range vm {
			if _, dup := cm[k]; dup {
				return InvalidValue("attribute %q given twice", name+"."+k)
			}
			cm[k] = sv
		}
		return nil
	}
	c[name] = val
	return nil
}

// isCommonOwned reports whether ref is id or meta, which the backend owns
// even when a schema declares them writable.
func isCommonOwned(ref keyRef) bool {
	return ref.urn == "" && (strings.EqualFold(ref.attr.Name(), "id") || strings.EqualFold(ref.attr.Name(), "meta"))
}

// dropNils removes nil values and empty maps, one level into extensions.
func dropNils(m map[string]any) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok && strings.Contains(k, ":") {
			dropNils(sub)
			if len(sub) == 0 {
				delete(m, k)
			}
			continue
		}
		if v == nil {
			delete(m, k)
		}
	}
}

func checkRequired(t *Type, out map[string]any) error {
	for _, a := range t.Schema.Attributes {
		if a.Required() && a.Mutability() != "readOnly" && out[a.Name()] == nil {
			return InvalidValue("attribute %q is required", a.Name())
		}
	}
	for _, ext := range t.Extensions {
		m, _ := out[ext.Schema.ID].(map[string]any)
		if m == nil {
			if ext.Required {
				return InvalidValue("schema extension %q is required", ext.Schema.ID)
			}
			continue
		}
		for _, a := range ext.Schema.Attributes {
			if a.Required() && a.Mutability() != "readOnly" && m[a.Name()] == nil {
				return InvalidValue("attribute %q is required", ext.Schema.ID+":"+a.Name())
			}
		}
	}
	return nil
}

// commonAttributes are id, externalId and meta (RFC 7643 §3.1), used when
// a type's core schema does not declare them itself.
var commonAttributes = sync.OnceValue(func() schema.Attributes { return schema.CommonAttributes() })

// keyRef is an attribute name resolved against a type's schemas.
type keyRef struct {
	urn   string // "" for the core schema, else the extension's schema ID
	whole bool   // the name is a schema URN: the value holds its attributes
	attr  schema.CoreAttribute
	sub   *schema.CoreAttribute // set for "attr.sub"
}

// resolveKey resolves a JSON key or SCIM path without filter: "userName",
// "name.givenName", "urn:...:core:2.0:User:userName",
// "urn:...:enterprise:2.0:User:manager.value", or an extension URN itself.
// With extFallback an unqualified name missing from the core schema may
// name the attribute of exactly one extension (Entra's "manager").
func resolveKey(t *Type, key string, extFallback bool) (keyRef, bool) {
	bestLen := 0
	var urn, rest string
	for _, ext := range t.Extensions {
		id := ext.Schema.ID
		if strings.EqualFold(key, id) {
			return keyRef{urn: id, whole: true}, true
		}
		if len(key) > len(id)+1 && key[len(id)] == ':' && strings.EqualFold(key[:len(id)], id) && len(id) > bestLen {
			bestLen, urn, rest = len(id), id, key[len(id)+1:]
		}
	}
	core := t.Schema.ID
	switch {
	case bestLen > 0:
		return resolveKeyIn(t, urn, rest)
	case core != "" && strings.EqualFold(key, core):
		return keyRef{whole: true}, true
	case core != "" && len(key) > len(core)+1 && key[len(core)] == ':' && strings.EqualFold(key[:len(core)], core):
		return resolveKeyIn(t, "", key[len(core)+1:])
	case strings.Contains(key, ":"):
		return keyRef{}, false
	}
	if ref, ok := resolveKeyIn(t, "", key); ok || !extFallback {
		return ref, ok
	}
	var found keyRef
	n := 0
	for _, ext := range t.Extensions {
		if ref, ok := resolveKeyIn(t, ext.Schema.ID, key); ok {
			found = ref
			n++
		}
	}
	return found, n == 1
}

// resolveKeyIn resolves "attr" or "attr.sub" within one schema.
func resolveKeyIn(t *Type, urn, key string) (keyRef, bool) {
	name, subName, hasSub := strings.Cut(key, ".")
	attr, ok := findAttr(t, urn, name)
	if !ok {
		return keyRef{}, false
	}
	ref := keyRef{urn: urn, attr: attr}
	if hasSub {
		if !attr.HasSubAttributes() {
			return keyRef{}, false
		}
		sub, ok := attr.SubAttributes().ContainsAttribute(subName)
		if !ok {
			return keyRef{}, false
		}
		ref.sub = &sub
	}
	return ref, true
}

// findAttr looks a top-level attribute up in the core schema (urn "",
// falling back to the common attributes) or in the extension urn.
func findAttr(t *Type, urn, name string) (schema.CoreAttribute, bool) {
	if urn == "" {
		if a, ok := t.Schema.Attributes.ContainsAttribute(name); ok {
			return a, true
		}
		return commonAttributes().ContainsAttribute(name)
	}
	for _, ext := range t.Extensions {
		if strings.EqualFold(ext.Schema.ID, urn) {
			return ext.Schema.Attributes.ContainsAttribute(name)
		}
	}
	return schema.CoreAttribute{}, false
}

// qualify returns the URN-qualified name of an attribute ("" = core).
func qualify(urn, name string) string {
	if urn == "" {
		return name
	}
	return urn + ":" + name
}

// lookupKey finds name in m, exactly or else case-insensitively.
func lookupKey(m map[string]any, name string) (key string, v any, ok bool) {
	if v, ok := m[name]; ok {
		return name, v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return k, v, true
		}
	}
	return "", nil, false
}

// coerceAttr converts a client value for def to its canonical JSON shape;
// nil means "no value". Unknown sub-attributes of complex values are
// 400 invalidValue when strict and dropped otherwise (what a readOnly
// attribute holds is only checked); readOnly ones are
// checked and dropped.
func coerceAttr(def schema.CoreAttribute, v any, path string, strict bool) (any, error) {
	if v == nil {
		return nil, nil
	}
	if !def.MultiValued() {
		v, err := unwrapSingle(def, v, path)
		if err != nil || v == nil {
			return nil, err
		}
		return coerceSingle(def, v, path, strict)
	}
	items, ok := v.([]any)
	if !ok {
		switch x := v.(type) {
		case string:
			if x == "" {
				return nil, nil
			}
		case map[string]any:
			if len(x) == 0 {
				return nil, InvalidValue("attribute %q is multi-valued: {} is not one of its values (a list, [] or null clears it)", path)
			}
		}
		items = []any{v}
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		c, err := coerceItem(def, it, path, strict)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	if err := onePrimary(def, out, path); err != nil {
		return nil, err
	}
	return out, nil
}

// onePrimary refuses a list in which more than one value is primary: "The
// primary attribute value true MUST appear no more than once" (RFC 7643
// §2.4). PATCH, which adds to values already there, moves primary instead
// (fixPrimary).
func onePrimary(def schema.CoreAttribute, list []any, path string) error {
	if _, ok := def.SubAttributes().ContainsAttribute("primary"); !ok {
		return nil
	}
	n := 0
	for _, v := range list {
		if m, ok := v.(map[string]any); ok && m["primary"] == true {
			n++
		}
	}
	if n > 1 {
		return InvalidValue("attribute %q: %d values are primary; at most one may be (RFC 7643 §2.4)", path, n)
	}
	return nil
}

// unstored is the error for a name that a served schema does not define:
// this server would not store its value, and says so rather than drop it.
func unstored(name string) *Error {
	return InvalidValue("attribute %q is not stored by this server (see /Schemas)", name)
}

// unstoredPath is unstored for a PATCH, where the name is a path.
func unstoredPath(path string) *Error {
	return InvalidPath("attribute %q is not stored by this server (see /Schemas)", path)
}

// coerceItem converts one value of the multi-valued attribute def: an
// object for a complex attribute (a bare string is not taken for its
// "value": "emails": "a@b.c" says neither the type nor whether it is
// primary), a scalar of def's type otherwise.
func coerceItem(def schema.CoreAttribute, v any, path string, strict bool) (any, error) {
	if v == nil || def.AttributeType() != "complex" {
		return coerceSingle(def, v, path, strict)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, InvalidValue("attribute %q is a list of objects; %s is not one", path, describeValue(v))
	}
	if len(m) == 0 {
		return nil, InvalidValue("attribute %q: {} is not a value", path)
	}
	return coerceSingle(def, m, path, strict)
}

// unwrapSingle accepts a list of one value for a single-valued attribute,
// and {"value": x} for a simple one (Entra sends both). An empty list is
// not a value of a single-valued attribute.
func unwrapSingle(def schema.CoreAttribute, v any, path string) (any, error) {
	if l, ok := v.([]any); ok {
		switch len(l) {
		case 0:
			return nil, InvalidValue("attribute %q is single-valued: [] is not a value of it (null clears it)", path)
		case 1:
			v = l[0]
		default:
			return nil, InvalidValue("attribute %q is single-valued but got %d values", path, len(l))
		}
	}
	if m, ok := v.(map[string]any); ok && def.AttributeType() != "complex" {
		if _, inner, ok := lookupKey(m, "value"); ok {
			return inner, nil
		}
	}
	return v, nil
}

// coerceSingle converts one value (not a list) for def.
func coerceSingle(def schema.CoreAttribute, v any, path string, strict bool) (any, error) {
	if v == nil {
		return nil, nil
	}
	if def.AttributeType() != "complex" {
		return coerceSimple(def, v, path)
	}
	if s, ok := v.(string); ok {
		if _, hasValue := def.SubAttributes().ContainsAttribute("value"); hasValue {
			if s == "" {
				return nil, nil
			}
			v = map[string]any{"value": s}
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, InvalidValue("attribute %q must be an object, not %s", path, describeValue(v))
	}
	out := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		sub, ok := def.SubAttributes().ContainsAttribute(k)
		if !ok {
			if strict {
				return nil, unstored(path + "." + k)
			}
			continue
		}
		c, err := coerceAttr(sub, m[k], path+"."+sub.Name(), strict)
		if err != nil {
			return nil, err
		}
		if c != nil && sub.Mutability() != "readOnly" {
			out[sub.Name()] = c
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// coerceSimple converts a scalar to def's type; "" is no value.
func coerceSimple(def schema.CoreAttribute, v any, path string) (any, error) {
	bad := func(want string) error {
		return InvalidValue("attribute %q must be %s, not %s", path, want, describeValue(v))
	}
	if s, ok := v.(string); ok && s == "" {
		return nil, nil
	}
	switch def.AttributeType() {
	case "boolean":
		if b, ok := asBool(v); ok {
			return b, nil
		}
		return nil, bad("a boolean")
	case "integer":
		switch x := v.(type) {
		case int:
			return int64(x), nil
		case int64:
			return x, nil
		case float64:
			if x == math.Trunc(x) && x >= math.MinInt64 && x < math.MaxInt64 {
				return int64(x), nil
			}
		case json.Number:
			if n, ok := integer(x); ok {
				return n, nil
			}
		}
		return nil, bad("an integer")
	case "decimal":
		var f float64
		switch x := v.(type) {
		case int:
			f = float64(x)
		case int64:
			f = float64(x)
		case float64:
			f = x
		case json.Number:
			var err error
			if f, err = x.Float64(); err != nil {
				return nil, bad("a number")
			}
		default:
			return nil, bad("a number")
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, bad("a finite number")
		}
		return f, nil
	case "dateTime":
		s, ok := v.(string)
		if !ok {
			return nil, bad("a date-time string")
		}
		if _, err := parseDateTime(s); err != nil {
			return nil, InvalidValue("attribute %q must be an RFC 3339 date-time, not %q", path, s)
		}
		return strings.TrimSpace(s), nil
	case "complex":
		return nil, bad("an object")
	}
	// string, reference, binary
	s, ok := v.(string)
	if !ok {
		return nil, bad("a string")
	}
	return s, nil
}

// describeValue names the JSON type of v for error messages.
func describeValue(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int64, float64, json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

// deepCopy copies the maps and lists of a JSON-shaped value.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}
