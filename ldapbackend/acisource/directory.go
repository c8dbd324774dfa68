package acisource

import (
	"context"
	"sync/atomic"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/ldapbackend/internal/cache"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
)

// entryAttrs are the attributes Directory.Entry requests: every user
// attribute and every operational one (RFC 3673), so that an entry the
// engine reads for userattr, a parent level, an LDAP URL or a group's
// memberURL holds whatever an ACI may test. userPassword is dropped from
// what the cache keeps, and the entry says so (Holds).
var entryAttrs = []string{"*", "+"}

// entryRead is what Directory entries hold: entryAttrs less userPassword.
var entryRead = NewReadSet(entryAttrs, "userPassword")

// Directory is the aci.Directory of the live directory: entries and group
// memberships looked up over the pool, cached for a short time (cache_ttl) and
// shared by every request, so that one request's many ACI checks, and the
// requests that follow it, cost few searches. The aci.Directory methods of
// Directory itself run with the pool's op_timeout only; use WithContext for a
// request's deadline. Safe for concurrent use.
type Directory struct {
	conn   ldapconn.PagedSearcher
	suffix string
	log    zerolog.Logger
	cache  *cache.Cache[string, any] // entries (aci.Entry or nil) and group lists

	searches atomic.Uint64
}

// NewDirectory returns a Directory searching under cfg.Suffix through conn,
// with cfg's cache_ttl and cache_size (defaults applied).
func NewDirectory(conn ldapconn.PagedSearcher, cfg ldapconn.LDAPConfig, log zerolog.Logger) *Directory {
	cfg.Defaults()
	return &Directory{
		conn:   conn,
		suffix: cfg.Suffix,
		log:    log.With().Str("component", "ldap-directory").Logger(),
		cache:  cache.New[string, any](cache.Policy[any]{Size: cfg.CacheSize, TTL: cfg.CacheTTL}),
	}
}

// WithContext returns a view of d whose lookups are bounded by ctx: build one
// per request and pass it to aci.Set.Evaluate.
func (d *Directory) WithContext(ctx context.Context) aci.Directory {
	return ctxDirectory{d: d, ctx: ctx}
}

// Entry implements aci.Directory (see WithContext).
func (d *Directory) Entry(dn string) (aci.Entry, error) {
	return d.entry(context.Background(), dn)
}

// ParentGroups implements aci.Directory (see WithContext).
func (d *Directory) ParentGroups(dn string) ([]string, error) {
	return d.parentGroups(context.Background(), dn)
}

// DynamicGroups implements aci.Directory (see WithContext).
func (d *Directory) DynamicGroups() ([]string, error) {
	return d.dynamicGroups(context.Background())
}

// Searches returns the number of LDAP searches made so far (cache misses).
func (d *Directory) Searches() uint64 { return d.searches.Load() }

// Flush empties the cache, e.g. after the gateway itself changed a group.
func (d *Directory) Flush() { d.cache.Flush() }

// FollowChanges makes what the cache holds stale as soon as marker (the
// ACI store's ChangeMarker, the suffix's contextCSN as last polled) names
// another state of the directory: a group membership or an entry changed
// in the directory itself reaches the ACIs within the poll interval rather
// than cache_ttl. While marker returns "" the ttl alone applies.
func (d *Directory) FollowChanges(marker func() string) { d.cache.FollowChanges(marker) }

type ctxDirectory struct {
	d   *Directory
	ctx context.Context
}

func (c ctxDirectory) Entry(dn string) (aci.Entry, error)       { return c.d.entry(c.ctx, dn) }
func (c ctxDirectory) ParentGroups(dn string) ([]string, error) { return c.d.parentGroups(c.ctx, dn) }
func (c ctxDirectory) DynamicGroups() ([]string, error)         { return c.d.dynamicGroups(c.ctx) }

func (d *Directory) entry(ctx context.Context, dn string) (aci.Entry, error) {
	key := "e\x00" + dn
	v, ok, mark := d.cache.Get(key)
	if ok {
		if v == nil {
			return nil, nil
		}
		return v.(aci.Entry), nil
	}
	d.searches.Add(1)
	var found *ldap.Entry
	res, err := d.conn.Search(ctx, &ldap.SearchRequest{
		BaseDN: dn, Scope: ldap.ScopeBaseObject, DerefAliases: ldap.NeverDerefAliases, SizeLimit: 1,
		Filter: everyEntry, Attributes: entryAttrs,
	})
	if err == nil && len(res.Entries) > 0 {
		found = res.Entries[0]
	}
	if ldap.IsErrorAnyOf(err, ldap.LDAPResultNoSuchObject, ldap.LDAPResultInvalidDNSyntax) {
		d.cache.Put(key, nil, mark)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if found == nil {
		d.cache.Put(key, nil, mark)
		return nil, nil
	}
	e := Adapt(found, entryRead)
	d.cache.Put(key, e, mark)
	return e, nil
}

// parentGroups finds the groups by the directory's own matching rules. A
// uniqueMember value carrying the optional unique identifier ("dn#'0101'B")
// matches only where the server's uniqueMemberMatch ignores an identifier the
// assertion lacks (RFC 4517); OpenLDAP's does not.
func (d *Directory) parentGroups(ctx context.Context, dn string) ([]string, error) {
	key := "p\x00" + dn
	v, ok, mark := d.cache.Get(key)
	if ok {
		return v.([]string), nil
	}
	filter := &ldapfilter.And{Filters: []ldapfilter.Filter{
		&ldapfilter.Or{Filters: []ldapfilter.Filter{
			&ldapfilter.Equality{Attr: "objectClass", Value: "groupOfNames"},
			&ldapfilter.Equality{Attr: "objectClass", Value: "groupOfUniqueNames"},
		}},
		&ldapfilter.Or{Filters: []ldapfilter.Filter{
			&ldapfilter.Equality{Attr: "member", Value: dn},
			&ldapfilter.Equality{Attr: "uniqueMember", Value: dn},
		}},
	}}
	groups, err := d.searchDNs(ctx, filter.String())
	if err != nil {
		return nil, err
	}
	d.cache.Put(key, groups, mark)
	return groups, nil
}

func (d *Directory) dynamicGroups(ctx context.Context) ([]string, error) {
	const key = "d\x00"
	v, ok, mark := d.cache.Get(key)
	if ok {
		return v.([]string), nil
	}
	groups, err := d.searchDNs(ctx, "(objectClass=groupOfURLs)")
	if err != nil {
		return nil, err
	}
	d.cache.Put(key, groups, mark)
	return groups, nil
}

// searchDNs returns the normalized DNs of the entries under the suffix that
// match filter.
func (d *Directory) searchDNs(ctx context.Context, filter string) ([]string, error) {
	d.searches.Add(1)
	res, err := d.conn.SearchPaged(ctx, &ldap.SearchRequest{
		BaseDN: d.suffix, Scope: ldap.ScopeWholeSubtree, DerefAliases: ldap.NeverDerefAliases,
		Filter: filter, Attributes: []string{"1.1"},
	}, pageSize)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		n, err := ldapfilter.NormalizeDN(e.DN)
		if err != nil {
			d.log.Warn().Err(err).Str("dn", e.DN).Msg("skipping a group with an invalid DN")
			continue
		}
		out = append(out, n)
	}
	return out, nil
}

var _ aci.Directory = (*Directory)(nil)
