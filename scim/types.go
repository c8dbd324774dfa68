package scim

import (
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/scimgate/scimgate/scim/resource"
)

// externalID is the common attribute externalId (RFC 7643 §3.1), which the
// pinned library's core schemas lack; it is added to each core schema so
// bodies, filters and /Schemas know it.
func externalID() schema.CoreAttribute {
	return schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
		Name:        "externalId",
		CaseExact:   true,
		Description: optional.NewString("An identifier for the resource as defined by the provisioning client."),
	}))
}

func withExternalID(s schema.Schema) schema.Schema {
	s.Attributes = append(s.Attributes, externalID())
	return s
}

// UserType is the SCIM User resource type with the enterprise extension.
func UserType() *resource.Type {
	return &resource.Type{
		ID: "User", Name: "User", Endpoint: "/Users", Description: "User accounts",
		Schema:     withExternalID(schema.CoreUserSchema()),
		Extensions: []resource.Extension{{Schema: schema.ExtensionEnterpriseUser()}},
	}
}

// GroupType is the SCIM Group resource type.
func GroupType() *resource.Type {
	return &resource.Type{
		ID: "Group", Name: "Group", Endpoint: "/Groups", Description: "Groups",
		Schema: withExternalID(schema.CoreGroupSchema()),
	}
}
