package resource

import (
	"strings"
	"time"

	"github.com/elimity-com/scim/schema"
)

// Project renders a resource as the JSON object of a response: "schemas"
// (the core schema, then each extension that has a value in the output,
// in t.Extensions order), "id", the attributes, and "meta".
//
// Attributes follow their schema's "returned" characteristic and the
// projection (RFC 7643 §2.2, RFC 7644 §3.4.2.5): "never" (password) is
// never returned, "always" (id) always, "request" only when
// p.Attributes names it, and "default" unless p.Attributes is set and
// does not name it, or p.ExcludedAttributes names it. Names in p may be
// sub-attribute paths ("name.givenName", "members.value"), URN-qualified
// ("urn:...:User:department"), or a whole extension URN; they match
// case-insensitively; names no schema of t defines are ignored, as are
// attributes of r that no schema defines. meta carries resourceType,
// created and lastModified (RFC 3339, UTC), location, and version as a
// weak ETag (W/"..."); zero or empty fields are left out. The result
// shares nothing with r.
func Project(r *Resource, t *Type, p Projection) map[string]any {
	return NewProjector(t, p).Project(r)
}

// Projector projects resources of one type by one projection, worked out
// once for all of them (a page of a list).
type Projector struct {
	t    *Type
	sel  *projection
	meta schema.CoreAttribute
	has  bool // t has meta
}

// NewProjector prepares the projection p of resources of type t.
func NewProjector(t *Type, p Projection) *Projector {
	pj := &Projector{t: t, sel: compileProjection(t, p)}
	pj.meta, pj.has = findAttr(t, "", "meta")
	return pj
}

// Project is Project(r, t, p) for the Projector's t and p.
func (pj *Projector) Project(r *Resource) map[string]any {
	t, sel := pj.t, pj.sel
	out := make(map[string]any, len(r.Attrs)+3)
	out["id"] = r.ID
	schemas := []string{t.Schema.ID}
	for k, v := range r.Attrs {
		if _, ok := v.(map[string]any); ok && strings.Contains(k, ":") {
			continue
		}
		a, ok := findAttr(t, "", k)
		if !ok || isCommonOwned(keyRef{attr: a}) {
			continue
		}
		if pv := sel.project("", a, v); pv != nil {
			out[a.Name()] = pv
		}
	}
	for _, ext := range t.Extensions {
		id := ext.Schema.ID
		_, v, _ := lookupKey(r.Attrs, id)
		em, _ := v.(map[string]any)
		m := map[string]any{}
		for k, v := range em {
			a, ok := ext.Schema.Attributes.ContainsAttribute(k)
			if !ok {
				continue
			}
			if pv := sel.project(id, a, v); pv != nil {
				m[a.Name()] = pv
			}
		}
		if len(m) > 0 {
			out[id] = m
			schemas = append(schemas, id)
		}
	}
	out["schemas"] = schemas
	if pj.has {
		if mv := sel.project("", pj.meta, metaValue(r, t)); mv != nil {
			out["meta"] = mv
		}
	}
	return out
}

func metaValue(r *Resource, t *Type) map[string]any {
	m := map[string]any{}
	rt := r.Meta.ResourceType
	if rt == "" {
		rt = t.Name
	}
	if rt != "" {
		m["resourceType"] = rt
	}
	if !r.Meta.Created.IsZero() {
		m["created"] = r.Meta.Created.UTC().Format(time.RFC3339)
	}
	if !r.Meta.LastModified.IsZero() {
		m["lastModified"] = r.Meta.LastModified.UTC().Format(time.RFC3339)
	}
	if r.Meta.Location != "" {
		m["location"] = r.Meta.Location
	}
	if r.Meta.Version != "" {
		m["version"] = `W/"` + r.Meta.Version + `"`
	}
	return m
}

// WantsAttr reports whether the projection lets any part of the attribute
// at path (a top-level name, "name.givenName", or "urn:...:User:manager")
// into a response, so that a backend can skip fetching the rest. It sees
// only the projection: a backend must still leave out what the schema
// says is never returned, and may skip what is returned only on request.
// Names match case-insensitively; an unqualified name matches the same
// name under any schema URN.
func WantsAttr(p Projection, path string) bool {
	if strings.EqualFold(path, "id") {
		return true
	}
	if len(p.Attributes) > 0 {
		for _, l := range p.Attributes {
			if pathCovers(l, path) || pathCovers(path, l) {
				return true
			}
		}
		return false
	}
	for _, l := range p.ExcludedAttributes {
		if pathCovers(l, path) {
			return false
		}
	}
	return true
}

// pathCovers reports whether the attribute named by path lies within the
// one named by outer: the same attribute, one of its sub-attributes, or
// an attribute of the schema outer names.
func pathCovers(outer, path string) bool {
	outer, path = strings.TrimSpace(outer), strings.TrimSpace(path)
	if outer == "" || path == "" {
		return false
	}
	if within(path, outer, ".:") {
		return true
	}
	ou, on := splitURN(outer)
	pu, pn := splitURN(path)
	if ou != "" && pu != "" {
		return false // different URNs
	}
	return within(pn, on, ".")
}

// within reports whether path is outer or begins with outer and then one
// of the separators seps, ignoring case (attribute names are ASCII). It
// allocates nothing: projections are checked for every attribute of every
// resource of a page.
func within(path, outer, seps string) bool {
	if len(path) < len(outer) || !strings.EqualFold(path[:len(outer)], outer) {
		return false
	}
	return len(path) == len(outer) || strings.IndexByte(seps, path[len(outer)]) >= 0
}

// splitURN splits "urn:...:name.sub" into the URN and "name.sub".
func splitURN(s string) (urn, rest string) {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "", s
}

// projection is a Projection resolved against a type's schemas.
type projection struct {
	include bool                       // p.Attributes is set
	schemas map[string]bool            // whole schemas named: "" = core, else lowercased URN
	attrs   map[string]bool            // attributes named whole: urn|name
	subs    map[string]map[string]bool // sub-attributes named: urn|name -> subs
}

func compileProjection(t *Type, p Projection) *projection {
	if len(p.Attributes) == 0 && len(p.ExcludedAttributes) == 0 {
		return &noProjection // nothing named: lookups in its nil maps find nothing
	}
	pr := &projection{schemas: map[string]bool{}, attrs: map[string]bool{}, subs: map[string]map[string]bool{}}
	names := p.ExcludedAttributes
	if len(p.Attributes) > 0 {
		pr.include, names = true, p.Attributes
	}
	for _, n := range names {
		ref, ok := resolveKey(t, strings.TrimSpace(n), true)
		if !ok {
			continue
		}
		urn := strings.ToLower(ref.urn)
		if ref.whole {
			pr.schemas[urn] = true
			continue
		}
		key := urn + "|" + strings.ToLower(ref.attr.Name())
		if ref.sub == nil {
			pr.attrs[key] = true
			continue
		}
		if pr.subs[key] == nil {
			pr.subs[key] = map[string]bool{}
		}
		pr.subs[key][strings.ToLower(ref.sub.Name())] = true
	}
	return pr
}

// noProjection is the projection of a request naming no attributes, the
// common case; it is never written to.
var noProjection projection

// project returns what of attribute a's value v goes into the response,
// or nil.
func (pr *projection) project(urn string, a schema.CoreAttribute, v any) any {
	if isEmptyValue(v) {
		return nil
	}
	var named bool
	var subs map[string]bool
	if pr != &noProjection {
		key := strings.ToLower(urn) + "|" + strings.ToLower(a.Name())
		named = pr.schemas[strings.ToLower(urn)] || pr.attrs[key]
		subs = pr.subs[key]
	}
	switch a.Returned() {
	case "never":
		return nil
	case "always":
		return pr.projectSubs(a, v, true, nil)
	case "request":
		if !pr.include || (!named && subs == nil) {
			return nil
		}
	}
	switch {
	case !pr.include && named:
		return nil
	case !pr.include:
		return pr.projectSubs(a, v, true, subs)
	case named:
		return pr.projectSubs(a, v, true, nil)
	case subs != nil:
		return pr.projectSubs(a, v, false, subs)
	}
	return nil
}

// projectSubs copies v, keeping the sub-attributes of a complex value
// that are returned: with all, every sub-attribute returned by default
// except those in subs (excludedAttributes); without, only those in subs
// (attributes). Sub-attributes returned never are always dropped.
func (pr *projection) projectSubs(a schema.CoreAttribute, v any, all bool, subs map[string]bool) any {
	if !a.HasSubAttributes() {
		return deepCopy(v)
	}
	one := func(e any) any {
		m, ok := e.(map[string]any)
		if !ok {
			return nil
		}
		out := map[string]any{}
		for k, sv := range m {
			s, ok := a.SubAttributes().ContainsAttribute(k)
			if !ok || isEmptyValue(sv) {
				continue
			}
			named := subs != nil && subs[strings.ToLower(s.Name())]
			keep := false
			switch s.Returned() {
			case "never":
			case "always":
				keep = true
			case "request":
				keep = !all && named
			default:
				keep = named != all
			}
			if keep {
				out[s.Name()] = deepCopy(sv)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	if l, ok := v.([]any); ok {
		var out []any
		for _, e := range l {
			if pe := one(e); pe != nil {
				out = append(out, pe)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	if pe := one(v); pe != nil {
		return pe
	}
	return nil
}
