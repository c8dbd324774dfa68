package aci

import (
	"errors"
	"fmt"
	"strings"

	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// ldapURL is an LDAP URL as used by userdn, userattr LDAPURL and dynamic
// groups: ldap:///base??scope?(filter). Host and attributes are ignored.
type ldapURL struct {
	base   string // normalized
	scope  Scope  // ScopeBase, ScopeOneLevel (one), ScopeSubtree (sub), ScopeSubordinate
	filter *ldapfilter.Compiled
}

func parseLDAPURL(s string) (*ldapURL, error) {
	rest, ok := cutLDAPPrefix(s)
	if !ok {
		// memberURL values may name a host: ldap://host:port/base?...
		if len(s) > 7 && strings.EqualFold(s[:7], "ldap://") {
			if i := strings.IndexByte(s[7:], '/'); i >= 0 {
				rest, ok = s[7+i+1:], true
			}
		}
		if !ok {
			return nil, errors.New(`LDAP URL must start with "ldap:///"`)
		}
	}
	parts := strings.SplitN(rest, "?", 5)
	u := &ldapURL{scope: ScopeBase}
	base, err := ldapfilter.NormalizeDN(unescapeURL(parts[0]))
	if err != nil {
		return nil, fmt.Errorf("invalid DN in LDAP URL: %v", err)
	}
	u.base = base
	if len(parts) > 2 {
		switch strings.ToLower(parts[2]) {
		case "", "base":
		case "one", "onelevel":
			u.scope = ScopeOneLevel
		case "sub", "subtree":
			u.scope = ScopeSubtree
		case "subordinate", "subordinates", "children":
			u.scope = ScopeSubordinate
		default:
			return nil, fmt.Errorf("unknown scope %q in LDAP URL (expected base, one, sub or subordinate)", parts[2])
		}
	}
	if len(parts) > 3 && parts[3] != "" {
		f, err := parseFilterValue(unescapeURL(parts[3]))
		if err != nil {
			return nil, fmt.Errorf("invalid filter in LDAP URL: %s", filterErrMsg(err))
		}
		u.filter = ldapfilter.Compile(f)
	}
	return u, nil
}

// unescapeURL decodes %XX escapes, as LDAP URLs (RFC 4516) use them.
func unescapeURL(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// matchSubject reports whether the subject falls inside the URL: its DN in
// base/scope and, with a filter, its entry matching it.
func (u *ldapURL) matchSubject(st *evalState) result {
	if st.subj.DN == "" || !scopeCovers(u.scope, st.subj.DN, u.base) {
		return rFalse
	}
	if u.filter == nil {
		return rTrue
	}
	e, err := st.subjectEntry()
	if err != nil {
		return rUndefined
	}
	if e == nil {
		return rFalse
	}
	return u.filter.Match(e)
}

type userDNKind uint8

const (
	udnDN userDNKind = iota
	udnAnyone
	udnAll
	udnSelf
	udnParent
	udnURL
)

type userDNItem struct {
	kind userDNKind
	pat  *dnPattern
	url  *ldapURL
}

func parseUserDNItem(v string) (userDNItem, error) {
	rest, ok := cutLDAPPrefix(v)
	if !ok {
		return userDNItem{}, errors.New(`userdn value must be an LDAP URL "ldap:///..."`)
	}
	switch strings.ToLower(strings.TrimSpace(rest)) {
	case "anyone":
		return userDNItem{kind: udnAnyone}, nil
	case "all":
		return userDNItem{kind: udnAll}, nil
	case "self":
		return userDNItem{kind: udnSelf}, nil
	case "parent":
		return userDNItem{kind: udnParent}, nil
	}
	if strings.Contains(rest, "?") {
		u, err := parseLDAPURL(v)
		if err != nil {
			return userDNItem{}, err
		}
		return userDNItem{kind: udnURL, url: u}, nil
	}
	p, err := parseDNPattern(rest)
	if err != nil {
		return userDNItem{}, fmt.Errorf("invalid DN in userdn: %v", err)
	}
	return userDNItem{kind: udnDN, pat: p}, nil
}

type userDNCond struct{ items []userDNItem }

func compileUserDN(vals []string) (condEval, error) {
	c := &userDNCond{}
	for _, v := range vals {
		it, err := parseUserDNItem(v)
		if err != nil {
			return nil, err
		}
		c.items = append(c.items, it)
	}
	return c, nil
}

func (c *userDNCond) eval(st *evalState) result {
	out := rFalse
	dn := st.subj.DN
	for i := range c.items {
		it := &c.items[i]
		var r result
		switch it.kind {
		case udnAnyone:
			return rTrue
		case udnAll:
			r = boolResult(dn != "")
		case udnSelf:
			r = boolResult(dn != "" && dn == st.req.TargetDN)
		case udnParent:
			r = boolResult(dn != "" && st.req.TargetDN != "" && dn == ldapfilter.ParentDN(st.req.TargetDN))
		case udnDN:
			r = boolResult(dn != "" && it.pat.matches(dn))
		case udnURL:
			r = it.url.matchSubject(st)
		}
		if r == rTrue {
			return rTrue
		}
		out = or3(out, r)
	}
	return out
}

func (c *userDNCond) note(st *evalState) string {
	if st.subj.DN == "" {
		return "anonymous subject"
	}
	return "bound as " + st.subj.DN
}

func boolResult(b bool) result {
	if b {
		return rTrue
	}
	return rFalse
}

func parseGroupDN(v string) (string, error) {
	rest, ok := cutLDAPPrefix(v)
	if !ok {
		return "", errors.New(`groupdn value must be an LDAP URL "ldap:///groupDN"`)
	}
	if strings.ContainsAny(rest, "?*") {
		return "", errors.New("groupdn takes a plain group DN: no wildcards, scope or filter")
	}
	dn, err := ldapfilter.NormalizeDN(strings.TrimSpace(rest))
	if err != nil {
		return "", fmt.Errorf("invalid group DN: %v", err)
	}
	if dn == "" {
		return "", errors.New("groupdn needs a group DN")
	}
	return dn, nil
}

type groupDNCond struct{ groups []string }

func compileGroupDN(vals []string) (condEval, error) {
	c := &groupDNCond{}
	for _, v := range vals {
		dn, err := parseGroupDN(v)
		if err != nil {
			return nil, err
		}
		c.groups = append(c.groups, dn)
	}
	return c, nil
}

func (c *groupDNCond) eval(st *evalState) result {
	out := rFalse
	for _, g := range c.groups {
		r := st.memberOf(g)
		if r == rTrue {
			return rTrue
		}
		out = or3(out, r)
	}
	return out
}

func (c *groupDNCond) note(st *evalState) string {
	if st.subj.DN == "" {
		return "anonymous subject is in no group"
	}
	return ""
}

// maxGroups bounds the nested-group closure of one subject; beyond it the
// closure counts as incomplete and a group not found in it is undefined.
const maxGroups = 4096

func (st *evalState) cache() *subjectCache {
	if st.subj.cache == nil {
		st.subj.cache = &subjectCache{}
	}
	return st.subj.cache
}

// subjectEntry returns the bind user's entry, looked up once per subject.
func (st *evalState) subjectEntry() (Entry, error) {
	c := st.cache()
	if !c.entryLoaded {
		c.entryLoaded = true
		if st.dir == nil {
			c.entryErr = errors.New("no directory to look up the bind entry")
		} else {
			c.entry, c.entryErr = st.dir.Entry(st.subj.DN)
		}
	}
	return c.entry, c.entryErr
}

// memberOf reports whether the subject is a member of the group, through
// static nesting (member, uniqueMember) and dynamic groups (memberURL),
// with cycles handled: it computes, once per subject, every group the
// subject belongs to, walking up from the subject.
func (st *evalState) memberOf(group string) result {
	if st.subj.DN == "" {
		return rFalse
	}
	groups, incomplete := st.groups()
	if groups[group] {
		return rTrue
	}
	if incomplete {
		return rUndefined
	}
	return rFalse
}

// groups is every group the subject belongs to, worked out once per
// subject, and whether that closure may be incomplete.
func (st *evalState) groups() (map[string]bool, bool) {
	c := st.cache()
	if !c.groupsLoaded {
		c.groupsLoaded = true
		c.groups, c.groupsErr = st.groupClosure()
	}
	return c.groups, c.groupsErr
}

func (st *evalState) groupClosure() (map[string]bool, bool) {
	groups := map[string]bool{}
	if st.dir == nil {
		return groups, true
	}
	incomplete := false
	queue := []string{st.subj.DN}
	dyn, err := st.dir.DynamicGroups()
	if err != nil {
		incomplete = true
	}
	for _, g := range dyn {
		e, err := st.dir.Entry(g)
		if err != nil {
			incomplete = true
			continue
		}
		if e == nil {
			continue
		}
		for _, v := range e.Values("memberurl") {
			u, err := parseLDAPURL(v)
			if err != nil {
				continue // a broken memberURL names nobody
			}
			if r := u.matchSubject(st); r == rTrue {
				if !groups[g] {
					groups[g] = true
					queue = append(queue, g)
				}
				break
			} else if r == rUndefined {
				incomplete = true
			}
		}
	}
	for len(queue) > 0 {
		dn := queue[0]
		queue = queue[1:]
		parents, err := st.dir.ParentGroups(dn)
		if err != nil {
			incomplete = true
			continue
		}
		for _, p := range parents {
			if groups[p] {
				continue // seen: this is where cycles end
			}
			if len(groups) >= maxGroups {
				return groups, true
			}
			groups[p] = true
			queue = append(queue, p)
		}
	}
	return groups, incomplete
}
