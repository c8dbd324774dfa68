package main

import (
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

// types lists the resource types of the bindings.
func types(bs []ldapbackend.TypeBinding) []*resource.Type {
	out := make([]*resource.Type, len(bs))
	for i, b := range bs {
		out[i] = b.Type
	}
	return out
}
