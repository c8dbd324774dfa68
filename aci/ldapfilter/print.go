package ldapfilter

import (
	"unicode"
	"unicode/utf8"
)

// String returns the canonical filter text.
func (f And) String() string { return string(appendFilter(nil, f)) }

// String returns the canonical filter text.
func (f Or) String() string { return string(appendFilter(nil, f)) }

// String returns the canonical filter text.
func (f Not) String() string { return string(appendFilter(nil, f)) }

// String returns the canonical filter text.
func (f Equality) String() string { return string(appendFilter(nil, f)) }

// String returns the canonical filter text.
func (f Approx) String() string { return string(appendFilter(nil, f)) }

// String returns the canonical filter text.
func (f GreaterOrEqual) String() string { return string(appendFilter(nil, f)) }

// String returns the canonical filter text.
func (f LessOrEqual) String() string { return string(appendFilter(nil, f)) }

// String returns the canonical filter text.
func (f Present) String() string { return string(appendFilter(nil, f)) }

// String returns the canonical filter text.
func (f Substrings) String() string { return string(appendFilter(nil, f)) }

// String returns the canonical filter text.
func (f Extensible) String() string { return string(appendFilter(nil, f)) }

// appendFilter appends the canonical text of f: attribute descriptions and
// rules as written, ":dn:" in lower case, values escaped by appendValue. A
// nil operand prints as nothing.
func appendFilter(b []byte, f Filter) []byte {
	switch v := Unptr(f).(type) {
	case And:
		b = append(b, "(&"...)
		for _, c := range v.Filters {
			b = appendFilter(b, c)
		}
		return append(b, ')')
	case Or:
		b = append(b, "(|"...)
		for _, c := range v.Filters {
			b = appendFilter(b, c)
		}
		return append(b, ')')
	case Not:
		b = append(b, "(!"...)
		b = appendFilter(b, v.Filter)
		return append(b, ')')
	case Equality:
		return appendSimple(b, v.Attr, "=", v.Value)
	case Approx:
		return appendSimple(b, v.Attr, "~=", v.Value)
	case GreaterOrEqual:
		return appendSimple(b, v.Attr, ">=", v.Value)
	case LessOrEqual:
		return appendSimple(b, v.Attr, "<=", v.Value)
	case Present:
		b = append(b, '(')
		b = append(b, v.Attr...)
		return append(b, "=*)"...)
	case Substrings:
		b = append(b, '(')
		b = append(b, v.Attr...)
		b = append(b, '=')
		b = appendValue(b, v.Initial)
		b = append(b, '*')
		for _, a := range v.Any {
			b = appendValue(b, a)
			b = append(b, '*')
		}
		if v.Initial == "" && v.Final == "" && len(v.Any) == 0 {
			// "(a=*)" would be Present; "(a=**)" keeps the item a Substrings.
			b = append(b, '*')
		}
		b = appendValue(b, v.Final)
		return append(b, ')')
	case Extensible:
		b = append(b, '(')
		b = append(b, v.Attr...)
		if v.DNAttributes {
			b = append(b, ":dn"...)
		}
		if v.Rule != "" {
			b = append(b, ':')
			b = append(b, v.Rule...)
		}
		b = append(b, ":="...)
		b = appendValue(b, v.Value)
		return append(b, ')')
	}
	return b
}

func appendSimple(b []byte, attr, op, value string) []byte {
	b = append(b, '(')
	b = append(b, attr...)
	b = append(b, op...)
	b = appendValue(b, value)
	return append(b, ')')
}

const hexDigits = "0123456789abcdef"

// appendValue appends an assertion value with "*", "(", ")", "\", NUL,
// control characters, non-printable runes and bytes that are not UTF-8
// written as "\XX" escapes.
func appendValue(b []byte, v string) []byte {
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '*', c == '(', c == ')', c == '\\', c < 0x20, c == 0x7f:
				b = append(b, '\\', hexDigits[c>>4], hexDigits[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(v[i:])
		if (r == utf8.RuneError && w == 1) || !unicode.IsPrint(r) {
			for _, c := range []byte(v[i : i+w]) {
				b = append(b, '\\', hexDigits[c>>4], hexDigits[c&15])
			}
		} else {
			b = append(b, v[i:i+w]...)
		}
		i += w
	}
	return b
}
