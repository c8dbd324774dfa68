package ldapfilter

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// SyntaxError reports malformed filter or DN text: what was expected and
// what was found at a byte offset of the input.
type SyntaxError struct {
	Offset int    // 0-based byte offset into the input
	Msg    string // what was expected and what was found
}

// Error returns the message prefixed with its offset.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg)
}

// syntaxErrorf builds a *SyntaxError at offset.
func syntaxErrorf(offset int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Offset: offset, Msg: fmt.Sprintf(format, args...)}
}

// describe names the character at s[i] for an error message.
func describe(s string, i int) string {
	if i >= len(s) {
		return "end of input"
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && w == 1 {
		return fmt.Sprintf("byte 0x%02x", s[i])
	}
	return strconv.QuoteRune(r)
}
