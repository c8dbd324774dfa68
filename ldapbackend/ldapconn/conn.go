package ldapconn

import (
	"context"

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

var _ PagedSearcher = (*Pool)(nil)
