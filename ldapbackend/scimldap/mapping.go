package scimldap

import (
	"fmt"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/scim/resource"
)

// Kind says how a SCIM value is stored in LDAP.
type Kind int

// The value kinds.
const (
	KindString    Kind = iota // directory string
	KindBoolean               // LDAP "TRUE"/"FALSE" ↔ JSON boolean
	KindInteger               // LDAP integer ↔ JSON number
	KindDateTime              // generalizedTime ↔ RFC 3339 string
	KindReference             // DN ↔ the id of another resource (members, manager, groups)
	KindPassword              // write-only secret (userPassword)
	// KindJSON stores each element of a multi-valued complex attribute
	// whole, as one JSON object a value, so that every sub-attribute
	// (type, primary, display...) round-trips. Mappings of the same
	// attribute's sub-values to other LDAP attributes (mail for
	// emails[type eq "work"].value) stay authoritative for the elements
	// they claim: see scimldap.Reconcile.
	KindJSON
)

// AttrMapping maps one SCIM attribute or sub-attribute onto one LDAP
// attribute. SCIM is a path as in a filter: "userName", "name.givenName",
// `emails[type eq "work"].value`, "members.value",
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".
type AttrMapping struct {
	SCIM      string   `yaml:"scim"`
	LDAP      string   `yaml:"ldap"`
	Kind      Kind     `yaml:"-"`
	KindName  string   `yaml:"kind"`      // string (default), boolean, integer, datetime, reference, password, json
	RefTypes  []string `yaml:"ref_types"` // for reference: the resource types a value may name (User, Group)
	ReadOnly  bool     `yaml:"read_only"`
	WriteOnly bool     `yaml:"write_only"`
	// DefaultTrue makes a missing boolean read as true (SCIM active).
	DefaultTrue bool `yaml:"default_true"`

	// Parsed from SCIM (never read from the configuration):
	URN    string `yaml:"-"` // schema URN the attribute belongs to ("" = the type's core schema)
	Attr   string `yaml:"-"` // top-level attribute name, lowercased ("emails")
	Sub    string `yaml:"-"` // sub-attribute, lowercased ("value"); "" for a simple attribute
	TypeEq string `yaml:"-"` // the [type eq "x"] selector of a multi-valued complex attribute, lowercased

	// subs, for a json mapping, are the sub-attributes it stores, by
	// lowercased name (set by Serve, read by the filter translation).
	subs map[string]jsonSub
}

// TypeMapping maps one SCIM resource type onto the directory.
type TypeMapping struct {
	Name          string         `yaml:"name"`           // resource type id: User, Group
	BaseDN        string         `yaml:"base_dn"`        // where its entries live (one level or subtree below)
	RDNAttr       string         `yaml:"rdn_attribute"`  // the LDAP attribute naming new entries
	ObjectClasses []string       `yaml:"object_classes"` // for new entries; the first structural one selects entries
	Filter        string         `yaml:"filter"`         // extra LDAP filter selecting entries (optional)
	IDAttr        string         `yaml:"id_attribute"`   // entryUUID, nsUniqueId, objectGUID
	Attrs         []*AttrMapping `yaml:"attributes"`
	// CreateDefaults fill LDAP attributes the schema requires when the
	// client sent nothing for them: LDAP attribute -> SCIM paths tried in
	// order (e.g. cn <- displayName, userName).
	CreateDefaults map[string][]string `yaml:"create_defaults"`
	// EmptyMember is the placeholder member DN kept in a group that has no
	// members, for classes like groupOfNames that require one.
	EmptyMember string `yaml:"empty_member"`

	// CoreURN is the URN of the type's core schema, set by Compile.
	CoreURN string `yaml:"-"`
}

// EnterpriseUserURN is the enterprise User extension's schema URN.
const EnterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// CoreUserURN and CoreGroupURN are the core schemas' URNs.
const (
	CoreUserURN  = "urn:ietf:params:scim:schemas:core:2.0:User"
	CoreGroupURN = "urn:ietf:params:scim:schemas:core:2.0:Group"
)

// DefaultUserMapping maps User onto inetOrgPerson with the enterprise
// extension, under base: the whole of both schemas (RFC 7643 §4.1, §4.3).
// What inetOrgPerson has a home for goes there; the rest goes to
// scimAccount's attributes (testdata/schema), each multi-valued complex
// attribute whole, one JSON object a value. The typed values LDAP
// clients look for (work email in mail, work address in street, l, st,
// postalCode) are kept there too, and those attributes stay
// authoritative for them.
func DefaultUserMapping(base string) *TypeMapping {
	return &TypeMapping{
		Name: "User", BaseDN: base, RDNAttr: "uid", IDAttr: "entryUUID",
		ObjectClasses: []string{"inetOrgPerson", "organizationalPerson", "person", "top", "scimResource", "scimAccount"},
		Attrs: []*AttrMapping{
			{SCIM: "userName", LDAP: "uid"},
			{SCIM: "externalId", LDAP: "scimExternalId"},
			{SCIM: "name.formatted", LDAP: "cn"},
			{SCIM: "name.givenName", LDAP: "givenName"},
			{SCIM: "name.familyName", LDAP: "sn"},
			{SCIM: "name.middleName", LDAP: "scimMiddleName"},
			{SCIM: "name.honorificPrefix", LDAP: "scimHonorificPrefix"},
			{SCIM: "name.honorificSuffix", LDAP: "scimHonorificSuffix"},
			{SCIM: "displayName", LDAP: "displayName"},
			{SCIM: "nickName", LDAP: "scimNickName"},
			{SCIM: "profileUrl", LDAP: "labeledURI"},
			{SCIM: "title", LDAP: "title"},
			{SCIM: "userType", LDAP: "employeeType"},
			{SCIM: "preferredLanguage", LDAP: "preferredLanguage"},
			{SCIM: "locale", LDAP: "scimLocale"},
			{SCIM: "timezone", LDAP: "scimTimezone"},
			{SCIM: "emails", LDAP: "scimEmails", KindName: "json"},
			{SCIM: `emails[type eq "work"].value`, LDAP: "mail"},
			{SCIM: "phoneNumbers", LDAP: "scimPhoneNumbers", KindName: "json"},
			{SCIM: `phoneNumbers[type eq "work"].value`, LDAP: "telephoneNumber"},
			{SCIM: `phoneNumbers[type eq "mobile"].value`, LDAP: "mobile"},
			{SCIM: "ims", LDAP: "scimIms", KindName: "json"},
			{SCIM: "photos", LDAP: "scimPhotos", KindName: "json"},
			{SCIM: "addresses", LDAP: "scimAddresses", KindName: "json"},
			{SCIM: `addresses[type eq "work"].streetAddress`, LDAP: "street"},
			{SCIM: `addresses[type eq "work"].locality`, LDAP: "l"},
			{SCIM: `addresses[type eq "work"].region`, LDAP: "st"},
			{SCIM: `addresses[type eq "work"].postalCode`, LDAP: "postalCode"},
			{SCIM: "entitlements", LDAP: "scimEntitlements", KindName: "json"},
			{SCIM: "roles", LDAP: "scimRoles", KindName: "json"},
			{SCIM: "x509Certificates", LDAP: "scimX509Certificates", KindName: "json"},
			{SCIM: "active", LDAP: "scimAccountActive", KindName: "boolean", DefaultTrue: true},
			{SCIM: "password", LDAP: "userPassword", KindName: "password", WriteOnly: true},
			{SCIM: "groups.value", LDAP: "memberOf", KindName: "reference", RefTypes: []string{"Group"}, ReadOnly: true},
			{SCIM: EnterpriseUserURN + ":employeeNumber", LDAP: "employeeNumber"},
			{SCIM: EnterpriseUserURN + ":costCenter", LDAP: "scimCostCenter"},
			{SCIM: EnterpriseUserURN + ":organization", LDAP: "o"},
			{SCIM: EnterpriseUserURN + ":division", LDAP: "scimDivision"},
			{SCIM: EnterpriseUserURN + ":department", LDAP: "departmentNumber"},
			{SCIM: EnterpriseUserURN + ":manager.value", LDAP: "manager", KindName: "reference", RefTypes: []string{"User"}},
		},
		CreateDefaults: map[string][]string{"cn": {"name.formatted", "displayName", "userName"}, "sn": {"name.familyName", "userName"}},
	}
}

// DefaultGroupMapping maps Group onto groupOfNames under base.
func DefaultGroupMapping(base string) *TypeMapping {
	return &TypeMapping{
		Name: "Group", BaseDN: base, RDNAttr: "cn", IDAttr: "entryUUID",
		ObjectClasses: []string{"groupOfNames", "top", "scimResource"},
		Attrs: []*AttrMapping{
			{SCIM: "displayName", LDAP: "cn"},
			{SCIM: "externalId", LDAP: "scimExternalId"},
			{SCIM: "members.value", LDAP: "member", KindName: "reference", RefTypes: []string{"User", "Group"}},
		},
		EmptyMember: "cn=empty-group-placeholder",
	}
}

// Compile checks the mapping and parses its SCIM paths; coreURN is the
// URN of the type's core schema. Every problem is reported.
func (m *TypeMapping) Compile(coreURN string) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	m.CoreURN = coreURN
	if m.BaseDN == "" {
		bad("%s: base_dn is required", m.Name)
	}
	if m.RDNAttr == "" {
		bad("%s: rdn_attribute is required", m.Name)
	}
	if len(m.ObjectClasses) == 0 {
		bad("%s: object_classes is required", m.Name)
	}
	if m.IDAttr == "" {
		m.IDAttr = "entryUUID"
	}
	if m.Filter != "" {
		// The listing's filter is the structural class and this: one that
		// does not parse would widen it to every entry of the class.
		if _, err := ldapfilter.Parse(m.Filter); err != nil {
			bad("%s: filter: %v", m.Name, err)
		}
	}
	seen := map[string]bool{}
	for i, a := range m.Attrs {
		where := fmt.Sprintf("%s.attributes[%d]", m.Name, i)
		if a.LDAP == "" {
			bad("%s: ldap is required", where)
		}
		switch strings.ToLower(a.KindName) {
		case "", "string":
			a.Kind = KindString
		case "boolean":
			a.Kind = KindBoolean
		case "integer":
			a.Kind = KindInteger
		case "datetime":
			a.Kind = KindDateTime
		case "reference":
			a.Kind = KindReference
			if len(a.RefTypes) == 0 {
				bad("%s: a reference needs ref_types", where)
			}
		case "password":
			a.Kind, a.WriteOnly = KindPassword, true
		case "json":
			a.Kind = KindJSON
		default:
			bad("%s: unknown kind %q", where, a.KindName)
		}
		if err := a.parse(coreURN); err != nil {
			bad("%s: %v", where, err)
			continue
		}
		if a.Kind == KindJSON && (a.Sub != "" || a.TypeEq != "") {
			bad("%s: kind json maps a whole multi-valued complex attribute (\"emails\"), not %q", where, a.SCIM)
		}
		key := a.Key()
		if seen[key] {
			bad("%s: %s is mapped twice", where, a.SCIM)
		}
		seen[key] = true
	}
	return errs
}

// parse splits the SCIM path into URN, attribute, type selector and
// sub-attribute, using the SCIM filter grammar.
func (a *AttrMapping) parse(coreURN string) error {
	p, err := resource.ParsePath(a.SCIM)
	if err != nil {
		return fmt.Errorf("invalid SCIM path %q: %v", a.SCIM, err)
	}
	ap := p.AttributePath
	if ap.URIPrefix != nil && !strings.EqualFold(*ap.URIPrefix, coreURN) {
		a.URN = *ap.URIPrefix
	}
	a.Attr = strings.ToLower(ap.AttributeName)
	if ap.SubAttribute != nil {
		a.Sub = strings.ToLower(*ap.SubAttribute)
	}
	if p.ValueExpression != nil {
		ae, ok := p.ValueExpression.(*filter.AttributeExpression)
		if !ok || !strings.EqualFold(ae.AttributePath.AttributeName, "type") || ae.Operator != filter.EQ {
			return fmt.Errorf("SCIM path %q: only a [type eq \"x\"] selector is supported", a.SCIM)
		}
		s, ok := ae.CompareValue.(string)
		if !ok {
			return fmt.Errorf("SCIM path %q: the type must be a string", a.SCIM)
		}
		a.TypeEq = strings.ToLower(s)
		if p.SubAttribute != nil {
			a.Sub = strings.ToLower(*p.SubAttribute)
		}
	}
	return nil
}

// Key identifies the mapped SCIM value: urn|attr|type|sub, lowercased.
func (a *AttrMapping) Key() string {
	return strings.ToLower(a.URN) + "|" + a.Attr + "|" + a.TypeEq + "|" + a.Sub
}
