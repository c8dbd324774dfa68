package ldapbackend

import (
	"context"
	"encoding/base64"
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
	Type    string // the resource type's id ("User")
	Name    string // the vlvSearch's cn; the vlvIndex's is Name + "ById"
	Backend string // the ldbm backend that holds Base (userRoot)
	Base    string
	Filter  string
	Sort    string
}

// BrowsingIndexes lists the browsing index of each type's listing;
// backend names the ldbm backend that holds a type's base DN.
func BrowsingIndexes(types []TypeBinding, backend func(typeID string) string) []BrowsingIndex {
	out := make([]BrowsingIndex, 0, len(types))
	for _, tb := range types {
		out = append(out, BrowsingIndex{Type: tb.Type.ID, Name: "scimgate" + tb.Type.ID, Backend: backend(tb.Type.ID),
			Base: tb.Mapping.BaseDN, Filter: listingFilter(tb.Mapping).String(), Sort: tb.Mapping.IDAttr})
	}
	return out
}

// BrowsingIndexLDIF renders the indexes as the entries 389 keeps them in,
// each under its ldbm backend, as an ldapmodify add;
// BrowsingIndexTaskLDIF's tasks build them. 389 lets a search use a
// browsing index only when its user may read the vlvSearch entry: each
// carries an ACI that lets serviceDN, which must not hold a double quote
// (an ACI has no way to write one inside its userdn).
func BrowsingIndexLDIF(serviceDN string, ixs []BrowsingIndex) (string, error) {
	if strings.ContainsAny(serviceDN, "\"\x00\n\r") {
		return "", fmt.Errorf("the service DN %q holds a double quote or a line break, which an ACI's userdn cannot hold: name the service account otherwise", serviceDN)
	}
	var b strings.Builder
	for _, ix := range ixs {
		search := "cn=" + ldap.EscapeDN(ix.Name) + ",cn=" + ldap.EscapeDN(ix.Backend) + ",cn=ldbm database,cn=plugins,cn=config"
		fmt.Fprintf(&b, "# %s: every entry in id order\n", ix.Type)
		ldifLine(&b, "dn", search)
		b.WriteString("changetype: add\nobjectClass: top\nobjectClass: vlvSearch\n")
		ldifLine(&b, "cn", ix.Name)
		ldifLine(&b, "vlvBase", ix.Base)
		b.WriteString("vlvScope: 2\n")
		ldifLine(&b, "vlvFilter", ix.Filter)
		ldifLine(&b, "aci", `(targetattr="*")(version 3.0; acl "scimgate lists with this index"; allow (read,search,compare) userdn="ldap:///`+serviceDN+`";)`)
		b.WriteString("\n")
		ldifLine(&b, "dn", "cn="+ldap.EscapeDN(ix.Name+"ById")+","+search)
		b.WriteString("changetype: add\nobjectClass: top\nobjectClass: vlvIndex\n")
		ldifLine(&b, "cn", ix.Name+"ById")
		ldifLine(&b, "vlvSort", ix.Sort)
		b.WriteString("\n")
	}
	return b.String(), nil
}

// ldifLine writes one attribute line of an LDIF record (RFC 2849): the
// value as it is when it is a SAFE-STRING, else base64.
func ldifLine(b *strings.Builder, attr, value string) {
	safe := value == "" || value[0] != ' ' && value[0] != ':' && value[0] != '<' && value[len(value)-1] != ' '
	for i := 0; safe && i < len(value); i++ {
		c := value[i]
		safe = c != 0 && c != '\n' && c != '\r' && c < 0x80
	}
	if safe {
		fmt.Fprintf(b, "%s: %s\n", attr, value)
		return
	}
	fmt.Fprintf(b, "%s:: %s\n", attr, base64.StdEncoding.EncodeToString([]byte(value)))
}

// BrowsingIndexTaskLDIF is, for each backend of the indexes, the 389 index
// task that builds its indexes (an ldapmodify add under
// cn=tasks,cn=config, whose nsTaskExitCode says when it is done), named
// with suffix so that a second run adds tasks of its own.
func BrowsingIndexTaskLDIF(ixs []BrowsingIndex, suffix string) []string {
	var backends []string
	byBackend := map[string][]BrowsingIndex{}
	for _, ix := range ixs {
		if byBackend[ix.Backend] == nil {
			backends = append(backends, ix.Backend)
		}
		byBackend[ix.Backend] = append(byBackend[ix.Backend], ix)
	}
	var out []string
	for _, be := range backends {
		var b strings.Builder
		name := "scimgate-browsing-indexes-" + be + suffix
		ldifLine(&b, "dn", "cn="+ldap.EscapeDN(name)+",cn=index,cn=tasks,cn=config")
		b.WriteString("changetype: add\nobjectClass: top\nobjectClass: extensibleObject\n")
		ldifLine(&b, "cn", name)
		ldifLine(&b, "nsInstance", be)
		for _, ix := range byBackend[be] {
			ldifLine(&b, "nsIndexVLVAttribute", ix.Name+"ById")
		}
		out = append(out, b.String())
	}
	return out
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
