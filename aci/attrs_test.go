package aci

import "testing"

// TestCanonicalAttr: any case, options dropped, long names to short ones;
// the same answer from the name cache on the second call, which then
// allocates nothing.
func TestCanonicalAttr(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"cn", "cn"},
		{"CN", "cn"},
		{"commonName", "cn"},
		{"CommonName;lang-en", "cn"},
		{"givenName", "givenname"},
		{"gn", "givenname"},
		{"objectClass", "objectclass"},
		{"2.5.4.3", "cn"},
		{"entryUUID", "entryuuid"},
		{"mail;binary", "mail"},
		{"x-Custom-Attr", "x-custom-attr"},
	} {
		for round := range 2 {
			if got := CanonicalAttr(c.in); got != c.want {
				t.Errorf("round %d: CanonicalAttr(%q) = %q, want %q", round, c.in, got, c.want)
			}
		}
	}
	CanonicalAttr("modifyTimestamp")
	if n := testing.AllocsPerRun(100, func() { CanonicalAttr("modifyTimestamp") }); n != 0 {
		t.Errorf("CanonicalAttr of a remembered name allocates %v times", n)
	}
}
