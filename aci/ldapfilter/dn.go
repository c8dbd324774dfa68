package ldapfilter

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NormalizeDN returns the canonical form of an RFC 4514 distinguished name:
// RDNs joined by ",", each attribute value assertion written "type=value"
// with a descr type lowercased (a numeric OID as given) and the value
// unescaped, lowercased and escaped again with only what RFC 4514 requires
// (`"+,;<>\` anywhere, "#" or space first, space last, NUL) plus bytes that
// are not UTF-8. The AVAs of a multi-valued RDN are "+"-joined in sorted
// order. White space around ",", "=" and "+" is dropped; ";" is accepted as
// an RDN separator. A "#hex" value is kept as hex, lowercased. "" (or only
// white space) is the root DSE and normalizes to "". Errors are
// *SyntaxError values. NormalizeDN(NormalizeDN(x)) == NormalizeDN(x), and an
// already canonical DN is returned without allocating.
func NormalizeDN(dn string) (string, error) {
	var buf [256]byte
	b, err := appendNormalizedDN(buf[:0], dn)
	if err != nil {
		return "", err
	}
	if string(b) == dn {
		return dn, nil
	}
	return string(b), nil
}

// appendNormalizedDN appends the canonical form of dn to dst.
func appendNormalizedDN(dst []byte, dn string) ([]byte, error) {
	p := dnParser{s: dn}
	p.skipSpaces()
	if p.pos == len(dn) {
		return dst, nil
	}
	var vbuf [128]byte
	var bounds [8]int
	for rdn := 0; ; rdn++ {
		if rdn > 0 {
			dst = append(dst, ',')
		}
		ends := bounds[:0] // end offsets in dst of the AVAs of this RDN
		rdnStart := len(dst)
		var sep byte
		for {
			a, err := p.next(vbuf[:0])
			if err != nil {
				return dst, err
			}
			if len(ends) > 0 {
				dst = append(dst, '+')
			}
			dst = appendAVA(dst, a)
			ends = append(ends, len(dst))
			if sep = a.sep; sep != '+' {
				break
			}
		}
		if len(ends) > 1 {
			sortRDN(dst[rdnStart:], ends, rdnStart)
		}
		if sep == 0 {
			return dst, nil
		}
	}
}

// sortRDN sorts in place the "+"-joined AVAs held in rdn, whose ends
// (offsets from base) are given.
func sortRDN(rdn []byte, ends []int, base int) {
	avas := make([]string, len(ends))
	start := 0
	for i, e := range ends {
		avas[i] = string(rdn[start : e-base])
		start = e - base + 1
	}
	slices.Sort(avas)
	b := rdn[:0]
	for i, a := range avas {
		if i > 0 {
			b = append(b, '+')
		}
		b = append(b, a...)
	}
}

// appendAVA appends the canonical "type=value" of a.
func appendAVA(dst []byte, a dnAVA) []byte {
	dst = appendLowerASCII(dst, a.typ)
	dst = append(dst, '=')
	if a.hex {
		return appendLowerASCII(dst, string(a.val))
	}
	return appendDNValue(dst, a.val)
}

func appendLowerASCII(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendDNValue appends the lowercased value v escaped as NormalizeDN
// describes.
func appendDNValue(dst []byte, v []byte) []byte {
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			switch {
			case c == '"', c == '+', c == ',', c == ';', c == '<', c == '>', c == '\\':
				dst = append(dst, '\\', c)
			case c == 0:
				dst = append(dst, `\00`...)
			case i == 0 && (c == ' ' || c == '#'), i == len(v)-1 && c == ' ':
				dst = append(dst, '\\', c)
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, w := utf8.DecodeRune(v[i:])
		if r == utf8.RuneError && w == 1 {
			dst = append(dst, '\\', hexDigits[c>>4], hexDigits[c&15])
		} else {
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
		i += w
	}
	return dst
}

// dnAVA is one attribute value assertion scanned from a DN.
type dnAVA struct {
	typ string // attribute type as written
	hex bool   // val is a "#hex" value as written
	val []byte // the unescaped value
	sep byte   // what follows: '+', ',' (also for ';') or 0 at the end
}

// dnParser scans a DN one AVA at a time.
type dnParser struct {
	s   string
	pos int
}

func (p *dnParser) skipSpaces() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

// next scans the AVA at the current position and the separator after it,
// appending the unescaped value to buf.
func (p *dnParser) next(buf []byte) (dnAVA, error) {
	s := p.s
	p.skipSpaces()
	end, err := scanOID(s, p.pos)
	if err != nil {
		return dnAVA{}, err
	}
	if end == p.pos {
		return dnAVA{}, syntaxErrorf(p.pos, "expected attribute type, found %s", describe(s, p.pos))
	}
	a := dnAVA{typ: s[p.pos:end]}
	p.pos = end
	p.skipSpaces()
	if p.pos >= len(s) || s[p.pos] != '=' {
		return dnAVA{}, syntaxErrorf(p.pos, "expected '=' after attribute type, found %s", describe(s, p.pos))
	}
	p.pos++
	p.skipSpaces()
	if p.pos < len(s) && s[p.pos] == '#' {
		start := p.pos
		p.pos++
		for p.pos < len(s) && unhex(s[p.pos]) >= 0 {
			p.pos++
		}
		if n := p.pos - start - 1; n == 0 || n%2 != 0 {
			return dnAVA{}, syntaxErrorf(p.pos, "expected pairs of hex digits after '#', found %s", describe(s, p.pos))
		}
		a.hex, a.val = true, append(buf, s[start:p.pos]...)
		p.skipSpaces()
	} else {
		keep := len(buf) // trailing spaces after keep are insignificant
	value:
		for p.pos < len(s) {
			switch c := s[p.pos]; c {
			case ',', ';', '+':
				break value
			case '\\':
				switch {
				case p.pos+2 < len(s) && unhex(s[p.pos+1]) >= 0 && unhex(s[p.pos+2]) >= 0:
					buf = append(buf, byte(unhex(s[p.pos+1])<<4|unhex(s[p.pos+2])))
					p.pos += 3
				case p.pos+1 < len(s) && strings.IndexByte(`\"+,;<> #=`, s[p.pos+1]) >= 0:
					buf = append(buf, s[p.pos+1])
					p.pos += 2
				default:
					return dnAVA{}, syntaxErrorf(p.pos+1, "expected special character or two hex digits after '\\', found %s", describe(s, p.pos+1))
				}
				keep = len(buf)
			case '"', '<', '>', 0:
				return dnAVA{}, syntaxErrorf(p.pos, "unescaped %s in attribute value", describe(s, p.pos))
			default:
				buf = append(buf, c)
				if c != ' ' {
					keep = len(buf)
				}
				p.pos++
			}
		}
		a.val = buf[:keep]
	}
	if p.pos == len(s) {
		return a, nil
	}
	switch s[p.pos] {
	case ',', ';':
		a.sep = ','
	case '+':
		a.sep = '+'
	default:
		return dnAVA{}, syntaxErrorf(p.pos, "expected ',' or '+' after attribute value, found %s", describe(s, p.pos))
	}
	p.pos++
	return a, nil
}

// SplitDN returns the RDNs of a normalized DN, outermost last; an escaped
// "\," does not separate RDNs. The root DSE "" has none.
func SplitDN(normalized string) []string {
	if normalized == "" {
		return nil
	}
	var rdns []string
	start := 0
	for i := 0; i < len(normalized); i++ {
		switch normalized[i] {
		case '\\':
			i++
		case ',':
			rdns = append(rdns, normalized[start:i])
			start = i + 1
		}
	}
	return append(rdns, normalized[start:])
}

// ParentDN returns the normalized DN without its first RDN; the parent of
// a single-RDN DN (and of "") is "".
func ParentDN(normalized string) string {
	for i := 0; i < len(normalized); i++ {
		switch normalized[i] {
		case '\\':
			i++
		case ',':
			return normalized[i+1:]
		}
	}
	return ""
}

// IsDescendant reports whether the normalized dn is ancestor itself or in
// the subtree below it; every DN descends from the root DSE "".
func IsDescendant(dn, ancestor string) bool {
	if ancestor == "" || dn == ancestor {
		return true
	}
	i := len(dn) - len(ancestor) - 1 // the "," before ancestor
	if i < 1 || dn[i] != ',' || dn[i+1:] != ancestor {
		return false
	}
	// The "," separates RDNs unless an odd number of "\" precede it.
	n := 0
	for j := i - 1; j >= 0 && dn[j] == '\\'; j-- {
		n++
	}
	return n%2 == 0
}
