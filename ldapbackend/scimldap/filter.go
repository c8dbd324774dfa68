package scimldap

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/scim/resource"
)

// RefResolver resolves resource ids to entry DNs, for filters on
// references (members.value, manager.value, groups.value).
type RefResolver interface {
	// DNsForIDs returns the DN of each id that names a resource of one of
	// refTypes; unknown ids are left out of the map.
	DNsForIDs(ctx context.Context, refTypes []string, ids []string) (map[string]string, error)
}

// Translated is a SCIM filter translated to LDAP.
type Translated struct {
	// Filter selects the matching entries; AND it with the type's own
	// filter.
	Filter ldapfilter.Filter
	// Attributes are the LDAP attributes the client's filter tests,
	// lowercased, without the id attribute, in order of first use: the
	// gateway checks the ACI search right on them. Parts of the filter
	// decided without looking at entries (a type nothing maps, an unknown
	// reference id, active pr) test nothing and contribute nothing.
	Attributes []string
}

// TranslateFilter translates a parsed SCIM filter (resource.ParseFilter)
// into an LDAP filter over the entries of mapping m (compiled).
//
// Attribute names match case-insensitively, with or without their schema
// URN (an unqualified extension attribute must be unambiguous); the core
// URN is "urn:ietf:params:scim:schemas:core:2.0:" + m.Name. id is
// m.IDAttr; meta.created and meta.lastModified are createTimestamp and
// modifyTimestamp; meta.resourceType is m.Name. Operators: eq is
// equality, ne its negation, co/sw/ew substrings, pr presence, ge/le the
// ordering matches, gt and lt ge/le without equality. Booleans compare
// as TRUE/FALSE; a DefaultTrue attribute (active) reads as true when
// absent. References compare by id: eq and ne only, ids resolved to DNs
// through refs, an unknown id matching nothing. A complex attribute
// (emails[type eq "work"].value, emails.value, emails[type eq "work" and
// value eq "x"], members[value eq "x"], emails pr) matches when one of its
// mapped values does: "type" is known from each mapping's [type eq "x"]
// selector, so a type nothing maps to matches nothing; a comparison on a
// sub-attribute needs the value to exist (emails.value ne "x" does not
// match users without email); and a filter on a complex attribute without
// sub-attribute means its "value".
//
// Errors are *resource.Error 400 invalidFilter for unknown or ambiguous
// attributes, write-only attributes (password), operators the attribute's
// kind has no meaning for, and values of the wrong type (a number for a
// string, a string for a boolean); the resolver's errors are returned as
// they are. Values are only ever placed in filter nodes, whose String
// escapes them.
func TranslateFilter(ctx context.Context, f filter.Expression, m *TypeMapping, refs RefResolver) (*Translated, error) {
	tr := &filterTranslator{ctx: ctx, m: m, refs: refs, dns: map[string]string{}}
	p, err := tr.expr(f)
	if err != nil {
		return nil, err
	}
	out := p.ldap()
	if d := ldapFilterDepth(out); d > ldapfilter.MaxDepth {
		return nil, resource.InvalidFilter("filter too complex: it nests %d levels deep in LDAP, at most %d", d, ldapfilter.MaxDepth)
	}
	var attrs []string
	seen := map[string]bool{strings.ToLower(m.IDAttr): true}
	for _, a := range p.attrs {
		if l := strings.ToLower(a); !seen[l] {
			seen[l] = true
			attrs = append(attrs, l)
		}
	}
	return &Translated{Filter: out, Attributes: attrs}, nil
}

// filterTranslator holds the state of one translation.
type filterTranslator struct {
	ctx  context.Context
	m    *TypeMapping
	refs RefResolver
	dns  map[string]string // refTypes "\x00" id -> DN ("" = unknown)
}

// fpart is a translated sub-filter, or a constant when the SCIM filter
// decides it without looking at entries ([type eq "home"] with no home
// mapping, meta.resourceType, an unknown reference).
type fpart struct {
	f     ldapfilter.Filter
	c     int8     // 1: matches every entry, -1: matches none, 0: f
	attrs []string // the LDAP attributes f tests
}

func fTrue() fpart  { return fpart{c: 1} }
func fFalse() fpart { return fpart{c: -1} }
func fLeaf(f ldapfilter.Filter) fpart {
	return fpart{f: f}
}

// ldap renders the part; the constants become (objectClass=*) and its
// negation.
func (p fpart) ldap() ldapfilter.Filter {
	switch p.c {
	case 1:
		return ldapfilter.Present{Attr: "objectClass"}
	case -1:
		return ldapfilter.Not{Filter: ldapfilter.Present{Attr: "objectClass"}}
	}
	return p.f
}

// fCombine is fAnd (and=true) or fOr, folding constants and flattening
// nested operators of the same kind.
func fCombine(and bool, ps ...fpart) fpart {
	absorb, neutral := int8(-1), int8(1)
	if !and {
		absorb, neutral = 1, -1
	}
	var fs []ldapfilter.Filter
	var attrs []string
	for _, p := range ps {
		switch p.c {
		case absorb:
			return p
		case neutral:
			continue
		}
		attrs = append(attrs, p.attrs...)
		switch x := p.f.(type) {
		case ldapfilter.And:
			if and {
				fs = append(fs, x.Filters...)
				continue
			}
		case ldapfilter.Or:
			if !and {
				fs = append(fs, x.Filters...)
				continue
			}
		}
		fs = append(fs, p.f)
	}
	switch len(fs) {
	case 0:
		return fpart{c: neutral}
	case 1:
		return fpart{f: fs[0], attrs: attrs}
	}
	if and {
		return fpart{f: ldapfilter.And{Filters: fs}, attrs: attrs}
	}
	return fpart{f: ldapfilter.Or{Filters: fs}, attrs: attrs}
}

func fAnd(ps ...fpart) fpart { return fCombine(true, ps...) }
func fOr(ps ...fpart) fpart  { return fCombine(false, ps...) }

func fNot(p fpart) fpart {
	if p.c != 0 {
		return fpart{c: -p.c}
	}
	if n, ok := p.f.(ldapfilter.Not); ok {
		return fpart{f: n.Filter, attrs: p.attrs}
	}
	return fpart{f: ldapfilter.Not{Filter: p.f}, attrs: p.attrs}
}

// withAttr records that p tests attr.
func withAttr(p fpart, attr string) fpart {
	if p.c == 0 {
		p.attrs = append(p.attrs, attr)
	}
	return p
}

// logical translates both sides of an and/or with sub and combines them;
// the top-level filter and value filters share it.
func logical(x *filter.LogicalExpression, sub func(filter.Expression) (fpart, error)) (fpart, error) {
	l, err := sub(x.Left)
	if err != nil {
		return fpart{}, err
	}
	r, err := sub(x.Right)
	if err != nil {
		return fpart{}, err
	}
	switch strings.ToLower(string(x.Operator)) {
	case "and":
		return fAnd(l, r), nil
	case "or":
		return fOr(l, r), nil
	}
	return fpart{}, resource.InvalidFilter("unknown logical operator %q", x.Operator)
}

func (tr *filterTranslator) expr(e filter.Expression) (fpart, error) {
	switch x := e.(type) {
	case *filter.LogicalExpression:
		return logical(x, tr.expr)
	case *filter.NotExpression:
		p, err := tr.expr(x.Expression)
		return fNot(p), err
	case *filter.AttributeExpression:
		return tr.attrExpr(x)
	case *filter.ValuePath:
		if x.AttributePath.SubAttribute != nil {
			return fpart{}, resource.InvalidFilter("a value filter applies to an attribute, not to %q", x.AttributePath.String())
		}
		maps, err := tr.lookup(x.AttributePath)
		if err != nil {
			return fpart{}, err
		}
		if isSimpleMapping(maps) {
			return fpart{}, resource.InvalidFilter("attribute %q has no sub-attributes to filter on", x.AttributePath.String())
		}
		return tr.groups(maps, x.ValueFilter, x.AttributePath.String())
	case nil:
		return fpart{}, resource.InvalidFilter("empty filter")
	}
	return fpart{}, resource.InvalidFilter("unsupported filter expression %T", e)
}

// isCoreURN reports whether urn names the type's core schema.
func (tr *filterTranslator) isCoreURN(urn string) bool {
	core := tr.m.CoreURN
	if core == "" {
		core = "urn:ietf:params:scim:schemas:core:2.0:" + tr.m.Name
	}
	return urn == "" || strings.EqualFold(urn, core)
}

func (tr *filterTranslator) attrExpr(x *filter.AttributeExpression) (fpart, error) {
	ap := x.AttributePath
	text := ap.String()
	op := filter.CompareOperator(strings.ToLower(string(x.Operator)))
	if tr.isCoreURN(ap.URI()) {
		switch strings.ToLower(ap.AttributeName) {
		case "id":
			if ap.SubAttribute != nil {
				break
			}
			if op == filter.PR {
				return fTrue(), nil
			}
			s, err := filterString(text, x.CompareValue)
			if err != nil {
				return fpart{}, err
			}
			return filterOrdered(tr.m.IDAttr, op, s, true, text)
		case "meta":
			return tr.metaExpr(ap, op, x.CompareValue)
		}
	}
	maps, err := tr.lookup(ap)
	if err != nil {
		return fpart{}, err
	}
	if isSimpleMapping(maps) {
		if ap.SubAttribute != nil {
			return fpart{}, resource.InvalidFilter("unknown attribute %q", text)
		}
		return tr.leaf(maps[0], op, x.CompareValue, text)
	}
	sub := strings.ToLower(ap.SubAttributeName())
	if sub == "" {
		if op == filter.PR {
			return tr.groups(maps, nil, text)
		}
		sub = "value"
	}
	sel := &filter.AttributeExpression{AttributePath: filter.AttributePath{AttributeName: sub}, Operator: op, CompareValue: x.CompareValue}
	return tr.groups(maps, sel, ap.AttributeName)
}

// lookup returns the mappings of a top-level attribute.
func (tr *filterTranslator) lookup(ap filter.AttributePath) ([]*AttrMapping, error) {
	name := strings.ToLower(ap.AttributeName)
	urn := ap.URI()
	var out []*AttrMapping
	for _, a := range tr.m.Attrs {
		if a.Attr != name {
			continue
		}
		if (tr.isCoreURN(urn) && a.URN == "") || (urn != "" && strings.EqualFold(a.URN, urn)) {
			out = append(out, a)
		}
	}
	if len(out) == 0 && urn == "" {
		var first string
		for _, a := range tr.m.Attrs {
			if a.Attr != name || a.URN == "" {
				continue
			}
			if first != "" && !strings.EqualFold(first, a.URN) {
				return nil, resource.InvalidFilter("attribute %q is ambiguous: qualify it with its schema URN", ap.String())
			}
			first = a.URN
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, resource.InvalidFilter("unknown attribute %q", ap.String())
	}
	return out, nil
}

// isSimpleMapping reports whether maps are those of a simple attribute.
func isSimpleMapping(maps []*AttrMapping) bool {
	return len(maps) == 1 && maps[0].Sub == "" && maps[0].TypeEq == "" && maps[0].Kind != KindJSON
}

// mappingSub is the sub-attribute a mapping of a complex attribute
// stores; a selector mapping without one (`emails[type eq "work"]`)
// stores "value".
func mappingSub(a *AttrMapping) string {
	if a.Sub == "" {
		return "value"
	}
	return a.Sub
}

// groups translates a value filter (nil: the attribute is present) over
// the mappings of a complex attribute: one group of mappings per type
// selector, and the filter matches when it matches the value one group
// stores.
func (tr *filterTranslator) groups(maps []*AttrMapping, vf filter.Expression, text string) (fpart, error) {
	if i := slices.IndexFunc(maps, func(a *AttrMapping) bool { return a.Kind == KindJSON }); i >= 0 {
		rest := slices.Delete(slices.Clone(maps), i, i+1)
		if pinnedToTyped(vf, rest) {
			// emails[type eq "work" and value eq "x"] (Entra's filter) asks
			// only what mail holds, and mail is authoritative for it: the
			// json copy adds nothing but a stale value after another LDAP
			// client changed mail, and a search right on it.
			return tr.groups(rest, vf, text)
		}
		pj, err := tr.jsonFilter(maps[i], vf, text)
		if err != nil {
			return fpart{}, err
		}
		if len(rest) == 0 {
			return pj, nil
		}
		// The json copy also holds what the other mappings store (the work
		// email, beside mail): a filter on it tests those attributes too,
		// and needs the search right on them as well as on the copy.
		for _, a := range rest {
			if !a.WriteOnly {
				pj = withAttr(pj, a.LDAP)
			}
		}
		// The other mappings answer for entries written by other LDAP
		// clients, with no json copy; what they cannot express, the json
		// copy still answers for the entries the gateway wrote.
		po, err := tr.groups(rest, vf, text)
		var re *resource.Error
		if errors.As(err, &re) && re.ScimType == resource.ScimInvalidFilter {
			return pj, nil
		}
		if err != nil {
			return fpart{}, err
		}
		return fOr(pj, po), nil
	}
	typed := false
	var order []string
	byType := map[string][]*AttrMapping{}
	for _, a := range maps {
		if a.TypeEq != "" {
			typed = true
		}
		if _, ok := byType[a.TypeEq]; !ok {
			order = append(order, a.TypeEq)
		}
		byType[a.TypeEq] = append(byType[a.TypeEq], a)
	}
	var parts []fpart
	for _, typ := range order {
		g := byType[typ]
		p := fTrue()
		if vf != nil {
			var err error
			if p, err = tr.inGroup(vf, typ, g, maps, typed, text); err != nil {
				return fpart{}, err
			}
		}
		switch {
		case p.c < 0:
			continue
		case p.c == 0 && positive(p.f):
			parts = append(parts, p)
			continue
		}
		var exists []fpart
		for _, a := range g {
			if !a.WriteOnly {
				exists = append(exists, withAttr(fLeaf(ldapfilter.Present{Attr: a.LDAP}), a.LDAP))
			}
		}
		parts = append(parts, fAnd(fOr(exists...), p))
	}
	return fOr(parts...), nil
}

// positive reports whether f can only match entries holding one of the
// attributes it tests, so that the value it tests exists.
func positive(f ldapfilter.Filter) bool {
	switch x := f.(type) {
	case ldapfilter.Equality, ldapfilter.Substrings, ldapfilter.GreaterOrEqual, ldapfilter.LessOrEqual, ldapfilter.Present:
		return true
	case ldapfilter.And:
		for _, c := range x.Filters {
			if positive(c) {
				return true
			}
		}
	case ldapfilter.Or:
		for _, c := range x.Filters {
			if !positive(c) {
				return false
			}
		}
		return len(x.Filters) > 0
	}
	return false
}

// inGroup translates a value filter for the value stored by the mappings
// g, whose type selector is typ.
func (tr *filterTranslator) inGroup(e filter.Expression, typ string, g, all []*AttrMapping, typed bool, text string) (fpart, error) {
	switch x := e.(type) {
	case *filter.LogicalExpression:
		return logical(x, func(e filter.Expression) (fpart, error) { return tr.inGroup(e, typ, g, all, typed, text) })
	case *filter.NotExpression:
		p, err := tr.inGroup(x.Expression, typ, g, all, typed, text)
		return fNot(p), err
	case *filter.AttributeExpression:
		ap := x.AttributePath
		if ap.URIPrefix != nil || ap.SubAttribute != nil {
			return fpart{}, resource.InvalidFilter("%q inside the value filter of %q: name a sub-attribute", ap.String(), text)
		}
		sub := strings.ToLower(ap.AttributeName)
		op := filter.CompareOperator(strings.ToLower(string(x.Operator)))
		full := text + "." + ap.AttributeName
		if sub == "type" && typed {
			return staticString(typ, op, x.CompareValue, full)
		}
		for _, a := range g {
			if mappingSub(a) == sub {
				return tr.leaf(a, op, x.CompareValue, full)
			}
		}
		for _, a := range all {
			if mappingSub(a) == sub {
				// Mapped for other types only: this value has none.
				if op == filter.NE {
					return fTrue(), nil
				}
				return fFalse(), nil
			}
		}
		return fpart{}, resource.InvalidFilter("unknown attribute %q", full)
	case *filter.ValuePath:
		return fpart{}, resource.InvalidFilter("value filters cannot nest (%q)", x.AttributePath.String())
	}
	return fpart{}, resource.InvalidFilter("unsupported filter expression %T", e)
}

// staticString decides a comparison of a string known in advance (a
// type selector, the resource type): case-insensitive, "" is absent.
func staticString(have string, op filter.CompareOperator, v any, text string) (fpart, error) {
	if op == filter.PR {
		return fBool(have != ""), nil
	}
	want, err := filterString(text, v)
	if err != nil {
		return fpart{}, err
	}
	if have == "" {
		return fBool(op == filter.NE), nil
	}
	h, w := strings.ToLower(have), strings.ToLower(want)
	switch op {
	case filter.EQ:
		return fBool(h == w), nil
	case filter.NE:
		return fBool(h != w), nil
	case filter.CO:
		return fBool(strings.Contains(h, w)), nil
	case filter.SW:
		return fBool(strings.HasPrefix(h, w)), nil
	case filter.EW:
		return fBool(strings.HasSuffix(h, w)), nil
	case filter.GT:
		return fBool(h > w), nil
	case filter.GE:
		return fBool(h >= w), nil
	case filter.LT:
		return fBool(h < w), nil
	case filter.LE:
		return fBool(h <= w), nil
	}
	return fpart{}, resource.InvalidFilter("unknown operator %q", op)
}

func fBool(b bool) fpart {
	if b {
		return fTrue()
	}
	return fFalse()
}

// metaExpr translates meta.created, meta.lastModified and
// meta.resourceType.
func (tr *filterTranslator) metaExpr(ap filter.AttributePath, op filter.CompareOperator, v any) (fpart, error) {
	text := ap.String()
	var attr string
	switch strings.ToLower(ap.SubAttributeName()) {
	case "":
		if op == filter.PR {
			return fTrue(), nil
		}
	case "created":
		attr = "createTimestamp"
	case "lastmodified":
		attr = "modifyTimestamp"
	case "resourcetype":
		return staticString(tr.m.Name, op, v, text)
	}
	if attr == "" {
		return fpart{}, resource.InvalidFilter("filtering on %q is not supported", text)
	}
	if op == filter.PR {
		return withAttr(fLeaf(ldapfilter.Present{Attr: attr}), attr), nil
	}
	p, err := filterTime(attr, op, v, text)
	return withAttr(p, attr), err
}

// leaf translates a comparison on one mapped LDAP attribute.
func (tr *filterTranslator) leaf(a *AttrMapping, op filter.CompareOperator, v any, text string) (fpart, error) {
	if a.WriteOnly || a.Kind == KindPassword {
		return fpart{}, resource.InvalidFilter("attribute %q cannot be used in a filter", text)
	}
	p, err := tr.leafFilter(a, op, v, text)
	return withAttr(p, a.LDAP), err
}

func (tr *filterTranslator) leafFilter(a *AttrMapping, op filter.CompareOperator, v any, text string) (fpart, error) {
	if op == filter.PR {
		if a.Kind == KindBoolean && a.DefaultTrue {
			return fTrue(), nil
		}
		return fLeaf(ldapfilter.Present{Attr: a.LDAP}), nil
	}
	if v == nil {
		return fpart{}, resource.InvalidFilter("%q: comparing with null is not supported; use pr or not (... pr)", text)
	}
	switch a.Kind {
	case KindBoolean:
		b, ok := v.(bool)
		if !ok {
			return fpart{}, resource.InvalidFilter("%q is a boolean: compare it with true or false", text)
		}
		switch op {
		case filter.EQ:
		case filter.NE:
			b = !b
		default:
			return fpart{}, resource.InvalidFilter("%q is a boolean: use eq or ne, not %s", text, op)
		}
		if a.DefaultTrue {
			f := fLeaf(ldapfilter.Equality{Attr: a.LDAP, Value: "FALSE"})
			if b {
				return fNot(f), nil
			}
			return f, nil
		}
		if b {
			return fLeaf(ldapfilter.Equality{Attr: a.LDAP, Value: "TRUE"}), nil
		}
		return fLeaf(ldapfilter.Equality{Attr: a.LDAP, Value: "FALSE"}), nil
	case KindReference:
		id, err := filterString(text, v)
		if err != nil {
			return fpart{}, err
		}
		if op != filter.EQ && op != filter.NE {
			return fpart{}, resource.InvalidFilter("%q is a reference: use eq, ne or pr, not %s", text, op)
		}
		dn, err := tr.resolve(a.RefTypes, id)
		if err != nil {
			return fpart{}, err
		}
		p := fFalse()
		if dn != "" {
			p = fLeaf(ldapfilter.Equality{Attr: a.LDAP, Value: dn})
		}
		if op == filter.NE {
			return fNot(p), nil
		}
		return p, nil
	case KindInteger:
		s, err := filterInteger(text, v)
		if err != nil {
			return fpart{}, err
		}
		return filterOrdered(a.LDAP, op, s, false, text)
	case KindDateTime:
		return filterTime(a.LDAP, op, v, text)
	}
	s, err := filterString(text, v)
	if err != nil {
		return fpart{}, err
	}
	return filterOrdered(a.LDAP, op, s, true, text)
}

// resolve returns the DN of the resource id names, "" when unknown.
func (tr *filterTranslator) resolve(refTypes []string, id string) (string, error) {
	key := strings.Join(refTypes, ",") + "\x00" + id
	if dn, ok := tr.dns[key]; ok {
		return dn, nil
	}
	if tr.refs == nil {
		return "", resource.Internal(errors.New("ldapbackend: TranslateFilter needs a RefResolver for reference attributes"))
	}
	got, err := tr.refs.DNsForIDs(tr.ctx, refTypes, []string{id})
	if err != nil {
		return "", err
	}
	tr.dns[key] = got[id]
	return got[id], nil
}

// filterOrdered builds a comparison of an attribute with an LDAP value
// that has an ordering (and, with substr, substrings).
func filterOrdered(attr string, op filter.CompareOperator, s string, substr bool, text string) (fpart, error) {
	eq := ldapfilter.Equality{Attr: attr, Value: s}
	switch op {
	case filter.EQ:
		return fLeaf(eq), nil
	case filter.NE:
		return fLeaf(ldapfilter.Not{Filter: eq}), nil
	case filter.GE:
		return fLeaf(ldapfilter.GreaterOrEqual{Attr: attr, Value: s}), nil
	case filter.LE:
		return fLeaf(ldapfilter.LessOrEqual{Attr: attr, Value: s}), nil
	case filter.GT:
		return fLeaf(ldapfilter.And{Filters: []ldapfilter.Filter{ldapfilter.GreaterOrEqual{Attr: attr, Value: s}, ldapfilter.Not{Filter: eq}}}), nil
	case filter.LT:
		return fLeaf(ldapfilter.And{Filters: []ldapfilter.Filter{ldapfilter.LessOrEqual{Attr: attr, Value: s}, ldapfilter.Not{Filter: eq}}}), nil
	case filter.CO, filter.SW, filter.EW:
		if !substr {
			return fpart{}, resource.InvalidFilter("%q: %s needs a string attribute", text, op)
		}
		if s == "" {
			return fLeaf(ldapfilter.Present{Attr: attr}), nil
		}
		switch op {
		case filter.CO:
			return fLeaf(ldapfilter.Substrings{Attr: attr, Any: []string{s}}), nil
		case filter.SW:
			return fLeaf(ldapfilter.Substrings{Attr: attr, Initial: s}), nil
		}
		return fLeaf(ldapfilter.Substrings{Attr: attr, Final: s}), nil
	}
	return fpart{}, resource.InvalidFilter("unknown operator %q", op)
}

// filterTime compares a generalizedTime attribute with an RFC 3339 value.
// LDAP times here have whole seconds, so a fraction rounds the bound to
// the second that keeps the comparison exact.
func filterTime(attr string, op filter.CompareOperator, v any, text string) (fpart, error) {
	switch op {
	case filter.CO, filter.SW, filter.EW:
		return fpart{}, resource.InvalidFilter("%q: %s needs a string attribute", text, op)
	}
	s, ok := v.(string)
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if !ok || err != nil {
		return fpart{}, resource.InvalidFilter("%q is a date-time: compare it with an RFC 3339 string such as \"2024-01-02T15:04:05Z\"", text)
	}
	t = t.UTC()
	const layout = "20060102150405Z"
	floor := t.Truncate(time.Second)
	if floor.Equal(t) {
		return filterOrdered(attr, op, t.Format(layout), false, text)
	}
	ceil := floor.Add(time.Second)
	switch op {
	case filter.EQ:
		return fFalse(), nil
	case filter.NE:
		return fTrue(), nil
	case filter.GT, filter.GE:
		return filterOrdered(attr, filter.GE, ceil.Format(layout), false, text)
	case filter.LT, filter.LE:
		return filterOrdered(attr, filter.LE, floor.Format(layout), false, text)
	}
	return filterOrdered(attr, op, floor.Format(layout), false, text)
}

// filterString returns a string compare value.
func filterString(text string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", resource.InvalidFilter("%q is a string: compare it with a string in double quotes", text)
	}
	return s, nil
}

// filterInteger returns an integer compare value in LDAP syntax.
func filterInteger(text string, v any) (string, error) {
	switch x := v.(type) {
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt64 && x < math.MaxInt64 {
			return strconv.FormatInt(int64(x), 10), nil
		}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return strconv.FormatInt(n, 10), nil
		}
	}
	return "", resource.InvalidFilter("%q is an integer: compare it with a whole number", text)
}

// ldapFilterDepth is the nesting depth of f as Parse counts it.
func ldapFilterDepth(f ldapfilter.Filter) int {
	d := 0
	switch x := f.(type) {
	case ldapfilter.And:
		for _, c := range x.Filters {
			d = max(d, ldapFilterDepth(c))
		}
	case ldapfilter.Or:
		for _, c := range x.Filters {
			d = max(d, ldapFilterDepth(c))
		}
	case ldapfilter.Not:
		d = ldapFilterDepth(x.Filter)
	}
	return d + 1
}
