package ldapfilter

// MaxDepth is the deepest nesting of parenthesized filters that Parse
// accepts; "(a=b)" has depth 1 and "(!(a=b))" depth 2.
const MaxDepth = 64

// Parse parses RFC 4515 filter text. The whole input must be one
// parenthesized filter without surrounding white space. Errors are
// *SyntaxError values.
func Parse(s string) (Filter, error) {
	p := parser{s: s}
	f, err := p.filter(1)
	if err != nil {
		return nil, err
	}
	if p.pos < len(s) {
		return nil, syntaxErrorf(p.pos, "expected end of input after filter, found %s", describe(s, p.pos))
	}
	return f, nil
}

// parser is a recursive-descent parser over the filter text; the grammar
// needs no separate tokenizer since every token is one or two bytes or a
// value that only the parser knows how to delimit.
type parser struct {
	s   string
	pos int
}

// peek returns the next byte, or -1 at the end of the input.
func (p *parser) peek() int {
	if p.pos < len(p.s) {
		return int(p.s[p.pos])
	}
	return -1
}

// expect consumes c or reports what was found instead.
func (p *parser) expect(c byte, context string) *SyntaxError {
	if p.pos < len(p.s) && p.s[p.pos] == c {
		p.pos++
		return nil
	}
	return syntaxErrorf(p.pos, "expected %q%s, found %s", c, context, describe(p.s, p.pos))
}

// filter parses "(" filtercomp ")" at nesting depth depth.
func (p *parser) filter(depth int) (Filter, error) {
	if depth > MaxDepth {
		return nil, syntaxErrorf(p.pos, "filter nested deeper than %d levels", MaxDepth)
	}
	if err := p.expect('(', ""); err != nil {
		return nil, err
	}
	var f Filter
	switch p.peek() {
	case '&':
		p.pos++
		list, err := p.list(depth)
		if err != nil {
			return nil, err
		}
		f = And{Filters: list}
	case '|':
		p.pos++
		list, err := p.list(depth)
		if err != nil {
			return nil, err
		}
		f = Or{Filters: list}
	case '!':
		p.pos++
		c, err := p.filter(depth + 1)
		if err != nil {
			return nil, err
		}
		f = Not{Filter: c}
	default:
		var err error
		if f, err = p.item(); err != nil {
			return nil, err
		}
	}
	if err := p.expect(')', " to close filter"); err != nil {
		return nil, err
	}
	return f, nil
}

// list parses the operands of "&" or "|" up to, not including, ")".
func (p *parser) list(depth int) ([]Filter, error) {
	var list []Filter
	for {
		switch p.peek() {
		case '(':
			f, err := p.filter(depth + 1)
			if err != nil {
				return nil, err
			}
			list = append(list, f)
		case ')':
			return list, nil
		default:
			return nil, syntaxErrorf(p.pos, "expected '(' or ')' in filter list, found %s", describe(p.s, p.pos))
		}
	}
}

// item parses a simple, present, substring or extensible item.
func (p *parser) item() (Filter, error) {
	var attr string
	if p.peek() != ':' {
		end, err := scanAttrDesc(p.s, p.pos, "attribute description or filter operator ('&', '|', '!')")
		if err != nil {
			return nil, err
		}
		attr, p.pos = p.s[p.pos:end], end
	}
	switch op := p.peek(); op {
	case '=':
		p.pos++
		parts, err := p.value(true)
		if err != nil {
			return nil, err
		}
		return equalityOrSubstrings(attr, parts), nil
	case '~', '>', '<':
		p.pos++
		if err := p.expect('=', " after '"+string(rune(op))+"'"); err != nil {
			return nil, err
		}
		parts, err := p.value(false)
		if err != nil {
			return nil, err
		}
		switch op {
		case '~':
			return Approx{Attr: attr, Value: parts[0]}, nil
		case '>':
			return GreaterOrEqual{Attr: attr, Value: parts[0]}, nil
		default:
			return LessOrEqual{Attr: attr, Value: parts[0]}, nil
		}
	case ':':
		return p.extensible(attr)
	default:
		return nil, syntaxErrorf(p.pos, "expected '=', '~=', '>=', '<=' or ':' after attribute description, found %s", describe(p.s, p.pos))
	}
}

// equalityOrSubstrings builds the item for "attr=" followed by value
// pieces separated by unescaped "*".
func equalityOrSubstrings(attr string, parts []string) Filter {
	switch {
	case len(parts) == 1:
		return Equality{Attr: attr, Value: parts[0]}
	case len(parts) == 2 && parts[0] == "" && parts[1] == "":
		return Present{Attr: attr}
	}
	s := Substrings{Attr: attr, Initial: parts[0], Final: parts[len(parts)-1]}
	for _, a := range parts[1 : len(parts)-1] {
		if a != "" {
			s.Any = append(s.Any, a)
		}
	}
	return s
}

// extensible parses the rest of an extensible item from the ":" after the
// (possibly empty) attribute description.
func (p *parser) extensible(attr string) (Filter, error) {
	start := p.pos
	p.pos++ // ':'
	s := p.s
	f := Extensible{Attr: attr}
	if p.pos+2 < len(s) && s[p.pos]|0x20 == 'd' && s[p.pos+1]|0x20 == 'n' && s[p.pos+2] == ':' {
		f.DNAttributes = true
		p.pos += 3
	}
	if p.peek() == '=' {
		p.pos++
	} else {
		end, err := scanOID(s, p.pos)
		if err != nil {
			return nil, err
		}
		if end == p.pos {
			return nil, syntaxErrorf(p.pos, "expected matching rule or '=' after ':', found %s", describe(s, p.pos))
		}
		f.Rule, p.pos = s[p.pos:end], end
		if err := p.expect(':', " after matching rule"); err != nil {
			return nil, err
		}
		if err := p.expect('=', " after ':'"); err != nil {
			return nil, err
		}
	}
	if f.Attr == "" && f.Rule == "" {
		return nil, syntaxErrorf(start, "extensible match without attribute description needs a matching rule")
	}
	parts, err := p.value(false)
	if err != nil {
		return nil, err
	}
	f.Value = parts[0]
	return f, nil
}

// value parses an assertion value up to, not including, the closing ")"
// or the end of the input, decoding "\XX" escapes. With stars it splits the
// value at unescaped "*"; without, a "*" is an error. It always returns at
// least one piece.
func (p *parser) value(stars bool) ([]string, error) {
	s := p.s
	var parts []string
	var buf []byte   // the current piece once it holds an escape
	escaped := false // whether buf is in use for the current piece
	start := p.pos
	piece := func() string {
		if escaped {
			return string(buf)
		}
		return s[start:p.pos]
	}
	for p.pos < len(s) {
		switch c := s[p.pos]; c {
		case ')':
			return append(parts, piece()), nil
		case '(':
			return nil, syntaxErrorf(p.pos, "unescaped '(' in assertion value (write \\28)")
		case 0:
			return nil, syntaxErrorf(p.pos, "unescaped NUL in assertion value (write \\00)")
		case '*':
			if !stars {
				return nil, syntaxErrorf(p.pos, "unescaped '*' in assertion value (write \\2a)")
			}
			parts = append(parts, piece())
			p.pos++
			start, escaped = p.pos, false
		case '\\':
			if !escaped {
				buf = append(buf[:0], s[start:p.pos]...)
				escaped = true
			}
			for i := 1; i <= 2; i++ {
				if p.pos+i >= len(s) || unhex(s[p.pos+i]) < 0 {
					return nil, syntaxErrorf(p.pos+i, "expected two hex digits after '\\', found %s", describe(s, p.pos+i))
				}
			}
			buf = append(buf, byte(unhex(s[p.pos+1])<<4|unhex(s[p.pos+2])))
			p.pos += 3
		default:
			if escaped {
				buf = append(buf, c)
			}
			p.pos++
		}
	}
	return append(parts, piece()), nil
}

// unhex returns the value of hex digit c, or -1.
func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
