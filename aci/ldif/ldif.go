// Package ldif reads LDIF (RFC 2849) and holds its entries as an in-memory
// directory tree that the ACI engine can evaluate against. It serves
// `scimgate aci lint`, `scimgate aci eval` and the ACI corpus tests.
package ldif

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

// Record is one LDIF record: its DN and its attribute lines in order.
// Change records keep their control lines (changetype, add, replace, ...)
// as attributes; Change is set for them.
type Record struct {
	DN     string
	Line   int // line of the dn: line
	Change bool
	Attrs  []Attr
}

// Attr is one attribute line, unfolded and decoded.
type Attr struct {
	Name  string
	Value string
	// Segments map byte offsets in Value back to the file: segment k
	// starts at Value[Segments[k].Off] and at Line:Col in the file. A
	// base64 value has one segment at the start of its encoded text.
	Segments []Segment
}

// Segment is where a piece of an unfolded value stands in the file.
type Segment struct {
	Off, Line, Col int
}

// Position returns the file line and column of byte offset off in the value.
func (a *Attr) Position(off int) (line, col int) {
	if len(a.Segments) == 0 {
		return 0, 0
	}
	return lineCol(a.Segments, off)
}

// Error is an LDIF syntax problem with its line.
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Line, e.Msg) }

type physLine struct {
	text string
	no   int
}

// Parse reads every record of an LDIF stream.
func Parse(r io.Reader) ([]*Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	var recs []*Record
	var block []physLine
	no := 0
	flush := func() error {
		if len(block) == 0 {
			return nil
		}
		rec, err := parseBlock(block)
		block = block[:0]
		if err != nil {
			return err
		}
		if rec != nil {
			recs = append(recs, rec)
		}
		return nil
	}
	for sc.Scan() {
		no++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		block = append(block, physLine{line, no})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return recs, nil
}

// logical is an unfolded line with the segments it came from.
type logical struct {
	text string
	segs []Segment
}

func parseBlock(block []physLine) (*Record, error) {
	var lines []logical
	for _, pl := range block {
		switch {
		case strings.HasPrefix(pl.text, "#"):
			continue
		case strings.HasPrefix(pl.text, " "):
			if len(lines) == 0 {
				return nil, &Error{pl.no, "continuation line with nothing to continue"}
			}
			l := &lines[len(lines)-1]
			l.segs = append(l.segs, Segment{Off: len(l.text), Line: pl.no, Col: 2})
			l.text += pl.text[1:]
		default:
			lines = append(lines, logical{text: pl.text, segs: []Segment{{0, pl.no, 1}}})
		}
	}
	if len(lines) == 0 {
		return nil, nil
	}
	if strings.HasPrefix(strings.ToLower(lines[0].text), "version:") {
		lines = lines[1:]
		if len(lines) == 0 {
			return nil, nil
		}
	}
	rec := &Record{}
	for i, l := range lines {
		a, err := parseAttrLine(l)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			if !strings.EqualFold(a.Name, "dn") {
				return nil, &Error{l.segs[0].Line, "record does not start with dn:"}
			}
			rec.DN, rec.Line = a.Value, l.segs[0].Line
			continue
		}
		if a.Name == "-" {
			continue
		}
		if strings.EqualFold(a.Name, "changetype") {
			rec.Change = true
		}
		rec.Attrs = append(rec.Attrs, a)
	}
	return rec, nil
}

func parseAttrLine(l logical) (Attr, error) {
	if l.text == "-" {
		return Attr{Name: "-"}, nil
	}
	colon := strings.IndexByte(l.text, ':')
	if colon <= 0 {
		return Attr{}, &Error{l.segs[0].Line, fmt.Sprintf("expected \"attribute: value\", found %q", clip(l.text))}
	}
	a := Attr{Name: l.text[:colon]}
	rest := l.text[colon+1:]
	shift := colon + 1
	switch {
	case strings.HasPrefix(rest, ":"):
		enc := strings.TrimSpace(rest[1:])
		b, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return Attr{}, &Error{l.segs[0].Line, fmt.Sprintf("invalid base64 value for %s", a.Name)}
		}
		a.Value = string(b)
		line, col := lineCol(l.segs, shift+1+len(rest[1:])-len(strings.TrimLeft(rest[1:], " ")))
		a.Segments = []Segment{{0, line, col}}
		return a, nil
	case strings.HasPrefix(rest, "<"):
		return Attr{}, &Error{l.segs[0].Line, "URL values (attr:< url) are not supported"}
	}
	lead := len(rest) - len(strings.TrimLeft(rest, " "))
	a.Value = rest[lead:]
	start := shift + lead
	for k, s := range l.segs {
		end := len(l.text)
		if k+1 < len(l.segs) {
			end = l.segs[k+1].Off
		}
		if end <= start {
			continue
		}
		off := s.Off
		col := s.Col
		if off < start {
			col += start - off
			off = start
		}
		a.Segments = append(a.Segments, Segment{Off: off - start, Line: s.Line, Col: col})
	}
	return a, nil
}

// lineCol finds byte offset off among segs, which must not be empty.
func lineCol(segs []Segment, off int) (int, int) {
	s := segs[0]
	for _, seg := range segs[1:] {
		if seg.Off > off {
			break
		}
		s = seg
	}
	return s.Line, s.Col + off - s.Off
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
