package ldapbackend

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/ldapbackend/scimldap"
)

// BrowsingIndex is a 389 Directory Server browsing index (a vlvSearch and
// its vlvIndex) for the listing of every entry of one type in id order:
// the search the gateway sends for such a listing (base, subtree, the
// type's filter) sorted by the id attribute. With it 389 serves any page of
// the listing, and its count, from the index, whatever the directory's
// size (Options.BrowsingIndexes).
type BrowsingIndex struct {
	Type   string // the resource type's id ("User")
	Name   string // the vlvSearch's cn; the vlvIndex's is Name + "ById"
	Base   string
	Filter string
	Sort   string
}

// BrowsingIndexes lists the browsing index of each type's listing.
func BrowsingIndexes(types []TypeBinding) []BrowsingIndex {
	out := make([]BrowsingIndex, 0, len(types))
	for _, tb := range types {
		out = append(out, BrowsingIndex{Type: tb.Type.ID, Name: "scimgate" + tb.Type.ID, Base: tb.Mapping.BaseDN,
			Filter: listingFilter(tb.Mapping).String(), Sort: tb.Mapping.IDAttr})
	}
	return out
}

// BrowsingIndexLDIF renders the indexes as the entries 389 keeps them in,
// under the ldbm backend named backend (userRoot by default), as an
// ldapmodify add; BrowsingIndexTaskLDIF's task builds them. 389 lets a
// search use a browsing index only when its user may read the vlvSearch
// entry: each carries an ACI that lets serviceDN.
func BrowsingIndexLDIF(backend, serviceDN string, ixs []BrowsingIndex) string {
	var b strings.Builder
	parent := "cn=" + backend + ",cn=ldbm database,cn=plugins,cn=config"
	for _, ix := range ixs {
		search := "cn=" + ix.Name + "," + parent
		fmt.Fprintf(&b, "# %s: every entry in id order\ndn: %s\nchangetype: add\nobjectClass: top\nobjectClass: vlvSearch\ncn: %s\n"+
			"vlvBase: %s\nvlvScope: 2\nvlvFilter: %s\n"+
			"aci: (targetattr=\"*\")(version 3.0; acl \"scimgate lists with this index\"; allow (read,search,compare) userdn=\"ldap:///%s\";)\n\n",
			ix.Type, search, ix.Name, ix.Base, ix.Filter, serviceDN)
		fmt.Fprintf(&b, "dn: cn=%sById,%s\nchangetype: add\nobjectClass: top\nobjectClass: vlvIndex\ncn: %sById\nvlvSort: %s\n\n",
			ix.Name, search, ix.Name, ix.Sort)
	}
	return b.String()
}

// BrowsingIndexTaskLDIF is the 389 index task that builds the indexes of
// backend (an ldapmodify add under cn=tasks,cn=config; its nsTaskExitCode
// says when it is done).
func BrowsingIndexTaskLDIF(backend string, ixs []BrowsingIndex) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: cn=scimgate-browsing-indexes,cn=index,cn=tasks,cn=config\nchangetype: add\nobjectClass: top\n"+
		"objectClass: extensibleObject\ncn: scimgate-browsing-indexes\nnsInstance: %s\n", backend)
	for _, ix := range ixs {
		fmt.Fprintf(&b, "nsIndexVLVAttribute: %sById\n", ix.Name)
	}
	return b.String()
}

// listingFilter selects the entries of a type: its structural object
// class, and the mapping's own filter if it has one.
func listingFilter(m *scimldap.TypeMapping) ldapfilter.Filter {
	f := ldapfilter.Filter(&ldapfilter.Equality{Attr: "objectClass", Value: m.ObjectClasses[0]})
	if m.Filter != "" {
		if extra, err := ldapfilter.Parse(m.Filter); err == nil {
			f = &ldapfilter.And{Filters: []ldapfilter.Filter{f, extra}}
		}
	}
	return f
}

// CheckBrowsingIndexes reads the browsing indexes 389 DS has (the vlvSearch
// and vlvIndex entries under cn=ldbm database,cn=plugins,cn=config that the
// service account may read: BrowsingIndexLDIF's ACI lets it) and serves a
// type's listing from its index (Options.BrowsingIndexes) only when the
// index is there, built, and made for exactly the gateway's search. Without
// one 389 would still answer the request, by sorting every match for every
// page. It returns a problem for each type left without an index.
func (b *Backend) CheckBrowsingIndexes(ctx context.Context) []error {
	if !b.opt.BrowsingIndexes {
		return nil
	}
	req := &ldap.SearchRequest{BaseDN: "cn=ldbm database,cn=plugins,cn=config", Scope: ldap.ScopeWholeSubtree,
		DerefAliases: ldap.NeverDerefAliases, Filter: "(|(objectClass=vlvSearch)(objectClass=vlvIndex))",
		Attributes: []string{"objectClass", "vlvBase", "vlvScope", "vlvFilter", "vlvSort", "vlvEnabled"}}
	res, err := b.searchRaw(ctx, req)
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		for _, ts := range b.byType {
			ts.browse.Store(false)
		}
		return []error{fmt.Errorf("reading the browsing indexes: %v", err)}
	}
	type search struct{ base, scope, filter string }
	searches := map[string]search{}
	sorts := map[string][]*ldap.Entry{} // parent (vlvSearch) DN -> its vlvIndex entries
	if res != nil {
		for _, e := range res.Entries {
			dn, _ := ldapfilter.NormalizeDN(e.DN)
			if containsFold(e.GetAttributeValues("objectClass"), "vlvSearch") {
				base, _ := ldapfilter.NormalizeDN(e.GetAttributeValue("vlvBase"))
				searches[dn] = search{base, e.GetAttributeValue("vlvScope"), e.GetAttributeValue("vlvFilter")}
				continue
			}
			if i := strings.Index(dn, ","); i > 0 {
				sorts[dn[i+1:]] = append(sorts[dn[i+1:]], e)
			}
		}
	}
	var errs []error
	for _, ts := range b.byType {
		found := false
		for dn, s := range searches {
			if s.base != ts.base || s.scope != "2" || !strings.EqualFold(s.filter, ts.filter.String()) {
				continue
			}
			for _, ix := range sorts[dn] {
				if strings.EqualFold(strings.TrimSpace(ix.GetAttributeValue("vlvSort")), ts.m.IDAttr) &&
					ix.GetAttributeValue("vlvEnabled") == "1" {
					found = true
				}
			}
		}
		ts.browse.Store(found)
		if !found {
			errs = append(errs, fmt.Errorf("%s: no built browsing index of the listing (base %s, subtree, filter %s, sorted by %s) that the service account may read: its listings are paged by walks (scimgate vlv-indexes prints it)",
				ts.t.ID, ts.m.BaseDN, ts.filter.String(), ts.m.IDAttr))
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}
