package ldapbackend

import (
	"context"
	"strings"
	"time"
	"unicode"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/ldapbackend/internal/cache"
	"github.com/scimgate/scimgate/ldapbackend/scimldap"
	"github.com/scimgate/scimgate/scim/resource"
)

// refChunk bounds how many values one reference lookup puts in a filter.
const refChunk = 100

// refEntry is what is known of the entry a reference names: the id comes
// from the DN-valued attribute the caller may read; the display name is an
// attribute of the other entry, shown only if the caller may read it there
// (the entry is kept for that check). Misses are cached too.
type refEntry struct {
	id, typ string
	entry   *ldap.Entry
	adapted aci.Entry // entry as the ACI engine sees it
	missing bool
}

// newRefCache maps normalized DNs to what they name. An entry is good for
// ttl, and while the change marker is known, only as long as nothing under
// the suffix has changed since it was read, but then for up to
// refQuietMax: a directory at rest is not read again every ttl for the
// same managers and members (the cost of a read would then grow with the
// number of distinct references, not with the work). ttl 0 disables it.
func newRefCache(ttl time.Duration) *cache.Cache[string, refEntry] {
	return cache.New[string, refEntry](cache.Policy[refEntry]{Size: maxRefCache, TTL: ttl, Quiet: refQuietMax})
}

// maxRefCache bounds the reference cache.
const maxRefCache = 50000

// refQuietMax bounds how long a reference stays cached while the directory
// does not change.
const refQuietMax = 10 * time.Minute

// changeMarker is the directory's change marker if references and
// listings may be kept while it holds (see newRefCache), else "": the
// reference and listing caches follow it.
func (b *Backend) changeMarker() string {
	if !b.refsFollowChanges {
		return ""
	}
	return b.opt.ACIs.ChangeMarker()
}

// normRefs normalizes reference values, dropping duplicates, unparsable
// values and the group placeholder.
func normRefs(dns []string, self *typeState) []string {
	want := map[string]bool{}
	var norm []string
	for _, v := range dns {
		if self.m.EmptyMember != "" && strings.EqualFold(v, self.m.EmptyMember) {
			continue
		}
		n, err := ldapfilter.NormalizeDN(v)
		if err != nil || want[n] {
			continue
		}
		want[n] = true
		norm = append(norm, n)
	}
	return norm
}

// lookupRefs finds what the normalized DNs name among the given resource
// types: from the cache, else with one search per chunk. Under proxied
// authorization what a search returns is one user's view of the entries,
// so it is neither taken from nor put in the cache every request shares.
func (b *Backend) lookupRefs(rc *reqCtx, norm []string, refTypes []string) (map[string]refEntry, error) {
	mark := b.refs.Begin() // taken before the search: a change after it shows in a later marker
	found := make(map[string]refEntry, len(norm))
	put := func(n string, re refEntry) {
		if !rc.proxied {
			b.refs.Put(n, re, mark)
		}
	}
	var todo []string
	for _, n := range norm {
		if e, ok, _ := b.refs.Get(n); ok && !rc.proxied {
			found[n] = e
		} else {
			todo = append(todo, n)
		}
	}
	if len(todo) == 0 {
		return found, nil
	}
	for _, tname := range refTypes {
		ts, ok := b.byName[strings.ToLower(tname)]
		if !ok {
			continue
		}
		var mine []string
		for _, n := range todo {
			if _, done := found[n]; !done && ldapfilter.IsDescendant(n, ts.base) {
				mine = append(mine, n)
			}
		}
		fp := rc.newPlan([]string{ts.m.IDAttr, "displayName", "cn", "uid", "objectClass"})
		err := b.searchAnyOf(rc.ctx, ts, "entryDN", mine, refChunk, fp.attrs, "resolve references", func(e *ldap.Entry) {
			n, err := ldapfilter.NormalizeDN(e.DN)
			if err != nil {
				return
			}
			re := refEntry{id: e.GetAttributeValue(ts.m.IDAttr), typ: ts.t.Name, entry: e, adapted: fp.entry(e)}
			found[n] = re
			put(n, re)
		})
		if err != nil {
			return nil, err
		}
	}
	for _, n := range todo {
		if _, ok := found[n]; !ok {
			put(n, refEntry{missing: true})
		}
	}
	return found, nil
}

// resolveDNs turns DN values of a reference attribute into SCIM complex
// values {value, $ref, type, display}. DNs that name no resource of the
// mapping's types (a placeholder member, a deleted entry) are left out.
func (b *Backend) resolveDNs(rc *reqCtx, dns []string, a *scimldap.AttrMapping, self *typeState) ([]any, error) {
	if len(dns) == 0 {
		return nil, nil
	}
	norm := normRefs(dns, self)
	found, err := b.lookupRefs(rc, norm, a.RefTypes)
	if err != nil {
		return nil, err
	}
	var out []any
	for _, n := range norm {
		ri, ok := found[n]
		if !ok || ri.missing || ri.id == "" {
			continue
		}
		el := map[string]any{"value": ri.id, "$ref": b.location(ri.typ, ri.id)}
		for _, attr := range [...][2]string{{"displayName", "displayname"}, {"cn", "cn"}} {
			if v := ri.entry.GetAttributeValue(attr[0]); v != "" && rc.canRead(ri.adapted, attr[1]) {
				el[displayKey(a)] = v
				break
			}
		}
		if len(a.RefTypes) > 1 {
			el["type"] = ri.typ
		}
		out = append(out, el)
	}
	return out, nil
}

// prefetchRefs resolves, in one batch, every reference the entries of a
// page hold, so converting each entry finds them in the cache.
func (b *Backend) prefetchRefs(rc *reqCtx, ts *typeState, entries []*ldap.Entry, p resource.Projection) error {
	byTypes := map[string][]string{}
	for _, ra := range ts.read {
		a := ra.a
		if a.Kind != scimldap.KindReference || !resource.WantsAttr(p, ra.top) {
			continue
		}
		key := strings.Join(a.RefTypes, ",")
		for _, e := range entries {
			byTypes[key] = append(byTypes[key], e.GetAttributeValues(a.LDAP)...)
		}
	}
	for key, dns := range byTypes {
		if _, err := b.lookupRefs(rc, normRefs(dns, ts), strings.Split(key, ",")); err != nil {
			return err
		}
	}
	return nil
}

// displayKey is the sub-attribute holding a reference's name: displayName
// for the enterprise manager, display elsewhere.
func displayKey(a *scimldap.AttrMapping) string {
	if a.Attr == "manager" {
		return "displayName"
	}
	return "display"
}

// location is the relative location of a resource; the HTTP layer makes
// meta.location absolute, and $ref values stay relative to the base URL.
func (b *Backend) location(typeName, id string) string {
	if ts, ok := b.byName[strings.ToLower(typeName)]; ok {
		return strings.TrimPrefix(ts.t.Endpoint, "/") + "/" + id
	}
	return typeName + "s/" + id
}

// DNsForIDs resolves resource ids to entry DNs, for filters and writes of
// references. Unknown ids are absent from the result.
func (b *Backend) DNsForIDs(ctx context.Context, refTypes []string, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, tname := range refTypes {
		ts, ok := b.byName[strings.ToLower(tname)]
		if !ok {
			continue
		}
		var todo []string
		for _, id := range ids {
			if _, done := out[id]; !done && id != "" && len(id) <= 256 {
				todo = append(todo, id)
			}
		}
		// The directory matches ids case-insensitively (entryUUID), so
		// the ids asked for are found as strings.EqualFold finds them.
		byFold := map[string][]string{}
		for _, id := range todo {
			byFold[foldKey(id)] = append(byFold[foldKey(id)], id)
		}
		err := b.searchAnyOf(ctx, ts, ts.m.IDAttr, todo, refChunk, []string{ts.m.IDAttr}, "resolve ids", func(e *ldap.Entry) {
			for _, want := range byFold[foldKey(e.GetAttributeValue(ts.m.IDAttr))] {
				out[want] = e.DN
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// foldKey maps s to a key that two strings share exactly when
// strings.EqualFold holds for them: each rune becomes the least rune of its
// simple case-folding orbit.
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}
