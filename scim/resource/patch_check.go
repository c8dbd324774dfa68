package resource

import (
	"maps"
	"slices"
)

// CheckPatch checks what can be checked of PATCH operations without the
// resource: each path names an attribute of t that is not readOnly, and
// each value has the type and shape ApplyPatch takes for its target. It
// follows ApplyPatch's dispatch, so that what it passes ApplyPatch
// refuses only for the resource's state (noTarget; an immutable attribute
// that already has a value), and a backend that applies some operations
// without ApplyPatch (group members as value adds and deletes) is handed
// only well-formed ones. Errors name the operation, Operations[i].
func CheckPatch(ops []PatchOp, t *Type) error {
	for i, op := range ops {
		if err := checkOp(t, op); err != nil {
			return atOperation(i, err)
		}
	}
	return nil
}

func checkOp(t *Type, op PatchOp) error {
	kind, err := opKind(op)
	if err != nil {
		return err
	}
	if op.Path == nil {
		return checkPathless(t, kind, op.Value)
	}
	tgt, err := resolvePatchPath(t, op.Path)
	if err != nil {
		return err
	}
	return checkTarget(t, kind, tgt, op.Value)
}

// checkPathless follows patcher.pathless.
func checkPathless(t *Type, kind string, v any) error {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if err := checkPathless(t, kind, e); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if ignoredPatchKey(k) {
				continue
			}
			ref, ok := resolveKey(t, k, true)
			if !ok {
				if t.served(k) {
					return unstoredPath(k)
				}
				continue
			}
			tgt := target{urn: ref.urn, whole: ref.whole, attr: ref.attr, sub: ref.sub, text: k}
			if err := checkTarget(t, kind, tgt, x[k]); err != nil {
				return err
			}
		}
		return nil
	}
	return InvalidValue("%s without a path needs an object value, not %s", kind, describeValue(v))
}

// checkTarget follows patcher.applyTarget and what it calls.
func checkTarget(t *Type, kind string, tgt target, v any) error {
	if tgt.whole {
		return checkWhole(t, kind, tgt, v)
	}
	if tgt.attr.Mutability() == "readOnly" || isCommonOwned(keyRef{urn: tgt.urn, attr: tgt.attr}) ||
		(tgt.sub != nil && tgt.sub.Mutability() == "readOnly") {
		return Mutability("attribute %q is read-only", tgt.text)
	}
	a := tgt.attr
	if tgt.filter != nil {
		return checkFiltered(kind, tgt, v)
	}
	if kind == "remove" {
		if tgt.sub == nil && a.MultiValued() && !isEmptyValue(v) {
			_, err := coerceAttr(a, v, tgt.text, true)
			return err
		}
		return nil
	}
	if tgt.sub != nil {
		_, err := coerceAttr(*tgt.sub, v, tgt.text, true)
		return err
	}
	if !a.MultiValued() && a.AttributeType() == "complex" {
		raw, err := unwrapSingle(a, v, tgt.text)
		if err != nil {
			return err
		}
		if m, ok := raw.(map[string]any); ok && len(m) > 0 {
			_, err := mergeComplex(a, nil, m, tgt.text)
			return err
		}
		v = raw
	}
	_, err := coerceAttr(a, v, tgt.text, true)
	return err
}

// checkWhole follows patcher.applyWhole.
func checkWhole(t *Type, kind string, tgt target, v any) error {
	if tgt.urn == "" {
		if kind == "remove" {
			return InvalidPath("cannot remove the core schema %q", tgt.text)
		}
		return checkPathless(t, kind, v)
	}
	if kind == "remove" || isEmptyValue(v) {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return InvalidValue("the value for %q must be an object, not %s", tgt.text, describeValue(v))
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ref, ok := resolveKeyIn(t, tgt.urn, k)
		if !ok {
			continue
		}
		sub := target{urn: tgt.urn, attr: ref.attr, sub: ref.sub, text: qualify(tgt.urn, k)}
		if err := checkTarget(t, kind, sub, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// checkFiltered follows the value handling of patcher.applyFiltered.
func checkFiltered(kind string, tgt target, v any) error {
	a := tgt.attr
	switch {
	case kind == "remove":
		return nil
	case tgt.sub != nil:
		_, err := coerceAttr(*tgt.sub, v, tgt.text, true)
		return err
	case isEmptyValue(v):
		return nil
	case !a.HasSubAttributes():
		_, err := coerceSingle(a, v, tgt.text, true)
		return err
	}
	m, err := complexPatchValue(v, tgt.text)
	if err != nil {
		return err
	}
	_, err = mergeComplex(a, nil, m, tgt.text)
	return err
}
