package main

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// staffMapping is the users: section of a configuration for a directory
// laid out unlike the default (testdata/demo/staff.ldif); the README shows
// the same.
const staffMapping = `
users:
  base_dn: ou=Staff,dc=example,dc=com
  rdn_attribute: cn
  object_classes: [inetOrgPerson, organizationalPerson, person, top]
  create_defaults: {cn: [displayName, userName], sn: [name.familyName, userName]}
  attributes:
    - {scim: userName, ldap: mail}
    - {scim: displayName, ldap: cn}
    - {scim: name.familyName, ldap: sn}
    - {scim: externalId, ldap: employeeNumber}
    - {scim: title, ldap: title, read_only: true}
    - {scim: password, ldap: userPassword, kind: password, write_only: true}
`

// TestConfiguredMapping: a site with another schema needs configuration,
// not code. Users live under ou=Staff as plain inetOrgPerson entries named
// by cn, with the mail address as userName; lookups, creation (with the
// configured RDN, object classes and defaults), read-only and write-only
// attributes all follow the configuration, against slapd over HTTP.
func TestConfiguredMapping(t *testing.T) {
	e := startEnvWith(t, func(c *Config) {
		if err := yaml.Unmarshal([]byte(staffMapping), c); err != nil {
			t.Fatal(err)
		}
	}, "../../testdata/demo/staff.ldif")
	c := "connector"

	r := e.must(200, "GET", "/Users?filter="+q(`userName eq "wendy@example.com"`), c, nil)
	if num(r.body, "totalResults") != 1 || str(r.body, "Resources[0].displayName") != "Wendy Walker" ||
		str(r.body, "Resources[0].externalId") != "7001" || str(r.body, "Resources[0].title") != "Auditor" {
		t.Fatalf("the staff entry through the mapping: %s", r.raw)
	}
	if n := num(e.must(200, "GET", "/Users?count=0", c, nil).body, "totalResults"); n != 1 {
		t.Fatalf("%d users: the mapping's base holds one", n)
	}
	if strings.Contains(r.raw, "wendy-demo-password") || str(r.body, "Resources[0].password") != "" {
		t.Fatalf("the write-only password is returned: %s", r.raw)
	}

	// Create: RDN, object classes and the sn default come from the configuration.
	created := e.must(201, "POST", "/Users", c, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "xavier@example.com",
		"displayName": "Xavier Young", "externalId": "7002", "password": "s3cret-Passw0rd",
	})
	id := str(created.body, "id")
	got := e.ldapEntry("cn=Xavier Young,ou=Staff,dc=example,dc=com", "mail", "sn", "employeeNumber", "objectClass", "userPassword")
	if got["mail"] != "xavier@example.com" || got["sn"] != "xavier@example.com" || got["employeeNumber"] != "7002" ||
		got["objectClass"] != "inetOrgPerson" || got["userPassword"] == "" {
		t.Fatalf("the created entry: %v", got)
	}
	if str(created.body, "password") != "" {
		t.Fatalf("the create returned the password: %s", created.raw)
	}

	// title is read-only here.
	scimError(t, e.do("PATCH", "/Users/"+id, c, patchOps(map[string]any{"op": "replace", "path": "title", "value": "Boss"})), 400, "mutability")
	e.must(200, "PATCH", "/Users/"+id, c, patchOps(map[string]any{"op": "replace", "path": "name.familyName", "value": "Young"}))
	if sn := e.ldapEntry("cn=Xavier Young,ou=Staff,dc=example,dc=com", "sn")["sn"]; sn != "Young" {
		t.Fatalf("sn after the PATCH: %q", sn)
	}
	e.must(204, "DELETE", "/Users/"+id, c, nil)
}
