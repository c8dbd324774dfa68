package ldapfilter

import (
	"time"
	"unicode"
	"unicode/utf8"
)

// Syntax selects how values of an attribute are compared.
type Syntax int8

// The syntaxes known to the matcher; see the package documentation for the
// rules of each.
const (
	SyntaxCaseIgnore      Syntax = iota // case-ignore directory string (the default)
	SyntaxCaseExact                     // case-exact directory string
	SyntaxOctetString                   // bytes compared exactly
	SyntaxDN                            // distinguished name
	SyntaxInteger                       // integer of any size
	SyntaxGeneralizedTime               // GeneralizedTime instant
	SyntaxBoolean                       // TRUE or FALSE
)

// String returns the name of the syntax.
func (s Syntax) String() string {
	switch s {
	case SyntaxCaseIgnore:
		return "caseIgnore"
	case SyntaxCaseExact:
		return "caseExact"
	case SyntaxOctetString:
		return "octetString"
	case SyntaxDN:
		return "DN"
	case SyntaxInteger:
		return "integer"
	case SyntaxGeneralizedTime:
		return "generalizedTime"
	case SyntaxBoolean:
		return "boolean"
	}
	return "Syntax(?)"
}

// SyntaxOf returns the syntax of an attribute from the built-in table. The
// attribute may be spelled in any case and carry options; attributes not in
// the table are [SyntaxCaseIgnore].
func SyntaxOf(attr string) Syntax {
	return syntaxOfKey(attrKey(attr))
}

// syntaxOfKey is SyntaxOf for a lowercased attribute type without options.
func syntaxOfKey(key string) Syntax {
	switch key {
	case "member", "uniquemember", "owner", "manager", "seealso", "secretary",
		"roleoccupant", "memberof", "ismemberof", "creatorsname", "modifiersname",
		"entrydn", "distinguishedname", "aliasedobjectname", "namingcontexts",
		"subschemasubentry", "pwdpolicysubentry":
		return SyntaxDN
	case "uidnumber", "gidnumber", "numsubordinates", "subordinatecount",
		"shadowlastchange", "shadowmin", "shadowmax", "shadowwarning",
		"shadowinactive", "shadowexpire", "shadowflag",
		"pwdminage", "pwdmaxage", "pwdinhistory", "pwdminlength", "pwdmaxlength",
		"pwdexpirewarning", "pwdgraceauthnlimit", "pwdmaxfailure",
		"pwdlockoutduration", "pwdfailurecountinterval", "pwdmaxidle",
		"pwdmaxrecordedfailure":
		return SyntaxInteger
	case "createtimestamp", "modifytimestamp", "pwdchangedtime",
		"pwdaccountlockedtime", "authtimestamp", "pwdfailuretime",
		"pwdgraceusetime", "pwdlastsuccess", "pwdstarttime", "pwdendtime":
		return SyntaxGeneralizedTime
	case "hassubordinates", "pwdreset", "pwdlockout", "pwdmustchange",
		"pwdallowuserchange", "pwdsafemodify", "pwdcheckquality":
		return SyntaxBoolean
	case "userpassword":
		return SyntaxOctetString
	case "aci":
		return SyntaxCaseExact
	}
	return SyntaxCaseIgnore
}

// prepFlags select how appendPrepared prepares a string value.
type prepFlags uint8

const (
	prepFold      prepFlags = 1 << iota // lowercase
	prepTrimLeft                        // drop leading white space
	prepTrimRight                       // drop trailing white space
	prepNoSpace                         // drop all white space
)

// prepEqual prepares values for case-ignore equality and ordering.
const prepEqual = prepFold | prepTrimLeft | prepTrimRight

// appendPrepared appends s with runs of white space collapsed to one space
// (or dropped as flags say) and, with prepFold, runes lowercased. Bytes that
// are not UTF-8 are kept as they are.
func appendPrepared(dst []byte, s string, flags prepFlags) []byte {
	space := false   // a run of white space is pending
	started := false // something other than white space was written
	for i := 0; i < len(s); {
		c := s[i]
		r, w := rune(c), 1
		if c >= utf8.RuneSelf {
			r, w = utf8.DecodeRuneInString(s[i:])
		}
		if isSpace(r) {
			space = true
			i += w
			continue
		}
		if space {
			if flags&prepNoSpace == 0 && (started || flags&prepTrimLeft == 0) {
				dst = append(dst, ' ')
			}
			space = false
		}
		started = true
		switch {
		case r == utf8.RuneError && w == 1:
			dst = append(dst, c)
		case c < utf8.RuneSelf:
			if flags&prepFold != 0 && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		case flags&prepFold != 0:
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		default:
			dst = append(dst, s[i:i+w]...)
		}
		i += w
	}
	if space && flags&(prepNoSpace|prepTrimRight) == 0 && (started || flags&prepTrimLeft == 0) {
		dst = append(dst, ' ')
	}
	return dst
}

func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || '\t' <= r && r <= '\r'
	}
	return unicode.IsSpace(r)
}

// appendDNOrFold appends the normalized form of a DN value or, when it is
// not a valid DN, the value lowercased.
func appendDNOrFold(dst []byte, v string) []byte {
	n := len(dst)
	out, err := appendNormalizedDN(dst, v)
	if err != nil {
		return appendFold(dst[:n], v)
	}
	return out
}

// integer is a parsed INTEGER value: a sign and the digits without leading
// zeros ("0" for zero, which is never negative).
type integer struct {
	neg    bool
	digits string
}

// parseInteger parses an RFC 4517 INTEGER, tolerating surrounding spaces
// and leading zeros.
func parseInteger(s string) (integer, bool) {
	i, j := 0, len(s)
	for i < j && s[i] == ' ' {
		i++
	}
	for j > i && s[j-1] == ' ' {
		j--
	}
	var n integer
	if i < j && s[i] == '-' {
		n.neg = true
		i++
	}
	if i == j {
		return integer{}, false
	}
	for k := i; k < j; k++ {
		if !isDigit(s[k]) {
			return integer{}, false
		}
	}
	for i < j-1 && s[i] == '0' {
		i++
	}
	n.digits = s[i:j]
	if n.digits == "0" {
		n.neg = false
	}
	return n, true
}

// cmp returns -1, 0 or +1 as a is less than, equal to or greater than b.
func (a integer) cmp(b integer) int {
	if a.neg != b.neg {
		if a.neg {
			return -1
		}
		return 1
	}
	c := 0
	switch {
	case len(a.digits) != len(b.digits):
		c = -1
		if len(a.digits) > len(b.digits) {
			c = 1
		}
	case a.digits < b.digits:
		c = -1
	case a.digits > b.digits:
		c = 1
	}
	if a.neg {
		return -c
	}
	return c
}

// parseGeneralizedTime parses an RFC 4517 GeneralizedTime:
// YYYYMMDDHH[MM[SS]][(.|,)fraction](Z|(+|-)HH[MM]), the fraction applying
// to the last unit given.
func parseGeneralizedTime(s string) (time.Time, bool) {
	i := 0
	num := func(n int) (int, bool) {
		if i+n > len(s) {
			return 0, false
		}
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if !isDigit(c) {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		i += n
		return v, true
	}
	year, ok1 := num(4)
	month, ok2 := num(2)
	day, ok3 := num(2)
	hour, ok4 := num(2)
	if !ok1 || !ok2 || !ok3 || !ok4 || month < 1 || month > 12 || day < 1 || hour > 23 {
		return time.Time{}, false
	}
	minute, sec := 0, 0
	unit := time.Hour
	if i < len(s) && isDigit(s[i]) {
		var ok bool
		if minute, ok = num(2); !ok || minute > 59 {
			return time.Time{}, false
		}
		unit = time.Minute
		if i < len(s) && isDigit(s[i]) {
			if sec, ok = num(2); !ok || sec > 60 {
				return time.Time{}, false
			}
			unit = time.Second
		}
	}
	var frac time.Duration
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		i++
		start := i
		f, scale := 0.0, 1.0
		for i < len(s) && isDigit(s[i]) {
			if scale < 1e18 {
				f = f*10 + float64(s[i]-'0')
				scale *= 10
			}
			i++
		}
		if i == start {
			return time.Time{}, false
		}
		frac = time.Duration(f / scale * float64(unit))
	}
	if i >= len(s) {
		return time.Time{}, false
	}
	var offset time.Duration
	switch s[i] {
	case 'Z':
		i++
	case '+', '-':
		sign := s[i]
		i++
		oh, ok := num(2)
		if !ok || oh > 23 {
			return time.Time{}, false
		}
		om := 0
		if i < len(s) {
			if om, ok = num(2); !ok || om > 59 {
				return time.Time{}, false
			}
		}
		offset = time.Duration(oh)*time.Hour + time.Duration(om)*time.Minute
		if sign == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	if i != len(s) {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, 0, 0, time.UTC)
	if t.Day() != day {
		return time.Time{}, false // no such day in that month
	}
	return t.Add(time.Duration(sec)*time.Second + frac - offset), true
}

// parseBoolean parses TRUE or FALSE in any case, tolerating surrounding
// spaces.
func parseBoolean(s string) (value, ok bool) {
	i, j := 0, len(s)
	for i < j && s[i] == ' ' {
		i++
	}
	for j > i && s[j-1] == ' ' {
		j--
	}
	switch s = s[i:j]; {
	case len(s) == 4 && s[0]|0x20 == 't' && s[1]|0x20 == 'r' && s[2]|0x20 == 'u' && s[3]|0x20 == 'e':
		return true, true
	case len(s) == 5 && s[0]|0x20 == 'f' && s[1]|0x20 == 'a' && s[2]|0x20 == 'l' && s[3]|0x20 == 's' && s[4]|0x20 == 'e':
		return false, true
	}
	return false, false
}

// appendFold appends s with runes lowercased and white space untouched;
// bytes that are not UTF-8 are kept as they are.
func appendFold(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
		i += w
	}
	return dst
}
