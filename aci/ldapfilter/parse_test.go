package ldapfilter

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// parseTests pair filter text with the tree Parse must build and the
// canonical text String must print ("" when the input is canonical).
var parseTests = []struct {
	in    string
	want  Filter
	canon string
}{
	{in: "(uid=jdoe)", want: Equality{Attr: "uid", Value: "jdoe"}},
	{in: "(cn=)", want: Equality{Attr: "cn", Value: ""}},
	{in: "(CN;lang-en=Müller)", want: Equality{Attr: "CN;lang-en", Value: "Müller"}},
	{in: "(2.5.4.3=x)", want: Equality{Attr: "2.5.4.3", Value: "x"}},
	{in: "(cn;x-a;binary=x)", want: Equality{Attr: "cn;x-a;binary", Value: "x"}},
	{in: "(cn=a b  c )", want: Equality{Attr: "cn", Value: "a b  c "}},
	{in: `(cn=\2a\28\29\5c\00)`, want: Equality{Attr: "cn", Value: "*()\\\x00"}},
	{in: `(cn=\4A\6f)`, want: Equality{Attr: "cn", Value: "Jo"}, canon: "(cn=Jo)"},
	{in: `(cn=\c3\a9)`, want: Equality{Attr: "cn", Value: "é"}, canon: "(cn=é)"},
	{in: `(cn=\ff\0a)`, want: Equality{Attr: "cn", Value: "\xff\n"}},
	{in: "(cn=a=b)", want: Equality{Attr: "cn", Value: "a=b"}},
	{in: "(cn~=jon)", want: Approx{Attr: "cn", Value: "jon"}},
	{in: "(uidNumber>=1000)", want: GreaterOrEqual{Attr: "uidNumber", Value: "1000"}},
	{in: "(uidNumber<=1000)", want: LessOrEqual{Attr: "uidNumber", Value: "1000"}},
	{in: "(objectClass=*)", want: Present{Attr: "objectClass"}},
	{in: "(cn=a*)", want: Substrings{Attr: "cn", Initial: "a"}},
	{in: "(cn=*a)", want: Substrings{Attr: "cn", Final: "a"}},
	{in: "(cn=*a*)", want: Substrings{Attr: "cn", Any: []string{"a"}}},
	{in: "(cn=a*b*c*d)", want: Substrings{Attr: "cn", Initial: "a", Any: []string{"b", "c"}, Final: "d"}},
	{in: "(cn=a**b)", want: Substrings{Attr: "cn", Initial: "a", Final: "b"}, canon: "(cn=a*b)"},
	{in: "(cn=**)", want: Substrings{Attr: "cn"}},
	{in: `(cn=\2a*)`, want: Substrings{Attr: "cn", Initial: "*"}},
	{in: "(cn:=x)", want: Extensible{Attr: "cn", Value: "x"}},
	{in: "(cn:dn:=x)", want: Extensible{Attr: "cn", DNAttributes: true, Value: "x"}},
	{in: "(cn:DN:=x)", want: Extensible{Attr: "cn", DNAttributes: true, Value: "x"}, canon: "(cn:dn:=x)"},
	{in: "(cn:caseExactMatch:=x)", want: Extensible{Attr: "cn", Rule: "caseExactMatch", Value: "x"}},
	{in: "(cn:dn:2.5.13.5:=x)", want: Extensible{Attr: "cn", Rule: "2.5.13.5", DNAttributes: true, Value: "x"}},
	{in: "(:caseIgnoreMatch:=x)", want: Extensible{Rule: "caseIgnoreMatch", Value: "x"}},
	{in: "(:dn:2.5.13.1:=x)", want: Extensible{Rule: "2.5.13.1", DNAttributes: true, Value: "x"}},
	{in: "(cn:dnQualifier:=x)", want: Extensible{Attr: "cn", Rule: "dnQualifier", Value: "x"}},
	{in: "(cn:dn:dn:=x)", want: Extensible{Attr: "cn", Rule: "dn", DNAttributes: true, Value: "x"}},
	{in: "(&)", want: And{}},
	{in: "(|)", want: Or{}},
	{in: "(!(a=b))", want: Not{Filter: Equality{Attr: "a", Value: "b"}}},
	{
		in: "(&(objectClass=inetOrgPerson)(|(uid=jdoe)(mail=j*@example.com))(!(pwdReset=TRUE)))",
		want: And{Filters: []Filter{
			Equality{Attr: "objectClass", Value: "inetOrgPerson"},
			Or{Filters: []Filter{
				Equality{Attr: "uid", Value: "jdoe"},
				Substrings{Attr: "mail", Initial: "j", Final: "@example.com"},
			}},
			Not{Filter: Equality{Attr: "pwdReset", Value: "TRUE"}},
		}},
	},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
		canon := tt.canon
		if canon == "" {
			canon = tt.in
		}
		if s := got.String(); s != canon {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, s, canon)
		}
		again, err := Parse(got.String())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("Parse(%q) round trip = %#v, %v", got.String(), again, err)
		}
	}
}

// parseErrorTests give malformed filters with the offset and message Parse
// must report.
var parseErrorTests = []struct {
	in     string
	offset int
	msg    string
}{
	{"", 0, `expected '(', found end of input`},
	{"uid=x", 0, `expected '(', found 'u'`},
	{" (uid=x)", 0, `expected '(', found ' '`},
	{"(uid=x) ", 7, `expected end of input after filter, found ' '`},
	{"(uid=x)(a=b)", 7, `expected end of input after filter, found '('`},
	{"(uid=x", 6, `expected ')' to close filter, found end of input`},
	{"()", 1, `expected attribute description or filter operator ('&', '|', '!'), found ')'`},
	{"(=x)", 1, `expected attribute description or filter operator ('&', '|', '!'), found '='`},
	{"(_a=x)", 1, `expected attribute description or filter operator ('&', '|', '!'), found '_'`},
	{"(uid x)", 4, `expected '=', '~=', '>=', '<=' or ':' after attribute description, found ' '`},
	{"(uid)", 4, `expected '=', '~=', '>=', '<=' or ':' after attribute description, found ')'`},
	{"(uid~x)", 5, `expected '=' after '~', found 'x'`},
	{"(uid<", 5, `expected '=' after '<', found end of input`},
	{"(uid>x)", 5, `expected '=' after '>', found 'x'`},
	{"(cn;=x)", 4, `expected attribute option after ';', found '='`},
	{"(1=x)", 2, `expected '.' in numeric OID, found '='`},
	{"(1.=x)", 3, `expected digit in numeric OID, found '='`},
	{"(1.02=x)", 3, `leading zero in numeric OID`},
	{"(cn=a(b)", 5, `unescaped '(' in assertion value (write \28)`},
	{"(cn=a\x00)", 5, `unescaped NUL in assertion value (write \00)`},
	{`(cn=\zz)`, 5, `expected two hex digits after '\', found 'z'`},
	{`(cn=\4)`, 6, `expected two hex digits after '\', found ')'`},
	{`(cn=\`, 5, `expected two hex digits after '\', found end of input`},
	{"(cn>=a*)", 6, `unescaped '*' in assertion value (write \2a)`},
	{"(cn~=*)", 5, `unescaped '*' in assertion value (write \2a)`},
	{"(cn:=a*)", 6, `unescaped '*' in assertion value (write \2a)`},
	{"(:=x)", 1, `extensible match without attribute description needs a matching rule`},
	{"(:dn:=x)", 1, `extensible match without attribute description needs a matching rule`},
	{"(cn:x)", 5, `expected ':' after matching rule, found ')'`},
	{"(cn:rule:x)", 9, `expected '=' after ':', found 'x'`},
	{"(cn:-:=x)", 4, `expected matching rule or '=' after ':', found '-'`},
	{"(&(a=b)x)", 7, `expected '(' or ')' in filter list, found 'x'`},
	{"(&(a=b)", 7, `expected '(' or ')' in filter list, found end of input`},
	{"(!)", 2, `expected '(', found ')'`},
	{"(!(a=b)(c=d))", 7, `expected ')' to close filter, found '('`},
	{"(\xff=x)", 1, `expected attribute description or filter operator ('&', '|', '!'), found byte 0xff`},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range parseErrorTests {
		f, err := Parse(tt.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, %v; want *SyntaxError", tt.in, f, err)
			continue
		}
		if se.Offset != tt.offset || se.Msg != tt.msg {
			t.Errorf("Parse(%q) error = %d %q, want %d %q", tt.in, se.Offset, se.Msg, tt.offset, tt.msg)
		}
	}
}

// nested returns depth levels of parenthesized filters: depth-1 "!"s
// around an equality item.
func nested(depth int) string {
	return strings.Repeat("(!", depth-1) + "(a=b)" + strings.Repeat(")", depth-1)
}

func TestParseDepthLimit(t *testing.T) {
	if _, err := Parse(nested(MaxDepth)); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	andDeep := strings.Repeat("(&", MaxDepth-1) + "(a=b)" + strings.Repeat(")", MaxDepth-1)
	if _, err := Parse(andDeep); err != nil {
		t.Errorf("depth %d with &: %v", MaxDepth, err)
	}
	_, err := Parse(nested(MaxDepth + 1))
	var se *SyntaxError
	if !errors.As(err, &se) || se.Offset != 2*MaxDepth || se.Msg != "filter nested deeper than 64 levels" {
		t.Errorf("depth %d: %v, want error at offset %d", MaxDepth+1, err, 2*MaxDepth)
	}
	// A deep input fails fast at the limit instead of recursing on.
	if _, err := Parse(nested(100000)); err == nil {
		t.Error("depth 100000 parsed")
	}
}

func TestSyntaxErrorMessage(t *testing.T) {
	_, err := Parse("(uid=x")
	if got, want := err.Error(), "offset 6: expected ')' to close filter, found end of input"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestPrint(t *testing.T) {
	tests := []struct {
		f    Filter
		want string
	}{
		{Equality{Attr: "cn", Value: "a*(b)\\c\x00"}, `(cn=a\2a\28b\29\5cc\00)`},
		{Equality{Attr: "cn", Value: "tab\there\x7f"}, `(cn=tab\09here\7f)`},
		{Equality{Attr: "cn", Value: "\xc3\x28"}, `(cn=\c3\28)`},
		{Equality{Attr: "cn", Value: "zero\u200bwidth"}, `(cn=zero\e2\80\8bwidth)`},
		{Equality{Attr: "cn", Value: "日本"}, `(cn=日本)`},
		{Substrings{Attr: "cn", Initial: "*", Any: []string{"(", ")"}, Final: "\\"}, `(cn=\2a*\28*\29*\5c)`},
		{Substrings{Attr: "cn"}, `(cn=**)`},
		{Extensible{Attr: "cn", Rule: "caseExactMatch", DNAttributes: true, Value: "*"}, `(cn:dn:caseExactMatch:=\2a)`},
		{&And{Filters: []Filter{&Present{Attr: "a"}, Not{Filter: &Approx{Attr: "b", Value: "c"}}}}, `(&(a=*)(!(b~=c)))`},
		{Or{Filters: []Filter{GreaterOrEqual{Attr: "n", Value: "1"}, LessOrEqual{Attr: "n", Value: "9"}}}, `(|(n>=1)(n<=9))`},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestAttributes(t *testing.T) {
	f, err := Parse("(&(objectClass=person)(|(CN;lang-en=a)(cn=b)(:dn:caseIgnoreMatch:=x))(!(Member=*))(uid:dn:=y)(objectclass<=z))")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"objectclass", "cn", "member", "uid"}
	if got := Attributes(f); !reflect.DeepEqual(got, want) {
		t.Errorf("Attributes = %q, want %q", got, want)
	}
}
