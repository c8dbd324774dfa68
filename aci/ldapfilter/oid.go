package ldapfilter

// Attribute types and matching rules are named by an RFC 4512 oid: a descr
// (a letter, then letters, digits and hyphens) or a numericoid (numbers
// without leading zeros joined by at least one dot).

func isAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isKeychar reports whether c may follow the first letter of a descr or
// appear in an attribute option.
func isKeychar(c byte) bool { return isAlpha(c) || isDigit(c) || c == '-' }

// scanOID returns the end of the descr or numericoid starting at s[i]. It
// returns i with a nil error when s[i] cannot start one, leaving the message
// to the caller, and an error for a malformed numericoid.
func scanOID(s string, i int) (int, *SyntaxError) {
	if i >= len(s) {
		return i, nil
	}
	if isAlpha(s[i]) {
		i++
		for i < len(s) && isKeychar(s[i]) {
			i++
		}
		return i, nil
	}
	if !isDigit(s[i]) {
		return i, nil
	}
	arcs := 0
	for {
		if i >= len(s) || !isDigit(s[i]) {
			return i, syntaxErrorf(i, "expected digit in numeric OID, found %s", describe(s, i))
		}
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if s[start] == '0' && i-start > 1 {
			return start, syntaxErrorf(start, "leading zero in numeric OID")
		}
		arcs++
		if i >= len(s) || s[i] != '.' {
			break
		}
		i++
	}
	if arcs < 2 {
		return i, syntaxErrorf(i, "expected '.' in numeric OID, found %s", describe(s, i))
	}
	return i, nil
}

// scanAttrDesc returns the end of the attribute description (an oid
// followed by ";option"s) starting at s[i]; what names the thing expected
// for the error message when nothing valid starts at s[i].
func scanAttrDesc(s string, i int, what string) (int, *SyntaxError) {
	end, err := scanOID(s, i)
	if err != nil {
		return end, err
	}
	if end == i {
		return i, syntaxErrorf(i, "expected %s, found %s", what, describe(s, i))
	}
	for end < len(s) && s[end] == ';' {
		end++
		start := end
		for end < len(s) && isKeychar(s[end]) {
			end++
		}
		if end == start {
			return end, syntaxErrorf(end, "expected attribute option after ';', found %s", describe(s, end))
		}
	}
	return end, nil
}
