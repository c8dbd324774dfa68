package ldapbackend

import (
	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/ldapbackend/scimldap"
	"github.com/scimgate/scimgate/scim/resource"
)

// toResourceOf turns an entry, with its adaptation for the engine, into
// the resource the caller may see: only readable attributes, references
// resolved to ids.
func (b *Backend) toResourceOf(rc *reqCtx, ts *typeState, le *ldap.Entry, e aci.Entry, p resource.Projection) (*resource.Resource, error) {
	r := &resource.Resource{ID: le.GetAttributeValue(ts.m.IDAttr), Attrs: map[string]any{}}
	r.Meta.ResourceType = ts.t.Name
	r.Meta.Version = b.version(le)
	// id is always returned, and meta (returned by default, RFC 7643: the
	// HTTP layer leaves it out when the client names attributes without
	// it) carries the version and the resource type; the timestamps go
	// only to a caller that may read them.
	if t, err := scimldap.ParseGeneralizedTime(le.GetAttributeValue("createTimestamp")); err == nil && rc.canRead(e, "createtimestamp") {
		r.Meta.Created = t
	}
	if t, err := scimldap.ParseGeneralizedTime(le.GetAttributeValue("modifyTimestamp")); err == nil && rc.canRead(e, "modifytimestamp") {
		r.Meta.LastModified = t
	}
	// Whether each LDAP attribute is readable, decided once per attribute,
	// by the plan's indexes.
	var readableBuf [32]int8
	readable := append(readableBuf[:0], make([]int8, ts.nCanon)...)
	for i := range ts.read {
		ra := &ts.read[i]
		a := ra.a
		if !resource.WantsAttr(p, ra.top) {
			continue
		}
		if readable[ra.canonIdx] == 0 {
			readable[ra.canonIdx] = -1
			if rc.canRead(e, ra.canon) {
				readable[ra.canonIdx] = 1
			}
		}
		if readable[ra.canonIdx] < 0 {
			if ra.beside {
				// Take out what the json copy holds of an attribute the
				// caller may not read.
				if c := scimldap.Container(r.Attrs, a, false); c != nil {
					scimldap.Reconcile(c, a, ra.name, ra.sub, nil, ra.first)
				}
			}
			continue
		}
		vals := le.GetAttributeValues(a.LDAP)
		if a.Kind == scimldap.KindReference {
			refs, err := b.resolveDNs(rc, vals, a, ts)
			if err != nil {
				return nil, err
			}
			if a.Sub == "value" && len(refs) > 0 {
				// References become whole complex values.
				c := scimldap.Container(r.Attrs, a, true)
				if ra.multi {
					c[ra.name] = refs
				} else {
					c[ra.name] = refs[0]
				}
			}
			continue
		}
		out := scimldap.ToSCIMValues(a, vals)
		if len(out) == 0 && a.Kind == scimldap.KindBoolean && a.DefaultTrue {
			out = []any{true}
		}
		if ra.beside {
			if c := scimldap.Container(r.Attrs, a, len(out) > 0); c != nil {
				scimldap.Reconcile(c, a, ra.name, ra.sub, out, ra.first)
			}
			continue
		}
		scimldap.SetSCIMValues(r.Attrs, ra.a, ra.name, ra.sub, ra.multi, out)
	}
	return r, nil
}

// topPath is the attribute a mapping belongs to, as a projection names it.
func topPath(a *scimldap.AttrMapping) string {
	if a.URN != "" {
		return a.URN + ":" + a.Attr
	}
	return a.Attr
}
