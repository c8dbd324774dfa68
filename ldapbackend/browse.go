package ldapbackend

import (
	"fmt"
	"strings"

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
