package scimldap

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/elimity-com/scim/schema"

	"github.com/scimgate/scimgate/scim/resource"
)

// Serve returns t as m serves it: its schemas keep only what m stores,
// so that /Schemas and /ResourceTypes say exactly what a client can
// write and read back, and a write naming anything else is refused (the
// resource package checks bodies and PATCH paths against these schemas).
//
//   - An attribute no mapping names is left out; an extension left with
//     no attribute is left out of the type.
//   - An attribute whose mappings are all read_only is readOnly.
//   - A complex attribute keeps the sub-attributes its mappings store:
//     all of them under a json mapping; otherwise the mapped ones, "type"
//     when mappings select by type (its canonical values then those
//     types), and for a reference the ones the server derives from the
//     entry it names ($ref, display, the resource type), as readOnly.
//
// m must be compiled; Serve also records, in each json mapping, the
// sub-attributes it stores, for the filter translation.
func (m *TypeMapping) Serve(t *resource.Type) (*resource.Type, error) {
	core, err := m.serveSchema(t.Schema, "")
	if err != nil {
		return nil, err
	}
	out := &resource.Type{ID: t.ID, Name: t.Name, Endpoint: t.Endpoint, Description: t.Description, Schema: core}
	for _, e := range t.Extensions {
		sc, err := m.serveSchema(e.Schema, strings.ToLower(e.Schema.ID))
		if err != nil {
			return nil, err
		}
		if len(sc.Attributes) > 0 {
			out.Extensions = append(out.Extensions, resource.Extension{Schema: sc, Required: e.Required})
		}
	}
	return out, nil
}

// serveSchema prunes one schema; urn is "" for the type's core schema.
func (m *TypeMapping) serveSchema(sc schema.Schema, urn string) (schema.Schema, error) {
	raw := sc.ToMap()
	attrs, _ := raw["attributes"].([]map[string]any)
	var kept []map[string]any
	for _, attr := range attrs {
		name, _ := attr["name"].(string)
		var ms []*AttrMapping
		for _, a := range m.Attrs {
			if strings.ToLower(a.URN) == urn && a.Attr == strings.ToLower(name) {
				ms = append(ms, a)
			}
		}
		if len(ms) == 0 {
			continue
		}
		readOnly := !slices.ContainsFunc(ms, func(a *AttrMapping) bool { return !a.ReadOnly })
		if readOnly {
			attr["mutability"] = "readOnly"
		}
		if subs, ok := attr["subAttributes"].([]map[string]any); ok {
			attr["subAttributes"] = servedSubs(ms, subs, readOnly)
		}
		kept = append(kept, attr)
	}
	raw["attributes"] = kept
	b, err := json.Marshal(raw)
	if err != nil {
		return schema.Schema{}, err
	}
	var out schema.Schema
	if err := json.Unmarshal(b, &out); err != nil {
		return schema.Schema{}, fmt.Errorf("schema %s as mapped: %v", sc.ID, err)
	}
	if out.Attributes == nil {
		out.Attributes = schema.Attributes{}
	}
	return out, nil
}

// servedSubs keeps the sub-attributes the mappings ms of one complex
// attribute store; readOnly marks them all readOnly.
func servedSubs(ms []*AttrMapping, subs []map[string]any, readOnly bool) []map[string]any {
	keep := map[string]bool{}
	derived := map[string]bool{}
	var types []string
	for _, a := range ms {
		switch {
		case a.Kind == KindJSON:
			a.subs = map[string]jsonSub{}
			for _, s := range subs {
				n, _ := s["name"].(string)
				typ := fmt.Sprint(s["type"])
				ce, _ := s["caseExact"].(bool)
				a.subs[strings.ToLower(n)] = jsonSub{Name: n, Type: typ, CaseExact: ce}
				keep[strings.ToLower(n)] = true
			}
		case a.Kind == KindReference:
			keep[mappingSub(a)] = true
			derived["$ref"], derived["display"], derived["displayname"] = true, true, true
			if len(a.RefTypes) > 1 {
				derived["type"] = true
			}
		default:
			keep[mappingSub(a)] = true
		}
		if a.TypeEq != "" && !slices.Contains(types, a.TypeEq) {
			types = append(types, a.TypeEq)
		}
	}
	var out []map[string]any
	for _, s := range subs {
		n, _ := s["name"].(string)
		ln := strings.ToLower(n)
		switch {
		case keep[ln]:
		case derived[ln]:
			s["mutability"] = "readOnly"
		case ln == "type" && len(types) > 0:
			s["canonicalValues"] = types
		default:
			continue
		}
		if readOnly {
			s["mutability"] = "readOnly"
		}
		out = append(out, s)
	}
	return out
}
