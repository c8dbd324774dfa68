package scimldap

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/elimity-com/scim/schema"

	"github.com/scimgate/scimgate/scim"
	"github.com/scimgate/scimgate/scim/resource"
)

// served compiles m and returns typ as m serves it.
func served(t *testing.T, m *TypeMapping, urn string, typ *resource.Type) *resource.Type {
	t.Helper()
	if errs := m.Compile(urn); len(errs) > 0 {
		t.Fatalf("Compile: %v", errs)
	}
	out, err := m.Serve(typ)
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	return out
}

// servedAttr finds an attribute of a served type by path: "attr" or
// "attr.sub", after "URN:" for an extension's attribute.
func servedAttr(rt *resource.Type, path string) (schema.CoreAttribute, bool) {
	sc := rt.Schema
	if strings.HasPrefix(path, "urn:") {
		i := strings.LastIndex(path, ":")
		urn := path[:i]
		path = path[i+1:]
		j := slices.IndexFunc(rt.Extensions, func(e resource.Extension) bool { return e.Schema.ID == urn })
		if j < 0 {
			return schema.CoreAttribute{}, false
		}
		sc = rt.Extensions[j].Schema
	}
	attr, sub, hasSub := strings.Cut(path, ".")
	a, ok := sc.Attributes.ContainsAttribute(attr)
	if !ok || !hasSub {
		return a, ok
	}
	return a.SubAttributes().ContainsAttribute(sub)
}

// attrNames lists the names of attributes, in order, comma-separated.
func attrNames(as schema.Attributes) string {
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.Name()
	}
	return strings.Join(names, ",")
}

// customUserMapping stores the userName and the work and home emails'
// values, nothing else.
func customUserMapping() *TypeMapping {
	return &TypeMapping{
		Name: "User", BaseDN: "ou=People,dc=example,dc=com", RDNAttr: "uid", ObjectClasses: []string{"inetOrgPerson"},
		Attrs: []*AttrMapping{
			{SCIM: "userName", LDAP: "uid"},
			{SCIM: `emails[type eq "work"].value`, LDAP: "mail"},
			{SCIM: `emails[type eq "home"].value`, LDAP: "scimHomeMail"},
		},
	}
}

// TestServe: the served schemas say what each mapping stores, and how
// a client may write it.
func TestServe(t *testing.T) {
	const base = "ou=People,dc=example,dc=com"
	readOnlyTitle := DefaultUserMapping(base)
	for _, a := range readOnlyTitle.Attrs {
		if a.SCIM == "title" {
			a.ReadOnly = true
		}
	}
	types := map[string]*resource.Type{
		"default":  served(t, DefaultUserMapping(base), CoreUserURN, scim.UserType()),
		"custom":   served(t, customUserMapping(), CoreUserURN, scim.UserType()),
		"roTitle":  served(t, readOnlyTitle, CoreUserURN, scim.UserType()),
		"group":    served(t, DefaultGroupMapping("ou=Groups,dc=example,dc=com"), CoreGroupURN, scim.GroupType()),
		"noManage": served(t, &TypeMapping{Name: "User", BaseDN: base, RDNAttr: "uid", ObjectClasses: []string{"x"}, Attrs: []*AttrMapping{{SCIM: "userName", LDAP: "uid"}, {SCIM: EnterpriseUserURN + ":department", LDAP: "departmentNumber"}}}, CoreUserURN, scim.UserType()),
	}
	const mgr = EnterpriseUserURN + ":manager"
	tests := []struct {
		typ  string
		path string
		mut  string // its mutability; "" when it is not served
		subs string // for a complex attribute, its served sub-attributes in order
	}{
		{"default", "userName", "readWrite", ""},
		{"default", "title", "readWrite", ""},
		{"default", "password", "writeOnly", ""},
		{"default", "active", "readWrite", ""},
		{"default", "groups", "readOnly", "value,$ref,display"},
		{"default", "groups.value", "readOnly", ""},
		{"default", "groups.$ref", "readOnly", ""},
		{"default", "groups.display", "readOnly", ""},
		{"default", "groups.type", "", ""},
		{"default", "emails", "readWrite", "value,display,type,primary"},
		{"default", "emails.primary", "readWrite", ""},
		{"default", "photos", "readWrite", "value,display,type,primary"},
		{"default", "addresses", "readWrite", "formatted,streetAddress,locality,region,postalCode,country,type,primary"},
		{"default", "x509Certificates", "readWrite", "value,display,type,primary"},
		{"default", mgr, "readWrite", "value,$ref,displayName"},
		{"default", mgr + ".value", "readWrite", ""},
		{"default", mgr + ".$ref", "readOnly", ""},
		{"default", mgr + ".displayName", "readOnly", ""},
		{"default", EnterpriseUserURN + ":employeeNumber", "readWrite", ""},
		{"custom", "userName", "readWrite", ""},
		{"custom", "emails", "readWrite", "value,type"},
		{"custom", "emails.value", "readWrite", ""},
		{"custom", "emails.type", "readWrite", ""},
		{"custom", "emails.primary", "", ""},
		{"custom", "externalId", "", ""},
		{"custom", "name", "", ""},
		{"custom", "title", "", ""},
		{"custom", "phoneNumbers", "", ""},
		{"custom", "groups", "", ""},
		{"custom", mgr, "", ""},
		{"roTitle", "title", "readOnly", ""},
		{"roTitle", "displayName", "readWrite", ""},
		{"roTitle", "userType", "readWrite", ""},
		{"group", "displayName", "readWrite", ""},
		{"group", "externalId", "readWrite", ""},
		{"group", "members", "readWrite", "value,$ref,type,display"},
		{"group", "members.value", "immutable", ""},
		{"group", "members.$ref", "readOnly", ""},
		{"group", "members.type", "readOnly", ""},
		{"group", "members.display", "readOnly", ""},
		{"noManage", EnterpriseUserURN + ":department", "readWrite", ""},
		{"noManage", mgr, "", ""},
	}
	for _, tt := range tests {
		a, ok := servedAttr(types[tt.typ], tt.path)
		switch {
		case !ok && tt.mut != "":
			t.Errorf("%s %s: not served, want %s", tt.typ, tt.path, tt.mut)
		case ok && tt.mut == "":
			t.Errorf("%s %s: served (%s), want it left out", tt.typ, tt.path, a.Mutability())
		case ok && a.Mutability() != tt.mut:
			t.Errorf("%s %s: %s, want %s", tt.typ, tt.path, a.Mutability(), tt.mut)
		case ok && tt.subs != "" && attrNames(a.SubAttributes()) != tt.subs:
			t.Errorf("%s %s: sub-attributes %s, want %s", tt.typ, tt.path, attrNames(a.SubAttributes()), tt.subs)
		}
	}
}

// TestServeWholeUser: the default mapping serves every attribute of
// RFC 7643 User and of the enterprise extension, and Serve leaves the
// type it is given alone.
func TestServeWholeUser(t *testing.T) {
	rfc := scim.UserType()
	got := served(t, DefaultUserMapping("ou=People,dc=example,dc=com"), CoreUserURN, rfc)
	pristine := scim.UserType()
	if g, w := attrNames(got.Schema.Attributes), attrNames(pristine.Schema.Attributes); g != w {
		t.Errorf("core attributes\n got %s\nwant %s", g, w)
	}
	if got.Schema.ID != CoreUserURN || got.ID != "User" || got.Endpoint != "/Users" {
		t.Errorf("type %s %s %s", got.ID, got.Endpoint, got.Schema.ID)
	}
	if len(got.Extensions) != 1 || got.Extensions[0].Schema.ID != EnterpriseUserURN {
		t.Fatalf("extensions: %v", got.Extensions)
	}
	if g, w := attrNames(got.Extensions[0].Schema.Attributes), attrNames(pristine.Extensions[0].Schema.Attributes); g != w {
		t.Errorf("enterprise attributes\n got %s\nwant %s", g, w)
	}
	if a, _ := servedAttr(rfc, "groups"); attrNames(a.SubAttributes()) != "value,$ref,display,type" {
		t.Errorf("Serve changed its input: groups has %s", attrNames(a.SubAttributes()))
	}
	if a, _ := servedAttr(rfc, EnterpriseUserURN+":manager.$ref"); a.Mutability() != "readWrite" {
		t.Errorf("Serve changed its input: manager.$ref is %s", a.Mutability())
	}
}

// TestServeCustom: a mapping of the userName and the typed emails alone
// serves those and no extension; the types it selects are the canonical
// values of emails.type.
func TestServeCustom(t *testing.T) {
	got := served(t, customUserMapping(), CoreUserURN, scim.UserType())
	if names := attrNames(got.Schema.Attributes); names != "userName,emails" {
		t.Errorf("attributes %s, want userName,emails", names)
	}
	if len(got.Extensions) != 0 {
		t.Errorf("extensions served: %v", got.Extensions)
	}
	typ, _ := servedAttr(got, "emails.type")
	if cv := typ.CanonicalValues(); !reflect.DeepEqual(cv, []string{"work", "home"}) {
		t.Errorf("emails.type canonical values %q, want [work home]", cv)
	}
	if emails, _ := servedAttr(got, "emails"); !emails.MultiValued() {
		t.Errorf("emails is no longer multi-valued")
	}
}

// TestServeJSONSubs: Serve records in each json mapping the
// sub-attributes it stores, with their types, for the filter
// translation.
func TestServeJSONSubs(t *testing.T) {
	m := DefaultUserMapping("ou=People,dc=example,dc=com")
	served(t, m, CoreUserURN, scim.UserType())
	tests := []struct {
		attr, key string
		want      jsonSub
	}{
		{"emails", "value", jsonSub{Name: "value", Type: "string"}},
		{"emails", "primary", jsonSub{Name: "primary", Type: "boolean"}},
		{"emails", "type", jsonSub{Name: "type", Type: "string"}},
		{"emails", "display", jsonSub{Name: "display", Type: "string"}},
		{"phoneNumbers", "primary", jsonSub{Name: "primary", Type: "boolean"}},
		{"photos", "value", jsonSub{Name: "value", Type: "reference", CaseExact: true}},
		{"photos", "primary", jsonSub{Name: "primary", Type: "boolean"}},
		{"addresses", "streetaddress", jsonSub{Name: "streetAddress", Type: "string"}},
		{"addresses", "postalcode", jsonSub{Name: "postalCode", Type: "string"}},
		{"x509Certificates", "value", jsonSub{Name: "value", Type: "binary", CaseExact: true}},
	}
	for _, tt := range tests {
		i := slices.IndexFunc(m.Attrs, func(a *AttrMapping) bool { return a.SCIM == tt.attr && a.Kind == KindJSON })
		if i < 0 {
			t.Fatalf("no json mapping of %s", tt.attr)
		}
		if got, ok := m.Attrs[i].subs[tt.key]; !ok || got != tt.want {
			t.Errorf("%s %s: %+v (recorded %v), want %+v", tt.attr, tt.key, got, ok, tt.want)
		}
	}
	for _, a := range m.Attrs {
		if a.Kind != KindJSON && a.subs != nil {
			t.Errorf("%s is not json but has subs recorded", a.SCIM)
		}
	}
}
