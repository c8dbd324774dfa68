package ldapbackend

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/scimldap"
	"github.com/scimgate/scimgate/scim/resource"
)

// Writes of multi-valued complex attributes kept whole as JSON
// (scimEmails...) beside the typed attributes that stay authoritative
// (mail, l...).

// strictWrites makes the directory refuse, as slapd and 389 DS do, an add
// or modify that gives an attribute one value twice (20,
// attributeOrValueExists: they compare ignoring case and spaces).
func strictWrites(op string, req any) error {
	var attrs []ldap.Attribute
	switch r := req.(type) {
	case *ldap.AddRequest:
		attrs = r.Attributes
	case *ldap.ModifyRequest:
		for _, c := range r.Changes {
			if c.Operation != ldap.DeleteAttribute {
				attrs = append(attrs, ldap.Attribute{Type: c.Modification.Type, Vals: c.Modification.Vals})
			}
		}
	default:
		return nil
	}
	for _, a := range attrs {
		seen := map[string]bool{}
		for _, v := range a.Vals {
			f := scimldap.FoldSpaceCase(v)
			if seen[f] {
				return ldap.NewError(ldap.LDAPResultAttributeOrValueExists, fmt.Errorf("%s: %s: value #%q provided more than once", op, a.Type, v))
			}
			seen[f] = true
		}
	}
	return nil
}

// elements returns the elements of a multi-valued complex attribute of r
// as canonical JSON, sorted.
func elements(t *testing.T, r *resource.Resource, attr string) []string {
	t.Helper()
	list, _ := r.Attrs[attr].([]any)
	a := &scimldap.AttrMapping{SCIM: attr, Kind: scimldap.KindJSON}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, err := scimldap.FromSCIMValue(a, e)
		if err != nil {
			t.Fatalf("%s: %v", attr, err)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// TestJSONWriteSharedTypedValue: two elements carrying one typed value
// (two work addresses in Oslo) give the typed attribute that value once,
// on create and on modify, and both elements keep it when read.
func TestJSONWriteSharedTypedValue(t *testing.T) {
	const aliceDN = "uid=alice," + peopleDN
	addrs := []any{
		map[string]any{"type": "work", "streetAddress": "1 Main", "locality": "Oslo"},
		map[string]any{"type": "work", "streetAddress": "2 Side", "locality": "oslo "},
	}
	want := []string{
		`{"locality":"Oslo","streetAddress":"1 Main","type":"work"}`,
		`{"locality":"Oslo","streetAddress":"2 Side","type":"work"}`,
	}
	rw := as("scim:read", "scim:write")
	cases := []struct {
		name  string
		write func(env *memEnv) (*resource.Resource, error)
		dn    string
	}{
		{"create", func(env *memEnv) (*resource.Resource, error) {
			return env.b.Create(rw, env.users, map[string]any{"userName": "dora", "addresses": addrs}, resource.Projection{})
		}, "uid=dora," + peopleDN},
		{"patch", func(env *memEnv) (*resource.Resource, error) {
			op := mustPath(t, "addresses")
			op.Op, op.Value = "replace", addrs
			return env.b.Patch(rw, env.users, env.id(t, aliceDN), []resource.PatchOp{*op}, resource.Conditions{}, resource.Projection{})
		}, aliceDN},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newMemEnv(t, nil)
			env.dir.Fail = strictWrites
			r, err := tc.write(env)
			if err != nil {
				t.Fatal(err)
			}
			e := env.dir.Entry(tc.dn)
			if got := e.GetAttributeValues("l"); !slices.Equal(got, []string{"Oslo"}) {
				t.Errorf("l = %q, want [Oslo]", got)
			}
			if got := e.GetAttributeValues("street"); len(got) != 2 {
				t.Errorf("street = %q, want both", got)
			}
			if got := elements(t, r, "addresses"); !slices.Equal(got, want) {
				t.Errorf("addresses read back:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// schemaChecks makes the directory refuse, as slapd does, a modify that
// leaves an entry holding an attribute of scimgate's schema without the
// auxiliary class that allows it (65, objectClassViolation); the
// attributes are told apart by name, which is enough for these tests.
func schemaChecks(dir interface{ Entry(string) *ldap.Entry }) func(string, any) error {
	return func(op string, req any) error {
		m, ok := req.(*ldap.ModifyRequest)
		if op != "modify" || !ok {
			return nil
		}
		e := dir.Entry(m.DN)
		if e == nil {
			return nil
		}
		classes := e.GetAttributeValues("objectClass")
		for _, c := range m.Changes {
			if strings.EqualFold(c.Modification.Type, "objectClass") && c.Operation == ldap.AddAttribute {
				classes = append(classes, c.Modification.Vals...)
			}
		}
		for _, c := range m.Changes {
			attr := c.Modification.Type
			if c.Operation == ldap.DeleteAttribute || len(c.Modification.Vals) == 0 || !strings.HasPrefix(strings.ToLower(attr), "scim") {
				continue
			}
			need := "scimAccount"
			if strings.EqualFold(attr, "scimExternalId") || strings.EqualFold(attr, "scimVersion") {
				need = "scimResource"
			}
			if !containsFold(classes, need) {
				return ldap.NewError(ldap.LDAPResultObjectClassViolation, fmt.Errorf("attribute '%s' not allowed", attr))
			}
		}
		return nil
	}
}

// TestJSONWriteAddsAuxClass: an entry another tool made without
// scimgate's auxiliary classes gains those of the mapping in the write
// that stores their attributes; a caller who may not change objectClass
// still writes what needs no class.
func TestJSONWriteAddsAuxClass(t *testing.T) {
	const legacyDN = "uid=legacy," + peopleDN
	noClassWrites := withGlobalACIs(t, `(targetattr="objectClass")(version 3.0; acl "classes are fixed"; deny (write) userdn="ldap:///anyone";)`)
	cases := []struct {
		name        string
		tune        func(*Options)
		dn          string
		path        string
		value       any
		status      int
		wantClasses []string // added to the entry's
		wantAttr    string   // an attribute that must then have a value
	}{
		{"emails on a bare inetOrgPerson", nil, legacyDN, "emails",
			[]any{map[string]any{"type": "home", "value": "h@x"}}, 0, []string{"scimResource", "scimAccount"}, "scimEmails"},
		{"externalId on a bare inetOrgPerson", nil, legacyDN, "externalId", "hr-9", 0, []string{"scimResource", "scimAccount"}, "scimExternalId"},
		{"title on an entry with the classes", nil, aliceDN, "title", "Chief", 0, nil, "title"},
		{"title, classes fixed", noClassWrites, legacyDN, "title", "Chief", 0, nil, "title"},
		{"emails, classes fixed: the directory refuses", noClassWrites, legacyDN, "emails",
			[]any{map[string]any{"type": "home", "value": "h@x"}}, 400, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newMemEnv(t, tc.tune)
			add := ldap.NewAddRequest(legacyDN, nil)
			add.Attribute("objectClass", []string{"inetOrgPerson", "organizationalPerson", "person", "top"})
			add.Attribute("uid", []string{"legacy"})
			add.Attribute("cn", []string{"Legacy User"})
			add.Attribute("sn", []string{"User"})
			add.Attribute("mail", []string{"legacy@example.com"})
			if err := env.dir.Add(context.Background(), add); err != nil {
				t.Fatal(err)
			}
			before := env.dir.Entry(tc.dn).GetAttributeValues("objectClass")
			env.dir.Fail = schemaChecks(env.dir)
			op := mustPath(t, tc.path)
			op.Op, op.Value = "add", tc.value
			_, err := env.b.Patch(as("scim:read", "scim:write"), env.users, env.id(t, tc.dn), []resource.PatchOp{*op}, resource.Conditions{}, resource.Projection{})
			if status(err) != tc.status {
				t.Fatalf("status %d (%v), want %d", status(err), err, tc.status)
			}
			e := env.dir.Entry(tc.dn)
			if got, want := e.GetAttributeValues("objectClass"), append(before, tc.wantClasses...); !slices.Equal(got, want) {
				t.Errorf("objectClass = %q, want %q", got, want)
			}
			if tc.wantAttr != "" && len(e.GetAttributeValues(tc.wantAttr)) == 0 {
				t.Errorf("%s not written", tc.wantAttr)
			}
		})
	}
	// A new entry has every class of the mapping from the start.
	env := newMemEnv(t, nil)
	env.dir.Fail = schemaChecks(env.dir)
	if _, err := env.b.Create(as("scim:read", "scim:write"), env.users, map[string]any{"userName": "dora",
		"emails": []any{map[string]any{"type": "home", "value": "d@x"}}}, resource.Projection{}); err != nil {
		t.Fatal(err)
	}
	if got := env.dir.Entry("uid=dora," + peopleDN).GetAttributeValues("objectClass"); !containsFold(got, "scimAccount") || !containsFold(got, "scimResource") {
		t.Errorf("created with objectClass %q, want scimResource and scimAccount among them", got)
	}
}

// TestJSONWriteHidden: a write of a json mapping's attribute
// (scimEmails) keeps what the caller could not read of it, and a caller
// who may change it only through a typed attribute beside it (mail)
// changes no more than that attribute carries.
func TestJSONWriteHidden(t *testing.T) {
	const (
		work      = `{"display":"Alice","primary":true,"type":"work","value":"alice@example.com"}`
		home      = `{"type":"home","value":"alice@home.example"}`
		hideMail  = `(targetattr="mail")(version 3.0; acl "mail hidden"; deny (read,search,compare) userdn="ldap:///anyone";)`
		hideJSON  = `(targetattr="scimEmails")(version 3.0; acl "json hidden"; deny (read,search,compare) userdn="ldap:///anyone";)`
		fixedJSON = `(targetattr="scimEmails")(version 3.0; acl "json fixed"; deny (write) userdn="ldap:///anyone";)`
	)
	emails := func(list ...string) []any {
		out := make([]any, 0, len(list))
		for _, s := range list {
			out = append(out, decodeJSONValue(t, s))
		}
		return out
	}
	cases := []struct {
		name     string
		aci      string
		stored   []string // scimEmails; mail holds alice@example.com
		mail     []string // mail, when not the demo's
		path, op string
		value    any
		status   int
		want     []string // scimEmails after
		wantMail []string // mail after; nil: unchanged
	}{
		{"mail hidden: an added email keeps the work one", hideMail, []string{work}, nil,
			"emails", "add", emails(`{"type":"other","value":"o@x"}`), 0,
			[]string{work, `{"type":"other","value":"o@x"}`}, nil},
		{"mail hidden: emails replaced, the work one kept", hideMail, []string{work, home}, nil,
			"emails", "replace", emails(`{"type":"other","value":"o@x"}`), 0,
			[]string{work, `{"type":"other","value":"o@x"}`}, nil},
		{"scimEmails hidden: the work value changed, the home email kept", hideJSON, []string{work, home}, nil,
			`emails[type eq "work"].value`, "replace", "alice@new.example", 0,
			[]string{`{"display":"Alice","primary":true,"type":"work","value":"alice@new.example"}`, home}, []string{"alice@new.example"}},
		{"scimEmails hidden: the work email removed, the home email kept", hideJSON, []string{work, home}, nil,
			`emails[type eq "work"]`, "remove", nil, 0,
			[]string{home}, []string{}},
		{"scimEmails hidden: an email mail does not hold is 403", hideJSON, []string{work, home}, nil,
			"emails", "add", emails(`{"type":"other","value":"o@x"}`), 403,
			[]string{work, home}, nil},
		{"scimEmails hidden: primary is 403", hideJSON, []string{work, home}, nil,
			"emails", "replace", emails(`{"type":"work","value":"alice@example.com","primary":true}`), 403,
			[]string{work, home}, nil},
		{"scimEmails fixed: the work value changes through mail", fixedJSON, []string{work, home}, nil,
			`emails[type eq "work"].value`, "replace", "alice@new.example", 0,
			[]string{work, home}, []string{"alice@new.example"}},
		{"scimEmails fixed: primary moved between work emails is 403", fixedJSON,
			[]string{`{"primary":true,"type":"work","value":"a@x"}`, `{"type":"work","value":"b@x"}`}, []string{"a@x", "b@x"},
			"emails", "replace", emails(`{"primary":true,"type":"work","value":"b@x"}`, `{"type":"work","value":"a@x"}`), 403,
			[]string{`{"primary":true,"type":"work","value":"a@x"}`, `{"type":"work","value":"b@x"}`}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newMemEnv(t, withGlobalACIs(t, tc.aci))
			seed := ldap.NewModifyRequest(aliceDN, nil)
			seed.Replace("scimEmails", tc.stored)
			if tc.mail != nil {
				seed.Replace("mail", tc.mail)
			}
			if err := env.dir.Modify(context.Background(), seed); err != nil {
				t.Fatal(err)
			}
			mailBefore := env.dir.Entry(aliceDN).GetAttributeValues("mail")
			op := mustPath(t, tc.path)
			op.Op, op.Value = tc.op, tc.value
			_, err := env.b.Patch(as("scim:read", "scim:write"), env.users, env.id(t, aliceDN), []resource.PatchOp{*op}, resource.Conditions{}, resource.Projection{})
			if status(err) != tc.status {
				t.Fatalf("status %d (%v), want %d", status(err), err, tc.status)
			}
			e := env.dir.Entry(aliceDN)
			got := slices.Sorted(slices.Values(e.GetAttributeValues("scimEmails")))
			if want := slices.Sorted(slices.Values(tc.want)); !slices.Equal(got, want) {
				t.Errorf("scimEmails:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			wantMail := tc.wantMail
			if wantMail == nil {
				wantMail = mailBefore
			}
			if got := e.GetAttributeValues("mail"); !slices.Equal(got, wantMail) && len(got)+len(wantMail) > 0 {
				t.Errorf("mail = %q, want %q", got, wantMail)
			}
		})
	}
}

// decodeJSONValue decodes one JSON literal of a test table.
func decodeJSONValue(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}
