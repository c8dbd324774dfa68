package resource

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"
)

// ApplyPatch applies PATCH operations (RFC 7644 §3.5.2) in order to a
// resource's attributes, shaped as Normalize returns them (core attributes
// plus each extension's attributes in a map under its URN), and returns
// the new attributes; res is not modified. A cleared attribute is absent
// from the result, and the backend diffs the two maps. Any failure
// rejects the whole request.
//
// Beyond the RFC, it accepts what Okta and Entra send:
//   - op in any case; "True"/"False" strings for booleans; null or "" as
//     the value of add or replace clears the target (Microsoft's
//     null-update test), as do [] for a multi-valued attribute and {} for
//     a complex one; values otherwise follow Normalize's rules, so a
//     number in a string, [] for a single-valued attribute or a string
//     for a list of objects is 400 invalidValue;
//   - a value without path whose keys are paths ("name.givenName",
//     "urn:...:User:employeeNumber"), nested extension objects
//     ({"urn:...:User": {...}}) and an "id", "schemas" or "meta" key,
//     which are ignored; keys under a schema t does not serve are ignored
//     too, as in Normalize, while any other unknown name, as a key or in
//     a path, is 400 invalidPath;
//   - an unqualified path naming an attribute of exactly one extension
//     ("manager"); a bare id, {"value": id} or [{"value": id}] for a
//     complex attribute with a "value" sub-attribute (Entra's manager);
//   - remove of a multi-valued attribute with a list value removes those
//     values only (Entra's legacy member removal); values not present
//     are skipped.
//
// Semantics chosen where the RFC leaves room:
//   - add to a multi-valued attribute appends, skipping values whose
//     "value" sub-attribute (or, without one, the whole value) equals an
//     existing one, case per schema; a duplicate's other sub-attributes
//     are merged into the existing value. A value added or set with
//     primary true takes primary from the others;
//   - add or replace on a single-valued complex attribute merges the
//     given sub-attributes; when "value" changes, "$ref" and readOnly
//     sub-attributes (manager.displayName) are dropped as stale;
//   - replace without filter on a multi-valued attribute replaces the
//     list; on a missing attribute, replace adds;
//   - remove of a target that has no value, and replace or remove with a
//     value filter that matches nothing, are 400 noTarget. add with a
//     value filter that matches nothing creates a value when the filter
//     is an eq, or an and of eqs (emails[type eq "work"].value creates
//     {"type": "work", "value": ...}); otherwise it is noTarget too;
//   - readOnly targets (id, meta, groups, manager.displayName) are 400
//     mutability, as is an immutable top-level attribute that already has
//     a value; immutable sub-attributes (those of Group members) are not
//     checked, so members stay modifiable.
func ApplyPatch(res map[string]any, ops []PatchOp, t *Type) (map[string]any, error) {
	p := &patcher{t: t, res: map[string]any{}}
	if res != nil {
		p.res = deepCopy(res).(map[string]any)
	}
	for i, op := range ops {
		if err := p.apply(op); err != nil {
			if e, ok := err.(*Error); ok && len(ops) > 1 {
				e.Detail = "Operations[" + strconv.Itoa(i) + "]: " + e.Detail
			}
			return nil, err
		}
	}
	for k, v := range p.res {
		if m, ok := v.(map[string]any); ok && len(m) == 0 && strings.Contains(k, ":") {
			delete(p.res, k)
		}
	}
	return p.res, nil
}

// TouchedAttributes returns the top-level attributes the operations would
// change, each once, in order of first appearance: schema spelling for
// core attributes, "urn:...:name" for extension attributes. Operations
// ApplyPatch would reject or ignore contribute nothing. The backend checks
// write rights on these.
func TouchedAttributes(ops []PatchOp, t *Type) []string {
	var out []string
	seen := map[string]bool{}
	add := func(urn, name string) {
		q := qualify(urn, name)
		if k := strings.ToLower(q); !seen[k] {
			seen[k] = true
			out = append(out, q)
		}
	}
	var pathless func(v any)
	whole := func(urn string, v any) {
		if urn == "" {
			pathless(v)
			return
		}
		m, ok := v.(map[string]any)
		if !ok {
			for _, ext := range t.Extensions {
				if ext.Schema.ID == urn {
					for _, a := range ext.Schema.Attributes {
						add(urn, a.Name())
					}
				}
			}
			return
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if ref, ok := resolveKeyIn(t, urn, k); ok {
				add(urn, ref.attr.Name())
			}
		}
	}
	pathless = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				pathless(e)
			}
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if ignoredPatchKey(k) {
					continue
				}
				ref, ok := resolveKey(t, k, true)
				switch {
				case !ok:
				case ref.whole:
					whole(ref.urn, x[k])
				default:
					add(ref.urn, ref.attr.Name())
				}
			}
		}
	}
	for _, op := range ops {
		if op.Path == nil {
			pathless(op.Value)
			continue
		}
		tgt, err := resolvePatchPath(t, op.Path)
		switch {
		case err != nil:
		case tgt.whole:
			whole(tgt.urn, op.Value)
		default:
			add(tgt.urn, tgt.attr.Name())
		}
	}
	return out
}

// ignoredPatchKey reports whether a key of a pathless value is one that
// clients echo and the server owns.
func ignoredPatchKey(k string) bool {
	return strings.EqualFold(k, "id") || strings.EqualFold(k, "schemas") || strings.EqualFold(k, "meta")
}

type patcher struct {
	t   *Type
	res map[string]any
}

// target is a resolved PATCH path.
type target struct {
	urn    string // "" = core schema, else the extension's schema ID
	whole  bool   // the path is a schema URN
	attr   schema.CoreAttribute
	sub    *schema.CoreAttribute
	filter filter.Expression
	text   string // the path as the client sent it, for messages
}

// opKind is op's operation, lowercased: add, replace or remove (any case;
// another is 400 invalidSyntax); a remove without a path is 400 noTarget.
func opKind(op PatchOp) (string, error) {
	kind := strings.ToLower(strings.TrimSpace(op.Op))
	switch kind {
	case "add", "replace", "remove":
	default:
		return "", InvalidSyntax("unknown PATCH op %q: expected add, replace or remove", op.Op)
	}
	if op.Path == nil && kind == "remove" {
		return "", NoTarget("remove needs a path")
	}
	return kind, nil
}

func (p *patcher) apply(op PatchOp) error {
	kind, err := opKind(op)
	if err != nil {
		return err
	}
	if op.Path == nil {
		return p.pathless(kind, op.Value)
	}
	tgt, err := resolvePatchPath(p.t, op.Path)
	if err != nil {
		return err
	}
	return p.applyTarget(kind, tgt, op.Value)
}

// pathless applies a value whose keys are paths.
func (p *patcher) pathless(kind string, v any) error {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if err := p.pathless(kind, e); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if ignoredPatchKey(k) {
				continue
			}
			ref, ok := resolveKey(p.t, k, true)
			if !ok {
				if p.t.served(k) {
					return unstoredPath(k)
				}
				continue
			}
			tgt := target{urn: ref.urn, whole: ref.whole, attr: ref.attr, sub: ref.sub, text: k}
			if err := p.applyTarget(kind, tgt, x[k]); err != nil {
				return err
			}
		}
		return nil
	}
	return InvalidValue("%s without a path needs an object value, not %s", kind, describeValue(v))
}

// resolvePatchPath resolves a parsed path against t's schemas.
func resolvePatchPath(t *Type, path *filter.Path) (target, error) {
	ap := path.AttributePath
	text := path.String()
	var ref keyRef
	var ok bool
	if ap.URIPrefix != nil {
		ref, ok = resolveKey(t, *ap.URIPrefix+":"+ap.AttributeName, false)
	} else if !strings.ContainsAny(ap.AttributeName, ".:") {
		ref, ok = resolveKey(t, ap.AttributeName, true)
	}
	if !ok {
		return target{}, unstoredPath(text)
	}
	tgt := target{urn: ref.urn, whole: ref.whole, attr: ref.attr, filter: path.ValueExpression, text: text}
	if ref.whole {
		if ap.SubAttribute != nil || path.ValueExpression != nil || path.SubAttribute != nil {
			return target{}, InvalidPath("invalid path %q", text)
		}
		return tgt, nil
	}
	subName := ap.SubAttribute
	if path.SubAttribute != nil {
		if subName != nil {
			return target{}, InvalidPath("invalid path %q", text)
		}
		subName = path.SubAttribute
	}
	if subName != nil {
		if !tgt.attr.HasSubAttributes() {
			return target{}, InvalidPath("attribute %q has no sub-attributes (path %q)", tgt.attr.Name(), text)
		}
		sub, ok := tgt.attr.SubAttributes().ContainsAttribute(*subName)
		if !ok {
			return target{}, InvalidPath("%q has no sub-attribute %q stored by this server (path %q; see /Schemas)", tgt.attr.Name(), *subName, text)
		}
		tgt.sub = &sub
	}
	if tgt.filter != nil {
		if ap.SubAttribute != nil {
			return target{}, InvalidPath("invalid path %q", text)
		}
		if !tgt.attr.MultiValued() {
			return target{}, InvalidPath("attribute %q is single-valued and takes no value filter (path %q)", tgt.attr.Name(), text)
		}
		if err := validateValueFilter(tgt.filter, tgt.attr); err != nil {
			return target{}, err
		}
	}
	return tgt, nil
}

func (p *patcher) applyTarget(kind string, tgt target, v any) error {
	if tgt.whole {
		return p.applyWhole(kind, tgt, v)
	}
	if err := p.checkMutable(tgt); err != nil {
		return err
	}
	if tgt.filter != nil {
		return p.applyFiltered(kind, tgt, v)
	}
	if kind == "remove" {
		return p.remove(tgt, v)
	}
	return p.addOrReplace(kind, tgt, v)
}

// applyWhole applies an operation whose target is a schema: its value
// holds attributes of that schema.
func (p *patcher) applyWhole(kind string, tgt target, v any) error {
	if tgt.urn == "" {
		if kind == "remove" {
			return InvalidPath("cannot remove the core schema %q", tgt.text)
		}
		return p.pathless(kind, v)
	}
	if kind == "remove" || isEmptyValue(v) {
		if c := p.container(tgt.urn, false); len(c) > 0 {
			delete(p.res, tgt.urn)
			return nil
		}
		if kind == "remove" {
			return NoTarget("%q has no value to remove", tgt.text)
		}
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return InvalidValue("the value for %q must be an object, not %s", tgt.text, describeValue(v))
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ref, ok := resolveKeyIn(p.t, tgt.urn, k)
		if !ok {
			continue
		}
		sub := target{urn: tgt.urn, attr: ref.attr, sub: ref.sub, text: qualify(tgt.urn, k)}
		if err := p.applyTarget(kind, sub, m[k]); err != nil {
			return err
		}
	}
	return nil
}

func (p *patcher) checkMutable(tgt target) error {
	a := tgt.attr
	if a.Mutability() == "readOnly" || isCommonOwned(keyRef{urn: tgt.urn, attr: a}) {
		return Mutability("attribute %q is read-only", tgt.text)
	}
	if tgt.sub != nil && tgt.sub.Mutability() == "readOnly" {
		return Mutability("attribute %q is read-only", tgt.text)
	}
	if a.Mutability() == "immutable" {
		if _, cur := p.lookup(tgt); !isEmptyValue(cur) {
			return Mutability("attribute %q is immutable and already has a value", tgt.text)
		}
	}
	return nil
}

// container returns the map holding the attributes of schema urn, renamed
// to the schema's spelling; with create a missing one is added.
func (p *patcher) container(urn string, create bool) map[string]any {
	if urn == "" {
		return p.res
	}
	k, v, ok := lookupKey(p.res, urn)
	if m, isMap := v.(map[string]any); ok && isMap {
		if k != urn {
			delete(p.res, k)
			p.res[urn] = m
		}
		return m
	}
	if !create {
		return nil
	}
	if ok {
		delete(p.res, k)
	}
	m := map[string]any{}
	p.res[urn] = m
	return m
}

// lookup returns the target's container (nil if absent) and current value,
// renaming the attribute's key to the schema's spelling.
func (p *patcher) lookup(tgt target) (map[string]any, any) {
	c := p.container(tgt.urn, false)
	if c == nil {
		return nil, nil
	}
	name := tgt.attr.Name()
	k, v, ok := lookupKey(c, name)
	if ok && k != name {
		delete(c, k)
		c[name] = v
	}
	return c, v
}

// store sets the target attribute to v, or deletes it when v is empty.
func (p *patcher) store(tgt target, v any) {
	if isEmptyValue(v) {
		if c := p.container(tgt.urn, false); c != nil {
			delete(c, tgt.attr.Name())
		}
		return
	}
	p.container(tgt.urn, true)[tgt.attr.Name()] = v
}

func (p *patcher) addOrReplace(kind string, tgt target, v any) error {
	a := tgt.attr
	_, cur := p.lookup(tgt)
	if tgt.sub != nil {
		val, err := coerceAttr(*tgt.sub, v, tgt.text, true)
		if err != nil {
			return err
		}
		if !a.MultiValued() {
			m, _ := deepCopy(cur).(map[string]any)
			if m == nil {
				m = map[string]any{}
			}
			setSub(a, m, *tgt.sub, val)
			p.store(tgt, m)
			return nil
		}
		// A sub-attribute of every value (RFC 7644 leaves this open).
		list := asList(cur)
		if len(list) == 0 {
			if val != nil {
				p.store(tgt, []any{map[string]any{tgt.sub.Name(): val}})
			}
			return nil
		}
		for i, e := range list {
			if m, ok := e.(map[string]any); ok {
				setSub(a, m, *tgt.sub, val)
				list[i] = m
			}
		}
		p.store(tgt, dropEmpty(list))
		return nil
	}
	if !a.MultiValued() && a.AttributeType() == "complex" {
		raw, err := unwrapSingle(a, v, tgt.text)
		if err != nil {
			return err
		}
		if m, ok := raw.(map[string]any); ok && len(m) > 0 {
			merged, err := mergeComplex(a, cur, m, tgt.text)
			if err != nil {
				return err
			}
			p.store(tgt, merged)
			return nil
		}
		v = raw
	}
	val, err := coerceAttr(a, v, tgt.text, true)
	if err != nil {
		return err
	}
	if val == nil || !a.MultiValued() {
		p.store(tgt, val)
		return nil
	}
	var list []any
	var prefer []int
	if kind == "add" {
		list, prefer = appendValues(a, asList(cur), val.([]any))
	} else {
		list, _ = appendValues(a, nil, val.([]any))
	}
	p.store(tgt, fixPrimary(a, list, prefer))
	return nil
}

func (p *patcher) remove(tgt target, v any) error {
	a := tgt.attr
	_, cur := p.lookup(tgt)
	if isEmptyValue(cur) {
		return NoTarget("%q has no value to remove", tgt.text)
	}
	if tgt.sub != nil {
		if !a.MultiValued() {
			m, _ := deepCopy(cur).(map[string]any)
			k, sv, ok := lookupKey(m, tgt.sub.Name())
			if !ok || isEmptyValue(sv) {
				return NoTarget("%q has no value to remove", tgt.text)
			}
			delete(m, k)
			p.store(tgt, m)
			return nil
		}
		list := asList(cur)
		found := false
		for _, e := range list {
			if m, ok := e.(map[string]any); ok {
				if k, _, ok := lookupKey(m, tgt.sub.Name()); ok {
					delete(m, k)
					found = true
				}
			}
		}
		if !found {
			return NoTarget("%q has no value to remove", tgt.text)
		}
		p.store(tgt, dropEmpty(list))
		return nil
	}
	if a.MultiValued() && !isEmptyValue(v) {
		drop, err := coerceAttr(a, v, tgt.text, true)
		if err != nil {
			return err
		}
		dl, _ := drop.([]any)
		var keep []any
		for _, e := range asList(cur) {
			if indexEqual(a, dl, e) < 0 {
				keep = append(keep, e)
			}
		}
		p.store(tgt, keep)
		return nil
	}
	p.store(tgt, nil)
	return nil
}

// applyFiltered applies an operation whose path has a value filter.
func (p *patcher) applyFiltered(kind string, tgt target, v any) error {
	a := tgt.attr
	_, cur := p.lookup(tgt)
	list := asList(cur)
	var matched []int
	for i, e := range list {
		ok, err := matchValueFilter(tgt.filter, a, e)
		if err != nil {
			return err
		}
		if ok {
			matched = append(matched, i)
		}
	}
	if len(matched) == 0 {
		if kind != "add" {
			return NoTarget("no value of %q matches the filter of %q", a.Name(), tgt.text)
		}
		if isEmptyValue(v) {
			return nil
		}
		seed, ok := seedFromFilter(tgt.filter, a)
		if !ok {
			return NoTarget("no value of %q matches the filter of %q, and the filter does not describe a new value", a.Name(), tgt.text)
		}
		list = append(list, seed)
		matched = []int{len(list) - 1}
	}
	drop := map[int]bool{}
	switch {
	case kind == "remove" && tgt.sub == nil:
		for _, i := range matched {
			drop[i] = true
		}
	case kind == "remove":
		for _, i := range matched {
			if m, ok := list[i].(map[string]any); ok {
				if k, _, ok := lookupKey(m, tgt.sub.Name()); ok {
					delete(m, k)
				}
			}
		}
	case tgt.sub != nil:
		val, err := coerceAttr(*tgt.sub, v, tgt.text, true)
		if err != nil {
			return err
		}
		for _, i := range matched {
			if m, ok := list[i].(map[string]any); ok {
				setSub(a, m, *tgt.sub, val)
			}
		}
	case isEmptyValue(v):
		for _, i := range matched {
			drop[i] = true
		}
	default:
		for _, i := range matched {
			var nv any
			var err error
			if a.HasSubAttributes() {
				var m map[string]any
				if m, err = complexPatchValue(v, tgt.text); err != nil {
					return err
				}
				nv, err = mergeComplex(a, list[i], m, tgt.text)
			} else {
				nv, err = coerceSingle(a, v, tgt.text, true)
			}
			if err != nil {
				return err
			}
			list[i] = nv
		}
	}
	var out []any
	var prefer []int
	isMatched := map[int]bool{}
	for _, i := range matched {
		isMatched[i] = true
	}
	for i, e := range list {
		if drop[i] || isEmptyValue(e) {
			continue
		}
		if isMatched[i] {
			prefer = append(prefer, len(out))
		}
		out = append(out, e)
	}
	p.store(tgt, fixPrimary(a, out, prefer))
	return nil
}

// seedFromFilter builds the value an add creates when its filter matches
// nothing: the filter must be an eq or an and of eqs on sub-attributes.
func seedFromFilter(e filter.Expression, def schema.CoreAttribute) (any, bool) {
	terms, bad := AndTerms(e)
	if bad != nil {
		return nil, false
	}
	m := map[string]any{}
	for _, x := range terms {
		if !strings.EqualFold(string(x.Operator), "eq") || x.CompareValue == nil {
			return nil, false
		}
		sub, err := valueFilterSub(x.AttributePath, def)
		if err != nil {
			return nil, false
		}
		v, err := coerceAttr(sub, x.CompareValue, sub.Name(), false)
		if err != nil || v == nil {
			return nil, false
		}
		if !def.HasSubAttributes() {
			m["value"] = v
			continue
		}
		if _, dup := m[sub.Name()]; dup {
			return nil, false
		}
		m[sub.Name()] = v
	}
	if !def.HasSubAttributes() {
		return m["value"], true
	}
	return m, true
}

// setSub sets (or with a nil val clears) one sub-attribute of a complex
// value; a changed "value" drops the sub-attributes derived from it.
func setSub(def schema.CoreAttribute, m map[string]any, sub schema.CoreAttribute, val any) {
	k, old, ok := lookupKey(m, sub.Name())
	if ok {
		delete(m, k)
	}
	if val == nil {
		return
	}
	if strings.EqualFold(sub.Name(), "value") && ok && !scalarEqual(sub, old, val) {
		dropDerived(def, m)
	}
	m[sub.Name()] = val
}

// dropDerived removes "$ref" and readOnly sub-attributes, which describe
// a value that is being replaced.
func dropDerived(def schema.CoreAttribute, m map[string]any) {
	for _, s := range def.SubAttributes() {
		if s.Mutability() == "readOnly" || s.AttributeType() == "reference" {
			if k, _, ok := lookupKey(m, s.Name()); ok {
				delete(m, k)
			}
		}
	}
}

// complexPatchValue is the object a PATCH value for an element of a
// multi-valued complex attribute stands for: the value itself, the one
// element of a list of one, or a bare string as its "value".
func complexPatchValue(v any, path string) (map[string]any, error) {
	if l, ok := v.([]any); ok && len(l) == 1 {
		v = l[0]
	}
	if s, ok := v.(string); ok {
		v = map[string]any{"value": s}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, InvalidValue("the value for %q must be an object, not %s", path, describeValue(v))
	}
	return m, nil
}
