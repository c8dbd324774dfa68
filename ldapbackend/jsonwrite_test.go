package ldapbackend

import (
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
