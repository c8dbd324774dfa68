package resource

import (
	"fmt"
	"unicode/utf8"
)

// The rules for text a client sends, in bodies, filters and paths: valid
// UTF-8 (no overlong forms, no surrogates), and no control characters
// but tab, line feed and carriage return, which a formatted address or a
// description may hold. A directory stores what it is given, or truncates
// it at a NUL: a filter value "\u0000" matched every entry, and a NUL or
// an invalid byte written to an entry failed inside the directory as a
// 500. Text is refused where it enters instead.

// allowedControl reports whether the control character r may appear in
// text.
func allowedControl(r rune) bool { return r == '\t' || r == '\n' || r == '\r' }

// isBadControl reports whether r is a control character text may not hold.
func isBadControl(r rune) bool { return r < 0x20 && !allowedControl(r) }

// textProblem describes what is wrong with s ("" when nothing) and the
// byte offset where it starts.
func textProblem(s string) (string, int) {
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w <= 1:
			return fmt.Sprintf("invalid UTF-8 (byte 0x%02X)", s[i]), i
		case isBadControl(r):
			return fmt.Sprintf("the control character U+%04X", r), i
		}
		i += w
	}
	return "", 0
}

// CheckText returns a 400 invalidValue naming what (a query parameter, an
// id) when s is not valid text by the rules above.
func CheckText(what, s string) error {
	if p, at := textProblem(s); p != "" {
		return InvalidValue("%s holds %s at byte %d; text must be UTF-8 without control characters other than tab and line breaks", what, p, at+1)
	}
	return nil
}
