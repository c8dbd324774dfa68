package ldapconn

import (
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/slapd"
)

// TestVLVControl: slapd (sssvlv) answers the encoded VLV request with the
// window asked for, in the sort order, and a response control the decoder
// reads; an offset past the end returns nothing and the count.
func TestVLVControl(t *testing.T) {
	c := demoServiceConn(t)
	const base, filter = "ou=People,dc=example,dc=com", "(objectClass=inetOrgPerson)"
	all, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, []string{"entryUUID"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range all.Entries {
		ids = append(ids, e.GetAttributeValue("entryUUID"))
	}
	sort.Strings(ids)
	if len(ids) < 6 {
		t.Fatalf("the demo has %d users; the test needs 6", len(ids))
	}
	window := func(offset, after int) ([]string, VLVResult) {
		t.Helper()
		res, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, []string{"entryUUID"},
			[]ldap.Control{ldap.NewControlServerSideSortingWithSortKeys([]*ldap.SortKey{{AttributeType: "entryUUID"}}), &VLVRequest{Offset: offset, After: after}}))
		if err != nil {
			t.Fatalf("VLV search at %d: %v", offset, err)
		}
		v, err := ParseVLVResponse(res.Controls)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range res.Entries {
			got = append(got, e.GetAttributeValue("entryUUID"))
		}
		return got, v
	}
	got, v := window(3, 2)
	if !slices.Equal(got, ids[2:5]) || v.Count != len(ids) || v.Position != 3 || v.Code != 0 {
		t.Errorf("window at 3: %v %+v, want %v with count %d", got, v, ids[2:5], len(ids))
	}
	got, v = window(len(ids)-1, 4)
	if !slices.Equal(got, ids[len(ids)-2:]) || v.Count != len(ids) {
		t.Errorf("window at the end: %v %+v, want %v", got, v, ids[len(ids)-2:])
	}
	if len(v.ContextID) == 0 {
		t.Fatal("sssvlv named no context for its sorted list")
	}
	// A window of the list sorted before, by its context: the same list,
	// as it was sorted (a user added since is not in it), from any offset.
	if err := c.Add(&ldap.AddRequest{DN: "uid=vlv-late,ou=People,dc=example,dc=com", Attributes: []ldap.Attribute{
		{Type: "objectClass", Vals: []string{"inetOrgPerson"}}, {Type: "uid", Vals: []string{"vlv-late"}}, {Type: "cn", Vals: []string{"x"}}, {Type: "sn", Vals: []string{"x"}}}}); err != nil {
		t.Fatalf("adding a user as the service account: %v", err)
	}
	for _, offset := range []int{2, 1, len(ids) - 1} {
		res, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, []string{"entryUUID"},
			[]ldap.Control{ldap.NewControlServerSideSortingWithSortKeys([]*ldap.SortKey{{AttributeType: "entryUUID"}}), &VLVRequest{Offset: offset, After: 1, ContextID: v.ContextID}}))
		if err != nil {
			t.Fatalf("VLV search at %d by context: %v", offset, err)
		}
		w, err := ParseVLVResponse(res.Controls)
		if err != nil || w.Count != len(ids) || len(res.Entries) == 0 || res.Entries[0].GetAttributeValue("entryUUID") != ids[offset-1] {
			t.Errorf("window at %d by context: %d entries, %+v, %v; want the list sorted before (%d)", offset, len(res.Entries), w, err, len(ids))
		}
	}
	if _, v := window(1, 0); v.Count != len(ids)+1 {
		t.Errorf("a window without a context: count %d, want the list sorted again (%d)", v.Count, len(ids)+1)
	}
	// Past the end: sssvlv refuses the offset (76, virtualListViewError),
	// which the backend answers with a count of its own.
	_, err = c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, []string{"entryUUID"},
		[]ldap.Control{ldap.NewControlServerSideSortingWithSortKeys([]*ldap.SortKey{{AttributeType: "entryUUID"}}), &VLVRequest{Offset: len(ids) + 5, After: 4}}))
	if !ldap.IsErrorWithCode(err, ResultVLVError) {
		t.Errorf("offset past the end: %v, want result code 76", err)
	}
}

// TestVLVResponseMalformed: a response control that does not decode, or
// holds no counts, is an error, never a panic or a made-up count.
func TestVLVResponseMalformed(t *testing.T) {
	for _, value := range []string{"", "\x30", "\x30\x03\x02\x01\x01", "\x30\x09\x02\x01\x01\x04\x01x\x0a\x01\x00", "\x30\x09\x02\x01\xff\x02\x01\x01\x0a\x01\x00"} {
		if _, err := ParseVLVResponse([]ldap.Control{ldap.NewControlString(ldap.ControlTypeVLVResponse, false, value)}); err == nil {
			t.Errorf("ParseVLVResponse(%q) succeeded", value)
		}
	}
	if _, err := ParseVLVResponse(nil); err == nil {
		t.Error("ParseVLVResponse without the control succeeded")
	}
	v, err := ParseVLVResponse([]ldap.Control{ldap.NewControlString(ldap.ControlTypeVLVResponse, false, "\x30\x09\x02\x01\x03\x02\x01\x2a\x0a\x01\x00")})
	if err != nil || !reflect.DeepEqual(v, VLVResult{Position: 3, Count: 42}) {
		t.Errorf("a well-formed response: %+v %v", v, err)
	}
	// With a context id.
	v, err = ParseVLVResponse([]ldap.Control{ldap.NewControlString(ldap.ControlTypeVLVResponse, false, "\x30\x0d\x02\x01\x03\x02\x01\x2a\x0a\x01\x00\x04\x02ab")})
	if err != nil || !reflect.DeepEqual(v, VLVResult{Position: 3, Count: 42, ContextID: []byte("ab")}) {
		t.Errorf("a response with a context id: %+v %v", v, err)
	}
}

// TestSortedPagedContinuation: what walks rely on in slapd's sssvlv. A
// sorted Simple Paged Results search keeps its sorted list on the
// connection; each next page (the cookie) comes from it, in order, with
// the continuation's attributes and the first request's page size, full
// pages; the response's size is exactly how many of the list follow; an
// entry added since is not in the list, and one deleted since is left out.
func TestSortedPagedContinuation(t *testing.T) {
	c := demoServiceConn(t)
	const base, filter = "ou=People,dc=example,dc=com", "(objectClass=inetOrgPerson)"
	sortBy := ldap.NewControlServerSideSortingWithSortKeys([]*ldap.SortKey{{AttributeType: "entryUUID"}})
	all, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, []string{"1.1"},
		[]ldap.Control{sortBy}))
	if err != nil || len(all.Entries) < 8 {
		t.Fatalf("the demo's users, sorted: %v", err)
	}
	paging := ldap.NewControlPaging(2)
	page := func(size int, attrs ...string) ([]string, int, bool) {
		t.Helper()
		paging.PagingSize = uint32(size)
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, attrs,
			[]ldap.Control{sortBy, paging})
		res, err := c.Search(req)
		for busy := 1; ldap.IsErrorWithCode(err, ldap.LDAPResultBusy) && busy <= 20; busy++ {
			// sssvlv sends a page's result before it marks the page
			// done: the next page, asked for at once, may find the list
			// busy. It is intact; the gateway asks again too.
			time.Sleep(time.Duration(busy) * time.Millisecond)
			res, err = c.Search(req)
		}
		if err != nil {
			t.Fatal(err)
		}
		var dns []string
		for _, e := range res.Entries {
			dns = append(dns, e.DN)
			if len(attrs) > 0 && attrs[0] == "uid" && e.GetAttributeValue("uid") == "" {
				t.Errorf("%s: no uid in a page that asked for it", e.DN)
			}
		}
		pc := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		paging.SetCookie(pc.Cookie)
		return dns, int(pc.PagingSize), len(pc.Cookie) > 0
	}
	want := func(from, to int) []string {
		var out []string
		for _, e := range all.Entries[from:to] {
			out = append(out, e.DN)
		}
		return out
	}
	n := len(all.Entries)
	got, rest, more := page(2, "1.1")
	if !slices.Equal(got, want(0, 2)) || rest != n-2 || !more {
		t.Fatalf("first page: %v, %d follow (more %v), want %v and %d", got, rest, more, want(0, 2), n-2)
	}
	add := ldap.NewAddRequest("uid=aaa-added-later,"+base, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("cn", []string{"x"})
	add.Attribute("sn", []string{"x"})
	if err := c.Add(add); err != nil {
		t.Fatal(err)
	}
	if err := c.Del(ldap.NewDelRequest(all.Entries[2].DN, nil)); err != nil {
		t.Fatal(err)
	}
	got, rest, _ = page(100, "uid") // the size of the first request holds
	if !slices.Equal(got, want(3, 5)) || rest != n-5 {
		t.Errorf("second page: %v, %d follow, want %v (the deleted entry left out, the page full) and %d", got, rest, want(3, 5), n-5)
	}
	var tail []string
	for more = true; more; {
		got, _, more = page(2, "uid")
		tail = append(tail, got...)
	}
	if !slices.Equal(tail, want(5, n)) {
		t.Errorf("the rest: %v, want %v (not the added entry)", tail, want(5, n))
	}
}

// demoServiceConn is a connection to a private demo slapd, bound as the
// service account, closed when the test ends.
func demoServiceConn(t *testing.T) *ldap.Conn {
	t.Helper()
	s := startDemo(t, slapd.Options{})
	c, err := s.Bind(t.Context(), s.ServiceDN, demoServicePass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
