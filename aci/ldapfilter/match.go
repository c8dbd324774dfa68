package ldapfilter

import (
	"bytes"
	"time"
)

// Result is the three-valued outcome of evaluating a filter (RFC 4511
// section 4.5.1.7).
type Result int8

// The values of Result.
const (
	False     Result = iota // the entry does not match
	True                    // the entry matches
	Undefined               // the match cannot be decided; an ACI treats it as no match
)

// String returns "FALSE", "TRUE" or "UNDEFINED".
func (r Result) String() string {
	switch r {
	case False:
		return "FALSE"
	case True:
		return "TRUE"
	case Undefined:
		return "UNDEFINED"
	}
	return "Result(?)"
}

// Entry is what a filter is evaluated against.
type Entry interface {
	// DN returns the entry's distinguished name in any valid form.
	DN() string
	// Values returns the values of an attribute. The matcher always asks
	// with the lowercased attribute type without options ("cn", never "CN"
	// or "cn;lang-en"), so implementations must store attributes under
	// lowercased names. The matcher does not modify or keep the slice.
	Values(attr string) []string
}

// PartialEntry is an Entry read with some of its attributes only, as a
// search that names the attributes it wants returns it. Holds reports
// whether the entry carries every value the directory has of attr (a
// lowercased attribute type, as Values is asked): true when attr was read,
// whether or not it has values. A filter that names an attribute the entry
// does not hold cannot be decided on it: Match returns Undefined rather
// than guess from an absence that may only mean "not read".
type PartialEntry interface {
	Entry
	Holds(attr string) bool
}

// Lacks returns the first of attrs that e does not hold, or "" when e holds
// them all (an Entry that is not a PartialEntry holds every attribute).
func Lacks(e Entry, attrs []string) string {
	p, ok := e.(PartialEntry)
	if !ok {
		return ""
	}
	for _, a := range attrs {
		if !p.Holds(a) {
			return a
		}
	}
	return ""
}

// Match evaluates f against e. Callers that evaluate one filter many times
// should [Compile] it once instead.
func Match(f Filter, e Entry) Result {
	return Compile(f).Match(e)
}

// Compiled is a filter prepared for repeated evaluation: attribute names
// are lowercased and assertion values prepared for their syntax once, so
// that Match allocates nothing in the common cases. A Compiled is safe for
// concurrent use.
type Compiled struct {
	src   Filter
	root  cnode
	attrs []string // the attribute types the filter reads
}

// Compile prepares f for evaluation. It never fails: assertions that are
// invalid for their attribute's syntax evaluate to Undefined.
func Compile(f Filter) *Compiled {
	return &Compiled{src: f, root: compileNode(f), attrs: Attributes(f)}
}

// Attributes returns the attribute types the filter reads, lowercased.
func (c *Compiled) Attributes() []string { return c.attrs }

// Filter returns the filter c was compiled from.
func (c *Compiled) Filter() Filter { return c.src }

// Match evaluates the compiled filter against e: Undefined when e is a
// PartialEntry that does not hold every attribute the filter reads.
func (c *Compiled) Match(e Entry) Result {
	if Lacks(e, c.attrs) != "" {
		return Undefined
	}
	return c.root.match(e)
}

// opKind is the operation of a compiled node.
type opKind uint8

const (
	opUndefined opKind = iota // always Undefined: no rule for the operator or invalid assertion
	opAnd
	opOr
	opNot
	opEqual
	opApprox
	opGreaterOrEqual
	opLessOrEqual
	opPresent
	opSubstrings
	opExtensible
	opDNSubtree  // entryDN:dnSubtreeMatch: the entry is at or below the DN
	opDNOneLevel // entryDN:dnOneLevelMatch: the entry is a child of the DN
)

// cnode is a compiled filter node.
type cnode struct {
	op      opKind
	syn     Syntax    // how values compare
	prep    prepFlags // how string values are prepared before comparing
	dnAttrs bool      // extensible ":dn:"
	attr    string    // lowercased attribute type without options
	kids    []cnode
	val     []byte    // prepared assertion of the string, octet and DN syntaxes
	num     integer   // assertion of SyntaxInteger
	tm      time.Time // assertion of SyntaxGeneralizedTime
	boolean bool      // assertion of SyntaxBoolean
	initial []byte    // prepared substring pieces
	any     [][]byte
	final   []byte
}

func compileNode(f Filter) cnode {
	switch v := Unptr(f).(type) {
	case And:
		n := cnode{op: opAnd, kids: make([]cnode, len(v.Filters))}
		for i, c := range v.Filters {
			n.kids[i] = compileNode(c)
		}
		return n
	case Or:
		n := cnode{op: opOr, kids: make([]cnode, len(v.Filters))}
		for i, c := range v.Filters {
			n.kids[i] = compileNode(c)
		}
		return n
	case Not:
		return cnode{op: opNot, kids: []cnode{compileNode(v.Filter)}}
	case Equality:
		return compileAssertion(opEqual, attrKey(v.Attr), v.Value)
	case Approx:
		return compileAssertion(opApprox, attrKey(v.Attr), v.Value)
	case GreaterOrEqual:
		return compileAssertion(opGreaterOrEqual, attrKey(v.Attr), v.Value)
	case LessOrEqual:
		return compileAssertion(opLessOrEqual, attrKey(v.Attr), v.Value)
	case Present:
		return cnode{op: opPresent, attr: attrKey(v.Attr)}
	case Substrings:
		return compileSubstrings(v)
	case Extensible:
		return compileExtensible(v)
	}
	return cnode{op: opUndefined}
}

// compileAssertion compiles an equality, approx, ordering or extensible
// item with the syntax of the attribute key.
func compileAssertion(op opKind, key, value string) cnode {
	return compileWithSyntax(op, key, syntaxOfKey(key), value)
}

func compileWithSyntax(op opKind, key string, syn Syntax, value string) cnode {
	n := cnode{op: op, syn: syn, attr: key}
	ordering := op == opGreaterOrEqual || op == opLessOrEqual
	var ok bool
	switch syn {
	case SyntaxCaseIgnore, SyntaxCaseExact:
		switch {
		case op == opApprox:
			n.prep = prepFold | prepNoSpace
		case syn == SyntaxCaseIgnore:
			n.prep = prepEqual
		default:
			n.prep = prepTrimLeft | prepTrimRight
		}
		n.val = appendPrepared(nil, value, n.prep)
		return n
	case SyntaxOctetString:
		n.val = []byte(value)
		return n
	case SyntaxDN:
		if ordering {
			return cnode{op: opUndefined}
		}
		n.val = appendDNOrFold(nil, value)
		return n
	case SyntaxInteger:
		n.num, ok = parseInteger(value)
	case SyntaxGeneralizedTime:
		n.tm, ok = parseGeneralizedTime(value)
	case SyntaxBoolean:
		n.boolean, ok = parseBoolean(value)
		ok = ok && !ordering
	}
	if !ok {
		return cnode{op: opUndefined}
	}
	return n
}

func compileSubstrings(f Substrings) cnode {
	key := attrKey(f.Attr)
	n := cnode{op: opSubstrings, syn: syntaxOfKey(key), attr: key}
	var prep func(s string, flags prepFlags) []byte
	switch n.syn {
	case SyntaxCaseIgnore:
		n.prep = prepEqual
		prep = func(s string, flags prepFlags) []byte { return appendPrepared(nil, s, prepFold|flags) }
	case SyntaxCaseExact:
		n.prep = prepTrimLeft | prepTrimRight
		prep = func(s string, flags prepFlags) []byte { return appendPrepared(nil, s, flags) }
	case SyntaxOctetString:
		prep = func(s string, _ prepFlags) []byte { return []byte(s) }
	case SyntaxDN:
		prep = func(s string, _ prepFlags) []byte { return appendFold(nil, s) }
	default:
		return cnode{op: opUndefined}
	}
	n.initial = prep(f.Initial, prepTrimLeft)
	for _, a := range f.Any {
		if p := prep(a, 0); len(p) > 0 {
			n.any = append(n.any, p)
		}
	}
	n.final = prep(f.Final, prepTrimRight)
	return n
}

// DNSubtreeMatch and DNOneLevelMatch name OpenLDAP's matching rules that
// test where an entry's DN (entryDN) sits: at or below a DN, or right
// below it.
const (
	DNSubtreeMatch  = "dnSubtreeMatch"
	DNOneLevelMatch = "dnOneLevelMatch"
)

// dnStructureRule recognises DNSubtreeMatch and DNOneLevelMatch by name.
func dnStructureRule(rule string) (opKind, bool) {
	switch attrKey(rule) {
	case "dnsubtreematch":
		return opDNSubtree, true
	case "dnonelevelmatch":
		return opDNOneLevel, true
	}
	return 0, false
}

// ruleSyntax maps a supported matching rule name or OID to the syntax whose
// equality it performs.
func ruleSyntax(rule string) (Syntax, bool) {
	switch attrKey(rule) {
	case "caseignorematch", "2.5.13.2", "caseignoreia5match", "1.3.6.1.4.1.1466.109.114.2":
		return SyntaxCaseIgnore, true
	case "caseexactmatch", "2.5.13.5", "caseexactia5match", "1.3.6.1.4.1.1466.109.114.1":
		return SyntaxCaseExact, true
	case "distinguishednamematch", "2.5.13.1":
		return SyntaxDN, true
	case "booleanmatch", "2.5.13.13":
		return SyntaxBoolean, true
	case "integermatch", "2.5.13.14":
		return SyntaxInteger, true
	case "octetstringmatch", "2.5.13.17":
		return SyntaxOctetString, true
	case "generalizedtimematch", "2.5.13.27":
		return SyntaxGeneralizedTime, true
	}
	return 0, false
}

func compileExtensible(f Extensible) cnode {
	key := attrKey(f.Attr)
	if op, ok := dnStructureRule(f.Rule); ok {
		// OpenLDAP's rules on entryDN: where the entry sits in the tree.
		n, err := NormalizeDN(f.Value)
		if key != "entrydn" || f.DNAttributes || err != nil {
			return cnode{op: opUndefined}
		}
		return cnode{op: op, attr: key, val: []byte(n)}
	}
	syn := syntaxOfKey(key)
	if f.Rule != "" {
		var ok bool
		if syn, ok = ruleSyntax(f.Rule); !ok {
			return cnode{op: opUndefined}
		}
	}
	n := compileWithSyntax(opExtensible, key, syn, f.Value)
	n.dnAttrs = f.DNAttributes
	return n
}

// match evaluates the node with Kleene logic.
func (n *cnode) match(e Entry) Result {
	switch n.op {
	case opAnd:
		res := True
		for i := range n.kids {
			switch n.kids[i].match(e) {
			case False:
				return False
			case Undefined:
				res = Undefined
			}
		}
		return res
	case opOr:
		res := False
		for i := range n.kids {
			switch n.kids[i].match(e) {
			case True:
				return True
			case Undefined:
				res = Undefined
			}
		}
		return res
	case opNot:
		switch n.kids[0].match(e) {
		case True:
			return False
		case False:
			return True
		}
		return Undefined
	case opPresent:
		if len(e.Values(n.attr)) > 0 || n.attr == "entrydn" && e.DN() != "" {
			return True
		}
		return False
	case opExtensible:
		return n.matchExtensible(e)
	case opDNSubtree, opDNOneLevel:
		return n.matchDNStructure(e)
	case opUndefined:
		return Undefined
	}
	return n.matchValues(e)
}

// matchDNStructure places the entry's DN (its entryDN, else DN()) against
// the node's normalized DN.
func (n *cnode) matchDNStructure(e Entry) Result {
	dn := e.DN()
	if vals := e.Values("entrydn"); len(vals) > 0 {
		dn = vals[0]
	}
	d, err := NormalizeDN(dn)
	if err != nil {
		return Undefined
	}
	if n.op == opDNSubtree {
		return boolResult(IsDescendant(d, string(n.val)))
	}
	return boolResult(d != "" && ParentDN(d) == string(n.val))
}

// matchValues is True when some value of the node's attribute matches,
// else Undefined when some value could not be compared, else False.
func (n *cnode) matchValues(e Entry) Result {
	vals := e.Values(n.attr)
	if len(vals) == 0 && n.attr == "entrydn" {
		if dn := e.DN(); dn != "" {
			return n.matchValue(dn)
		}
	}
	res := False
	for _, v := range vals {
		switch n.matchValue(v) {
		case True:
			return True
		case Undefined:
			res = Undefined
		}
	}
	return res
}

func (n *cnode) matchExtensible(e Entry) Result {
	res := False
	if n.attr == "" {
		// The attributes supporting the rule cannot be listed.
		res = Undefined
	} else if res = n.matchValues(e); res == True {
		return True
	}
	if n.dnAttrs {
		switch n.matchDNAttributes(e.DN()) {
		case True:
			return True
		case Undefined:
			res = Undefined
		}
	}
	return res
}

// matchDNAttributes applies the node's rule to the AVAs of dn whose type is
// the node's attribute (any type when it has none).
func (n *cnode) matchDNAttributes(dn string) Result {
	p := dnParser{s: dn}
	p.skipSpaces()
	if p.pos == len(dn) {
		return False
	}
	var buf [128]byte
	res := False
	for {
		a, err := p.next(buf[:0])
		if err != nil {
			return Undefined
		}
		if n.attr == "" || equalFoldASCII(a.typ, n.attr) {
			switch n.matchValue(string(a.val)) {
			case True:
				return True
			case Undefined:
				res = Undefined
			}
		}
		if a.sep == 0 {
			return res
		}
	}
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// matchValue compares one stored value with the node's assertion.
func (n *cnode) matchValue(v string) Result {
	switch n.syn {
	case SyntaxInteger:
		x, ok := parseInteger(v)
		if !ok {
			return Undefined
		}
		return n.ordered(x.cmp(n.num))
	case SyntaxGeneralizedTime:
		t, ok := parseGeneralizedTime(v)
		if !ok {
			return Undefined
		}
		return n.ordered(t.Compare(n.tm))
	case SyntaxBoolean:
		b, ok := parseBoolean(v)
		if !ok {
			return Undefined
		}
		return result(b == n.boolean)
	}
	var buf [256]byte
	var b []byte
	switch n.syn {
	case SyntaxOctetString:
		b = append(buf[:0], v...)
	case SyntaxDN:
		b = appendDNOrFold(buf[:0], v)
	default:
		b = appendPrepared(buf[:0], v, n.prep)
	}
	if n.op == opSubstrings {
		return result(n.substrings(b))
	}
	return n.ordered(bytes.Compare(b, n.val))
}

// ordered turns the comparison of a stored value with the assertion into
// the node's result.
func (n *cnode) ordered(c int) Result {
	switch n.op {
	case opGreaterOrEqual:
		return result(c >= 0)
	case opLessOrEqual:
		return result(c <= 0)
	}
	return result(c == 0)
}

// substrings reports whether the prepared value v contains the node's
// pieces in order.
func (n *cnode) substrings(v []byte) bool {
	if !bytes.HasPrefix(v, n.initial) {
		return false
	}
	v = v[len(n.initial):]
	for _, a := range n.any {
		i := bytes.Index(v, a)
		if i < 0 {
			return false
		}
		v = v[i+len(a):]
	}
	return bytes.HasSuffix(v, n.final)
}

func result(b bool) Result {
	if b {
		return True
	}
	return False
}

func boolResult(b bool) Result {
	if b {
		return True
	}
	return False
}

// ItemDecided reports how a filter item (not And, Or or Not) can evaluate:
// decided is true when it is True or False on every entry, never Undefined
// (presence, and the string, octet-string and DN syntaxes, whose stored
// values always compare, with an assertion valid for the syntax);
// undefined is true when it is Undefined on every entry (an assertion the
// syntax cannot take). Items of the other syntaxes may be Undefined on an
// entry holding a value that is not valid for the syntax: neither is set.
func ItemDecided(f Filter) (decided, undefined bool) {
	n := compileNode(f)
	switch n.op {
	case opUndefined:
		return false, true
	case opPresent, opDNSubtree, opDNOneLevel:
		return true, false
	case opEqual, opApprox, opGreaterOrEqual, opLessOrEqual, opSubstrings:
		switch n.syn {
		case SyntaxCaseIgnore, SyntaxCaseExact, SyntaxOctetString, SyntaxDN:
			return true, false
		}
	}
	return false, false
}
