package aci

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/scimgate/scimgate/aci/ldapfilter"
)

type userAttrKind uint8

const (
	uaValue userAttrKind = iota
	uaUserDN
	uaGroupDN
	uaLDAPURL
)

// maxParentLevel is the deepest parent[n] level, as in the products.
const maxParentLevel = 9

type userAttrCond struct {
	levels []int // parent levels; {0} for the plain form
	attr   string
	kind   userAttrKind
	value  string // for uaValue
}

// parseUserAttr parses "[parent[0,1,...].]attr#TYPE-or-value".
func parseUserAttr(v string) (*userAttrCond, error) {
	c := &userAttrCond{levels: []int{0}}
	spec, typ, ok := strings.Cut(v, "#")
	if !ok || strings.TrimSpace(typ) == "" {
		return nil, errors.New(`userattr value must be "attribute#USERDN", "#GROUPDN", "#LDAPURL" or "#value"`)
	}
	spec, typ = strings.TrimSpace(spec), strings.TrimSpace(typ)
	if len(spec) > 7 && strings.EqualFold(spec[:7], "parent[") {
		end := strings.Index(spec, "].")
		if end < 0 {
			return nil, errors.New(`userattr parent levels must look like "parent[0,1].attribute"`)
		}
		c.levels = nil
		seen := map[int]bool{}
		for _, s := range strings.Split(spec[7:end], ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 0 || n > maxParentLevel {
				return nil, fmt.Errorf("userattr parent level must be 0 to %d, not %q", maxParentLevel, strings.TrimSpace(s))
			}
			if !seen[n] {
				seen[n] = true
				c.levels = append(c.levels, n)
			}
		}
		spec = spec[end+2:]
	}
	if msg := checkAttrName(spec, false); msg != "" {
		return nil, errors.New(msg)
	}
	c.attr = canonicalAttr(spec)
	switch strings.ToUpper(typ) {
	case "USERDN":
		c.kind = uaUserDN
	case "GROUPDN":
		c.kind = uaGroupDN
	case "LDAPURL":
		c.kind = uaLDAPURL
	case "ROLEDN":
		return nil, errors.New("userattr #ROLEDN is not supported (PingDirectory has no roles)")
	case "SELFDN":
		return nil, errors.New("userattr #SELFDN is a 389 extension and is not supported: use #USERDN")
	default:
		c.kind, c.value = uaValue, typ
	}
	return c, nil
}

func canonUserAttr(v string) (string, string) {
	c, err := parseUserAttr(v)
	if err != nil {
		return "", err.Error()
	}
	spec, typ, _ := strings.Cut(v, "#")
	spec = strings.TrimSpace(spec)
	if len(spec) > 7 && strings.EqualFold(spec[:7], "parent[") {
		spec = "parent" + spec[6:]
	}
	if c.kind != uaValue {
		typ = strings.ToUpper(strings.TrimSpace(typ))
	} else {
		typ = strings.TrimSpace(typ)
	}
	return spec + "#" + typ, ""
}

func compileUserAttr(v string) (condEval, error) { return parseUserAttr(v) }

func (c *userAttrCond) eval(st *evalState) result {
	if st.subj.DN == "" {
		return rFalse
	}
	out := rFalse
	for _, lvl := range c.levels {
		r := c.evalLevel(st, lvl)
		if r == rTrue {
			return rTrue
		}
		out = or3(out, r)
	}
	return out
}

func (c *userAttrCond) evalLevel(st *evalState, lvl int) result {
	var e Entry
	if lvl == 0 {
		if st.req.Right&RightAdd != 0 {
			// The entry being added cannot vouch for its own creator.
			return rUndefined
		}
		var err error
		if e, err = st.targetEntry(); err != nil {
			return rUndefined
		}
	} else {
		dn := st.req.TargetDN
		for k := 0; k < lvl; k++ {
			if dn == "" {
				return rFalse
			}
			dn = ldapfilter.ParentDN(dn)
		}
		if st.dir == nil {
			return rUndefined
		}
		var err error
		if e, err = st.dir.Entry(dn); err != nil {
			return rUndefined
		}
	}
	if e == nil {
		return rFalse
	}
	if !st.holds(e, c.attr) {
		return rUndefined
	}
	vals := e.Values(c.attr)
	out := rFalse
	switch c.kind {
	case uaUserDN:
		for _, v := range vals {
			if dn, err := ldapfilter.NormalizeDN(v); err == nil && dn == st.subj.DN {
				return rTrue
			}
		}
	case uaGroupDN:
		for _, v := range vals {
			dn, err := ldapfilter.NormalizeDN(v)
			if err != nil {
				continue
			}
			r := st.memberOf(dn)
			if r == rTrue {
				return rTrue
			}
			out = or3(out, r)
		}
	case uaLDAPURL:
		for _, v := range vals {
			u, err := parseLDAPURL(v)
			if err != nil {
				continue
			}
			r := u.matchSubject(st)
			if r == rTrue {
				return rTrue
			}
			out = or3(out, r)
		}
	case uaValue:
		if !hasValueFold(vals, c.value) {
			return rFalse
		}
		se, err := st.subjectEntry()
		if err != nil || se != nil && !st.holds(se, c.attr) {
			return rUndefined
		}
		if se != nil && hasValueFold(se.Values(c.attr), c.value) {
			return rTrue
		}
	}
	return out
}

func hasValueFold(vals []string, v string) bool {
	for _, x := range vals {
		if strings.EqualFold(strings.TrimSpace(x), v) {
			return true
		}
	}
	return false
}

func (c *userAttrCond) note(st *evalState) string {
	if st.subj.DN == "" {
		return "anonymous subject"
	}
	if st.req.Right&RightAdd != 0 && c.levels[0] == 0 {
		return "level 0 is undefined for add"
	}
	return ""
}

// targetEntry returns the request's entry, or looks the target up once.
func (st *evalState) targetEntry() (Entry, error) {
	if st.req.Entry != nil {
		return st.req.Entry, nil
	}
	if st.dir == nil {
		return nil, errors.New("no entry and no directory")
	}
	e, err := st.dir.Entry(st.req.TargetDN)
	if err == nil && e != nil {
		st.req.Entry = e
	}
	return e, err
}
