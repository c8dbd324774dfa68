package aci

import "strings"

type tokKind uint8

const (
	tEOF tokKind = iota
	tLParen
	tRParen
	tSemi
	tComma
	tOp
	tString
	tWord
	tBad
)

var tokNames = [...]string{
	tEOF: "end of input", tLParen: `"("`, tRParen: `")"`, tSemi: `";"`, tComma: `","`,
	tOp: "operator", tString: "quoted string", tWord: "word", tBad: "invalid character",
}

type token struct {
	kind tokKind
	text string // word text, operator, or the unquoted string value
	pos  Pos
}

// describe says what a token is, for "expected X, found Y" messages.
func (t token) describe() string {
	switch t.kind {
	case tWord:
		return "word " + quote(t.text)
	case tOp:
		return "operator " + quote(t.text)
	case tString:
		return "quoted string " + quote(clip(t.text, 40))
	case tBad:
		return quote(t.text)
	}
	return tokNames[t.kind]
}

func quote(s string) string { return `"` + s + `"` }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// lex turns ACI source into tokens, synchronously. Whitespace separates
// tokens; a quoted string may contain any character, with \" standing for a
// quote and \\ for a backslash (other escapes, such as filter hex escapes,
// are kept as written). An unterminated string yields a tBad token.
func lex(src string, start Pos) []token {
	var toks []token
	line, col := start.Line, start.Col
	i := 0
	advance := func(n int) {
		for k := 0; k < n; k++ {
			if src[i] == '\n' {
				line++
				col = 1
			} else {
				col++
			}
			i++
		}
	}
	for i < len(src) {
		c := src[i]
		p := Pos{line, col}
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			advance(1)
		case c == '(':
			toks = append(toks, token{tLParen, "(", p})
			advance(1)
		case c == ')':
			toks = append(toks, token{tRParen, ")", p})
			advance(1)
		case c == ';':
			toks = append(toks, token{tSemi, ";", p})
			advance(1)
		case c == ',':
			toks = append(toks, token{tComma, ",", p})
			advance(1)
		case c == '=' || c == '<' || c == '>' || c == '!':
			n := 1
			if i+1 < len(src) && src[i+1] == '=' {
				n = 2
			}
			op := src[i : i+n]
			kind := tOp
			if op == "!" {
				kind = tBad
			}
			toks = append(toks, token{kind, op, p})
			advance(n)
		case c == '"':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(src) {
				if src[j] == '\\' && j+1 < len(src) && (src[j+1] == '"' || src[j+1] == '\\') {
					b.WriteByte(src[j+1])
					j += 2
					continue
				}
				if src[j] == '"' {
					closed = true
					break
				}
				b.WriteByte(src[j])
				j++
			}
			if !closed {
				toks = append(toks, token{tBad, "unterminated quoted string", p})
				advance(len(src) - i)
				continue
			}
			toks = append(toks, token{tString, b.String(), p})
			advance(j + 1 - i)
		default:
			j := i
			for j < len(src) && !strings.ContainsRune(" \t\r\n()\";,=<>!", rune(src[j])) {
				j++
			}
			if j == i { // cannot happen: every stop character is handled above
				j = i + 1
			}
			toks = append(toks, token{tWord, src[i:j], p})
			advance(j - i)
		}
	}
	toks = append(toks, token{tEOF, "", Pos{line, col}})
	return toks
}
