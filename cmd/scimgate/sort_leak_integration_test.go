package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Sorting must not leak what the caller may not read: a list sorted by an
// attribute is ordered as if the attribute were absent from the entries
// where the caller may not read it, so the order tells nothing about the
// hidden values. Which entries hide the attribute from whom is the ACI
// engine's decision on the same tree (see uaOracle).

const (
	// sortHideAll is the ACI of the brief: the reporting token reads no title.
	sortHideAll = `(targetattr="title")(version 3.0; acl "reporting does not see titles"; deny (read,search,compare) oauthscope="scim:read" and not oauthscope="scim:write";)`
	// sortHideContractors hides the titles of contractors only; its
	// targetfilter names an attribute the mapping does not map.
	sortHideContractors = `(targetfilter="(employeeType=contractor)")(targetattr="title")(version 3.0; acl "reporting does not see contractor titles"; deny (read,search,compare) oauthscope="scim:read" and not oauthscope="scim:write";)`
)

// sortUser is a test user: titled ones get a title once the default
// order is known; contractors hide their title in the second phase.
type sortUser struct {
	uid                string
	titled, contractor bool
}

var sortUsers = []sortUser{
	{"sort-u1", true, false}, {"sort-u2", true, true}, {"sort-u3", true, false},
	{"sort-u4", true, true}, {"sort-u5", true, false}, {"sort-u6", true, true},
	{"sort-n1", false, false}, {"sort-n2", false, true}, // never titled
}

func (u sortUser) dn() string { return "uid=" + u.uid + "," + peopleDN }

// sortSeed renders the test users with the titles given (none where absent).
func sortSeed(titles map[string]string) string {
	var b strings.Builder
	for _, u := range sortUsers {
		fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nobjectClass: scimResource\nobjectClass: scimAccount\n", u.dn())
		fmt.Fprintf(&b, "uid: %s\ncn: Sort %s\nsn: %s\nscimAccountActive: TRUE\n", u.uid, u.uid, u.uid)
		if u.contractor {
			b.WriteString("employeeType: contractor\n")
		} else {
			b.WriteString("employeeType: staff\n")
		}
		if t := titles[u.uid]; t != "" {
			fmt.Fprintf(&b, "title: %s\n", t)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// sortRow is a user as the directory holds it.
type sortRow struct {
	id, dn, uid, title string
}

// sortRows reads every user of ou=People as the admin, by id.
func sortRows(t *testing.T, e *testEnv) map[string]sortRow {
	t.Helper()
	conn, err := e.ldap.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(&ldap.SearchRequest{BaseDN: peopleDN, Scope: ldap.ScopeWholeSubtree,
		Filter: "(objectClass=inetOrgPerson)", Attributes: []string{"entryUUID", "uid", "title"}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]sortRow{}
	for _, le := range res.Entries {
		r := sortRow{id: le.GetAttributeValue("entryUUID"), dn: le.DN, uid: le.GetAttributeValue("uid"), title: le.GetAttributeValue("title")}
		out[r.id] = r
	}
	return out
}

// sortListed is one listed resource: its id and the title returned ("" = none).
type sortListed struct {
	id, userName, title string
	hasTitle            bool
}

// sortList lists every user the caller sees with the query, in order.
func sortList(t *testing.T, e *testEnv, query, tok string) []sortListed {
	t.Helper()
	r := e.do("GET", "/Users?count=1000&"+query, tok, nil)
	if r.status != 200 {
		t.Fatalf("GET /Users?%s as %s: %d %s", query, tok, r.status, r.raw)
	}
	list, _ := r.body["Resources"].([]any)
	if n := num(r.body, "totalResults"); n != len(list) {
		t.Fatalf("GET /Users?%s: %d of %d results on the page", query, len(list), n)
	}
	out := make([]sortListed, len(list))
	for i, v := range list {
		m, _ := v.(map[string]any)
		title, has := m["title"].(string)
		out[i] = sortListed{id: str(m, "id"), userName: str(m, "userName"), title: title, hasTitle: has}
	}
	return out
}

func sortIDs(l []sortListed) []string {
	out := make([]string, len(l))
	for i, x := range l {
		out[i] = x.id
	}
	return out
}

// sortCaller is who lists: the gateway runs as the service account, the
// token's scopes decide.
type sortCaller struct {
	tok    string
	scopes []string
}

// sortExpect is the order a caller must get: the entries it may read
// (read on objectClass) whose uid passes keep, ordered by the title where
// it may read it and as if untitled where not; untitled entries together
// first or last (nullsFirst, whatever the gateway's rule is), ties and
// untitled entries by id.
func sortExpect(o *uaOracle, rows map[string]sortRow, c sortCaller, keep func(uid string) bool, desc, nullsFirst bool) (order []string, key map[string]string) {
	key = map[string]string{}
	for id, r := range rows {
		if !keep(r.uid) {
			continue
		}
		if ok, _ := o.allow(serviceDN, c.scopes, r.dn, uaAsk{right: "read", attr: "objectClass"}); !ok {
			continue
		}
		key[id] = ""
		if ok, _ := o.allow(serviceDN, c.scopes, r.dn, uaAsk{right: "read", attr: "title"}); ok {
			key[id] = r.title
		}
		order = append(order, id)
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := key[order[i]], key[order[j]]
		switch {
		case (a == "") != (b == ""):
			return (a == "") == nullsFirst
		case a != "" && !strings.EqualFold(a, b):
			return (strings.ToLower(a) < strings.ToLower(b)) != desc
		}
		return order[i] < order[j]
	})
	return order, key
}

// nullPlacement says where a listing puts the untitled test users: first
// or last; ok is false when they are not together at either end.
func nullPlacement(l []sortListed, untitled []string) (first, ok bool) {
	ids := sortIDs(l)
	var pos []int
	for _, id := range untitled {
		pos = append(pos, slices.Index(ids, id))
	}
	slices.Sort(pos)
	n := len(pos)
	switch {
	case pos[0] == 0 && pos[n-1] == n-1:
		return true, true
	case pos[0] == len(ids)-n && pos[n-1] == len(ids)-1:
		return false, true
	}
	return false, false
}

// sortDescribe renders a listing for failure messages.
func sortDescribe(ids []string, rows map[string]sortRow, key map[string]string) string {
	var b strings.Builder
	for i, id := range ids {
		k := "-"
		if key != nil {
			if v, ok := key[id]; ok && v != "" {
				k = v
			}
		}
		fmt.Fprintf(&b, "\n  %2d %-10s %-36s key %q (title %q)", i, rows[id].uid, id, k, rows[id].title)
	}
	return b.String()
}

// TestSortLeak: sorting by title never orders the entries by titles the
// caller may not read, whether every title is hidden from it or only the
// contractors' ones; the connector, which reads every title, gets them
// in title order both ways.
func TestSortLeak(t *testing.T) {
	seedFile := filepath.Join(t.TempDir(), "sort.ldif")
	if err := os.WriteFile(seedFile, []byte(sortSeed(nil)), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEnv(t, seedFile)
	reporting := sortCaller{"reporting", []string{"scim:read"}}
	connector := sortCaller{"connector", strings.Fields(allScopes)}

	// The default order is by id; titles go to the titled users in the
	// reverse of it, so that ordering by title differs from the default.
	def := sortIDs(sortList(t, e, "attributes=userName", connector.tok))
	if !slices.IsSorted(def) {
		t.Fatalf("the default order is not by id: %q", def)
	}
	ids := map[string]string{} // uid -> id
	for _, u := range sortUsers {
		ids[u.uid] = uaIDOf(t, e, u.dn())
	}
	var titled []string // uids in id order
	for _, u := range sortUsers {
		if u.titled {
			titled = append(titled, u.uid)
		}
	}
	sort.Slice(titled, func(i, j int) bool { return ids[titled[i]] < ids[titled[j]] })
	titles := map[string]string{}
	mod := ""
	for i, uid := range titled {
		titles[uid] = string(rune('a'+len(titled)-1-i)) + "-title"
		mod += fmt.Sprintf("dn: uid=%s,%s\nchangetype: modify\nreplace: title\ntitle: %s\n\n", uid, peopleDN, titles[uid])
	}
	untitled := []string{ids["sort-n1"], ids["sort-n2"]}
	titleOrder := slices.Clone(titled) // by title ascending: the reverse of id order
	slices.Reverse(titleOrder)

	// phase checks every listing under one set of test ACIs on ou=People:
	// the whole list and a filtered one, ascending and descending, as the
	// connector and as the reporting token.
	phase := func(t *testing.T, acis []string) {
		o := newUAOracle(t, sortSeed(titles), acis)
		rows := sortRows(t, e)
		for _, filtered := range []bool{false, true} {
			keep, query, scope := func(string) bool { return true }, "sortBy=title&attributes=userName,title", "all"
			if filtered {
				keep = func(uid string) bool { return strings.HasPrefix(uid, "sort-") }
				query, scope = query+"&filter="+q(`userName sw "sort-"`), "filtered"
			}
			for _, desc := range []bool{false, true} {
				qd, dir := query, "ascending"
				if desc {
					qd, dir = qd+"&sortOrder=descending", "descending"
				}
				// Where entries without a title go is the gateway's choice
				// (RFC 7644 leaves it open); the connector's listing, where
				// every title is readable, shows it.
				conn := sortList(t, e, qd, connector.tok)
				nullsFirst, placed := nullPlacement(conn, untitled)
				t.Run(scope+"/"+dir+"/untitled placement", func(t *testing.T) {
					if !placed {
						t.Fatalf("%s as connector: the untitled users are not together at either end:%s", qd, sortDescribe(sortIDs(conn), rows, nil))
					}
					// The directory's sort (RFC 2891) and the gateway's own
					// (compareKeys, used where a key is hidden or the
					// directory cannot sort) both put an absent key after
					// every value: last ascending, first descending.
					if nullsFirst != desc {
						t.Errorf("%s: untitled entries come first=%v; an absent key sorts after every value, so first=%v", qd, nullsFirst, desc)
					}
				})
				if !placed {
					continue
				}
				t.Run(scope+"/"+dir+"/connector titled users", func(t *testing.T) {
					// The connector reads every title: the titled test
					// users in title order, reversed when descending.
					var six []string
					for _, l := range conn {
						if slices.Contains(titled, l.userName) {
							six = append(six, l.userName)
						}
					}
					want6 := slices.Clone(titleOrder)
					if desc {
						slices.Reverse(want6)
					}
					if !slices.Equal(six, want6) {
						t.Errorf("%s as connector: the titled test users come as %q, want %q", qd, six, want6)
					}
				})
				for _, c := range []sortCaller{connector, reporting} {
					t.Run(scope+"/"+dir+"/"+c.tok, func(t *testing.T) {
						got := conn
						if c.tok != connector.tok {
							got = sortList(t, e, qd, c.tok)
						}
						want, key := sortExpect(o, rows, c, keep, desc, nullsFirst)
						if !slices.Equal(sortIDs(got), want) {
							t.Errorf("%s as %s: the order differs from the engine's view of what it may read\ngot:%s\nwant:%s",
								qd, c.tok, sortDescribe(sortIDs(got), rows, key), sortDescribe(want, rows, key))
						}
						for _, l := range got {
							if k, ok := key[l.id]; ok && k == "" && l.hasTitle {
								t.Errorf("%s as %s: %s comes with the title %q it may not read", qd, c.tok, l.userName, l.title)
							}
						}
					})
				}
			}
		}
	}
	waitTitle := func(uid string, visible bool) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for {
			r := e.do("GET", "/Users/"+ids[uid], reporting.tok, nil)
			if r.status == 200 && (str(r.body, "title") != "") == visible {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the test ACIs did not apply in 3 s: %s as reporting: %d %s", uid, r.status, r.raw)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Phase 1: the reporting token reads no title at all.
	mod += "dn: " + peopleDN + "\nchangetype: modify\nadd: aci\naci: " + sortHideAll + "\n"
	if err := e.ldap.LDAPModify(t.Context(), mod); err != nil {
		t.Fatal(err)
	}
	waitTitle("sort-u1", false)
	t.Run("all titles hidden", func(t *testing.T) {
		// Every title hidden: exactly the order without sortBy, both ways
		// (ties are broken by id ascending whatever the direction).
		for _, desc := range []string{"ascending", "descending"} {
			t.Run("all/"+desc+"/reporting is the default order", func(t *testing.T) {
				plain := sortIDs(sortList(t, e, "attributes=userName", reporting.tok))
				got := sortIDs(sortList(t, e, "sortBy=title&attributes=userName,title&sortOrder="+desc, reporting.tok))
				if !slices.Equal(got, plain) {
					rows := sortRows(t, e)
					t.Errorf("sortBy=title&sortOrder=%s as reporting, which reads no title, differs from the default order\ngot:%s\ndefault:%s",
						desc, sortDescribe(got, rows, nil), sortDescribe(plain, rows, nil))
				}
			})
		}
		phase(t, []string{sortHideAll})
	})

	// Phase 2: only the contractors' titles are hidden from it.
	swap := "dn: " + peopleDN + "\nchangetype: modify\ndelete: aci\naci: " + sortHideAll + "\n-\nadd: aci\naci: " + sortHideContractors + "\n"
	if err := e.ldap.LDAPModify(t.Context(), swap); err != nil {
		t.Fatal(err)
	}
	waitTitle("sort-u1", true) // not a contractor
	t.Run("contractor titles hidden", func(t *testing.T) {
		phase(t, []string{sortHideContractors})
	})
}
