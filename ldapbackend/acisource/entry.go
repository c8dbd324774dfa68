package acisource

import (
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
// (aci.PartialEntry) what read says. Every entry the engine decides on
// is built here or by NewEntry. Values read does not
// hold (userPassword, for the directory cache) are dropped.
func Adapt(e *ldap.Entry, read *ReadSet) *Entry {
	dn, err := ldapfilter.NormalizeDN(e.DN)
	if err != nil {
		dn = e.DN
	}
	out := &Entry{dn: dn, attrs: make(map[string][]string, len(e.Attributes)), read: read}
	for _, a := range e.Attributes {
		k := aci.CanonicalAttr(a.Name)
		if read.without[k] {
			continue
		}
		if prev, ok := out.attrs[k]; ok {
			out.attrs[k] = append(prev[:len(prev):len(prev)], a.Values...)
		} else {
			out.attrs[k] = a.Values // shared with e, which nothing changes
		}
	}
	return out
}

// Entry is the aci.PartialEntry built by NewEntry.
type Entry struct {
	dn    string
	attrs map[string][]string
	read  *ReadSet
}

func (e *Entry) DN() string                  { return e.dn }
func (e *Entry) Values(attr string) []string { return e.attrs[aci.CanonicalAttr(attr)] }

// Holds implements aci.PartialEntry: the search asked for attr.
func (e *Entry) Holds(attr string) bool { return e.read.holds(attr) }

// ReadSet is what one search asked the directory for, worked out once for
// every entry it returns.
type ReadSet struct {
	names   map[string]bool // canonical names listed
	allUser bool            // "*": every user attribute
	allOper bool            // "+": every operational attribute (RFC 3673)
	without map[string]bool // canonical names dropped after the read
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

// holds reports whether an entry the search returned carries every value
// of attr. "*" is trusted for the attributes the engine itself counts as
// user attributes only: a directory may class others as operational.
func (s *ReadSet) holds(attr string) bool {
	a := aci.CanonicalAttr(attr)
	switch {
	case s.without[a]:
		return false
	case s.names[a]:
		return true
	case aci.IsOperational(a):
		return s.allOper
	}
	return s.allUser
}
