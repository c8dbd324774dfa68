package dirsrv

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// This file holds a small LDIF reader (RFC 2849) for seeds and LDAPModify: content records
// and change records (add, delete, modify with add/delete/replace/increment, modrdn/moddn),
// comments, folded lines and base64 values. URL values (`attr:< url`) and controls are
// rejected.

type ldifAttr struct{ typ, value string }

type ldifMod struct {
	op     string // add, delete, replace, increment
	typ    string
	values []string
}

type ldifRecord struct {
	line       int // line of the dn line, 1-based
	dn         string
	changeType string // "" for a content record
	attrs      []ldifAttr
	mods       []ldifMod
	newRDN     string
	deleteOld  bool
	newSup     string
}

type ldifLine struct {
	num  int
	text string
}

// parseLDIF parses src; source names it in errors.
func parseLDIF(source string, src string) ([]ldifRecord, error) {
	src = strings.ReplaceAll(src, "\r\n", "\n")
	var (
		recs  []ldifRecord
		errs  []error
		group []ldifLine
		first = true
	)
	fail := func(line int, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", source, line, fmt.Sprintf(format, a...)))
	}
	flush := func() {
		if len(group) == 0 {
			return
		}
		g := group
		group = nil
		if first {
			first = false
			if strings.HasPrefix(strings.ToLower(g[0].text), "version:") {
				if v := strings.TrimSpace(g[0].text[len("version:"):]); v != "1" {
					fail(g[0].num, "unsupported LDIF version %q", v)
				}
				g = g[1:]
				if len(g) == 0 {
					return
				}
			}
		}
		rec, err := parseRecord(source, g)
		if err != nil {
			errs = append(errs, err)
			return
		}
		recs = append(recs, rec)
	}
	lines := strings.Split(src, "\n")
	inComment := false
	for i, l := range lines {
		num := i + 1
		switch {
		case strings.HasPrefix(l, " "):
			if inComment {
				continue
			}
			if len(group) == 0 {
				fail(num, "continuation line without a line to continue")
				continue
			}
			group[len(group)-1].text += l[1:]
		case strings.HasPrefix(l, "#"):
			inComment = true
		case strings.TrimSpace(l) == "":
			inComment = false
			flush()
		default:
			inComment = false
			group = append(group, ldifLine{num, l})
		}
	}
	flush()
	return recs, errors.Join(errs...)
}

// splitLine splits "type: value", "type:: base64" into type and decoded value.
func splitLine(source string, l ldifLine) (string, string, error) {
	i := strings.IndexByte(l.text, ':')
	if i <= 0 {
		return "", "", fmt.Errorf("%s:%d: expected \"type: value\", got %q", source, l.num, l.text)
	}
	typ, rest := l.text[:i], l.text[i+1:]
	switch {
	case strings.HasPrefix(rest, ":"):
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest[1:]))
		if err != nil {
			return "", "", fmt.Errorf("%s:%d: %s: bad base64: %v", source, l.num, typ, err)
		}
		return typ, string(b), nil
	case strings.HasPrefix(rest, "<"):
		return "", "", fmt.Errorf("%s:%d: %s: URL values are not supported", source, l.num, typ)
	}
	return typ, strings.TrimLeft(rest, " "), nil
}

func parseRecord(source string, g []ldifLine) (ldifRecord, error) {
	typ, dn, err := splitLine(source, g[0])
	if err != nil {
		return ldifRecord{}, err
	}
	if !strings.EqualFold(typ, "dn") {
		return ldifRecord{}, fmt.Errorf("%s:%d: record does not start with dn:", source, g[0].num)
	}
	rec := ldifRecord{line: g[0].num, dn: dn}
	rest := g[1:]
	if len(rest) > 0 {
		t, v, err := splitLine(source, rest[0])
		if err != nil {
			return rec, err
		}
		if strings.EqualFold(t, "control") {
			return rec, fmt.Errorf("%s:%d: controls are not supported", source, rest[0].num)
		}
		if strings.EqualFold(t, "changetype") {
			rec.changeType = strings.ToLower(strings.TrimSpace(v))
			rest = rest[1:]
		}
	}
	switch rec.changeType {
	case "", "add":
		for _, l := range rest {
			t, v, err := splitLine(source, l)
			if err != nil {
				return rec, err
			}
			rec.attrs = append(rec.attrs, ldifAttr{t, v})
		}
		if len(rec.attrs) == 0 {
			return rec, fmt.Errorf("%s:%d: entry %q has no attributes", source, rec.line, dn)
		}
	case "delete":
		if len(rest) > 0 {
			return rec, fmt.Errorf("%s:%d: delete record with extra lines", source, rest[0].num)
		}
	case "modrdn", "moddn":
		for _, l := range rest {
			t, v, err := splitLine(source, l)
			if err != nil {
				return rec, err
			}
			switch strings.ToLower(t) {
			case "newrdn":
				rec.newRDN = v
			case "deleteoldrdn":
				rec.deleteOld = strings.TrimSpace(v) == "1"
			case "newsuperior":
				rec.newSup = v
			default:
				return rec, fmt.Errorf("%s:%d: unexpected %q in modrdn record", source, l.num, t)
			}
		}
		if rec.newRDN == "" {
			return rec, fmt.Errorf("%s:%d: modrdn record without newrdn", source, rec.line)
		}
	case "modify":
		var cur *ldifMod
		for _, l := range rest {
			if strings.TrimSpace(l.text) == "-" {
				if cur == nil {
					return rec, fmt.Errorf("%s:%d: \"-\" without a modification", source, l.num)
				}
				rec.mods = append(rec.mods, *cur)
				cur = nil
				continue
			}
			t, v, err := splitLine(source, l)
			if err != nil {
				return rec, err
			}
			if cur == nil {
				op := strings.ToLower(t)
				switch op {
				case "add", "delete", "replace", "increment":
				default:
					return rec, fmt.Errorf("%s:%d: unknown modify operation %q", source, l.num, t)
				}
				cur = &ldifMod{op: op, typ: strings.TrimSpace(v)}
				continue
			}
			if !strings.EqualFold(t, cur.typ) {
				return rec, fmt.Errorf("%s:%d: %s value in a %s of %s", source, l.num, t, cur.op, cur.typ)
			}
			cur.values = append(cur.values, v)
		}
		if cur != nil {
			rec.mods = append(rec.mods, *cur)
		}
	default:
		return rec, fmt.Errorf("%s:%d: unsupported changetype %q", source, rec.line, rec.changeType)
	}
	return rec, nil
}
