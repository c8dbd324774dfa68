package resource

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	filter "github.com/scim2/filter-parser/v2"
)

// sexpr renders an AST canonically for comparisons: strings quoted with
// %q, numbers with %v and a type tag.
func sexpr(e filter.Expression) string {
	switch x := e.(type) {
	case *filter.LogicalExpression:
		return fmt.Sprintf("(%s %s %s)", x.Operator, sexpr(x.Left), sexpr(x.Right))
	case *filter.NotExpression:
		return fmt.Sprintf("(not %s)", sexpr(x.Expression))
	case *filter.ValuePath:
		return fmt.Sprintf("%s[%s]", pathString(x.AttributePath), sexpr(x.ValueFilter))
	case *filter.AttributeExpression:
		s := fmt.Sprintf("(%s %s", x.Operator, pathString(x.AttributePath))
		switch v := x.CompareValue.(type) {
		case nil:
			if x.Operator != filter.PR {
				s += " null"
			}
		case string:
			s += fmt.Sprintf(" %q", v)
		case int:
			s += fmt.Sprintf(" int:%d", v)
		case float64:
			s += fmt.Sprintf(" float:%v", v)
		case bool:
			s += fmt.Sprintf(" %v", v)
		default:
			s += fmt.Sprintf(" %T:%v", v, v)
		}
		return s + ")"
	}
	return fmt.Sprintf("?%T", e)
}

func pathString(ap filter.AttributePath) string {
	s := ap.AttributeName
	if ap.URIPrefix != nil {
		s = "<" + *ap.URIPrefix + ">" + s
	}
	if ap.SubAttribute != nil {
		s += "." + *ap.SubAttribute
	}
	return s
}

func TestParseFilter(t *testing.T) {
	tests := []struct{ in, want string }{
		{`userName eq "bjensen"`, `(eq userName "bjensen")`},
		{`userName EQ "x"`, `(eq userName "x")`},
		{`USERNAME Eq "x"`, `(eq USERNAME "x")`},
		{`  userName eq "x"  `, `(eq userName "x")`},
		{`title pr`, `(pr title)`},
		{`title PR`, `(pr title)`},
		{`name.familyName co "O'Malley"`, `(co name.familyName "O'Malley")`},
		{`userName sw "J"`, `(sw userName "J")`},
		{`emails ew "@example.com"`, `(ew emails "@example.com")`},
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, `(gt meta.lastModified "2011-05-13T04:42:34Z")`},
		{`active eq true`, `(eq active true)`},
		{`active eq False`, `(eq active false)`},
		{`title eq null`, `(eq title null)`},
		{`x eq 42`, `(eq x int:42)`},
		{`x eq -1.5e3`, `(eq x float:-1500)`},
		{`x eq 0`, `(eq x int:0)`},
		{`a pr and b pr and c pr`, `(and (and (pr a) (pr b)) (pr c))`},
		{`a pr or b pr and c pr`, `(or (pr a) (and (pr b) (pr c)))`},
		{`a pr AND b pr OR c pr`, `(or (and (pr a) (pr b)) (pr c))`},
		{`(a pr or b pr) and c pr`, `(and (or (pr a) (pr b)) (pr c))`},
		{`not (a pr)`, `(not (pr a))`},
		{`NOT(a pr)`, `(not (pr a))`},
		{`not pr`, `(pr not)`},
		{`andy pr and ory pr`, `(and (pr andy) (pr ory))`},
		{`emails[type eq "work" and value co "@example.com"]`, `emails[(and (eq type "work") (co value "@example.com"))]`},
		{`emails [ type eq "work" ]`, `emails[(eq type "work")]`},
		{`emails[not (type eq "work")]`, `emails[(not (eq type "work"))]`},
		{`emails[type eq "a" or type eq "b" or type eq "c"]`, `emails[(or (or (eq type "a") (eq type "b")) (eq type "c"))]`},
		{`members[value eq "2819c223"]`, `members[(eq value "2819c223")]`},
		// Entra's non-RFC form.
		{`emails[type eq "work"].value eq "x@y"`, `emails[(and (eq type "work") (eq value "x@y"))]`},
		{`emails[type eq "work" or type eq "home"].value EQ "x"`, `emails[(and (or (eq type "work") (eq type "home")) (eq value "x"))]`},
		{`emails[type eq "work"].value pr and userName eq "u"`, `(and emails[(and (eq type "work") (pr value))] (eq userName "u"))`},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7"`, `(eq <urn:ietf:params:scim:schemas:extension:enterprise:2.0:User>employeeNumber "7")`},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m"`, `(eq <urn:ietf:params:scim:schemas:extension:enterprise:2.0:User>manager.value "m")`},
		{`urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "B"`, `(eq <urn:ietf:params:scim:schemas:core:2.0:User>name.givenName "B")`},
		{`members.$ref pr`, `(pr members.$ref)`},
		// Strings are JSON-unescaped.
		{`userName eq "a\"b\\c\/d\n\u00e9\u00E9\uD83D\uDE00"`, `(eq userName "a\"b\\c/d\néé😀")`},
		{`userName eq "a\tb\u000A\r"`, `(eq userName "a\tb\n\r")`},
		{`userName eq "*)(uid=*"`, `(eq userName "*)(uid=*")`},
		{`userName eq "é"`, `(eq userName "é")`},
	}
	for _, tt := range tests {
		e, err := ParseFilter(tt.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.in, err)
			continue
		}
		if got := sexpr(e); got != tt.want {
			t.Errorf("ParseFilter(%q)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestParseFilterErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, `column 1: expected an attribute name, found the end of the input`},
		{`userName eqq "x"`, `column 10: expected an operator (eq, ne, co, sw, ew, gt, lt, ge, le, pr) after "userName", found "eqq"`},
		{`userName`, `column 9: expected a space and an operator after "userName", found the end of the input`},
		{`userName eq`, `column 12: expected a space and a value after "eq", found the end of the input`},
		{`userName eq "x`, `column 13: string not terminated`},
		{`userName eq x`, `column 13: expected a value (a string in double quotes, a number, true, false or null), found "x"`},
		{`userName eq "x" and`, `column 20: expected an attribute name, found the end of the input`},
		{`userName eq "x" andy pr`, `column 17: expected "and", "or" or the end of the filter, found "andy"`},
		{`(userName eq "x"`, `column 17: expected ")" closing the "(" at column 1, found the end of the input`},
		{`a pr )`, `column 6: expected "and", "or" or the end of the filter, found ")"`},
		{`emails[type eq "work"`, `column 22: expected "]" closing the "[" at column 7, found the end of the input`},
		{`emails[type eq "w"].value`, `column 26: expected a space and an operator after "emails[type eq \"w\"].value", found the end of the input`},
		{`emails[type eq "w"].value eqq "x"`, `column 27: expected an operator (eq, ne, co, sw, ew, gt, lt, ge, le, pr) after "value", found "eqq"`},
		{`emails[type eq "w"].1 eq "x"`, `column 21: expected a sub-attribute name, found "1"`},
		{`emails[members[value pr]]`, `column 15: a value filter cannot contain another value filter`},
		{`name.givenName[value pr]`, `column 1: a value filter applies to an attribute, not to the sub-attribute "name.givenName"`},
		{`userName eq "a\x"`, `column 15: invalid escape "\\x\"" in a string`},
		{`userName eq "\u12"`, `column 14: invalid \u escape; expected four hex digits`},
		{"userName eq \"a\tb\"", `column 15: control character '\t' in a string; escape it`},
		// Strings must be text: no control character but tab and line
		// breaks, escaped or not; valid UTF-8; no lone surrogate.
		{`userName eq "\u0000"`, `column 14: the escape \u0000 in a string is a control character`},
		{`emails[value co "a\u001b"]`, `column 19: the escape \u001b in a string is a control character`},
		{`userName eq "a\b"`, `column 15: the escape \b in a string is a control character`},
		{"userName eq \"a\x00\"", `column 15: control character '\x00' in a string; escape it`},
		{"userName eq \"\xff\xfe\"", `column 14: invalid UTF-8 (byte 0xFF) in a string`},
		{"userName eq \"é\xc0\x80\"", `column 15: invalid UTF-8 (byte 0xC0) in a string`},
		{`userName eq "\uD800x"`, `column 14: the lone surrogate \uD800 in a string`},
		{`userName eq "\uDE00\uD83D"`, `column 14: the lone surrogate \uDE00 in a string`},
		{`x eq 01`, `column 6: invalid number "01"`},
		{`x eq 1.`, `column 6: invalid number "1."`},
		{`x eq 1e`, `column 6: invalid number "1e"`},
		{`x eq 12abc`, `column 6: invalid number "12abc"`},
		{`x eq 99999999999999999999`, `column 6: number 99999999999999999999 out of range`},
		{`x eq 1e999`, `column 6: number 1e999 out of range`},
		{`ur_n:x:a pr`, `column 1: invalid schema URI "ur_n:x"`},
		{`urn:x: pr`, `column 7: invalid attribute name ""`},
		{`1abc pr`, `column 1: invalid attribute name "1abc"`},
		{`a.b.c pr`, `column 3: invalid sub-attribute name "b.c"`},
		{`é eq "x"`, `column 1: expected an attribute name, found "é"`},
		{`displayName eq "é" or é`, `column 23: expected an attribute name, found "é"`},
	}
	for _, tt := range tests {
		_, err := ParseFilter(tt.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("ParseFilter(%q) = %v, want an *Error", tt.in, err)
			continue
		}
		if e.Status != http.StatusBadRequest || e.ScimType != ScimInvalidFilter {
			t.Errorf("ParseFilter(%q): status %d scimType %q, want 400 invalidFilter", tt.in, e.Status, e.ScimType)
		}
		if e.Detail != tt.want {
			t.Errorf("ParseFilter(%q)\n got %s\nwant %s", tt.in, e.Detail, tt.want)
		}
	}
}

func TestParseFilterLimits(t *testing.T) {
	nest := func(n int) string {
		return strings.Repeat("(", n) + "a pr" + strings.Repeat(")", n)
	}
	nestNot := func(n int) string {
		return strings.Repeat("not (", n) + "a pr" + strings.Repeat(")", n)
	}
	// A value filter's bracket counts as one level.
	nestBracket := func(n int) string {
		return strings.Repeat("(", n-1) + "emails[type pr]" + strings.Repeat(")", n-1)
	}
	long := "a pr" + strings.Repeat(" or a pr", (MaxFilterLength-4)/8)
	tests := []struct {
		name, in, err string
	}{
		{"depth 32", nest(MaxFilterDepth), ""},
		{"depth 33", nest(MaxFilterDepth + 1), "column 33: nested deeper than 32 levels"},
		{"not depth 32", nestNot(MaxFilterDepth), ""},
		{"not depth 33", nestNot(MaxFilterDepth + 1), "column 165: nested deeper than 32 levels"},
		{"bracket depth 32", nestBracket(MaxFilterDepth), ""},
		{"bracket depth 33", nestBracket(MaxFilterDepth + 1), "column 39: nested deeper than 32 levels"},
		{"length at cap", long + strings.Repeat(" ", MaxFilterLength-len(long)), ""},
		{"length over cap", long + strings.Repeat(" ", MaxFilterLength-len(long)+1), "filter too long: 4097 bytes, at most 4096"},
	}
	for _, tt := range tests {
		_, err := ParseFilter(tt.in)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.err != "" && (err == nil || err.(*Error).Detail != tt.err):
			t.Errorf("%s: got %v, want %s", tt.name, err, tt.err)
		}
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{`userName`, `userName`},
		{`name.givenName`, `name.givenName`},
		{`members`, `members`},
		{`members[value eq "2819c223"]`, `members[(eq value "2819c223")]`},
		{`emails[type eq "work"].value`, `emails[(eq type "work")].value`},
		{`addresses[type EQ "work"].locality`, `addresses[(eq type "work")].locality`},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`, `<urn:ietf:params:scim:schemas:extension:enterprise:2.0:User>manager`},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`, `<urn:ietf:params:scim:schemas:extension:enterprise:2.0>User`},
		{`emails[type eq "work" and primary eq true]`, `emails[(and (eq type "work") (eq primary true))]`},
	}
	for _, tt := range tests {
		p, err := ParsePath(tt.in)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tt.in, err)
			continue
		}
		got := pathString(p.AttributePath)
		if p.ValueExpression != nil {
			got += "[" + sexpr(p.ValueExpression) + "]"
		}
		if p.SubAttribute != nil {
			got += "." + *p.SubAttribute
		}
		if got != tt.want {
			t.Errorf("ParsePath(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	errTests := []struct{ in, want string }{
		{``, `column 1: expected an attribute name, found the end of the input`},
		{`emails[type eq "work"`, `column 22: expected "]" closing the "[" at column 7, found the end of the input`},
		{`emails[type eq "work"].`, `column 24: expected a sub-attribute name, found the end of the input`},
		{`userName eq "x"`, `column 10: expected the end of the path, found "eq"`},
		{`members[value eq "x"] x`, `column 23: expected the end of the path, found "x"`},
		{`emails[value eq "\u0000"]`, `column 18: the escape \u0000 in a string is a control character`},
		{"members[value eq \"\xff\"]", `column 19: invalid UTF-8 (byte 0xFF) in a string`},
		{strings.Repeat("a", MaxFilterLength+1), `path too long: 4097 bytes, at most 4096`},
	}
	for _, tt := range errTests {
		_, err := ParsePath(tt.in)
		var e *Error
		if !errors.As(err, &e) || e.ScimType != ScimInvalidPath || e.Detail != tt.want {
			t.Errorf("ParsePath(%q) = %v, want invalidPath %s", tt.in, err, tt.want)
		}
	}
}

// libraryString unescapes a string value as filter-parser leaves it.
func libraryString(raw string) (string, bool) {
	var s string
	err := json.Unmarshal([]byte(`"`+raw+`"`), &s)
	return s, err == nil
}

// normalizeLibrary rewrites filter-parser's AST in place so that it can
// be compared with ours: strings unescaped, numbers as in ours.
func normalizeLibrary(e filter.Expression) bool {
	switch x := e.(type) {
	case *filter.LogicalExpression:
		return normalizeLibrary(x.Left) && normalizeLibrary(x.Right)
	case *filter.NotExpression:
		return normalizeLibrary(x.Expression)
	case *filter.ValuePath:
		return normalizeLibrary(x.ValueFilter)
	case *filter.AttributeExpression:
		switch v := x.CompareValue.(type) {
		case string:
			s, ok := libraryString(v)
			x.CompareValue = s
			// Strings that are not text (control characters, lone
			// surrogates) we refuse on purpose.
			return ok && checkStrings([]byte(`"`+v+`"`)) == nil
		case int:
			return v > -1<<53 && v < 1<<53
		}
	}
	return true
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "bjensen"`, `emails[type eq "work" and value co "@x"]`, `not (a pr) or b gt 1.5`,
		`emails[type eq "work"].value eq "x"`, `urn:a:b:c eq true`, `(a pr)`, `a eq "\u00E9\\\""`,
		`meta.lastModified ge "2020-01-01T00:00:00Z" and x le -3`, `members[not (value eq "x")]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseFilter(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.ScimType != ScimInvalidFilter {
				t.Fatalf("ParseFilter(%q): error %v is not invalidFilter", s, err)
			}
			if !strings.HasPrefix(pe.Detail, "column ") && !strings.HasPrefix(pe.Detail, "filter too long") {
				t.Fatalf("ParseFilter(%q): detail %q names no column", s, pe.Detail)
			}
		}
		// filter-parser is the reference grammar: whatever it accepts
		// within our limits we accept, with the same tree. Long inputs are
		// left out: the library is too slow on them for fuzzing.
		if !utf8.ValidString(s) || len(s) > 512 || strings.Count(s, "(")+strings.Count(s, "[") > MaxFilterDepth {
			return
		}
		lib, lerr := filter.ParseFilter([]byte(s))
		if lerr != nil || !normalizeLibrary(lib) {
			return
		}
		if err != nil {
			t.Fatalf("filter-parser accepts %q, we say %v", s, err)
		}
		if got, want := sexpr(e), sexpr(lib); got != want {
			t.Fatalf("ParseFilter(%q)\n got %s\nwant %s (filter-parser)", s, got, want)
		}
	})
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{`members[value eq "x"]`, `emails[type eq "work"].value`, `name.givenName`, `urn:a:b:c`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.ScimType != ScimInvalidPath {
				t.Fatalf("ParsePath(%q): error %v is not invalidPath", s, err)
			}
			return
		}
		if p == nil {
			t.Fatalf("ParsePath(%q) = nil, nil", s)
		}
	})
}

// TestAndTerms: the comparisons of an and, however nested, left to right;
// the first part that is not one otherwise.
func TestAndTerms(t *testing.T) {
	for _, tc := range []struct {
		in    string
		terms []string // attribute names
		bad   bool
	}{
		{`type eq "work"`, []string{"type"}, false},
		{`type eq "work" and value sw "a" and primary eq true`, []string{"type", "value", "primary"}, false},
		{`(type eq "work" and (value sw "a" and display pr))`, []string{"type", "value", "display"}, false},
		{`type eq "work" or value sw "a"`, nil, true},
		{`type eq "work" and not (value sw "a")`, nil, true},
	} {
		e, err := ParseFilter(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		terms, bad := AndTerms(e)
		var names []string
		for _, x := range terms {
			names = append(names, x.AttributePath.AttributeName)
		}
		if (bad != nil) != tc.bad || !slices.Equal(names, tc.terms) {
			t.Errorf("%s: terms %v, bad %v; want %v, bad %v", tc.in, names, bad, tc.terms, tc.bad)
		}
	}
}
