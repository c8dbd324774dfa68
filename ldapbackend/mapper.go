package ldapbackend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// IdentityConfig configures how a token's subject is mapped to a
// directory entry in the mapped identity modes.
type IdentityConfig struct {
	// SubjectClaim is the token claim whose value is looked up (default sub).
	SubjectClaim string `yaml:"subject_claim"`
	// SearchBase is where the entry is searched (default: the suffix).
	SearchBase string `yaml:"search_base"`
	// Filter is an LDAP filter in which {} stands for the claim's value,
	// escaped before it is put in (default (uid={})).
	Filter string `yaml:"filter"`
	// CacheTTL is how long a mapping is remembered (default 30s).
	CacheTTL time.Duration `yaml:"cache_ttl"`
}

// Defaults fills empty fields.
func (c *IdentityConfig) Defaults(suffix string) {
	if c.SubjectClaim == "" {
		c.SubjectClaim = "sub"
	}
	if c.SearchBase == "" {
		c.SearchBase = suffix
	}
	if c.Filter == "" {
		c.Filter = "(uid={})"
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = 30 * time.Second
	}
}

// Validate reports every problem, each with its path under prefix.
func (c *IdentityConfig) Validate(prefix string) []error {
	var errs []error
	if _, err := ldapfilter.NormalizeDN(c.SearchBase); err != nil {
		errs = append(errs, fmt.Errorf("%s.search_base: %v", prefix, err))
	}
	if strings.Count(c.Filter, "{}") != 1 {
		errs = append(errs, fmt.Errorf("%s.filter: must hold {} exactly once, where the claim's value goes", prefix))
	} else if _, err := ldapfilter.Parse(strings.Replace(c.Filter, "{}", "x", 1)); err != nil {
		errs = append(errs, fmt.Errorf("%s.filter: %v", prefix, err))
	}
	if c.CacheTTL < 0 {
		errs = append(errs, fmt.Errorf("%s.cache_ttl: must not be negative", prefix))
	}
	return errs
}

// ErrNoIdentity means the subject matches no entry, or more than one.
var ErrNoIdentity = errors.New("the token's subject matches no single directory entry")

// IdentityMapper maps a claim value to exactly one entry's DN, with a
// short cache (misses included, so an unknown subject cannot hammer the
// directory).
type IdentityMapper struct {
	pool *Pool
	cfg  IdentityConfig

	mu    sync.Mutex
	cache map[string]mapped
}

type mapped struct {
	dn      string
	err     error
	expires time.Time
}

// maxMapperCache bounds the cache; it is cleared when full.
const maxMapperCache = 10000

// NewIdentityMapper builds a mapper; cfg must have its defaults.
func NewIdentityMapper(pool *Pool, cfg IdentityConfig) *IdentityMapper {
	return &IdentityMapper{pool: pool, cfg: cfg, cache: map[string]mapped{}}
}

// Claim is the name of the claim the mapper reads.
func (m *IdentityMapper) Claim() string { return m.cfg.SubjectClaim }

// Map returns the DN of the one entry the value maps to, ErrNoIdentity
// when there is none or more than one, or a typed error when the
// directory cannot be asked.
func (m *IdentityMapper) Map(ctx context.Context, value string) (string, error) {
	if value == "" {
		return "", ErrNoIdentity
	}
	now := time.Now()
	m.mu.Lock()
	if c, ok := m.cache[value]; ok && now.Before(c.expires) {
		m.mu.Unlock()
		return c.dn, c.err
	}
	m.mu.Unlock()
	filter := strings.Replace(m.cfg.Filter, "{}", ldap.EscapeFilter(value), 1)
	req := ldap.NewSearchRequest(m.cfg.SearchBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 0, false, filter, []string{"1.1"}, nil)
	var res *ldap.SearchResult
	err := m.pool.Do(ctx, func(c *ldap.Conn) error {
		var err error
		res, err = c.Search(req)
		return err
	})
	var dn string
	switch {
	case err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		err = ErrNoIdentity
	case err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		err = ErrNoIdentity
	case err != nil:
		return "", MapError(err, "identity mapping")
	case len(res.Entries) != 1:
		err = ErrNoIdentity
	default:
		if dn, err = ldapfilter.NormalizeDN(res.Entries[0].DN); err != nil {
			return "", MapError(err, "identity mapping")
		}
	}
	m.mu.Lock()
	if len(m.cache) >= maxMapperCache {
		m.cache = map[string]mapped{}
	}
	m.cache[value] = mapped{dn: dn, err: err, expires: now.Add(m.cfg.CacheTTL)}
	m.mu.Unlock()
	return dn, err
}
