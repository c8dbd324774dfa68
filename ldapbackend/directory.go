package ldapbackend

import (
	"container/list"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// entryAttrs are the attributes Directory.Entry requests: every user
// attribute and every operational one (RFC 3673), so that an entry the
// engine reads for userattr, a parent level, an LDAP URL or a group's
// memberURL holds whatever an ACI may test. userPassword is dropped from
// what the cache keeps, and the entry says so (Holds).
var entryAttrs = []string{"*", "+"}

// entryRead is what Directory entries hold: entryAttrs less userPassword.
var entryRead = newReadSet(entryAttrs, "userPassword")

// Directory is the aci.Directory of the live directory: entries and group
// memberships looked up over the pool, cached for a short time (cache_ttl) and
// shared by every request, so that one request's many ACI checks, and the
// requests that follow it, cost few searches. The aci.Directory methods of
// Directory itself run with the pool's op_timeout only; use WithContext for a
// request's deadline. Safe for concurrent use.
type Directory struct {
	pool   *Pool
	suffix string
	log    zerolog.Logger
	cache  *ttlCache

	searches atomic.Uint64
}

// NewDirectory returns a Directory searching under cfg.Suffix through pool,
// with cfg's cache_ttl and cache_size (defaults applied).
func NewDirectory(pool *Pool, cfg LDAPConfig, log zerolog.Logger) *Directory {
	cfg.Defaults()
	return &Directory{
		pool:   pool,
		suffix: cfg.Suffix,
		log:    log.With().Str("component", "ldap-directory").Logger(),
		cache:  newTTLCache(cfg.CacheSize, cfg.CacheTTL),
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
func (d *Directory) Flush() { d.cache.flush() }

// FollowChanges makes what the cache holds stale as soon as marker (the
// ACI store's ChangeMarker, the suffix's contextCSN as last polled) names
// another state of the directory: a group membership or an entry changed
// in the directory itself reaches the ACIs within the poll interval rather
// than cache_ttl. While marker returns "" the ttl alone applies.
func (d *Directory) FollowChanges(marker func() string) { d.cache.marker.Store(&marker) }

type ctxDirectory struct {
	d   *Directory
	ctx context.Context
}

func (c ctxDirectory) Entry(dn string) (aci.Entry, error)       { return c.d.entry(c.ctx, dn) }
func (c ctxDirectory) ParentGroups(dn string) ([]string, error) { return c.d.parentGroups(c.ctx, dn) }
func (c ctxDirectory) DynamicGroups() ([]string, error)         { return c.d.dynamicGroups(c.ctx) }

func (d *Directory) entry(ctx context.Context, dn string) (aci.Entry, error) {
	key := "e\x00" + dn
	v, ok, mark := d.cache.get(key)
	if ok {
		if v == nil {
			return nil, nil
		}
		return v.(aci.Entry), nil
	}
	var found *ldap.Entry
	err := d.search(ctx, func(c *ldap.Conn) error {
		res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			1, 0, false, "(objectClass=*)", entryAttrs, nil))
		if err != nil {
			return err
		}
		if len(res.Entries) > 0 {
			found = res.Entries[0]
		}
		return nil
	})
	if ldap.IsErrorAnyOf(err, ldap.LDAPResultNoSuchObject, ldap.LDAPResultInvalidDNSyntax) {
		d.cache.put(key, nil, mark)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if found == nil {
		d.cache.put(key, nil, mark)
		return nil, nil
	}
	e := newEntry(found, entryRead)
	d.cache.put(key, e, mark)
	return e, nil
}

// parentGroups finds the groups by the directory's own matching rules. A
// uniqueMember value carrying the optional unique identifier ("dn#'0101'B")
// matches only where the server's uniqueMemberMatch ignores an identifier the
// assertion lacks (RFC 4517); OpenLDAP's does not.
func (d *Directory) parentGroups(ctx context.Context, dn string) ([]string, error) {
	key := "p\x00" + dn
	v, ok, mark := d.cache.get(key)
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
	d.cache.put(key, groups, mark)
	return groups, nil
}

func (d *Directory) dynamicGroups(ctx context.Context) ([]string, error) {
	const key = "d\x00"
	v, ok, mark := d.cache.get(key)
	if ok {
		return v.([]string), nil
	}
	groups, err := d.searchDNs(ctx, "(objectClass=groupOfURLs)")
	if err != nil {
		return nil, err
	}
	d.cache.put(key, groups, mark)
	return groups, nil
}

// searchDNs returns the normalized DNs of the entries under the suffix that
// match filter.
func (d *Directory) searchDNs(ctx context.Context, filter string) ([]string, error) {
	var out []string
	err := d.search(ctx, func(c *ldap.Conn) error {
		res, err := c.SearchWithPaging(ldap.NewSearchRequest(d.suffix, ldap.ScopeWholeSubtree,
			ldap.NeverDerefAliases, 0, 0, false, filter, []string{"1.1"}, nil), pageSize)
		if err != nil {
			return err
		}
		out = make([]string, 0, len(res.Entries))
		for _, e := range res.Entries {
			n, err := ldapfilter.NormalizeDN(e.DN)
			if err != nil {
				d.log.Warn().Err(err).Str("dn", e.DN).Msg("skipping a group with an invalid DN")
				continue
			}
			out = append(out, n)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (d *Directory) search(ctx context.Context, fn func(*ldap.Conn) error) error {
	d.searches.Add(1)
	return d.pool.Do(ctx, fn)
}

// ttlCache is a size-bounded LRU cache whose items expire after ttl, and
// sooner when the directory's change marker moves on (followChanges).
type ttlCache struct {
	ttl time.Duration
	max int
	now func() time.Time
	// marker, when set, names the directory's state (ACIStore.ChangeMarker):
	// an item read under another marker is stale.
	marker atomic.Pointer[func() string]

	mu    sync.Mutex
	items map[string]*list.Element
	order *list.List // front = most recently used
}

type cacheItem struct {
	key     string
	val     any
	expires time.Time
	marker  string
}

func newTTLCache(size int, ttl time.Duration) *ttlCache {
	return &ttlCache{ttl: ttl, max: size, now: time.Now, items: map[string]*list.Element{}, order: list.New()}
}

// mark is the change marker now ("" when none is followed or known).
func (c *ttlCache) mark() string {
	if m := c.marker.Load(); m != nil {
		return (*m)()
	}
	return ""
}

// get returns the item of key if it is fresh. On a miss it also returns the
// marker to put the value read next under: read before the directory is,
// so that a change during the read shows as a later marker.
func (c *ttlCache) get(key string) (any, bool, string) {
	mark := c.mark()
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false, mark
	}
	it := el.Value.(*cacheItem)
	if !c.now().Before(it.expires) || it.marker != mark {
		c.order.Remove(el)
		delete(c.items, key)
		return nil, false, mark
	}
	c.order.MoveToFront(el)
	return it.val, true, mark
}

// put keeps val for key, read under the marker mark (from get).
func (c *ttlCache) put(key string, val any, mark string) {
	if c.max <= 0 || c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	exp := c.now().Add(c.ttl)
	if el, ok := c.items[key]; ok {
		it := el.Value.(*cacheItem)
		it.val, it.expires, it.marker = val, exp, mark
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheItem).key)
	}
	c.items[key] = c.order.PushFront(&cacheItem{key: key, val: val, expires: exp, marker: mark})
}

func (c *ttlCache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items = map[string]*list.Element{}
	c.order.Init()
}

func (c *ttlCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

var _ aci.Directory = (*Directory)(nil)
