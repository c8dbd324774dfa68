package acisource

import (
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// NewEntry adapts a search result entry to aci.Entry: its DN normalized with
// ldapfilter.NormalizeDN (kept as received if it does not parse) and its values
// found by aci.CanonicalAttr of the name asked for, so "commonName", "CN" and
// "cn;lang-en" all find cn. requested is the attribute list the search asked
// for: the entry holds those (aci.PartialEntry) and no others, so the engine
// never decides on an attribute that was simply not read.
func NewEntry(e *ldap.Entry, requested []string) aci.Entry {
	return Adapt(e, NewReadSet(requested))
}

// Adapt adapts e, read as read says, for the engine: the entry holds
// (aci.PartialEntry) what read says, less what the directory did not
// return whole. Every entry the engine decides on is built here or by
// NewEntry. Values read does not hold (userPassword, for the directory
// cache) are dropped.
//
// The directory returns an attribute under the name its schema gives it
// first, whatever name was asked for: an ACI naming employeeType by OID or
// co as friendlyCountryName would find no value under the name it reads.
// Without the schema, the sign is an attribute that comes back although no
// name asked for it: then every attribute asked for by name that did not
// come back may be that one under another name, and the entry does not
// hold any of them (the engine fails closed). An attribute returned in a
// range (Active Directory's "member;range=0-1499") is not held either.
func Adapt(e *ldap.Entry, read *ReadSet) *Entry {
	dn, err := ldapfilter.NormalizeDN(e.DN)
	if err != nil {
		dn = e.DN
	}
	out := &Entry{dn: dn, attrs: make(map[string][]string, len(e.Attributes)), read: read}
	var unexpected []string
	for _, a := range e.Attributes {
		k := aci.CanonicalAttr(a.Name)
		if !read.expects(k) {
			unexpected = append(unexpected, a.Name)
		}
		if ranged(a.Name) {
			out.lack(k)
		}
		if read.without[k] {
			continue
		}
		if prev, ok := out.attrs[k]; ok {
			out.attrs[k] = append(prev[:len(prev):len(prev)], a.Values...)
		} else {
			out.attrs[k] = a.Values // shared with e, which nothing changes
		}
	}
	if unexpected != nil {
		var missing []string
		for k := range read.names {
			if _, ok := out.attrs[k]; !ok && !read.without[k] {
				out.lack(k)
				missing = append(missing, k)
			}
		}
		if read.onUnexpected != nil {
			slices.Sort(missing)
			for _, name := range unexpected {
				read.onUnexpected(name, missing)
			}
		}
	}
	return out
}

// ranged reports whether the attribute description name carries a range
// option (";range=low-high"): its values are one chunk of the attribute's.
func ranged(name string) bool {
	i := strings.IndexByte(name, ';')
	if i < 0 {
		return false
	}
	for _, opt := range strings.Split(name[i+1:], ";") {
		if len(opt) >= 6 && strings.EqualFold(opt[:6], "range=") {
			return true
		}
	}
	return false
}

// Entry is the aci.PartialEntry built by NewEntry.
type Entry struct {
	dn    string
	attrs map[string][]string
	read  *ReadSet
	lacks map[string]bool // canonical names the read asked for but did not get whole
}

func (e *Entry) lack(k string) {
	if e.lacks == nil {
		e.lacks = map[string]bool{}
	}
	e.lacks[k] = true
}

func (e *Entry) DN() string                  { return e.dn }
func (e *Entry) Values(attr string) []string { return e.attrs[aci.CanonicalAttr(attr)] }

// Holds implements aci.PartialEntry: the search asked for attr and the
// directory returned it whole, under a name the engine recognises.
func (e *Entry) Holds(attr string) bool {
	a := aci.CanonicalAttr(attr)
	if e.lacks[a] || !e.read.holds(a) {
		return false
	}
	if isOID(a) {
		// The directory returns an attribute under its schema name, which
		// the engine cannot know (the aliases it knows are resolved
		// already): an OID is held only if it came back under the OID
		// itself (an attribute the schema gives no name). Asked for by
		// name or not: when another name asked for (by a mapping) is the
		// same attribute, the directory's answer carries no sign of it.
		_, ok := e.attrs[a]
		return ok
	}
	return true
}

// Filtered reports whether e was read under the directory's own access
// control for another identity (ReadSet.Filtered): what it lacks may be
// there all the same.
func (e *Entry) Filtered() bool { return e.read.filtered }

// Completed is full, the service account's view of the entry e was read
// from under proxied authorization (Filtered), less what e showed the
// directory does not return whole or under the name asked for (Adapt): a
// view read with "*" and "+" cannot tell an attribute named by an alias
// from an absent one, but the read of e, by name, could.
func (e *Entry) Completed(full aci.Entry) aci.Entry {
	if len(e.lacks) == 0 {
		return full
	}
	return completed{Entry: full, lacks: e.lacks}
}

// completed is an entry that holds what its Entry holds less lacks.
type completed struct {
	aci.Entry
	lacks map[string]bool
}

// Holds implements aci.PartialEntry.
func (c completed) Holds(attr string) bool {
	if c.lacks[aci.CanonicalAttr(attr)] {
		return false
	}
	if p, ok := c.Entry.(aci.PartialEntry); ok {
		return p.Holds(attr)
	}
	return true
}

// isOID reports whether a is a numeric OID (2.5.4.3) rather than a name.
func isOID(a string) bool {
	if a == "" || a[0] < '0' || a[0] > '9' {
		return false
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// ReadSet is what one search asked the directory for, worked out once for
// every entry it returns. Its maps are never changed once built, so copies
// (Filtered, OnUnexpected) share them.
type ReadSet struct {
	names   map[string]bool // canonical names listed
	allUser bool            // "*": every user attribute
	allOper bool            // "+": every operational attribute (RFC 3673)
	without map[string]bool // canonical names dropped after the read
	// filtered: the directory answered for another identity and may have
	// left out what it may not read; hidden lists what is then not held.
	filtered bool
	hidden   map[string]bool
	// onUnexpected is told of each attribute an entry came back with that
	// nothing asked for (Adapt), and of the names asked for that did not
	// come back.
	onUnexpected func(returned string, missing []string)
}

// NewReadSet describes a search for attrs; without names attributes that
// are dropped from what it returns.
func NewReadSet(attrs []string, without ...string) *ReadSet {
	s := &ReadSet{names: make(map[string]bool, len(attrs))}
	for _, a := range attrs {
		switch a {
		case "*":
			s.allUser = true
		case "+":
			s.allOper = true
		case "1.1":
		default:
			s.names[aci.CanonicalAttr(a)] = true
		}
	}
	for _, a := range without {
		if s.without == nil {
			s.without = map[string]bool{}
		}
		s.without[aci.CanonicalAttr(a)] = true
	}
	return s
}

// Filtered returns s for a search the directory answers under its own
// access control for another identity (proxied authorization, RFC 4370):
// it may leave out, and say nothing, any attribute or value that identity
// may not read. The entries hold none of attrs (the attributes the ACIs
// read of an entry, aci.Set.EntryAttributes), so that the engine never
// decides on what the directory may have hidden.
func (s *ReadSet) Filtered(attrs []string) *ReadSet {
	c := *s
	c.filtered = true
	c.hidden = make(map[string]bool, len(attrs))
	for _, a := range attrs {
		c.hidden[aci.CanonicalAttr(a)] = true
	}
	return &c
}

// OnUnexpected returns s telling f of each attribute an entry comes back
// with that no name asked for (a sign that the directory renamed one that
// was asked for), with the canonical names asked for that did not come
// back. f is called from every goroutine that adapts entries.
func (s *ReadSet) OnUnexpected(f func(returned string, missing []string)) *ReadSet {
	c := *s
	c.onUnexpected = f
	return &c
}

// expects reports whether the search asked for the attribute with the
// canonical name a, by that name or by "*" or "+".
func (s *ReadSet) expects(a string) bool {
	if s.names[a] {
		return true
	}
	if aci.IsOperational(a) {
		return s.allOper
	}
	return s.allUser
}

// holds reports whether an entry the search returned carries every value
// of attr. "*" is trusted for the attributes the engine itself counts as
// user attributes only: a directory may class others as operational.
func (s *ReadSet) holds(attr string) bool {
	a := aci.CanonicalAttr(attr)
	switch {
	case s.without[a], s.hidden[a]:
		return false
	case s.names[a]:
		return true
	case aci.IsOperational(a):
		return s.allOper
	}
	return s.allUser
}
