package ldapconn

import (
	"context"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Conn is what the backend asks of the directory: one LDAP operation per
// call, bounded by ctx. The Pool implements it over pooled connections; a
// test implements it in memory. An error that means the directory could
// not be used at all matches ErrUnavailable.
type Conn interface {
	Search(ctx context.Context, req *ldap.SearchRequest) (*ldap.SearchResult, error)
	Add(ctx context.Context, req *ldap.AddRequest) error
	Modify(ctx context.Context, req *ldap.ModifyRequest) error
	ModifyDN(ctx context.Context, req *ldap.ModifyDNRequest) error
	Del(ctx context.Context, req *ldap.DelRequest) error
}

// PagedSearcher is a Conn that can also read a large result in pages
// (Simple Paged Results, RFC 2696): what the ACI store and the directory
// view read the whole suffix with.
type PagedSearcher interface {
	Conn
	SearchPaged(ctx context.Context, req *ldap.SearchRequest, pageSize uint32) (*ldap.SearchResult, error)
}

// Search implements Conn. A search carrying the Virtual List View control
// runs on a connection that is then closed rather than pooled: OpenLDAP's
// sssvlv keeps a VLV search's sorted list on its connection for a
// continuation until the connection closes, and answers Busy once
// sssvlv-max lists are kept; the gateway never continues one.
func (p *Pool) Search(ctx context.Context, req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	var res *ldap.SearchResult
	err := p.Do(ctx, func(c *ldap.Conn) error {
		if hasControl(req.Controls, ldap.ControlTypeVLVRequest) {
			p.Retire(c)
		}
		var err error
		res, err = c.Search(req)
		return err
	})
	return res, err
}

// SearchPaged implements PagedSearcher: every page on one connection.
func (p *Pool) SearchPaged(ctx context.Context, req *ldap.SearchRequest, pageSize uint32) (*ldap.SearchResult, error) {
	var res *ldap.SearchResult
	err := p.Do(ctx, func(c *ldap.Conn) error {
		var err error
		res, err = c.SearchWithPaging(req, pageSize)
		return err
	})
	return res, err
}

// Add implements Conn.
func (p *Pool) Add(ctx context.Context, req *ldap.AddRequest) error {
	return p.Do(ctx, func(c *ldap.Conn) error { return c.Add(req) })
}

// Modify implements Conn.
func (p *Pool) Modify(ctx context.Context, req *ldap.ModifyRequest) error {
	return p.Do(ctx, func(c *ldap.Conn) error { return c.Modify(req) })
}

// ModifyDN implements Conn.
func (p *Pool) ModifyDN(ctx context.Context, req *ldap.ModifyDNRequest) error {
	return p.Do(ctx, func(c *ldap.Conn) error { return c.ModifyDN(req) })
}

// Del implements Conn.
func (p *Pool) Del(ctx context.Context, req *ldap.DelRequest) error {
	return p.Do(ctx, func(c *ldap.Conn) error { return c.Del(req) })
}

func hasControl(list []ldap.Control, oid string) bool {
	for _, c := range list {
		if c != nil && c.GetControlType() == oid {
			return true
		}
	}
	return false
}

// HasAttributeType reports whether the directory's schema (the subschema
// subentry its root DSE names) defines the attribute type name.
func (p *Pool) HasAttributeType(ctx context.Context, name string) (bool, error) {
	found := false
	err := p.Do(ctx, func(c *ldap.Conn) error {
		root, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"subschemaSubentry"}, nil))
		if err != nil {
			return err
		}
		sub := "cn=schema"
		if len(root.Entries) == 1 && root.Entries[0].GetAttributeValue("subschemaSubentry") != "" {
			sub = root.Entries[0].GetAttributeValue("subschemaSubentry")
		}
		res, err := c.Search(ldap.NewSearchRequest(sub, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"attributeTypes"}, nil))
		if err != nil {
			return err
		}
		want := strings.ToLower("NAME '" + name + "'")
		for _, e := range res.Entries {
			for _, v := range e.GetAttributeValues("attributeTypes") {
				if strings.Contains(strings.ToLower(v), want) {
					found = true
				}
			}
		}
		return nil
	})
	return found, err
}

var _ PagedSearcher = (*Pool)(nil)
