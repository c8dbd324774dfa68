package ldapfilter

import (
	"errors"
	"reflect"
	"testing"
)

// normalizeDNTests pair DNs with their canonical form.
var normalizeDNTests = []struct{ in, want string }{
	{"", ""},
	{"   ", ""},
	{"dc=example,dc=com", "dc=example,dc=com"},
	{"UID=JDoe, OU=People , DC=Example,DC=COM", "uid=jdoe,ou=people,dc=example,dc=com"},
	{"  cn = John Doe  ,  dc = example ", "cn=john doe,dc=example"},
	{"cn=John  Doe,dc=x", "cn=john  doe,dc=x"},
	{"cn=a;dc=b", "cn=a,dc=b"},
	{"2.5.4.3=Foo,dc=x", "2.5.4.3=foo,dc=x"},
	{"cn=", "cn="},
	{"cn=,dc=x", "cn=,dc=x"},
	// Escapes: specials, then hex, then what must stay escaped.
	{`cn=Doe\, John,dc=x`, `cn=doe\, john,dc=x`},
	{`cn=a\+b\;c\<d\>e\"f\\g,dc=x`, `cn=a\+b\;c\<d\>e\"f\\g,dc=x`},
	{`cn=\4A\6fhn`, `cn=john`},
	{`cn=\2c`, `cn=\,`},
	{`cn=a\=b`, `cn=a=b`},
	{`cn=a=b`, `cn=a=b`},
	{`cn=\#hash`, `cn=\#hash`},
	{`cn=\23hash`, `cn=\#hash`},
	{`cn=a\#b`, `cn=a#b`},
	{`cn=\ lead`, `cn=\ lead`},
	{`cn=trail\ `, `cn=trail\ `},
	{`cn=trail\   ,dc=x`, `cn=trail\ ,dc=x`},
	{`cn=\20`, `cn=\ `},
	{`cn=\20\20`, `cn=\ \ `},
	{`cn=a\20\20b`, `cn=a  b`},
	{`cn=\00`, `cn=\00`},
	{`cn=\C3\89cole`, `cn=école`},
	{`cn=ÉCOLE`, `cn=école`},
	{`cn=\ff\FE`, `cn=\ff\fe`},
	// BER values stay hex.
	{"cn=#04024869", "cn=#04024869"},
	{"CN=#04024A69 , dc=x", "cn=#04024a69,dc=x"},
	// Multi-valued RDNs: AVAs sorted.
	{"uid=b+cn=a,dc=x", "cn=a+uid=b,dc=x"},
	{"UID = B + CN = A , DC = X", "cn=a+uid=b,dc=x"},
	{"sn=z+cn=y+cn=x", "cn=x+cn=y+sn=z"},
	{"cn=a+cn=a", "cn=a+cn=a"},
}

func TestNormalizeDN(t *testing.T) {
	for _, tt := range normalizeDNTests {
		got, err := NormalizeDN(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeDN(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			continue
		}
		if again, err := NormalizeDN(got); err != nil || again != got {
			t.Errorf("NormalizeDN(%q) = %q, %v; not idempotent", got, again, err)
		}
	}
}

var normalizeDNErrorTests = []struct {
	in     string
	offset int
	msg    string
}{
	{"cn", 2, `expected '=' after attribute type, found end of input`},
	{"cn=a,", 5, `expected attribute type, found end of input`},
	{"cn=a, ", 6, `expected attribute type, found end of input`},
	{",cn=a", 0, `expected attribute type, found ','`},
	{"cn=a,,dc=b", 5, `expected attribute type, found ','`},
	{"cn=a+", 5, `expected attribute type, found end of input`},
	{"=a", 0, `expected attribute type, found '='`},
	{"c_n=a", 1, `expected '=' after attribute type, found '_'`},
	{"1=a", 1, `expected '.' in numeric OID, found '='`},
	{`cn=\x`, 4, `expected special character or two hex digits after '\', found 'x'`},
	{`cn=\`, 4, `expected special character or two hex digits after '\', found end of input`},
	{`cn=\4`, 4, `expected special character or two hex digits after '\', found '4'`},
	{`cn=a"b`, 4, `unescaped '"' in attribute value`},
	{`cn=<`, 3, `unescaped '<' in attribute value`},
	{"cn=a\x00", 4, `unescaped '\x00' in attribute value`},
	{"cn=#", 4, `expected pairs of hex digits after '#', found end of input`},
	{"cn=#abc", 7, `expected pairs of hex digits after '#', found end of input`},
	{"cn=#ab x", 7, `expected ',' or '+' after attribute value, found 'x'`},
	{"cn=#zz", 4, `expected pairs of hex digits after '#', found 'z'`},
}

func TestNormalizeDNErrors(t *testing.T) {
	for _, tt := range normalizeDNErrorTests {
		got, err := NormalizeDN(tt.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("NormalizeDN(%q) = %q, %v; want *SyntaxError", tt.in, got, err)
			continue
		}
		if se.Offset != tt.offset || se.Msg != tt.msg {
			t.Errorf("NormalizeDN(%q) error = %d %q, want %d %q", tt.in, se.Offset, se.Msg, tt.offset, tt.msg)
		}
	}
}

func TestSplitAndParentDN(t *testing.T) {
	tests := []struct {
		dn     string
		rdns   []string
		parent string
	}{
		{"", nil, ""},
		{"dc=com", []string{"dc=com"}, ""},
		{"uid=a,ou=people,dc=com", []string{"uid=a", "ou=people", "dc=com"}, "ou=people,dc=com"},
		{`cn=doe\, john,dc=com`, []string{`cn=doe\, john`, "dc=com"}, "dc=com"},
		{`cn=a\\,dc=com`, []string{`cn=a\\`, "dc=com"}, "dc=com"},
		{`cn=a\2c\\\,b,dc=com`, []string{`cn=a\2c\\\,b`, "dc=com"}, "dc=com"},
		{"cn=a+sn=b,dc=com", []string{"cn=a+sn=b", "dc=com"}, "dc=com"},
	}
	for _, tt := range tests {
		if got := SplitDN(tt.dn); !reflect.DeepEqual(got, tt.rdns) {
			t.Errorf("SplitDN(%q) = %q, want %q", tt.dn, got, tt.rdns)
		}
		if got := ParentDN(tt.dn); got != tt.parent {
			t.Errorf("ParentDN(%q) = %q, want %q", tt.dn, got, tt.parent)
		}
	}
}

func TestIsDescendant(t *testing.T) {
	tests := []struct {
		dn, ancestor string
		want         bool
	}{
		{"uid=a,ou=people,dc=com", "", true},
		{"", "", true},
		{"", "dc=com", false},
		{"dc=com", "dc=com", true},
		{"uid=a,ou=people,dc=com", "dc=com", true},
		{"uid=a,ou=people,dc=com", "ou=people,dc=com", true},
		{"uid=a,ou=people,dc=com", "uid=a,ou=people,dc=com", true},
		{"ou=people,dc=com", "uid=a,ou=people,dc=com", false},
		{"uid=a,ou=people,dc=com", "people,dc=com", false},
		{"dc=xcom", "com", false},
		{"dc=x,dc=com", "dc=co", false},
		{`cn=a\,dc=com`, "dc=com", false},
		{`cn=a\\,dc=com`, "dc=com", true},
		{`cn=a\\\,dc=com`, "dc=com", false},
		{"cn=a+dc=com", "dc=com", false},
	}
	for _, tt := range tests {
		if got := IsDescendant(tt.dn, tt.ancestor); got != tt.want {
			t.Errorf("IsDescendant(%q, %q) = %v, want %v", tt.dn, tt.ancestor, got, tt.want)
		}
	}
}

func TestNormalizeDNAllocs(t *testing.T) {
	canonical := "uid=jdoe,ou=people,dc=example,dc=com"
	if n := testing.AllocsPerRun(100, func() { _, _ = NormalizeDN(canonical) }); n != 0 {
		t.Errorf("NormalizeDN(canonical) allocs = %v, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = NormalizeDN("UID=JDoe, OU=People, DC=Example, DC=Com") }); n > 1 {
		t.Errorf("NormalizeDN allocs = %v, want at most 1", n)
	}
}
