package resource

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	filter "github.com/scim2/filter-parser/v2"
)

// MaxFilterLength is the longest filter or PATCH path, in bytes, that
// ParseFilter and ParsePath accept.
const MaxFilterLength = 4096

// MaxFilterDepth is the deepest nesting of parentheses and value-filter
// brackets that ParseFilter and ParsePath accept; `a pr` has depth 0,
// `(a pr)` and `emails[type pr]` depth 1.
const MaxFilterDepth = 32

// ParseFilter parses a SCIM filter (RFC 7644 §3.4.2.2) into the AST of
// github.com/scim2/filter-parser/v2: *filter.AttributeExpression,
// *filter.LogicalExpression (and-chains and or-chains nest to the left),
// *filter.NotExpression and *filter.ValuePath. The grammar is that of
// filter-parser, read liberally:
//
//   - operator and logical keywords, true, false and null in any case;
//   - Entra's non-RFC `attr[sel].sub op value` is read as
//     `attr[(sel) and sub op value]`;
//   - a value filter in brackets may hold any and/or/not/parentheses
//     combination of attribute expressions, not only two;
//   - string values are JSON-unescaped (\u escapes in either case) and
//     must be text: valid UTF-8, no lone surrogate, no control character
//     but tab and line breaks (a NUL would cut the value short in the
//     directory and match every entry);
//   - spaces around the filter are ignored.
//
// Numbers without fraction or exponent are int, others float64. Errors are
// *Error 400 invalidFilter whose Detail names the 1-based column.
func ParseFilter(s string) (filter.Expression, error) {
	if len(s) > MaxFilterLength {
		return nil, InvalidFilter("filter too long: %d bytes, at most %d", len(s), MaxFilterLength)
	}
	p := &filterParser{src: s, errf: InvalidFilter}
	p.skipSpaces()
	e, err := p.orExpr(false)
	if err != nil {
		return nil, err
	}
	p.skipSpaces()
	if p.pos < len(p.src) {
		return nil, p.fail(p.pos, "expected \"and\", \"or\" or the end of the filter, found %s", p.describe(p.pos))
	}
	return e, nil
}

// ParsePath parses the path of a PATCH operation (RFC 7644 §3.5.2):
// `attr`, `attr.sub`, `urn:...:attr`, `attr[filter]` or
// `attr[filter].sub`, with the same value-filter rules as ParseFilter.
// Errors are *Error 400 invalidPath whose Detail names the 1-based column.
func ParsePath(s string) (*filter.Path, error) {
	if len(s) > MaxFilterLength {
		return nil, InvalidPath("path too long: %d bytes, at most %d", len(s), MaxFilterLength)
	}
	p := &filterParser{src: s, errf: InvalidPath}
	p.skipSpaces()
	ap, err := p.attrPath()
	if err != nil {
		return nil, err
	}
	path := &filter.Path{AttributePath: ap}
	if p.peek() == '[' {
		vf, err := p.valueFilter()
		if err != nil {
			return nil, err
		}
		path.ValueExpression = vf
		if p.peek() == '.' {
			p.pos++
			name, err := p.attrName("sub-attribute name")
			if err != nil {
				return nil, err
			}
			path.SubAttribute = &name
		}
	}
	p.skipSpaces()
	if p.pos < len(p.src) {
		return nil, p.fail(p.pos, "expected the end of the path, found %s", p.describe(p.pos))
	}
	return path, nil
}

// filterParser is a recursive-descent parser over the filter text. Tokens
// are scanned on demand because what a run of characters means (attribute
// path, keyword or number) depends on where the parser is.
type filterParser struct {
	src   string
	pos   int
	depth int
	errf  func(format string, args ...any) *Error
}

func (p *filterParser) fail(at int, format string, args ...any) *Error {
	col := utf8.RuneCountInString(p.src[:min(at, len(p.src))]) + 1
	return p.errf("column %d: %s", col, fmt.Sprintf(format, args...))
}

// describe names what is at offset i, for error messages.
func (p *filterParser) describe(i int) string {
	if i >= len(p.src) {
		return "the end of the input"
	}
	j := i
	for j < len(p.src) && j-i < 16 && p.src[j] != ' ' {
		_, w := utf8.DecodeRuneInString(p.src[j:])
		j += w
	}
	if j == i {
		j = i + 1
	}
	return strconv.Quote(p.src[i:j])
}

func (p *filterParser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *filterParser) skipSpaces() bool {
	start := p.pos
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
	return p.pos > start
}

func (p *filterParser) enter() error {
	p.depth++
	if p.depth > MaxFilterDepth {
		return p.fail(p.pos, "nested deeper than %d levels", MaxFilterDepth)
	}
	return nil
}

// keywordAt reports whether the case-insensitive keyword kw starts at i
// and is not followed by a name character.
func (p *filterParser) keywordAt(i int, kw string) bool {
	if i+len(kw) > len(p.src) || !strings.EqualFold(p.src[i:i+len(kw)], kw) {
		return false
	}
	return i+len(kw) == len(p.src) || !isNameChar(p.src[i+len(kw)])
}

// orExpr parses `and-expr ("or" and-expr)*`; inValue is set inside the
// brackets of a value filter, where value paths may not nest.
func (p *filterParser) orExpr(inValue bool) (filter.Expression, error) {
	left, err := p.andExpr(inValue)
	if err != nil {
		return nil, err
	}
	for {
		save := p.pos
		p.skipSpaces()
		if !p.keywordAt(p.pos, "or") {
			p.pos = save
			return left, nil
		}
		p.pos += 2
		p.skipSpaces()
		right, err := p.andExpr(inValue)
		if err != nil {
			return nil, err
		}
		left = &filter.LogicalExpression{Left: left, Right: right, Operator: filter.OR}
	}
}

func (p *filterParser) andExpr(inValue bool) (filter.Expression, error) {
	left, err := p.term(inValue)
	if err != nil {
		return nil, err
	}
	for {
		save := p.pos
		p.skipSpaces()
		if !p.keywordAt(p.pos, "and") {
			p.pos = save
			return left, nil
		}
		p.pos += 3
		p.skipSpaces()
		right, err := p.term(inValue)
		if err != nil {
			return nil, err
		}
		left = &filter.LogicalExpression{Left: left, Right: right, Operator: filter.AND}
	}
}

// term parses a parenthesized filter, `not (filter)`, a value path or an
// attribute expression.
func (p *filterParser) term(inValue bool) (filter.Expression, error) {
	if p.peek() == '(' {
		return p.parens(inValue)
	}
	if p.keywordAt(p.pos, "not") {
		j := p.pos + 3
		for j < len(p.src) && p.src[j] == ' ' {
			j++
		}
		if j < len(p.src) && p.src[j] == '(' {
			p.pos = j
			e, err := p.parens(inValue)
			if err != nil {
				return nil, err
			}
			return &filter.NotExpression{Expression: e}, nil
		}
	}
	start := p.pos
	ap, err := p.attrPath()
	if err != nil {
		return nil, err
	}
	save := p.pos
	p.skipSpaces()
	if p.peek() == '[' {
		if inValue {
			return nil, p.fail(p.pos, "a value filter cannot contain another value filter")
		}
		if ap.SubAttribute != nil {
			return nil, p.fail(start, "a value filter applies to an attribute, not to the sub-attribute %q", ap.String())
		}
		vf, err := p.valueFilter()
		if err != nil {
			return nil, err
		}
		if p.peek() != '.' {
			return &filter.ValuePath{AttributePath: ap, ValueFilter: vf}, nil
		}
		// Entra: attr[sel].sub op value means attr[(sel) and sub op value].
		p.pos++
		subStart := p.pos
		sub, err := p.attrName("sub-attribute name")
		if err != nil {
			return nil, err
		}
		if !p.skipSpaces() {
			return nil, p.fail(p.pos, "expected a space and an operator after %q, found %s", p.src[start:p.pos], p.describe(p.pos))
		}
		ae, err := p.comparison(filter.AttributePath{AttributeName: sub}, subStart)
		if err != nil {
			return nil, err
		}
		vf = &filter.LogicalExpression{Left: vf, Right: ae, Operator: filter.AND}
		return &filter.ValuePath{AttributePath: ap, ValueFilter: vf}, nil
	}
	if p.pos == save {
		return nil, p.fail(p.pos, "expected a space and an operator after %q, found %s", p.src[start:p.pos], p.describe(p.pos))
	}
	return p.comparison(ap, start)
}

// parens parses "(" filter ")".
func (p *filterParser) parens(inValue bool) (filter.Expression, error) {
	open := p.pos
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++
	p.skipSpaces()
	e, err := p.orExpr(inValue)
	if err != nil {
		return nil, err
	}
	p.skipSpaces()
	if p.peek() != ')' {
		return nil, p.fail(p.pos, "expected \")\" closing the \"(\" at column %d, found %s",
			utf8.RuneCountInString(p.src[:open])+1, p.describe(p.pos))
	}
	p.pos++
	p.depth--
	return e, nil
}

// valueFilter parses "[" filter "]".
func (p *filterParser) valueFilter() (filter.Expression, error) {
	open := p.pos
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++
	p.skipSpaces()
	e, err := p.orExpr(true)
	if err != nil {
		return nil, err
	}
	p.skipSpaces()
	if p.peek() != ']' {
		return nil, p.fail(p.pos, "expected \"]\" closing the \"[\" at column %d, found %s",
			utf8.RuneCountInString(p.src[:open])+1, p.describe(p.pos))
	}
	p.pos++
	p.depth--
	return e, nil
}

// comparison parses the operator and value following an attribute path.
func (p *filterParser) comparison(ap filter.AttributePath, start int) (*filter.AttributeExpression, error) {
	opStart := p.pos
	for p.pos < len(p.src) && isNameChar(p.src[p.pos]) {
		p.pos++
	}
	op := filter.CompareOperator(strings.ToLower(p.src[opStart:p.pos]))
	switch op {
	case filter.PR:
		return &filter.AttributeExpression{AttributePath: ap, Operator: op}, nil
	case filter.EQ, filter.NE, filter.CO, filter.SW, filter.EW, filter.GT, filter.LT, filter.GE, filter.LE:
	default:
		p.pos = opStart
		return nil, p.fail(opStart, "expected an operator (eq, ne, co, sw, ew, gt, lt, ge, le, pr) after %q, found %s",
			strings.TrimRight(p.src[start:opStart], " "), p.describe(opStart))
	}
	if !p.skipSpaces() {
		return nil, p.fail(p.pos, "expected a space and a value after %q, found %s", string(op), p.describe(p.pos))
	}
	v, err := p.compareValue()
	if err != nil {
		return nil, err
	}
	return &filter.AttributeExpression{AttributePath: ap, Operator: op, CompareValue: v}, nil
}

// compareValue parses a JSON string, number, true, false or null.
func (p *filterParser) compareValue() (any, error) {
	start := p.pos
	c := p.peek()
	switch {
	case c == '"':
		return p.str()
	case c == '-' || isDigit(c):
		return p.number()
	case isAlpha(c):
		for p.pos < len(p.src) && isNameChar(p.src[p.pos]) {
			p.pos++
		}
		switch w := strings.ToLower(p.src[start:p.pos]); w {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		}
		p.pos = start
	}
	return nil, p.fail(start, "expected a value (a string in double quotes, a number, true, false or null), found %s", p.describe(start))
}

// str parses a JSON string literal and returns its unescaped value.
func (p *filterParser) str() (string, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	for {
		if p.pos >= len(p.src) {
			return "", p.fail(start, "string not terminated")
		}
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), nil
		case c < 0x20:
			return "", p.fail(p.pos, "control character %q in a string; escape it", c)
		case c != '\\':
			j := p.pos
			for j < len(p.src) && p.src[j] != '"' && p.src[j] != '\\' && p.src[j] >= 0x20 {
				j++
			}
			if problem, at := textProblem(p.src[p.pos:j]); problem != "" {
				return "", p.fail(p.pos+at, "%s in a string", problem)
			}
			b.WriteString(p.src[p.pos:j])
			p.pos = j
			continue
		}
		esc := p.pos
		p.pos++
		if p.pos >= len(p.src) {
			return "", p.fail(start, "string not terminated")
		}
		switch e := p.src[p.pos]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b', 'f':
			return "", p.fail(esc, "the escape %s in a string is a control character", p.src[esc:p.pos+1])
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := p.hex4(p.pos + 1)
			if !ok {
				return "", p.fail(esc, "invalid \\u escape; expected four hex digits")
			}
			p.pos += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := p.hex4(p.pos + 3); ok && p.src[p.pos+1] == '\\' && p.src[p.pos+2] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						p.pos += 6
					}
				}
				if utf16.IsSurrogate(r) {
					return "", p.fail(esc, "the lone surrogate %s in a string", p.src[esc:p.pos+1])
				}
			}
			if isBadControl(r) {
				return "", p.fail(esc, "the escape %s in a string is a control character", p.src[esc:p.pos+1])
			}
			b.WriteRune(r)
		default:
			return "", p.fail(esc, "invalid escape %s in a string", p.describe(esc))
		}
		p.pos++
	}
}

func (p *filterParser) hex4(i int) (rune, bool) {
	if i+4 > len(p.src) {
		return 0, false
	}
	n, err := strconv.ParseUint(p.src[i:i+4], 16, 16)
	return rune(n), err == nil
}

// number parses a JSON number: int when it has neither fraction nor
// exponent, float64 otherwise.
func (p *filterParser) number() (any, error) {
	start := p.pos
	if p.peek() == '-' {
		p.pos++
	}
	digits := func() int {
		j := p.pos
		for p.pos < len(p.src) && isDigit(p.src[p.pos]) {
			p.pos++
		}
		return p.pos - j
	}
	intStart := p.pos
	if n := digits(); n == 0 || (n > 1 && p.src[intStart] == '0') {
		return nil, p.fail(start, "invalid number %s", p.describe(start))
	}
	isFloat := false
	if p.peek() == '.' {
		p.pos++
		if digits() == 0 {
			return nil, p.fail(start, "invalid number %s", p.describe(start))
		}
		isFloat = true
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.pos++
		if c := p.peek(); c == '+' || c == '-' {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.fail(start, "invalid number %s", p.describe(start))
		}
		isFloat = true
	}
	if p.pos < len(p.src) && isNameChar(p.src[p.pos]) {
		return nil, p.fail(start, "invalid number %s", p.describe(start))
	}
	text := p.src[start:p.pos]
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, p.fail(start, "number %s out of range", text)
		}
		return f, nil
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n > math.MaxInt || n < math.MinInt {
		return nil, p.fail(start, "number %s out of range", text)
	}
	return int(n), nil
}

// attrPath parses `(uri ":")? name ("." name)?` where the URI is a
// sequence of segments of letters, digits and dots, each ending in ":".
func (p *filterParser) attrPath() (filter.AttributePath, error) {
	start := p.pos
	for p.pos < len(p.src) && (isNameChar(p.src[p.pos]) || strings.IndexByte(".:$", p.src[p.pos]) >= 0) {
		p.pos++
	}
	word := p.src[start:p.pos]
	if word == "" {
		return filter.AttributePath{}, p.fail(start, "expected an attribute name, found %s", p.describe(start))
	}
	var ap filter.AttributePath
	rest, restAt := word, start
	if i := strings.LastIndexByte(word, ':'); i >= 0 {
		uri := word[:i]
		for _, seg := range strings.Split(uri, ":") {
			if !validURISegment(seg) {
				return ap, p.fail(start, "invalid schema URI %q", uri)
			}
		}
		ap.URIPrefix = &uri
		rest, restAt = word[i+1:], start+i+1
	}
	name, sub, hasSub := strings.Cut(rest, ".")
	if !validAttrName(name) {
		return ap, p.fail(restAt, "invalid attribute name %q", name)
	}
	ap.AttributeName = name
	if hasSub {
		if !validAttrName(sub) {
			return ap, p.fail(restAt+len(name)+1, "invalid sub-attribute name %q", sub)
		}
		ap.SubAttribute = &sub
	}
	return ap, nil
}

// attrName parses a bare attribute name.
func (p *filterParser) attrName(what string) (string, error) {
	start := p.pos
	for p.pos < len(p.src) && (isNameChar(p.src[p.pos]) || p.src[p.pos] == '$') {
		p.pos++
	}
	if name := p.src[start:p.pos]; validAttrName(name) {
		return name, nil
	}
	return "", p.fail(start, "expected a %s, found %s", what, p.describe(start))
}

// validURISegment reports whether s is one or more letters, digits and
// dots.
func validURISegment(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && !isDigit(c) && c != '.' {
			return false
		}
	}
	return s != ""
}

// validAttrName reports whether s is `"$"? ALPHA *(nameChar)`.
func validAttrName(s string) bool {
	s = strings.TrimPrefix(s, "$")
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool    { return 'a' <= c|0x20 && c|0x20 <= 'z' }
func isDigit(c byte) bool    { return '0' <= c && c <= '9' }
func isNameChar(c byte) bool { return isAlpha(c) || isDigit(c) || c == '-' || c == '_' }

// AndTerms returns the comparisons of e when e is one, or an and of them
// however nested, in order from left to right; otherwise bad is the first
// part that is neither (an or, a not, a value path).
func AndTerms(e filter.Expression) (terms []*filter.AttributeExpression, bad filter.Expression) {
	var walk func(e filter.Expression) filter.Expression
	walk = func(e filter.Expression) filter.Expression {
		switch x := e.(type) {
		case *filter.LogicalExpression:
			if !strings.EqualFold(string(x.Operator), "and") {
				return x
			}
			if bad := walk(x.Left); bad != nil {
				return bad
			}
			return walk(x.Right)
		case *filter.AttributeExpression:
			terms = append(terms, x)
			return nil
		}
		return e
	}
	if bad = walk(e); bad != nil {
		return nil, bad
	}
	return terms, nil
}
