package ldif

import (
	"fmt"
	"sort"
	"strings"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// Entry is an entry of a Tree.
type Entry struct {
	dn    string // normalized
	Name  string // DN as written
	attrs map[string][]string
}

// DN returns the normalized DN.
func (e *Entry) DN() string { return e.dn }

// Values returns the values of attr (any spelling or alias).
func (e *Entry) Values(attr string) []string { return e.attrs[aci.CanonicalAttr(attr)] }

// NewEntry builds an entry from a DN and attribute values, for requests
// about entries that are not in a tree (an add).
func NewEntry(dn string, attrs map[string][]string) (*Entry, error) {
	n, err := ldapfilter.NormalizeDN(dn)
	if err != nil {
		return nil, err
	}
	e := &Entry{dn: n, Name: dn, attrs: map[string][]string{}}
	for k, vs := range attrs {
		c := aci.CanonicalAttr(k)
		e.attrs[c] = append(e.attrs[c], vs...)
	}
	return e, nil
}

// Tree is an in-memory directory built from LDIF content records. It
// implements aci.Directory.
type Tree struct {
	entries map[string]*Entry
	order   []string
	parents map[string][]string // member DN -> static groups listing it
	dynamic []string
}

// NewTree builds a tree from content records (change records are an error).
func NewTree(recs []*Record) (*Tree, error) {
	t := &Tree{entries: map[string]*Entry{}, parents: map[string][]string{}}
	for _, r := range recs {
		if r.Change {
			return nil, fmt.Errorf("line %d: change records are not allowed in a directory tree", r.Line)
		}
		m := map[string][]string{}
		for _, a := range r.Attrs {
			m[a.Name] = append(m[a.Name], a.Value)
		}
		e, err := NewEntry(r.DN, m)
		if err != nil {
			return nil, fmt.Errorf("line %d: invalid DN %q: %v", r.Line, r.DN, err)
		}
		if _, dup := t.entries[e.dn]; dup {
			return nil, fmt.Errorf("line %d: entry %q appears twice", r.Line, r.DN)
		}
		t.entries[e.dn] = e
		t.order = append(t.order, e.dn)
	}
	for _, dn := range t.order {
		e := t.entries[dn]
		for _, attr := range []string{"member", "uniquemember"} {
			for _, v := range e.attrs[attr] {
				if attr == "uniquemember" {
					v = stripUID(v)
				}
				m, err := ldapfilter.NormalizeDN(v)
				if err != nil {
					continue
				}
				t.parents[m] = append(t.parents[m], dn)
			}
		}
		if len(e.attrs["memberurl"]) > 0 {
			t.dynamic = append(t.dynamic, dn)
		}
	}
	return t, nil
}

// stripUID drops the optional "#'...'B" unique identifier of a
// uniqueMember value.
func stripUID(v string) string {
	if i := strings.LastIndex(v, "#'"); i > 0 && strings.HasSuffix(v, "'B") {
		return v[:i]
	}
	return v
}

// Entry implements aci.Directory.
func (t *Tree) Entry(dn string) (aci.Entry, error) {
	e, ok := t.entries[dn]
	if !ok {
		return nil, nil
	}
	return e, nil
}

// ParentGroups implements aci.Directory.
func (t *Tree) ParentGroups(dn string) ([]string, error) { return t.parents[dn], nil }

// DynamicGroups implements aci.Directory.
func (t *Tree) DynamicGroups() ([]string, error) { return t.dynamic, nil }

// ACIs loads every aci value of the tree into b.
func (t *Tree) ACIs(b *aci.Builder) {
	for _, dn := range t.order {
		if vals := t.entries[dn].attrs["aci"]; len(vals) > 0 {
			b.Add(dn, vals...)
		}
	}
}

// DNs returns the normalized DNs of the tree's entries, sorted.
func (t *Tree) DNs() []string {
	out := append([]string(nil), t.order...)
	sort.Strings(out)
	return out
}
