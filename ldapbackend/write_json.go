package ldapbackend

import (
	"reflect"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/ldapbackend/scimldap"
	"github.com/scimgate/scimgate/scim/resource"
)

// A json mapping's attribute (scimEmails) is written whole, but the
// caller's view of it is filtered: a read leaves out what the typed
// mappings beside it (mail) hide from the caller (scimldap.Reconcile),
// and the whole attribute when the caller may not read it. jsonWrite
// works out the elements to store so that the write keeps what the
// caller could not see.

// jsonWrite is what modify stores of a json mapping's attribute.
type jsonWrite struct {
	elems []any // the elements to store
	// settled is what a read shows of the attribute after the write, if
	// the attribute itself is left as it is: its stored elements
	// reconciled with what the typed mappings beside it hold then.
	settled []any
}

// jsonElements works out the write of json mapping a, whose elements the
// caller changed from its view (in old) to sent (in next). Stored
// elements the caller could not see are kept (scimldap.KeepUnseen). A
// caller who may not read a's attribute at all changes it only through
// the typed mappings beside it: what it sends must be what those alone
// show (anything else is 403), and the stored elements are reconciled
// with their new values.
func (b *Backend) jsonElements(rc *reqCtx, ts *typeState, le *ldap.Entry, e aci.Entry, a *scimldap.AttrMapping, old, next map[string]any, sent []any) (jsonWrite, error) {
	stored := scimldap.ToSCIMValues(a, le.GetAttributeValues(a.LDAP))
	var after, carried, hidden []scimldap.Beside
	for i := range ts.read {
		ra := &ts.read[i]
		if !ra.beside || ra.a.URN != a.URN || ra.a.Attr != a.Attr {
			continue
		}
		x := scimldap.Beside{Mapping: ra.a, Sub: ra.sub, First: ra.first}
		x.Vals = typedAfter(ts, le, ra, old, next)
		after = append(after, x)
		x.Vals = typedValues(ra.a, next, ra.first)
		carried = append(carried, x)
		if !rc.canRead(e, ra.canon) {
			hidden = append(hidden, x)
		}
	}
	w := jsonWrite{settled: scimldap.Reconciled(stored, after)}
	if !rc.canRead(e, aci.CanonicalAttr(a.LDAP)) {
		if !scimldap.SameElements(sent, scimldap.Reconciled(nil, carried)) {
			return jsonWrite{}, resource.Forbidden("not allowed to read %s: it changes only through %s", a.SCIM, besideNames(carried))
		}
		w.elems = w.settled
		return w, nil
	}
	w.elems = sent
	if len(hidden) > 0 {
		w.elems = scimldap.KeepUnseen(stored, sent, hidden, after)
	}
	return w, nil
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
	return scimldap.ToSCIMValues(a, le.GetAttributeValues(a.LDAP))
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
	return scimldap.ToSCIMValues(a, uniqueFold(ls))
}

// besideNames names the typed mappings of a list, for messages.
func besideNames(list []scimldap.Beside) string {
	names := make([]string, 0, len(list))
	for _, x := range list {
		names = append(names, x.Mapping.SCIM)
	}
	if len(names) == 0 {
		return "nothing this server maps"
	}
	return strings.Join(names, ", ")
}
