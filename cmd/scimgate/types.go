package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/scimgate/scimgate/ldapbackend"
	"github.com/scimgate/scimgate/ldapbackend/scimldap"
	"github.com/scimgate/scimgate/scim"
	"github.com/scimgate/scimgate/scim/resource"
)

// typeConfig is one resource type the server exposes, with its
// configuration section, its directory mapping (not yet compiled) and its
// core schema's URN.
type typeConfig struct {
	section string
	typ     *resource.Type
	m       *scimldap.TypeMapping
	urn     string
}

// typeConfigs builds every resource type's mapping: the defaults (under
// ou=People, ou=Groups, ou=SyncProfiles and ou=Connectors of the suffix)
// with the file's overrides.
func (c *Config) typeConfigs() []typeConfig {
	out := []typeConfig{
		{"users", scim.UserType(), scimldap.DefaultUserMapping("ou=People," + c.LDAP.Suffix), userURN},
		{"groups", scim.GroupType(), scimldap.DefaultGroupMapping("ou=Groups," + c.LDAP.Suffix), groupURN},
		{"sync_profiles", scim.SyncProfileType(), scimldap.DefaultSyncProfileMapping("ou=SyncProfiles," + c.LDAP.Suffix), syncProfileURN},
		{"connectors", scim.ConnectorType(), scimldap.DefaultConnectorMapping("ou=Connectors," + c.LDAP.Suffix), connectorURN},
	}
	for i, tc := range []TypeConfig{c.Users, c.Groups, c.SyncProfiles, c.Connectors} {
		tc.apply(out[i].m)
	}
	return out
}

// bindings returns every SCIM resource type the server exposes, as its
// mapping serves it (scimldap.TypeMapping.Serve: the schemas say what is
// stored), with its compiled directory mapping. validate has already
// reported mapping errors.
func (c *Config) bindings() ([]ldapbackend.TypeBinding, error) {
	var out []ldapbackend.TypeBinding
	for _, t := range c.typeConfigs() {
		t.m.Compile(t.urn)
		served, err := t.m.Serve(t.typ)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", t.section, err)
		}
		out = append(out, ldapbackend.TypeBinding{Type: served, Mapping: t.m})
	}
	return out, nil
}

// validateTypes compiles every mapping and reports each problem with the
// configuration section it comes from.
func (c *Config) validateTypes() []error {
	var errs []error
	tcs := c.typeConfigs()
	names := make([]string, len(tcs))
	for i, t := range tcs {
		names[i] = t.typ.Name
	}
	for _, t := range tcs {
		for _, e := range t.m.Compile(t.urn) {
			errs = append(errs, fmt.Errorf("%s: %v", t.section, e))
		}
		for i, a := range t.m.Attrs {
			if a.Attr == "" {
				continue // did not parse: reported above
			}
			where := fmt.Sprintf("%s: %s.attributes[%d]", t.section, t.m.Name, i)
			if err := inSchema(t.typ, a); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", where, err))
			}
			for _, rt := range a.RefTypes {
				if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, rt) }) {
					errs = append(errs, fmt.Errorf("%s: ref_types: no resource type %q (%s)", where, rt, strings.Join(names, ", ")))
				}
			}
		}
	}
	return errs
}

// inSchema checks that a mapping names an attribute (and sub-attribute) of
// the schema it claims: the type's core schema, or one of its extensions.
func inSchema(t *resource.Type, a *scimldap.AttrMapping) error {
	sch, found := t.Schema, a.URN == ""
	for _, e := range t.Extensions {
		if !found && strings.EqualFold(e.Schema.ID, a.URN) {
			sch, found = e.Schema, true
		}
	}
	if !found {
		return fmt.Errorf("scim %q: %s is not a schema of %s", a.SCIM, a.URN, t.Name)
	}
	for _, attr := range sch.Attributes {
		if !strings.EqualFold(attr.Name(), a.Attr) {
			continue
		}
		if a.Kind == scimldap.KindJSON && (!attr.MultiValued() || !attr.HasSubAttributes()) {
			return fmt.Errorf("scim %q: kind json stores a multi-valued complex attribute, which %s is not", a.SCIM, attr.Name())
		}
		if a.Sub == "" {
			return nil
		}
		for _, sa := range attr.SubAttributes() {
			if strings.EqualFold(sa.Name(), a.Sub) {
				return nil
			}
		}
		return fmt.Errorf("scim %q: %s has no sub-attribute %s", a.SCIM, attr.Name(), a.Sub)
	}
	return fmt.Errorf("scim %q: the %s schema has no attribute %s", a.SCIM, sch.ID, a.Attr)
}

// The core schema URNs of the sync types; userURN and groupURN are in
// config.go.
const (
	syncProfileURN = scimldap.SyncProfileURN
	connectorURN   = scimldap.ConnectorURN
)

// types lists the resource types of the bindings.
func types(bs []ldapbackend.TypeBinding) []*resource.Type {
	out := make([]*resource.Type, len(bs))
	for i, b := range bs {
		out[i] = b.Type
	}
	return out
}
