package ldapbackend

import (
	"reflect"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/scimldap"
)

// jsonWrite is what modify stores of a json mapping's attribute.
type jsonWrite struct {
	elems []any // the elements to store
	// settled is what a read shows of the attribute after the write, if
	// the attribute itself is left as it is: its stored elements
	// reconciled with what the typed mappings beside it hold then.
	settled []any
}

// jsonElements works out the write of json mapping a, whose elements the
// caller changed from its view (in old) to sent (in next).
func (b *Backend) jsonElements(ts *typeState, le *ldap.Entry, a *scimldap.AttrMapping, old, next map[string]any, sent []any) jsonWrite {
	var stored []any
	for _, v := range le.GetAttributeValues(a.LDAP) {
		if el, ok := scimldap.ToSCIMValue(a, v); ok {
			stored = append(stored, el)
		}
	}
	var after []scimldap.Beside
	for i := range ts.read {
		ra := &ts.read[i]
		if !ra.beside || ra.a.URN != a.URN || ra.a.Attr != a.Attr {
			continue
		}
		after = append(after, scimldap.Beside{Mapping: ra.a, Sub: ra.sub, First: ra.first, Vals: typedAfter(ts, le, ra, old, next)})
	}
	return jsonWrite{elems: sent, settled: scimldap.Reconciled(stored, after)}
}

// typedAfter returns the values that the LDAP attribute of ra's typed
// mapping holds after modify writes next: the stored ones when the
// mapping's values do not change (or the mapping is never written),
// else the new ones, spelled as a read gives them back.
func typedAfter(ts *typeState, le *ldap.Entry, ra *readAttr, old, next map[string]any) []any {
	a := ra.a
	if !a.ReadOnly {
		oldS, _ := scimldap.SCIMValues(old, a, ra.first)
		newS, _ := scimldap.SCIMValues(next, a, ra.first)
		if !reflect.DeepEqual(oldS, newS) {
			return typedValues(a, next, ra.first)
		}
	}
	var out []any
	for _, v := range le.GetAttributeValues(a.LDAP) {
		if sv, ok := scimldap.ToSCIMValue(a, v); ok {
			out = append(out, sv)
		}
	}
	return out
}

// typedValues returns the values a typed mapping takes from attrs, as
// they are stored (once each: uniqueFold) and read back.
func typedValues(a *scimldap.AttrMapping, attrs map[string]any, first bool) []any {
	vals, _ := scimldap.SCIMValues(attrs, a, first)
	var ls []string
	for _, v := range vals {
		if s, err := scimldap.FromSCIMValue(a, v); err == nil {
			ls = append(ls, s)
		}
	}
	var out []any
	for _, s := range uniqueFold(ls) {
		if sv, ok := scimldap.ToSCIMValue(a, s); ok {
			out = append(out, sv)
		}
	}
	return out
}
