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
	users.Compile(userURN)
	groups.Compile(groupURN)
	return []ldapbackend.TypeBinding{
		{Type: scim.UserType(), Mapping: users},
		{Type: scim.GroupType(), Mapping: groups},
	}
}

// validateTypes compiles every mapping and reports each problem with the
// configuration section it comes from.
func (c *Config) validateTypes() []error {
	var errs []error
	users, groups := c.mappings()
	for _, e := range users.Compile(userURN) {
		errs = append(errs, fmt.Errorf("users: %v", e))
	}
	for _, e := range groups.Compile(groupURN) {
		errs = append(errs, fmt.Errorf("groups: %v", e))
	}
	return errs
}

// types lists the resource types of the bindings.
func types(bs []ldapbackend.TypeBinding) []*resource.Type {
	out := make([]*resource.Type, len(bs))
	for i, b := range bs {
		out[i] = b.Type
	}
	return out
}
