package scimldap

// SyncProfileURN and ConnectorURN are the core schemas' URNs of scimgate's
// own resource types, as package scim defines them
// (scim.SyncProfileSchemaURN, scim.ConnectorSchemaURN).
const (
	SyncProfileURN = "urn:scimgate:params:scim:schemas:core:1.0:SyncProfile"
	ConnectorURN   = "urn:scimgate:params:scim:schemas:core:1.0:Connector"
)

// DefaultSyncProfileMapping maps SyncProfile onto scimSyncProfile
// (testdata/schema/scimgate.schema) under base, named by cn.
func DefaultSyncProfileMapping(base string) *TypeMapping {
	return &TypeMapping{
		Name: "SyncProfile", BaseDN: base, RDNAttr: "cn", IDAttr: "entryUUID",
		ObjectClasses: []string{"scimSyncProfile", "top"},
		Attrs: []*AttrMapping{
			{SCIM: "name", LDAP: "cn"},
			{SCIM: "externalId", LDAP: "scimExternalId"},
			{SCIM: "description", LDAP: "description"},
			{SCIM: "sourceBase", LDAP: "scimSyncSourceBase"},
			{SCIM: "filter", LDAP: "scimSyncFilter"},
			{SCIM: "attributeMappings", LDAP: "scimSyncAttributeMapping"},
			{SCIM: "schedule", LDAP: "scimSyncSchedule"},
			{SCIM: "enabled", LDAP: "scimSyncEnabled", KindName: "boolean"},
		},
	}
}

// DefaultConnectorMapping maps Connector onto scimConnector under base,
// named by cn. The single-valued complex attributes map one LDAP attribute
// a sub-attribute: syncProfile.value is the DN in scimSyncProfileRef, and
// each sub-attribute of status (the connector's report) has its own.
func DefaultConnectorMapping(base string) *TypeMapping {
	return &TypeMapping{
		Name: "Connector", BaseDN: base, RDNAttr: "cn", IDAttr: "entryUUID",
		ObjectClasses: []string{"scimConnector", "top"},
		Attrs: []*AttrMapping{
			{SCIM: "name", LDAP: "cn"},
			{SCIM: "externalId", LDAP: "scimExternalId"},
			{SCIM: "description", LDAP: "description"},
			{SCIM: "type", LDAP: "scimConnectorType"},
			{SCIM: "enabled", LDAP: "scimConnectorEnabled", KindName: "boolean"},
			{SCIM: "config", LDAP: "scimConnectorConfig"},
			{SCIM: "syncProfile.value", LDAP: "scimSyncProfileRef", KindName: "reference", RefTypes: []string{"SyncProfile"}},
			{SCIM: "status.lastRun", LDAP: "scimConnectorLastRun", KindName: "datetime"},
			{SCIM: "status.state", LDAP: "scimConnectorState"},
			{SCIM: "status.usersSynced", LDAP: "scimConnectorUsersSynced", KindName: "integer"},
			{SCIM: "status.groupsSynced", LDAP: "scimConnectorGroupsSynced", KindName: "integer"},
			{SCIM: "status.errorCount", LDAP: "scimConnectorErrorCount", KindName: "integer"},
			{SCIM: "status.lastError", LDAP: "scimConnectorLastError"},
		},
	}
}
