package ldapconn

import (
	"slices"
	"sort"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/slapd"
)

// TestVLVControl: slapd (sssvlv) answers the encoded VLV request with the
// window asked for, in the sort order, and a response control the decoder
// reads; an offset past the end returns nothing and the count.
func TestVLVControl(t *testing.T) {
	s := startDemo(t, slapd.Options{})
	c, err := s.Bind(t.Context(), s.ServiceDN, demoServicePass)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
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
	if err != nil || v != (VLVResult{Position: 3, Count: 42}) {
		t.Errorf("a well-formed response: %+v %v", v, err)
	}
}
