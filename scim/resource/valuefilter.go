package resource

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"
)

// matchValueFilter evaluates the value filter e of a multi-valued
// attribute def against one element: a map for a complex attribute, a
// bare value for a simple one (whose sub-attribute is "value"). Missing
// sub-attributes make every comparison false except ne. String
// comparisons fold case unless the sub-attribute is caseExact.
func matchValueFilter(e filter.Expression, def schema.CoreAttribute, elem any) (bool, error) {
	switch x := e.(type) {
	case *filter.LogicalExpression:
		return matchLogical(x, def, elem)
	case *filter.NotExpression:
		ok, err := matchValueFilter(x.Expression, def, elem)
		return !ok, err
	case *filter.AttributeExpression:
		return matchAttrExpr(x, def, elem)
	}
	return false, InvalidPath("unsupported expression %v in the value filter of %q", e, def.Name())
}

func matchLogical(x *filter.LogicalExpression, def schema.CoreAttribute, elem any) (bool, error) {
	l, err := matchValueFilter(x.Left, def, elem)
	if err != nil {
		return false, err
	}
	if strings.EqualFold(string(x.Operator), string(filter.OR)) {
		if l {
			return true, validateValueFilter(x.Right, def)
		}
	} else if !l {
		return false, validateValueFilter(x.Right, def)
	}
	return matchValueFilter(x.Right, def, elem)
}

// valueFilterSub returns the sub-attribute an expression inside the value
// filter of def names.
func valueFilterSub(ap filter.AttributePath, def schema.CoreAttribute) (schema.CoreAttribute, error) {
	if ap.URIPrefix != nil || ap.SubAttribute != nil {
		return schema.CoreAttribute{}, InvalidPath("%q in the value filter of %q: name a sub-attribute of %q", ap.String(), def.Name(), def.Name())
	}
	if !def.HasSubAttributes() {
		if strings.EqualFold(ap.AttributeName, "value") {
			return def, nil
		}
		return schema.CoreAttribute{}, InvalidPath("%q has no sub-attribute %q; use \"value\"", def.Name(), ap.AttributeName)
	}
	sub, ok := def.SubAttributes().ContainsAttribute(ap.AttributeName)
	if !ok {
		return schema.CoreAttribute{}, InvalidPath("%q has no sub-attribute %q", def.Name(), ap.AttributeName)
	}
	return sub, nil
}

// validateValueFilter checks every name in e without evaluating it.
func validateValueFilter(e filter.Expression, def schema.CoreAttribute) error {
	switch x := e.(type) {
	case *filter.LogicalExpression:
		if err := validateValueFilter(x.Left, def); err != nil {
			return err
		}
		return validateValueFilter(x.Right, def)
	case *filter.NotExpression:
		return validateValueFilter(x.Expression, def)
	case *filter.AttributeExpression:
		_, err := valueFilterSub(x.AttributePath, def)
		return err
	}
	return InvalidPath("unsupported expression %v in the value filter of %q", e, def.Name())
}

func matchAttrExpr(x *filter.AttributeExpression, def schema.CoreAttribute, elem any) (bool, error) {
	sub, err := valueFilterSub(x.AttributePath, def)
	if err != nil {
		return false, err
	}
	var v any
	if def.HasSubAttributes() {
		if m, ok := elem.(map[string]any); ok {
			_, v, _ = lookupKey(m, sub.Name())
		}
	} else {
		v = elem
	}
	op := filter.CompareOperator(strings.ToLower(string(x.Operator)))
	if op == filter.PR {
		return !isEmptyValue(v), nil
	}
	if isEmptyValue(v) {
		return op == filter.NE, nil
	}
	want := x.CompareValue
	if want == nil {
		return false, InvalidFilter("cannot compare %q with null", x.AttributePath.String())
	}
	c, ok, err := compareScalar(sub, v, want)
	if err != nil {
		return false, err
	}
	switch op {
	case filter.EQ:
		return ok && c == 0, nil
	case filter.NE:
		return !ok || c != 0, nil
	case filter.GT, filter.GE, filter.LT, filter.LE:
		if sub.AttributeType() == "boolean" || sub.AttributeType() == "binary" {
			return false, InvalidFilter("%q is %s and has no order", x.AttributePath.String(), sub.AttributeType())
		}
		if !ok {
			return false, nil
		}
		switch op {
		case filter.GT:
			return c > 0, nil
		case filter.GE:
			return c >= 0, nil
		case filter.LT:
			return c < 0, nil
		}
		return c <= 0, nil
	case filter.CO, filter.SW, filter.EW:
		s, ok1 := v.(string)
		w, ok2 := want.(string)
		if !ok1 || !ok2 {
			return false, InvalidFilter("%q: %s needs string values", x.AttributePath.String(), op)
		}
		if !sub.CaseExact() {
			s, w = strings.ToLower(s), strings.ToLower(w)
		}
		switch op {
		case filter.CO:
			return strings.Contains(s, w), nil
		case filter.SW:
			return strings.HasPrefix(s, w), nil
		}
		return strings.HasSuffix(s, w), nil
	}
	return false, InvalidFilter("unknown operator %q", x.Operator)
}

// compareScalar compares a stored value with a filter's compare value
// under the attribute's type; ok is false when they cannot be compared
// (different types), which makes eq false and ne true.
func compareScalar(def schema.CoreAttribute, have, want any) (c int, ok bool, err error) {
	switch def.AttributeType() {
	case "boolean":
		h, ok1 := asBool(have)
		w, ok2 := asBool(want)
		if !ok1 || !ok2 {
			return 0, false, nil
		}
		if h == w {
			return 0, true, nil
		}
		return 1, true, nil
	case "integer", "decimal":
		h, ok1 := asFloat(have)
		w, ok2 := asFloat(want)
		if !ok1 || !ok2 {
			return 0, false, nil
		}
		switch {
		case h < w:
			return -1, true, nil
		case h > w:
			return 1, true, nil
		}
		return 0, true, nil
	case "dateTime":
		hs, ok1 := have.(string)
		ws, ok2 := want.(string)
		if !ok1 || !ok2 {
			return 0, false, nil
		}
		h, err1 := parseDateTime(hs)
		w, err2 := parseDateTime(ws)
		if err1 != nil || err2 != nil {
			return 0, false, nil
		}
		return h.Compare(w), true, nil
	}
	hs, ok1 := have.(string)
	ws, ok2 := want.(string)
	if !ok1 || !ok2 {
		return 0, false, nil
	}
	if def.CaseExact() {
		return strings.Compare(hs, ws), true, nil
	}
	return strings.Compare(strings.ToLower(hs), strings.ToLower(ws)), true, nil
}

func asBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// parseDateTime reads an RFC 3339 date-time (xsd:dateTime with a zone).
func parseDateTime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
}

// isEmptyValue reports whether v counts as absent: nil, "", an empty list
// or an empty object.
func isEmptyValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}
