package ldapbackend

import (
	"context"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// refChunk bounds how many values one reference lookup puts in a filter.
const refChunk = 100

// refInfo is what a reference shows of the entry it names. The id comes
// from the DN-valued attribute the caller may read; the display name is an
// attribute of the other entry, shown only if the caller may read it there.
type refInfo struct {
	id, typ, display string
}

// resolveDNs turns DN values of a reference attribute into SCIM complex
// values {value, $ref, type, display}. DNs that name no resource of the
// mapping's types (a placeholder member, a deleted entry) are left out.
func (b *Backend) resolveDNs(rc *reqCtx, dns []string, a *AttrMapping, self *typeState) ([]any, error) {
	if len(dns) == 0 {
		return nil, nil
	}
	want := map[string]bool{}
	var norm []string
	for _, v := range dns {
		n, err := ldapfilter.NormalizeDN(v)
		if err != nil || want[n] {
			continue
		}
		if self.m.EmptyMember != "" && strings.EqualFold(v, self.m.EmptyMember) {
			continue
		}
		want[n] = true
		norm = append(norm, n)
	}
	found := map[string]refInfo{}
	for _, tname := range a.RefTypes {
		ts, ok := b.byName[strings.ToLower(tname)]
		if !ok {
			continue
		}
		var todo []string
		for _, n := range norm {
			if _, done := found[n]; !done && isUnderDN(n, ts.base) {
				todo = append(todo, n)
			}
		}
		for len(todo) > 0 {
			chunk := todo[:min(refChunk, len(todo))]
			todo = todo[len(chunk):]
			var ors []ldapfilter.Filter
			for _, n := range chunk {
				ors = append(ors, &ldapfilter.Equality{Attr: "entryDN", Value: n})
			}
			f := &ldapfilter.And{Filters: []ldapfilter.Filter{ts.typeFilter(), &ldapfilter.Or{Filters: ors}}}
			attrs := append([]string{ts.m.IDAttr, "displayName", "cn", "uid", "objectClass"}, rc.set.EntryAttributes()...)
			req := ldap.NewSearchRequest(ts.m.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, f.String(), attrs, nil)
			res, err := b.search(rc.ctx, req, "resolve references")
			if err != nil {
				return nil, err
			}
			for _, e := range res.Entries {
				n, err := ldapfilter.NormalizeDN(e.DN)
				if err != nil {
					continue
				}
				ref := NewEntry(e)
				disp := ""
				for _, attr := range []string{"displayName", "cn"} {
					if v := e.GetAttributeValue(attr); v != "" && rc.canRead(ref, attr) {
						disp = v
						break
					}
				}
				found[n] = refInfo{id: e.GetAttributeValue(ts.m.IDAttr), typ: ts.t.Name, display: disp}
			}
		}
	}
	var out []any
	for _, n := range norm {
		ri, ok := found[n]
		if !ok || ri.id == "" {
			continue
		}
		el := map[string]any{"value": ri.id, "$ref": b.location(ri.typ, ri.id)}
		if ri.display != "" {
			el[displayKey(a)] = ri.display
		}
		if len(a.RefTypes) > 1 {
			el["type"] = ri.typ
		}
		out = append(out, el)
	}
	return out, nil
}

// displayKey is the sub-attribute holding a reference's name: displayName
// for the enterprise manager, display elsewhere.
func displayKey(a *AttrMapping) string {
	if a.Attr == "manager" {
		return "displayName"
	}
	return "display"
}

// location is the relative location of a resource; the HTTP layer makes
// meta.location absolute, and $ref values stay relative to the base URL.
func (b *Backend) location(typeName, id string) string {
	if ts, ok := b.byName[strings.ToLower(typeName)]; ok {
		return strings.TrimPrefix(ts.t.Endpoint, "/") + "/" + id
	}
	return typeName + "s/" + id
}

// DNsForIDs resolves resource ids to entry DNs, for filters and writes of
// references. Unknown ids are absent from the result.
func (b *Backend) DNsForIDs(ctx context.Context, refTypes []string, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, tname := range refTypes {
		ts, ok := b.byName[strings.ToLower(tname)]
		if !ok {
			continue
		}
		var todo []string
		for _, id := range ids {
			if _, done := out[id]; !done && id != "" && len(id) <= 256 {
				todo = append(todo, id)
			}
		}
		for len(todo) > 0 {
			chunk := todo[:min(refChunk, len(todo))]
			todo = todo[len(chunk):]
			var ors []ldapfilter.Filter
			for _, id := range chunk {
				ors = append(ors, &ldapfilter.Equality{Attr: ts.m.IDAttr, Value: id})
			}
			f := &ldapfilter.And{Filters: []ldapfilter.Filter{ts.typeFilter(), &ldapfilter.Or{Filters: ors}}}
			req := ldap.NewSearchRequest(ts.m.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, f.String(), []string{ts.m.IDAttr}, nil)
			res, err := b.search(ctx, req, "resolve ids")
			if err != nil {
				return nil, err
			}
			for _, e := range res.Entries {
				id := e.GetAttributeValue(ts.m.IDAttr)
				for _, want := range chunk {
					if strings.EqualFold(want, id) {
						out[want] = e.DN
					}
				}
			}
		}
	}
	return out, nil
}

// isUnderDN reports whether normalized dn is base or below it.
func isUnderDN(dn, base string) bool {
	return dn == base || strings.HasSuffix(dn, ","+base)
}
