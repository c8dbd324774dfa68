package memdir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/ldapbackend/internal/ldaptest"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/ldapbackend/slapd"
)

const (
	people = "ou=People,dc=example,dc=com"
	groups = "ou=Groups,dc=example,dc=com"
)

// TestParity: the directory in memory answers what slapd, seeded with the
// same demo directory, answers: the entries a search finds, and the result
// codes of searches and writes the backend relies on.
func TestParity(t *testing.T) {
	data, err := os.ReadFile(ldaptest.DemoLDIF)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := Load(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	mem.VLV = true
	s := ldaptest.StartDemo(t, slapd.Options{})
	pool := ldaptest.NewPool(t, ldaptest.Config(s))
	dirs := map[string]ldapconn.Conn{"slapd": pool, "memory": mem}

	search := func(base string, scope int, filter string, size int) func(context.Context, ldapconn.Conn) ([]string, error) {
		return func(ctx context.Context, c ldapconn.Conn) ([]string, error) {
			res, err := c.Search(ctx, &ldap.SearchRequest{BaseDN: base, Scope: scope, SizeLimit: size, Filter: filter, Attributes: []string{"1.1"}})
			var dns []string
			if res != nil {
				for _, e := range res.Entries {
					n, _ := ldapfilter.NormalizeDN(e.DN)
					dns = append(dns, n)
				}
			}
			slices.Sort(dns)
			if size > 0 && len(dns) > 0 {
				dns = []string{"(cut)"} // which entries come first is the server's choice
			}
			return dns, err
		}
	}
	window := func(offset, after int) func(context.Context, ldapconn.Conn) ([]string, error) {
		return func(ctx context.Context, c ldapconn.Conn) ([]string, error) {
			res, err := c.Search(ctx, &ldap.SearchRequest{BaseDN: people, Scope: ldap.ScopeWholeSubtree, Filter: "(objectClass=inetOrgPerson)",
				Attributes: []string{"1.1"}, Controls: []ldap.Control{
					ldap.NewControlServerSideSortingWithSortKeys([]*ldap.SortKey{{AttributeType: "uid", MatchingRule: "caseIgnoreOrderingMatch"}}),
					ldapconn.NewVLVRequest(offset, after)}})
			if err != nil {
				return nil, err
			}
			v, err := ldapconn.ParseVLVResponse(res.Controls)
			if err != nil {
				return nil, err
			}
			out := []string{fmt.Sprintf("position %d of %d", v.Position, v.Count)}
			for _, e := range res.Entries {
				n, _ := ldapfilter.NormalizeDN(e.DN)
				out = append(out, n)
			}
			return out, nil
		}
	}
	write := func(fn func(context.Context, ldapconn.Conn) error) func(context.Context, ldapconn.Conn) ([]string, error) {
		return func(ctx context.Context, c ldapconn.Conn) ([]string, error) { return nil, fn(ctx, c) }
	}
	const alice, carol = "uid=alice," + people, "uid=carol," + people
	cases := []struct {
		name string
		run  func(context.Context, ldapconn.Conn) ([]string, error)
	}{
		{"users", search(people, ldap.ScopeWholeSubtree, "(objectClass=inetOrgPerson)", 0)},
		{"one user", search(people, ldap.ScopeWholeSubtree, "(uid=alice)", 0)},
		{"one level", search("dc=example,dc=com", ldap.ScopeSingleLevel, "(objectClass=*)", 0)},
		{"base", search(alice, ldap.ScopeBaseObject, "(objectClass=*)", 0)},
		{"a member's groups", search(groups, ldap.ScopeWholeSubtree, "(&(objectClass=groupOfNames)(member="+carol+"))", 0)},
		{"substrings", search(people, ldap.ScopeWholeSubtree, "(cn=a*)", 0)},
		{"presence", search(people, ldap.ScopeWholeSubtree, "(manager=*)", 0)},
		{"negation", search(people, ldap.ScopeWholeSubtree, "(&(objectClass=inetOrgPerson)(!(title=*)))", 0)},
		{"by entryDN", search(people, ldap.ScopeWholeSubtree, "(|(entryDN="+alice+")(entryDN="+carol+"))", 0)},
		{"size limit", search(people, ldap.ScopeWholeSubtree, "(objectClass=inetOrgPerson)", 3)},
		{"a VLV window", window(3, 2)},
		{"a VLV window at the end", window(49, 5)},
		{"a VLV offset past the end", window(500, 5)},
		{"no such base", search("ou=nowhere,dc=example,dc=com", ldap.ScopeWholeSubtree, "(objectClass=*)", 0)},
		{"add an existing entry", write(func(ctx context.Context, c ldapconn.Conn) error {
			return c.Add(ctx, &ldap.AddRequest{DN: alice, Attributes: []ldap.Attribute{{Type: "objectClass", Vals: []string{"inetOrgPerson"}}, {Type: "cn", Vals: []string{"a"}}, {Type: "sn", Vals: []string{"a"}}}})
		})},
		{"add under a missing parent", write(func(ctx context.Context, c ldapconn.Conn) error {
			return c.Add(ctx, &ldap.AddRequest{DN: "uid=x,ou=nowhere,dc=example,dc=com", Attributes: []ldap.Attribute{{Type: "objectClass", Vals: []string{"inetOrgPerson"}}, {Type: "cn", Vals: []string{"x"}}, {Type: "sn", Vals: []string{"x"}}}})
		})},
		{"delete a missing value", write(func(ctx context.Context, c ldapconn.Conn) error {
			m := ldap.NewModifyRequest(alice, nil)
			m.Delete("description", []string{"no such value"})
			return c.Modify(ctx, m)
		})},
		{"add a present value", write(func(ctx context.Context, c ldapconn.Conn) error {
			m := ldap.NewModifyRequest("cn=platform-team,"+groups, nil)
			m.Add("member", []string{carol})
			return c.Modify(ctx, m)
		})},
		{"modify a missing entry", write(func(ctx context.Context, c ldapconn.Conn) error {
			m := ldap.NewModifyRequest("uid=nobody,"+people, nil)
			m.Replace("title", []string{"x"})
			return c.Modify(ctx, m)
		})},
		{"delete a non-leaf", write(func(ctx context.Context, c ldapconn.Conn) error {
			return c.Del(ctx, &ldap.DelRequest{DN: people})
		})},
		{"rename onto an existing entry", write(func(ctx context.Context, c ldapconn.Conn) error {
			return c.ModifyDN(ctx, &ldap.ModifyDNRequest{DN: alice, NewRDN: "uid=carol", DeleteOldRDN: true})
		})},
		{"an assertion that fails", write(func(ctx context.Context, c ldapconn.Conn) error {
			a, err := ldapconn.NewAssertionControl("(uid=somebody-else)")
			if err != nil {
				return err
			}
			m := ldap.NewModifyRequest(alice, []ldap.Control{a})
			m.Replace("title", []string{"x"})
			return c.Modify(ctx, m)
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, wantErr := tc.run(t.Context(), dirs["slapd"])
			got, gotErr := tc.run(t.Context(), dirs["memory"])
			if code(gotErr) != code(wantErr) {
				t.Errorf("result code %d (%v), slapd %d (%v)", code(gotErr), gotErr, code(wantErr), wantErr)
			}
			if !slices.Equal(got, want) {
				t.Errorf("found %v\nslapd found %v", got, want)
			}
		})
	}
}

// TestWrites: adds, modifies, renames and deletes change what searches
// find, with fresh versions, and Fail stands in for any error.
func TestWrites(t *testing.T) {
	data, err := os.ReadFile(ldaptest.DemoLDIF)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Load(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const dn = "uid=new," + people
	if err := d.Add(ctx, &ldap.AddRequest{DN: dn, Attributes: []ldap.Attribute{{Type: "objectClass", Vals: []string{"inetOrgPerson"}},
		{Type: "uid", Vals: []string{"new"}}, {Type: "cn", Vals: []string{"New"}}, {Type: "sn", Vals: []string{"N"}}}}); err != nil {
		t.Fatal(err)
	}
	e := d.Entry(dn)
	csn := e.GetAttributeValue("entryCSN")
	if e.GetAttributeValue("entryUUID") == "" || csn == "" {
		t.Fatalf("added entry without entryUUID or entryCSN: %v", e)
	}
	m := ldap.NewModifyRequest(dn, nil)
	m.Replace("title", []string{"Boss"})
	if err := d.Modify(ctx, m); err != nil {
		t.Fatal(err)
	}
	if e := d.Entry(dn); e.GetAttributeValue("title") != "Boss" || e.GetAttributeValue("entryCSN") == csn {
		t.Errorf("after modify: title %q, csn %q (was %q)", e.GetAttributeValue("title"), e.GetAttributeValue("entryCSN"), csn)
	}
	if err := d.ModifyDN(ctx, &ldap.ModifyDNRequest{DN: dn, NewRDN: "uid=renamed", DeleteOldRDN: true}); err != nil {
		t.Fatal(err)
	}
	if e := d.Entry("uid=renamed," + people); e == nil || e.GetAttributeValue("uid") != "renamed" || d.Entry(dn) != nil {
		t.Fatalf("after rename: %v", e)
	}
	if err := d.Del(ctx, &ldap.DelRequest{DN: "uid=renamed," + people}); err != nil {
		t.Fatal(err)
	}
	if d.Entry("uid=renamed,"+people) != nil {
		t.Error("deleted entry still there")
	}
	d.Fail = func(op string, _ any) error { return ldap.NewError(ldap.LDAPResultBusy, nil) }
	if _, err := d.Search(ctx, &ldap.SearchRequest{BaseDN: people, Filter: "(objectClass=*)"}); code(err) != ldap.LDAPResultBusy {
		t.Errorf("Fail: %v", err)
	}
	if n := d.Count("search"); n != 1 {
		t.Errorf("%d searches counted, want 1", n)
	}
}

func code(err error) uint16 {
	if err == nil {
		return 0
	}
	var le *ldap.Error
	if errors.As(err, &le) {
		return le.ResultCode
	}
	return 1<<16 - 1
}
