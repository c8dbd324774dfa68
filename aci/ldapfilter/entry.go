package ldapfilter

// MapEntry is a ready-made [Entry] backed by a map whose keys are
// lowercased attribute types; build one with [NewMapEntry].
type MapEntry struct {
	Name  string              // the entry's DN
	Attrs map[string][]string // values by lowercased attribute type
}

// NewMapEntry returns a MapEntry for dn with attrs re-keyed by lowercased
// attribute type without options; values of keys that collide
// ("CN" and "cn") are merged in no particular order.
func NewMapEntry(dn string, attrs map[string][]string) MapEntry {
	m := MapEntry{Name: dn, Attrs: make(map[string][]string, len(attrs))}
	for k, vs := range attrs {
		key := attrKey(k)
		m.Attrs[key] = append(m.Attrs[key], vs...)
	}
	return m
}

// DN returns the entry's DN.
func (m MapEntry) DN() string { return m.Name }

// Values returns the stored values of attr, which must be lowercased.
func (m MapEntry) Values(attr string) []string { return m.Attrs[attr] }
