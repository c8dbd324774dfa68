package scimldap

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/scimgate/scimgate/scim/resource"
)

// GetCI returns the value of key in m, matching case-insensitively.
func GetCI(m map[string]any, key string) (any, bool) {
	_, v, ok := lookupSub(m, key)
	return v, ok
}

// lookupSub finds key in m, exactly or else case-insensitively, and
// returns the spelling m has it under (key itself when m lacks it).
func lookupSub(m map[string]any, key string) (string, any, bool) {
	if v, ok := m[key]; ok {
		return key, v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return k, v, true
		}
	}
	return key, nil, false
}

// Container returns the map holding the mapping's attribute: the resource
// itself, or the extension's map under its URN.
func Container(attrs map[string]any, a *AttrMapping, create bool) map[string]any {
	if a.URN == "" {
		return attrs
	}
	if v, ok := GetCI(attrs, a.URN); ok {
		if m, ok := v.(map[string]any); ok {
			return m
		}
	}
	if !create {
		return nil
	}
	m := map[string]any{}
	attrs[a.URN] = m
	return m
}

// AttrName returns the schema spelling of a mapping's top-level attribute.
func AttrName(a *AttrMapping, names map[string]string) string {
	if n, ok := names[strings.ToLower(a.URN)+"|"+a.Attr]; ok {
		return n
	}
	return a.Attr
}

// SubName returns the schema spelling of a sub-attribute.
func SubName(a *AttrMapping, names map[string]string) string {
	if n, ok := names[strings.ToLower(a.URN)+"|"+a.Attr+"."+a.Sub]; ok {
		return n
	}
	return a.Sub
}

// ToSCIMValue converts one LDAP value by kind; ok is false for a value
// the kind cannot hold.
func ToSCIMValue(a *AttrMapping, v string) (any, bool) {
	switch a.Kind {
	case KindBoolean:
		return strings.EqualFold(v, "TRUE"), true
	case KindInteger:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, false
		}
		return n, true
	case KindDateTime:
		t, err := ParseGeneralizedTime(v)
		if err != nil {
			return nil, false
		}
		return t.UTC().Format(time.RFC3339), true
	case KindJSON:
		return decodeElement(v)
	}
	return v, true
}

// ToSCIMValues converts LDAP values by kind, leaving out those the kind
// cannot hold.
func ToSCIMValues(a *AttrMapping, vals []string) []any {
	if len(vals) == 0 {
		return nil
	}
	out := make([]any, 0, len(vals))
	for _, v := range vals {
		if sv, ok := ToSCIMValue(a, v); ok {
			out = append(out, sv)
		}
	}
	return out
}

// FromSCIMValue converts one SCIM value to its LDAP text.
func FromSCIMValue(a *AttrMapping, v any) (string, error) {
	switch a.Kind {
	case KindBoolean:
		b, ok := v.(bool)
		if !ok {
			if s, isStr := v.(string); isStr && (strings.EqualFold(s, "true") || strings.EqualFold(s, "false")) {
				b, ok = strings.EqualFold(s, "true"), true
			}
		}
		if !ok {
			return "", resource.InvalidValue("%s must be a boolean", a.SCIM)
		}
		if b {
			return "TRUE", nil
		}
		return "FALSE", nil
	case KindInteger:
		switch n := v.(type) {
		case int64:
			return strconv.FormatInt(n, 10), nil
		case int:
			return strconv.Itoa(n), nil
		case float64:
			if n == float64(int64(n)) {
				return strconv.FormatInt(int64(n), 10), nil
			}
		}
		return "", resource.InvalidValue("%s must be an integer", a.SCIM)
	case KindDateTime:
		s, ok := v.(string)
		t, err := time.Parse(time.RFC3339, s)
		if !ok || err != nil {
			return "", resource.InvalidValue("%s must be an RFC 3339 date-time", a.SCIM)
		}
		return t.UTC().Format("20060102150405Z"), nil
	case KindJSON:
		return jsonElement(a, v)
	}
	switch s := v.(type) {
	case string:
		return s, nil
	case bool, int64, float64, int:
		return fmt.Sprint(s), nil
	}
	return "", resource.InvalidValue("%s must be a string", a.SCIM)
}

// ParseGeneralizedTime reads an LDAP GeneralizedTime value (createTimestamp,
// modifyTimestamp) for meta.created and meta.lastModified.
func ParseGeneralizedTime(v string) (time.Time, error) {
	if t, ok := parseGeneralizedTimeZ(v); ok {
		return t, nil
	}
	for _, layout := range []string{"20060102150405Z", "20060102150405.000000Z", "20060102150405.000Z", "20060102150405-0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a generalized time: %q", v)
}

// parseGeneralizedTimeZ reads the form directories write for their own
// timestamps, YYYYMMDDHHMMSSZ, without time.Parse's generality: it runs
// twice for every entry returned.
func parseGeneralizedTimeZ(v string) (time.Time, bool) {
	if len(v) != 15 || v[14] != 'Z' {
		return time.Time{}, false
	}
	var n [14]int
	for i := range 14 {
		c := v[i]
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		n[i] = int(c - '0')
	}
	year := n[0]*1000 + n[1]*100 + n[2]*10 + n[3]
	month, day := n[4]*10+n[5], n[6]*10+n[7]
	hour, minute, sec := n[8]*10+n[9], n[10]*10+n[11], n[12]*10+n[13]
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day { // 31 April and the like
		return time.Time{}, false
	}
	return t, true
}

// SCIMValues extracts, for one mapping, the SCIM values the attributes
// hold: one for a simple or single complex attribute, every matching
// element's sub-attribute for a multi-valued one. present says the
// attribute was there at all (even empty or null), which PUT needs.
func SCIMValues(attrs map[string]any, a *AttrMapping, firstOfAttr bool) (vals []any, present bool) {
	c := Container(attrs, a, false)
	if c == nil {
		return nil, false
	}
	v, ok := GetCI(c, a.Attr)
	if !ok {
		return nil, false
	}
	if v == nil {
		return nil, true
	}
	if a.Sub == "" && a.TypeEq == "" {
		if list, ok := v.([]any); ok {
			return list, true
		}
		return []any{v}, true
	}
	var elems []any
	switch t := v.(type) {
	case []any:
		elems = t
	case map[string]any:
		elems = []any{t}
	default:
		// A bare value for a complex attribute (Entra's manager id).
		if a.Sub == "value" {
			return []any{v}, true
		}
		return nil, true
	}
	for _, e := range elems {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if a.TypeEq != "" {
			typ, hasType := GetCI(m, "type")
			ts, _ := typ.(string)
			if hasType && typ != nil && !strings.EqualFold(ts, a.TypeEq) || (!hasType || typ == nil) && !firstOfAttr {
				continue
			}
		}
		if sv, ok := GetCI(m, a.Sub); ok && sv != nil {
			vals = append(vals, sv)
		}
	}
	return vals, true
}

// SetSCIMValues writes one mapping's values into attrs, the inverse of
// SCIMValues: name and sub are the schema's spellings of the attribute and
// sub-attribute (AttrName, SubName), multi whether the attribute is
// multi-valued. Nothing is made up: an element is primary only where a
// json mapping stores that it is.
func SetSCIMValues(attrs map[string]any, a *AttrMapping, name, sub string, multi bool, vals []any) {
	if len(vals) == 0 {
		return
	}
	c := Container(attrs, a, true)
	if a.Sub == "" && a.TypeEq == "" {
		if multi {
			c[name] = vals
		} else {
			c[name] = vals[0]
		}
		return
	}
	if !multi {
		m, _ := c[name].(map[string]any)
		if m == nil {
			m = map[string]any{}
			c[name] = m
		}
		m[sub] = vals[0]
		return
	}
	list, _ := c[name].([]any)
	for _, v := range vals {
		el := map[string]any{sub: v}
		if a.TypeEq != "" {
			el["type"] = a.TypeEq
		}
		list = append(list, el)
	}
	c[name] = list
}
