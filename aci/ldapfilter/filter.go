package ldapfilter

// Filter is a node of a parsed search filter. The set of node types is
// closed: [And], [Or], [Not], [Equality], [Approx], [GreaterOrEqual],
// [LessOrEqual], [Present], [Substrings] and [Extensible]. Functions taking
// a Filter also accept pointers to these types. A nil operand prints as
// nothing and evaluates to Undefined.
type Filter interface {
	// String returns the canonical RFC 4515 text of the filter.
	String() string
	filter()
}

// And is true when all of its filters are; "(&)" is absolute true.
type And struct{ Filters []Filter }

// Or is true when any of its filters is; "(|)" is absolute false.
type Or struct{ Filters []Filter }

// Not negates its filter; Undefined stays Undefined.
type Not struct{ Filter Filter }

// Equality is "(attr=value)".
type Equality struct{ Attr, Value string }

// Approx is "(attr~=value)".
type Approx struct{ Attr, Value string }

// GreaterOrEqual is "(attr>=value)".
type GreaterOrEqual struct{ Attr, Value string }

// LessOrEqual is "(attr<=value)".
type LessOrEqual struct{ Attr, Value string }

// Present is "(attr=*)".
type Present struct{ Attr string }

// Substrings is "(attr=initial*any1*any2*final)"; empty Initial or Final
// mean no constraint, and Any holds the non-empty middle pieces in order.
type Substrings struct {
	Attr, Initial string
	Any           []string
	Final         string
}

// Extensible is "(attr:dn:rule:=value)"; Attr or Rule may be empty (not
// both), and DNAttributes is the ":dn:" flag.
type Extensible struct {
	Attr, Rule   string
	DNAttributes bool
	Value        string
}

func (And) filter()            {}
func (Or) filter()             {}
func (Not) filter()            {}
func (Equality) filter()       {}
func (Approx) filter()         {}
func (GreaterOrEqual) filter() {}
func (LessOrEqual) filter()    {}
func (Present) filter()        {}
func (Substrings) filter()     {}
func (Extensible) filter()     {}

// Unptr turns a pointer to a node into the node so that type switches need
// only the value cases; a nil pointer becomes a nil Filter.
func Unptr(f Filter) Filter {
	switch v := f.(type) {
	case *And:
		if v != nil {
			return *v
		}
	case *Or:
		if v != nil {
			return *v
		}
	case *Not:
		if v != nil {
			return *v
		}
	case *Equality:
		if v != nil {
			return *v
		}
	case *Approx:
		if v != nil {
			return *v
		}
	case *GreaterOrEqual:
		if v != nil {
			return *v
		}
	case *LessOrEqual:
		if v != nil {
			return *v
		}
	case *Present:
		if v != nil {
			return *v
		}
	case *Substrings:
		if v != nil {
			return *v
		}
	case *Extensible:
		if v != nil {
			return *v
		}
	default:
		return f
	}
	return nil
}

// Attributes returns the distinct attribute types the filter names,
// lowercased and without options, in order of first use. Extensible items
// without an attribute contribute nothing.
func Attributes(f Filter) []string {
	var out []string
	var walk func(Filter)
	add := func(attr string) {
		if attr == "" {
			return
		}
		a := attrKey(attr)
		for _, seen := range out {
			if seen == a {
				return
			}
		}
		out = append(out, a)
	}
	walk = func(f Filter) {
		switch v := Unptr(f).(type) {
		case And:
			for _, c := range v.Filters {
				walk(c)
			}
		case Or:
			for _, c := range v.Filters {
				walk(c)
			}
		case Not:
			walk(v.Filter)
		case Equality:
			add(v.Attr)
		case Approx:
			add(v.Attr)
		case GreaterOrEqual:
			add(v.Attr)
		case LessOrEqual:
			add(v.Attr)
		case Present:
			add(v.Attr)
		case Substrings:
			add(v.Attr)
		case Extensible:
			add(v.Attr)
		}
	}
	walk(f)
	return out
}

// attrKey is the lookup key of an attribute description: the attribute
// type lowercased, options dropped.
func attrKey(attr string) string {
	for i := 0; i < len(attr); i++ {
		if attr[i] == ';' {
			attr = attr[:i]
			break
		}
	}
	for i := 0; i < len(attr); i++ {
		if c := attr[i]; 'A' <= c && c <= 'Z' {
			b := []byte(attr)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return attr
}
