package aci

import (
	"fmt"
	"sort"
	"sync"

	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// Set is a compiled, indexed collection of ACIs: those held by directory
// entries, keyed by the entry's normalized DN, and the global ones. The
// ACIs that apply to an entry are found by walking up its DN, so the cost
// of a check depends on the ACIs along that path, not on the size of the
// set. A Set is immutable and safe for concurrent use; changes produce a
// new Set.
type Set struct {
	byDN   map[string][]*Compiled
	global []*Compiled
	// oper names attributes treated as operational beside the engine's own
	// list, such as the attribute a directory keeps scimgate's ACIs in.
	oper map[string]bool
	// entryAttrs are the target-entry attributes any ACI of the set reads
	// (targetfilter, targattrfilters, userattr), computed on first use.
	entryAttrs     []string
	entryAttrsDone sync.Once
}

// LoadError is an ACI that could not be parsed or compiled, with where it
// was found.
type LoadError struct {
	EntryDN string // "" for a global ACI
	Index   int    // position among the entry's aci values (or the global ACIs)
	Value   string
	Err     error
}

func (e *LoadError) Error() string {
	if e.EntryDN == "" {
		return fmt.Sprintf("global ACI %d: %v", e.Index+1, e.Err)
	}
	return fmt.Sprintf("entry %q, aci value %d: %v", e.EntryDN, e.Index+1, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }

// Builder collects ACIs into a Set, keeping every error it meets.
type Builder struct {
	set  *Set
	errs []*LoadError
}

// NewBuilder starts an empty Set.
func NewBuilder() *Builder { return &Builder{set: &Set{byDN: map[string][]*Compiled{}}} }

// Operational makes the set treat the named attributes as operational, as
// the engine's own list does for aci: "*" and "!=" lists never cover them.
// Use it for an attribute holding ACIs under another name.
func (b *Builder) Operational(names ...string) {
	if b.set.oper == nil {
		b.set.oper = map[string]bool{}
	}
	for _, n := range names {
		b.set.oper[canonicalAttr(n)] = true
	}
}

// AddGlobal adds global ACIs, which apply to every entry.
func (b *Builder) AddGlobal(values ...string) {
	for _, v := range values {
		i := len(b.set.global)
		c, err := compileText(v, "", true, i)
		if err != nil {
			b.errs = append(b.errs, &LoadError{Index: i, Value: v, Err: err})
			continue
		}
		b.set.global = append(b.set.global, c)
	}
}

// Add adds the aci values held by the entry dn (in any DN spelling).
func (b *Builder) Add(dn string, values ...string) {
	ndn, err := ldapfilter.NormalizeDN(dn)
	if err != nil {
		b.errs = append(b.errs, &LoadError{EntryDN: dn, Err: fmt.Errorf("invalid entry DN: %v", err)})
		return
	}
	list, errs := compileEntry(ndn, values)
	b.errs = append(b.errs, errs...)
	if len(list) > 0 {
		b.set.byDN[ndn] = append(b.set.byDN[ndn], list...)
	}
}

// Build returns the Set and every error met. The Set holds the ACIs that
// compiled; a caller that must fail closed treats any error as fatal.
func (b *Builder) Build() (*Set, []*LoadError) {
	s := b.set
	b.set = &Set{byDN: map[string][]*Compiled{}, oper: s.oper}
	errs := b.errs
	b.errs = nil
	return s, errs
}

func compileText(v, entryDN string, global bool, index int) (*Compiled, error) {
	a, err := Parse(v)
	if err != nil {
		return nil, err
	}
	c, err := Compile(a, entryDN, global)
	if err != nil {
		return nil, err
	}
	c.Index = index
	c.setRef()
	return c, nil
}

func compileEntry(ndn string, values []string) ([]*Compiled, []*LoadError) {
	var list []*Compiled
	var errs []*LoadError
	for i, v := range values {
		c, err := compileText(v, ndn, false, i)
		if err != nil {
			errs = append(errs, &LoadError{EntryDN: ndn, Index: i, Value: v, Err: err})
			continue
		}
		list = append(list, c)
	}
	return list, errs
}

// Len is the number of ACIs in the set.
func (s *Set) Len() int {
	n := len(s.global)
	for _, list := range s.byDN {
		n += len(list)
	}
	return n
}

// Entries returns the normalized DNs of the entries that hold ACIs, sorted.
func (s *Set) Entries() []string {
	out := make([]string, 0, len(s.byDN))
	for dn := range s.byDN {
		out = append(out, dn)
	}
	sort.Strings(out)
	return out
}

// ACIs returns the compiled ACIs held by the entry (normalized DN).
func (s *Set) ACIs(dn string) []*Compiled { return s.byDN[dn] }

// Global returns the global ACIs.
func (s *Set) Global() []*Compiled { return s.global }

// WithEntry returns a new Set in which the entry dn (normalized) holds
// exactly the given aci values (none: the entry's ACIs are dropped). The
// receiver is unchanged. Values that fail to compile are reported and
// left out.
func (s *Set) WithEntry(dn string, values []string) (*Set, []*LoadError) {
	list, errs := compileEntry(dn, values)
	ns := &Set{byDN: make(map[string][]*Compiled, len(s.byDN)+1), global: s.global, oper: s.oper}
	for k, v := range s.byDN {
		ns.byDN[k] = v
	}
	if len(list) == 0 {
		delete(ns.byDN, dn)
	} else {
		ns.byDN[dn] = list
	}
	return ns, errs
}

// WithoutSubtree returns a new Set without the ACIs of dn and every entry
// below it (an entry deleted or moved away).
func (s *Set) WithoutSubtree(dn string) *Set {
	ns := &Set{byDN: make(map[string][]*Compiled, len(s.byDN)), global: s.global, oper: s.oper}
	for k, v := range s.byDN {
		if ldapfilter.IsDescendant(k, dn) {
			continue
		}
		ns.byDN[k] = v
	}
	return ns
}

// EntryAttributes lists, lowercased and sorted, the attributes of a target
// entry that some ACI of the set reads: those of targetfilter and
// targattrfilters filters and userattr rules. A caller that hands the
// engine partial entries must include at least these (and objectClass).
func (s *Set) EntryAttributes() []string {
	s.entryAttrsDone.Do(func() {
		seen := map[string]bool{}
		add := func(c *Compiled) {
			for _, a := range c.entryAttributes() {
				seen[a] = true
			}
		}
		for _, list := range s.byDN {
			for _, c := range list {
				add(c)
			}
		}
		for _, c := range s.global {
			add(c)
		}
		s.entryAttrs = sortedKeys(seen)
	})
	return s.entryAttrs
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
