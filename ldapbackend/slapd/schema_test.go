package slapd

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// schemaDefs returns the definitions of an OpenLDAP schema file or a 389 schema LDIF,
// keyed by OID, whitespace collapsed, without X-ORIGIN.
func schemaDefs(t *testing.T, path string, openldap bool) map[string]string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var defs []string
	if openldap {
		var lines []string
		for _, l := range strings.Split(string(src), "\n") {
			if !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
		re := regexp.MustCompile(`(?m)^(attributetype|objectclass)\s+`)
		for i, part := range re.Split(strings.Join(lines, "\n"), -1) {
			if i > 0 {
				defs = append(defs, part)
			}
		}
	} else {
		recs, err := parseLDIF(path, src)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			defs = append(defs, r.values("attributeTypes")...)
			defs = append(defs, r.values("objectClasses")...)
		}
	}
	origin := regexp.MustCompile(`\s*X-ORIGIN '[^']*'`)
	out := map[string]string{}
	for _, d := range defs {
		d = origin.ReplaceAllString(strings.Join(strings.Fields(d), " "), "")
		oid := strings.Fields(strings.TrimPrefix(d, "("))[0]
		if _, dup := out[oid]; dup {
			t.Errorf("%s: OID %s defined twice", path, oid)
		}
		out[oid] = d
	}
	return out
}

// TestSchemaFilesAgree keeps the 389 copy of the schema in step with the OpenLDAP master.
func TestSchemaFilesAgree(t *testing.T) {
	ol := schemaDefs(t, "../../testdata/schema/scimgate.schema", true)
	ds := schemaDefs(t, "../../testdata/schema/389/99scimgate.ldif", false)
	const aciOID = "2.16.840.1.113730.3.1.55"
	if _, ok := ol[aciOID]; !ok {
		t.Error("OpenLDAP schema lacks aci")
	}
	if _, ok := ds[aciOID]; ok {
		t.Error("389 schema redefines its built-in aci")
	}
	delete(ol, aciOID)
	if len(ol) != 40 {
		t.Errorf("OpenLDAP schema has %d definitions besides aci, want 40", len(ol))
	}
	for oid, d := range ol {
		if ds[oid] != d {
			t.Errorf("%s differs:\nOpenLDAP: %s\n389:      %s", oid, d, ds[oid])
		}
	}
	for oid := range ds {
		if _, ok := ol[oid]; !ok {
			t.Errorf("389 schema has %s, OpenLDAP not", oid)
		}
	}
	// Every string attribute can be filtered and sorted, except where ACIs
	// live (scimgateAci, like aci, is matched exactly and never sorted).
	for oid, d := range ol {
		if strings.Contains(d, "NAME 'scimgateAci'") {
			continue
		}
		if strings.Contains(d, "SYNTAX 1.3.6.1.4.1.1466.115.121.1.15") &&
			(!strings.Contains(d, " EQUALITY ") || !strings.Contains(d, " SUBSTR ") || !strings.Contains(d, " ORDERING ")) {
			t.Errorf("%s: string attribute without EQUALITY, SUBSTR and ORDERING: %s", oid, d)
		}
	}
}
