package slapd

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// This file holds a small LDIF reader (RFC 2849): content records and change records (add,
// delete, modify, modrdn/moddn), base64 values and folded lines. URL values (`attr:< url`)
// and controls are rejected. It serves LDAPModify and the memberOf derivation for seeds.

// ldifAttr is one attribute line: a type (with options) and a value.
type ldifAttr struct {
	typ, value string
}

// ldifMod is one modification of a modify change record.
type ldifMod struct {
	op     string // add, delete, replace, increment
	typ    string
	values []string
}

// ldifRecord is one LDIF record.
type ldifRecord struct {
	line       int    // line number of its dn line (1-based)
	end        int    // byte offset just past the record's last line in the source
	dn         string // as written (decoded if base64)
	changeType string // "" for a content record
	attrs      []ldifAttr
	mods       []ldifMod
	newRDN     string
	deleteOld  bool
	newSup     string
	hasNewSup  bool
}

// ldifLine is one logical (unfolded) line.
type ldifLine struct {
	num  int // first physical line, 1-based
	end  int // byte offset just past its last physical line
	text string
}

// ldifError is a parse error with its position.
type ldifError struct {
	source string
	line   int
	msg    string
}

func (e *ldifError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.source, e.line, e.msg)
}

// parseLDIF parses src; source names it in errors. Every error found is returned.
func parseLDIF(source string, src []byte) ([]ldifRecord, error) {
	var (
		recs  []ldifRecord
		errs  []error
		group []ldifLine
		first = true
	)
	flush := func() {
		if len(group) == 0 {
			return
		}
		if first {
			first = false
			if strings.HasPrefix(strings.ToLower(group[0].text), "version:") {
				if v := strings.TrimSpace(group[0].text[len("version:"):]); v != "1" {
					errs = append(errs, &ldifError{source, group[0].num, fmt.Sprintf("unsupported LDIF version %q", v)})
				}
				group = group[1:]
				if len(group) == 0 {
					return
				}
			}
		}
		rec, err := parseRecord(group)
		if err != nil {
			errs = append(errs, &ldifError{source, err.line, err.msg})
		} else {
			recs = append(recs, rec)
		}
		group = nil
	}
	for _, l := range unfold(src) {
		switch {
		case l.text == "":
			flush()
		case strings.HasPrefix(l.text, "#"):
		default:
			group = append(group, l)
		}
	}
	flush()
	return recs, errors.Join(errs...)
}

// unfold splits src into logical lines: a physical line starting with one space continues the
// previous one; a blank line is returned as an empty line.
func unfold(src []byte) []ldifLine {
	var out []ldifLine
	num, off := 0, 0
	for off < len(src) {
		num++
		i := bytes.IndexByte(src[off:], '\n')
		var raw []byte
		next := len(src)
		if i >= 0 {
			raw, next = src[off:off+i], off+i+1
		} else {
			raw = src[off:]
		}
		off = next
		raw = bytes.TrimSuffix(raw, []byte("\r"))
		if len(raw) > 0 && raw[0] == ' ' && len(out) > 0 && out[len(out)-1].text != "" {
			out[len(out)-1].text += string(raw[1:])
			out[len(out)-1].end = off
			continue
		}
		out = append(out, ldifLine{num: num, end: off, text: string(raw)})
	}
	return out
}

// recordError is a parse error inside one record.
type recordError struct {
	line int
	msg  string
}

func parseRecord(lines []ldifLine) (ldifRecord, *recordError) {
	fail := func(l ldifLine, format string, args ...any) (ldifRecord, *recordError) {
		return ldifRecord{}, &recordError{l.num, fmt.Sprintf(format, args...)}
	}
	typ, dn, err := splitLine(lines[0].text)
	if err != nil {
		return fail(lines[0], "%v", err)
	}
	if !strings.EqualFold(typ, "dn") {
		return fail(lines[0], "record starts with %q, want dn", typ)
	}
	rec := ldifRecord{line: lines[0].num, end: lines[len(lines)-1].end, dn: dn}
	rest := lines[1:]
	if len(rest) > 0 {
		t, v, err := splitLine(rest[0].text)
		if err != nil {
			return fail(rest[0], "%v", err)
		}
		if strings.EqualFold(t, "control") {
			return fail(rest[0], "LDIF controls are not supported")
		}
		if strings.EqualFold(t, "changetype") {
			rec.changeType = strings.ToLower(v)
			rest = rest[1:]
		}
	}
	switch rec.changeType {
	case "", "add":
		for _, l := range rest {
			t, v, err := splitLine(l.text)
			if err != nil {
				return fail(l, "%v", err)
			}
			rec.attrs = append(rec.attrs, ldifAttr{t, v})
		}
		if len(rec.attrs) == 0 {
			return fail(lines[0], "entry %q has no attributes", dn)
		}
	case "delete":
		if len(rest) > 0 {
			return fail(rest[0], "delete record has extra lines")
		}
	case "modrdn", "moddn":
		for _, l := range rest {
			t, v, err := splitLine(l.text)
			if err != nil {
				return fail(l, "%v", err)
			}
			switch strings.ToLower(t) {
			case "newrdn":
				rec.newRDN = v
			case "deleteoldrdn":
				switch v {
				case "0":
				case "1":
					rec.deleteOld = true
				default:
					return fail(l, "deleteoldrdn must be 0 or 1, not %q", v)
				}
			case "newsuperior":
				rec.newSup, rec.hasNewSup = v, true
			default:
				return fail(l, "unexpected %q in a %s record", t, rec.changeType)
			}
		}
		if rec.newRDN == "" {
			return fail(lines[0], "%s record without newrdn", rec.changeType)
		}
	case "modify":
		var cur *ldifMod
		for _, l := range rest {
			if l.text == "-" {
				if cur == nil {
					return fail(l, `"-" without a modification`)
				}
				rec.mods = append(rec.mods, *cur)
				cur = nil
				continue
			}
			t, v, err := splitLine(l.text)
			if err != nil {
				return fail(l, "%v", err)
			}
			if cur == nil {
				op := strings.ToLower(t)
				switch op {
				case "add", "delete", "replace", "increment":
				default:
					return fail(l, "want add:, delete:, replace: or increment:, not %q", t)
				}
				cur = &ldifMod{op: op, typ: v}
				continue
			}
			if !strings.EqualFold(t, cur.typ) {
				return fail(l, "attribute %q inside a modification of %q", t, cur.typ)
			}
			cur.values = append(cur.values, v)
		}
		if cur != nil {
			// RFC 2849 wants a closing "-"; accept its absence at the end of the record.
			rec.mods = append(rec.mods, *cur)
		}
	default:
		return fail(lines[0], "unknown changetype %q", rec.changeType)
	}
	return rec, nil
}

// splitLine splits "type: value", "type:: base64" lines.
func splitLine(s string) (typ, value string, err error) {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return "", "", fmt.Errorf("missing ':' in %q", s)
	}
	typ, rest := s[:i], s[i+1:]
	switch {
	case strings.HasPrefix(rest, ":"):
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest[1:]))
		if err != nil {
			return "", "", fmt.Errorf("attribute %q: bad base64: %v", typ, err)
		}
		return typ, string(b), nil
	case strings.HasPrefix(rest, "<"):
		return "", "", fmt.Errorf("attribute %q: URL values are not supported", typ)
	default:
		return typ, strings.TrimLeft(rest, " "), nil
	}
}

// values returns the values of attribute typ (ignoring case and options).
func (r *ldifRecord) values(typ string) []string {
	var out []string
	for _, a := range r.attrs {
		base, _, _ := strings.Cut(a.typ, ";")
		if strings.EqualFold(base, typ) {
			out = append(out, a.value)
		}
	}
	return out
}

// hasObjectClass reports whether the record lists object class oc.
func (r *ldifRecord) hasObjectClass(oc string) bool {
	for _, v := range r.values("objectClass") {
		if strings.EqualFold(strings.TrimSpace(v), oc) {
			return true
		}
	}
	return false
}

// dnKey returns a comparison key for a DN: attribute types and values folded to lower case,
// multi-valued RDNs sorted. Invalid DNs are keyed by their lower-cased text.
func dnKey(dn string) string {
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(dn))
	}
	rdns := make([]string, len(parsed.RDNs))
	for i, rdn := range parsed.RDNs {
		avas := make([]string, len(rdn.Attributes))
		for j, a := range rdn.Attributes {
			avas[j] = strings.ToLower(a.Type) + "=" + strings.ToLower(a.Value)
		}
		sort.Strings(avas)
		rdns[i] = strings.Join(avas, "+")
	}
	return strings.Join(rdns, ",")
}

// writeAttrLine writes "typ: value" or, for values LDIF cannot carry as-is, "typ:: base64".
func writeAttrLine(b *bytes.Buffer, typ, value string) {
	if safeString(value) {
		fmt.Fprintf(b, "%s: %s\n", typ, value)
		return
	}
	fmt.Fprintf(b, "%s:: %s\n", typ, base64.StdEncoding.EncodeToString([]byte(value)))
}

// safeString reports whether v is an RFC 2849 SAFE-STRING.
func safeString(v string) bool {
	if v == "" {
		return true
	}
	switch v[0] {
	case ' ', ':', '<':
		return false
	}
	if v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == 0 || c == '\n' || c == '\r' || c > 127 {
			return false
		}
	}
	return true
}
