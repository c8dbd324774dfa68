package main

import (
	"fmt"

	"github.com/scimgate/scimgate/ldapbackend"
	"github.com/scimgate/scimgate/scim"
	"github.com/scimgate/scimgate/scim/resource"
)

// bindings returns every SCIM resource type the server exposes with its
// compiled directory mapping. validate has already reported mapping errors.
func (c *Config) bindings() []ldapbackend.TypeBinding {
	users, groups := c.mappings()
	profiles, connectors := c.syncMappings()
	users.Compile(userURN)
	groups.Compile(groupURN)
	profiles.Compile(syncProfileURN)
	connectors.Compile(connectorURN)
	return []ldapbackend.TypeBinding{
		{Type: scim.UserType(), Mapping: users},
		{Type: scim.GroupType(), Mapping: groups},
		{Type: scim.SyncProfileType(), Mapping: profiles},
		{Type: scim.ConnectorType(), Mapping: connectors},
	}
}

// validateTypes compiles every mapping and reports each problem with the
// configuration section it comes from.
func (c *Config) validateTypes() []error {
	var errs []error
	users, groups := c.mappings()
	profiles, connectors := c.syncMappings()
	for _, s := range []struct {
		section string
		m       *ldapbackend.TypeMapping
		urn     string
	}{
		{"users", users, userURN},
		{"groups", groups, groupURN},
		{"sync_profiles", profiles, syncProfileURN},
		{"connectors", connectors, connectorURN},
	} {
		for _, e := range s.m.Compile(s.urn) {
			errs = append(errs, fmt.Errorf("%s: %v", s.section, e))
		}
	}
	return errs
}

// syncMappings builds the SyncProfile and Connector mappings from the
// defaults (ou=SyncProfiles and ou=Connectors under the suffix) and the
// file's sync_profiles and connectors overrides, as mappings does for
// users and groups.
func (c *Config) syncMappings() (profiles, connectors *ldapbackend.TypeMapping) {
	pb := c.SyncProfiles.BaseDN
	if pb == "" {
		pb = "ou=SyncProfiles," + c.LDAP.Suffix
	}
	cb := c.Connectors.BaseDN
	if cb == "" {
		cb = "ou=Connectors," + c.LDAP.Suffix
	}
	profiles, connectors = ldapbackend.DefaultSyncProfileMapping(pb), ldapbackend.DefaultConnectorMapping(cb)
	if len(c.SyncProfiles.Attributes) > 0 {
		profiles.Attrs = c.SyncProfiles.Attributes
	}
	if len(c.Connectors.Attributes) > 0 {
		connectors.Attrs = c.Connectors.Attributes
	}
	return profiles, connectors
}

// The core schema URNs of the sync types; userURN and groupURN are in
// config.go.
const (
	syncProfileURN = ldapbackend.SyncProfileURN
	connectorURN   = ldapbackend.ConnectorURN
)

// types lists the resource types of the bindings.
func types(bs []ldapbackend.TypeBinding) []*resource.Type {
	out := make([]*resource.Type, len(bs))
	for i, b := range bs {
		out[i] = b.Type
	}
	return out
}
