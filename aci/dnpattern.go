package aci

import (
	"errors"
	"strings"

	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// dnPattern is a DN, or a DN pattern with wildcards, as used by target and
// userdn. Patterns match per RDN: a whole-RDN "*" matches exactly one RDN,
// "**" one or more, and "*" inside an attribute value (or as the attribute
// type) is a wildcard within that RDN.
type dnPattern struct {
	literal string // normalized DN, when the pattern has no wildcard
	rdns    []rdnPattern
}

type rdnPattern struct {
	one, many bool // "*" or "**"
	avas      []avaPattern
}

type avaPattern struct {
	anyType bool
	typ     string   // lowercased attribute type
	parts   []string // value split on "*"; one part means an exact value
}

var errEmptyRDN = errors.New("empty RDN")

func parseDNPattern(s string) (*dnPattern, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "*") {
		n, err := ldapfilter.NormalizeDN(s)
		if err != nil {
			return nil, err
		}
		return &dnPattern{literal: n}, nil
	}
	p := &dnPattern{}
	for _, raw := range splitUnescaped(s, ',') {
		raw = strings.TrimSpace(raw)
		switch raw {
		case "":
			return nil, errEmptyRDN
		case "*":
			p.rdns = append(p.rdns, rdnPattern{one: true})
			continue
		case "**":
			p.rdns = append(p.rdns, rdnPattern{many: true})
			continue
		}
		var r rdnPattern
		for _, ava := range splitUnescaped(raw, '+') {
			typ, val, ok := strings.Cut(ava, "=")
			typ, val = strings.TrimSpace(typ), strings.TrimSpace(val)
			if !ok || typ == "" {
				return nil, errors.New("RDN " + quote(raw) + " is not attribute=value")
			}
			a := avaPattern{typ: strings.ToLower(typ)}
			if typ == "*" {
				a.anyType = true
			} else if msg := checkAttrName(typ, false); msg != "" {
				return nil, errors.New(msg)
			}
			for _, part := range strings.Split(val, "*") {
				np, err := normalizeValuePart(part)
				if err != nil {
					return nil, err
				}
				a.parts = append(a.parts, np)
			}
			r.avas = append(r.avas, a)
		}
		p.rdns = append(p.rdns, r)
	}
	return p, nil
}

// normalizeValuePart normalizes a piece of an attribute value the way
// NormalizeDN normalizes whole values, so pieces compare with normalized DNs.
func normalizeValuePart(part string) (string, error) {
	if strings.TrimSpace(part) == "" {
		return "", nil
	}
	n, err := ldapfilter.NormalizeDN("x=" + part)
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(n, "x="), nil
}

// splitUnescaped splits s on sep where sep is not escaped by a backslash.
func splitUnescaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == sep {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// maxRDNs bounds the DN depth matched against patterns without allocating.
const maxRDNs = 32

// splitRDNs splits a normalized DN into its RDNs, appending to buf.
func splitRDNs(dn string, buf []string) []string {
	if dn == "" {
		return buf
	}
	start := 0
	for i := 0; i < len(dn); i++ {
		if dn[i] == '\\' {
			i++
			continue
		}
		if dn[i] == ',' {
			buf = append(buf, dn[start:i])
			start = i + 1
		}
	}
	return append(buf, dn[start:])
}

// matches reports whether the whole normalized DN matches the pattern.
func (p *dnPattern) matches(dn string) bool {
	if p.rdns == nil {
		return dn == p.literal
	}
	var buf [maxRDNs]string
	rdns := splitRDNs(dn, buf[:0])
	return matchRDNs(p.rdns, rdns)
}

func matchRDNs(pat []rdnPattern, rdns []string) bool {
	for len(pat) > 0 {
		r := pat[0]
		if r.many {
			for k := 1; k <= len(rdns); k++ {
				if matchRDNs(pat[1:], rdns[k:]) {
					return true
				}
			}
			return false
		}
		if len(rdns) == 0 || !r.one && !r.matchRDN(rdns[0]) {
			return false
		}
		pat, rdns = pat[1:], rdns[1:]
	}
	return len(rdns) == 0
}

// matchRDN matches one normalized RDN: every AVA of the pattern must match
// a distinct AVA of the RDN, and the counts must agree.
func (r rdnPattern) matchRDN(rdn string) bool {
	if len(r.avas) == 1 {
		return r.avas[0].match(rdn)
	}
	avas := splitUnescaped(rdn, '+')
	if len(avas) != len(r.avas) {
		return false
	}
	used := make([]bool, len(avas))
outer:
	for _, a := range r.avas {
		for i, s := range avas {
			if !used[i] && a.match(s) {
				used[i] = true
				continue outer
			}
		}
		return false
	}
	return true
}

func (a avaPattern) match(ava string) bool {
	eq := strings.IndexByte(ava, '=')
	if eq < 0 {
		return false
	}
	if !a.anyType && ava[:eq] != a.typ {
		return false
	}
	return globMatch(a.parts, ava[eq+1:])
}

// globMatch matches s against parts split on "*": the first part is a
// prefix, the last a suffix, the rest appear in order in between.
func globMatch(parts []string, s string) bool {
	if len(parts) == 1 {
		return s == parts[0]
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}
