package ldapbackend

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/ldapbackend/scimldap"
	"github.com/scimgate/scimgate/scim/resource"
)

// Two gateways writing one name at once both pass checkUnique when the
// name is not the entry's RDN (userName in mail): the directory's DN
// uniqueness does not cover it, and OpenLDAP's unique overlay checks
// outside the write (tried: it lets some through). So after such a write
// each writer looks again, and where several entries now hold the name,
// the one that holds it from the earliest write keeps it (the smallest
// version: entryCSN, or entryusn on 389, both in the order one server
// applied the writes) and the others take their write back and answer
// 409. A writer that looked before another's write landed sees only its
// own entry, and the other, writing later, has the larger version: so
// exactly one of writers that overlap keeps the name.

// lostName reports, after this gateway wrote dn, whether another entry of
// the type holds one of names (the values of uniqueNames other than the
// RDN's) from an earlier write; the error is the 409 to answer.
func (b *Backend) lostName(rc *reqCtx, ts *typeState, names map[string]string, dn string) error {
	for _, attr := range slices.Sorted(maps.Keys(names)) {
		if strings.EqualFold(attr, ts.m.RDNAttr) {
			continue // the directory keeps DNs unique
		}
		value := names[attr]
		f := &ldapfilter.And{Filters: []ldapfilter.Filter{ts.filter, &ldapfilter.Equality{Attr: attr, Value: value}}}
		look := func() (*ldap.SearchResult, error) {
			// As the service account: a mapped caller's view may hide the
			// other holder.
			res, err := b.searchRaw(rc.ctx, ts.searchRequest(f.String(), 0, []string{b.opt.VersionAttr}, nil))
			if err != nil {
				return nil, MapError(err, "uniqueness settle")
			}
			return res, nil
		}
		res, err := look()
		if err != nil {
			return err
		}
		if b.graduated(rc.ctx, res, dn) {
			if res, err = look(); err != nil {
				return err
			}
		}
		if len(res.Entries) < 2 {
			continue
		}
		first := slices.MinFunc(res.Entries, func(x, y *ldap.Entry) int {
			// Versions are numbers (entryusn) or CSNs, which compare as text.
			if c := compareKeys(scimldap.KindInteger, x.GetAttributeValue(b.opt.VersionAttr), y.GetAttributeValue(b.opt.VersionAttr)); c != 0 {
				return c
			}
			return strings.Compare(strings.ToLower(x.DN), strings.ToLower(y.DN))
		})
		if !sameDN(first.DN, dn) {
			return resource.Uniqueness("a %s with %s %q already exists (created at the same moment)", ts.t.Name, ts.scimName(attr), value)
		}
	}
	return nil
}

// graduated waits, where versions are change sequence numbers, until the
// directory's contextCSN has reached this write's (dn's entry in res): a
// CSN is given to a write before it commits, so a write with a smaller one
// may still be committing, unseen; once contextCSN has passed a CSN, every
// smaller one is in. It reports whether it waited (look again), at most a
// second.
func (b *Backend) graduated(ctx context.Context, res *ldap.SearchResult, dn string) bool {
	own := ""
	for _, e := range res.Entries {
		if sameDN(e.DN, dn) {
			own = e.GetAttributeValue(b.opt.VersionAttr)
		}
	}
	sid := ldapconn.CSNServerID(own)
	if sid == "" || b.opt.Suffix == "" {
		return false // entryusn (389): numbered as committed
	}
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var csn map[string]string
		err := b.do(ctx, "search", func(ctx context.Context) (err error) {
			csn, err = ldapconn.ContextCSN(ctx, b.opt.Conn, b.opt.Suffix)
			return err
		})
		if err != nil || len(csn) == 0 || csn[sid] >= own {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// sameDN compares two DNs as the directory would, near enough for DNs
// the gateway itself wrote or read back.
func sameDN(a, b string) bool {
	na, err1 := ldapfilter.NormalizeDN(a)
	nb, err2 := ldapfilter.NormalizeDN(b)
	if err1 != nil || err2 != nil {
		return strings.EqualFold(a, b)
	}
	return na == nb
}

// uncreate deletes an entry this gateway just created and lost a name
// with; the request's answer is lost (409) whatever happens here.
func (b *Backend) uncreate(ctx context.Context, dn string, lost error) error {
	ctx, cancel := undoContext(ctx)
	defer cancel()
	if err := b.do(ctx, "delete", func(ctx context.Context) error { return b.opt.Conn.Del(ctx, ldap.NewDelRequest(dn, nil)) }); err != nil {
		b.opt.Log.Error().Err(err).Str("entry", dn).Msg("a create that lost its name to another at the same moment could not be taken back: two entries hold the name")
		return resource.Unavailable(err, "another resource took the name at the same moment, and this one could not be taken back (%s)", dn)
	}
	return lost
}

// unmodify takes back the changes mods made to the entry, which was le
// before: each attribute mods changed gets le's values again. Values of
// write-only mappings (a password) are not read and stay as written.
func (b *Backend) unmodify(ctx context.Context, ts *typeState, dn string, le *ldap.Entry, mods *ldap.ModifyRequest, lost error) error {
	ctx, cancel := undoContext(ctx)
	defer cancel()
	back := ldap.NewModifyRequest(dn, nil)
	seen := map[string]bool{}
	for _, c := range mods.Changes {
		attr := c.Modification.Type
		if seen[strings.ToLower(attr)] || slices.ContainsFunc(ts.m.Attrs, func(a *scimldap.AttrMapping) bool {
			return a.WriteOnly && strings.EqualFold(a.LDAP, attr)
		}) {
			continue
		}
		seen[strings.ToLower(attr)] = true
		back.Replace(attr, le.GetAttributeValues(attr)) // none: the attribute goes
	}
	if len(back.Changes) == 0 {
		return lost
	}
	if err := b.do(ctx, "modify", func(ctx context.Context) error { return b.opt.Conn.Modify(ctx, back) }); err != nil {
		b.opt.Log.Error().Err(err).Str("entry", dn).Msg("a change that lost a name to another at the same moment could not be taken back: two entries hold the name")
		return resource.Unavailable(errors.Join(lost, err), "another resource took the name at the same moment, and this change could not be taken back")
	}
	return lost
}
