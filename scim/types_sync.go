package scim

import (
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/scimgate/scimgate/scim/resource"
)

// Schema URNs of scimgate's own resource types. The
// urn:ietf:params:scim:schemas namespace belongs to the RFCs and IANA, so
// the types a directory sync connector uses (DESIGN.md, "Sync profiles and
// connectors") live under the project's own namespace, versioned 1.0.
// ldapbackend.SyncProfileURN and ldapbackend.ConnectorURN repeat them for
// the mappings; the two must stay equal.
const (
	SyncProfileSchemaURN = "urn:scimgate:params:scim:schemas:core:1.0:SyncProfile"
	ConnectorSchemaURN   = "urn:scimgate:params:scim:schemas:core:1.0:Connector"
)

// nameAttribute is the required, server-unique name of a sync profile or
// connector (its entry's cn).
func nameAttribute(what string) schema.CoreAttribute {
	return schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
		Name:        "name",
		Required:    true,
		Uniqueness:  schema.AttributeUniquenessServer(),
		Description: optional.NewString("The " + what + "'s unique name. REQUIRED."),
	}))
}

func stringAttribute(name, description string) schema.CoreAttribute {
	return schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
		Name: name, Description: optional.NewString(description),
	}))
}

func booleanAttribute(name, description string) schema.CoreAttribute {
	return schema.SimpleCoreAttribute(schema.SimpleBooleanParams(schema.BooleanParams{
		Name: name, Description: optional.NewString(description),
	}))
}

// SyncProfileSchema is the schema of SyncProfile: what a directory sync
// connector synchronises.
func SyncProfileSchema() schema.Schema {
	return withExternalID(schema.Schema{
		ID:          SyncProfileSchemaURN,
		Name:        optional.NewString("SyncProfile"),
		Description: optional.NewString("What a directory sync connector synchronises: source, filter, attribute mappings and schedule"),
		Attributes: schema.Attributes{
			nameAttribute("sync profile"),
			stringAttribute("description", "What the profile is for."),
			stringAttribute("sourceBase", "The base (a DN or a source-specific locator) the profile synchronises from."),
			stringAttribute("filter", "The filter selecting the source entries to synchronise."),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name:        "attributeMappings",
				MultiValued: true,
				Description: optional.NewString(`Attribute mappings, one a value, written target=source (e.g. "userName=uid").`),
			})),
			stringAttribute("schedule", "When the profile runs: a cron expression or an ISO 8601 duration."),
			booleanAttribute("enabled", "Whether the profile is in use."),
		},
	})
}

// ConnectorSchema is the schema of Connector: a connector's configuration
// and the status it reports.
func ConnectorSchema() schema.Schema {
	return withExternalID(schema.Schema{
		ID:          ConnectorSchemaURN,
		Name:        optional.NewString("Connector"),
		Description: optional.NewString("A directory sync connector: its configuration, the sync profile it runs, and the status it reports"),
		Attributes: schema.Attributes{
			nameAttribute("connector"),
			stringAttribute("description", "What the connector does."),
			stringAttribute("type", "The kind of connector, e.g. ldap, csv, workday."),
			booleanAttribute("enabled", "Whether the connector may run."),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name:        "config",
				CaseExact:   true,
				Description: optional.NewString("The connector's configuration as one JSON document, in a string. Never put secrets here."),
			})),
			schema.ComplexCoreAttribute(schema.ComplexParams{
				Name:        "syncProfile",
				Description: optional.NewString("The sync profile the connector runs."),
				SubAttributes: []schema.SimpleParams{
					schema.SimpleStringParams(schema.StringParams{
						Name:        "value",
						CaseExact:   true,
						Description: optional.NewString("The id of the SyncProfile."),
					}),
					schema.SimpleReferenceParams(schema.ReferenceParams{
						Name:           "$ref",
						ReferenceTypes: []schema.AttributeReferenceType{"SyncProfile"},
						Description:    optional.NewString("The URI of the SyncProfile."),
					}),
					schema.SimpleStringParams(schema.StringParams{
						Name:        "display",
						Mutability:  schema.AttributeMutabilityReadOnly(),
						Description: optional.NewString("The SyncProfile's name. READ-ONLY."),
					}),
				},
			}),
			schema.ComplexCoreAttribute(schema.ComplexParams{
				Name:        "status",
				Description: optional.NewString("The status the connector reports, typically by PATCH after each run."),
				SubAttributes: []schema.SimpleParams{
					schema.SimpleDateTimeParams(schema.DateTimeParams{
						Name:        "lastRun",
						Description: optional.NewString("When the connector last finished a run."),
					}),
					schema.SimpleStringParams(schema.StringParams{
						Name:        "state",
						Description: optional.NewString("The reported state, e.g. idle, running, failed."),
					}),
					schema.SimpleNumberParams(schema.NumberParams{
						Name:        "usersSynced",
						Type:        schema.AttributeTypeInteger(),
						Description: optional.NewString("Users synchronised by the last run."),
					}),
					schema.SimpleNumberParams(schema.NumberParams{
						Name:        "groupsSynced",
						Type:        schema.AttributeTypeInteger(),
						Description: optional.NewString("Groups synchronised by the last run."),
					}),
					schema.SimpleNumberParams(schema.NumberParams{
						Name:        "errorCount",
						Type:        schema.AttributeTypeInteger(),
						Description: optional.NewString("Errors reported by the last run."),
					}),
					schema.SimpleStringParams(schema.StringParams{
						Name:        "lastError",
						Description: optional.NewString("The message of the last error reported."),
					}),
				},
			}),
		},
	})
}

// SyncProfileType is the SyncProfile resource type (/SyncProfiles).
func SyncProfileType() *resource.Type {
	return &resource.Type{
		ID: "SyncProfile", Name: "SyncProfile", Endpoint: "/SyncProfiles",
		Description: "Directory sync profiles: what a sync connector synchronises",
		Schema:      SyncProfileSchema(),
	}
}

// ConnectorType is the Connector resource type (/Connectors).
func ConnectorType() *resource.Type {
	return &resource.Type{
		ID: "Connector", Name: "Connector", Endpoint: "/Connectors",
		Description: "Directory sync connectors: configuration and reported status",
		Schema:      ConnectorSchema(),
	}
}
