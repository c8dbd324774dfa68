package aci

import (
	"fmt"
	"strings"

	"github.com/scimgate/scimgate/aci/ldapfilter"
)

// MaxBindRuleDepth is how deeply bind rules may nest through parentheses
// and "not"; deeper input is rejected rather than risking the stack.
const MaxBindRuleDepth = 64

// maxErrors bounds how many problems one ACI reports.
const maxErrors = 25

// Parse parses one ACI. Every problem found is reported, each with its
// line:column, as an ErrorList.
func Parse(src string) (*ACI, error) {
	return ParseAt("", src, Pos{1, 1})
}

// ParseAt parses one ACI whose text starts at pos in the named source, so
// that error positions point into that source.
func ParseAt(source, src string, pos Pos) (*ACI, error) {
	p := &parser{toks: lex(src, pos), source: source}
	a := p.parseACI()
	if len(p.errs) > 0 {
		p.errs.sort()
		return nil, p.errs
	}
	return a, nil
}

type parser struct {
	toks   []token
	i      int
	source string
	errs   ErrorList
	depth  int
}

// bailout unwinds the parser when too many errors pile up.
type bailout struct{}

func (p *parser) tok() token  { return p.toks[p.i] }
func (p *parser) peek() token { return p.toks[min(p.i+1, len(p.toks)-1)] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) errorf(pos Pos, format string, args ...any) {
	if len(p.errs) >= maxErrors {
		panic(bailout{})
	}
	p.errs = append(p.errs, &Error{Source: p.source, Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// errAt reports a problem inside a quoted value, off bytes into it.
func (p *parser) errAt(str token, off int, msg string) {
	p.errorf(Pos{str.pos.Line, str.pos.Col + 1 + off}, "%s", msg)
}

func (p *parser) expected(what string) {
	t := p.tok()
	p.errorf(t.pos, "expected %s, found %s", what, t.describe())
}

// expect consumes a token of the given kind or reports what was found.
func (p *parser) expect(k tokKind, what string) (token, bool) {
	if p.tok().kind != k {
		p.expected(what)
		return p.tok(), false
	}
	return p.next(), true
}

// skipTo advances to the next token of one of the kinds at parenthesis
// depth 0, for recovery after an error.
func (p *parser) skipTo(kinds ...tokKind) {
	depth := 0
	for {
		t := p.tok()
		if t.kind == tEOF {
			return
		}
		if depth == 0 {
			for _, k := range kinds {
				if t.kind == k {
					return
				}
			}
		}
		switch t.kind {
		case tLParen:
			depth++
		case tRParen:
			if depth > 0 {
				depth--
			}
		}
		p.next()
	}
}

func isWord(t token, w string) bool { return t.kind == tWord && strings.EqualFold(t.text, w) }

func (p *parser) parseACI() (a *ACI) {
	a = &ACI{}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(bailout); !ok {
				panic(r)
			}
			a = nil
		}
	}()
	seen := map[TargetKeyword]bool{}
	for p.tok().kind == tLParen && p.peek().kind == tWord && !isVersion(p.peek().text) && !strings.EqualFold(p.peek().text, "acl") {
		t := p.parseTarget()
		if t == nil {
			continue
		}
		if seen[t.Keyword] {
			p.errorf(t.Pos, "target keyword %q appears more than once", t.Keyword.String())
			continue
		}
		seen[t.Keyword] = true
		a.Targets = append(a.Targets, t)
	}
	if p.tok().kind == tEOF && len(p.errs) == 0 {
		p.expected(`"(version 3.0; acl ..."`)
		return a
	}
	p.parseBody(a)
	return a
}

func isVersion(w string) bool {
	return strings.EqualFold(w, "version") || strings.EqualFold(w, "version3.0")
}

func (p *parser) parseTarget() *Target {
	open := p.next() // "("
	kw := p.next()
	t := &Target{Pos: kw.pos}
	found := false
	for k, name := range targetKeywords {
		if strings.EqualFold(kw.text, name) {
			t.Keyword, found = TargetKeyword(k), true
		}
	}
	if !found {
		switch strings.ToLower(kw.text) {
		case "target_to", "target_from":
			p.errorf(kw.pos, "%q is a 389 Directory Server keyword and is not supported; use the import and export rights", kw.text)
		default:
			p.errorf(kw.pos, "unknown target keyword %q (expected target, targetattr, targetfilter, targattrfilters, targetscope, targetcontrol or extop)", kw.text)
		}
		p.skipTo(tRParen)
		p.next()
		return nil
	}
	_ = open
	op := p.tok()
	if op.kind != tOp || (op.text != "=" && op.text != "!=") {
		p.expected(`"=" or "!="`)
		p.skipTo(tRParen)
		p.next()
		return nil
	}
	p.next()
	if op.text == "!=" {
		t.Op = OpNe
	}
	str := p.tok()
	if str.kind != tString {
		p.expected("quoted value")
		p.skipTo(tRParen)
		p.next()
		return nil
	}
	p.next()
	ok := p.targetValue(t, str)
	if _, closed := p.expect(tRParen, `")" after the target value`); !closed {
		p.skipTo(tRParen)
		p.next()
		return nil
	}
	if !ok {
		return nil
	}
	return t
}

// targetValue parses the quoted value of a target into t.
func (p *parser) targetValue(t *Target, str token) bool {
	v := str.text
	eqOnly := func() bool {
		if t.Op != OpEq {
			p.errorf(t.Pos, "%s takes only \"=\"", t.Keyword)
			return false
		}
		return true
	}
	switch t.Keyword {
	case KwTarget:
		if i := strings.Index(v, "($"); i >= 0 || strings.Contains(v, "[$") {
			p.errAt(str, max(i, 0), "macro ACIs are not supported")
			return false
		}
		dn, ok := cutLDAPPrefix(v)
		if !ok {
			p.errAt(str, 0, `target value must be an LDAP URL "ldap:///DN"`)
			return false
		}
		dn = strings.TrimSpace(dn)
		if _, err := parseDNPattern(dn); err != nil {
			p.errAt(str, len(v)-len(strings.TrimLeft(v, " ")), "invalid target DN: "+err.Error())
			return false
		}
		t.DN = dn
	case KwTargetAttr:
		items, offs := splitList(v, "||")
		for k, it := range items {
			if it == "" {
				p.errAt(str, offs[k], "empty attribute name in targetattr")
				return false
			}
			if msg := checkAttrName(it, true); msg != "" {
				p.errAt(str, offs[k], msg)
				return false
			}
			t.Attrs = append(t.Attrs, it)
		}
	case KwTargetFilter:
		f, err := parseFilterValue(v)
		if err != nil {
			p.errAt(str, filterErrOffset(err), "invalid targetfilter: "+filterErrMsg(err))
			return false
		}
		t.Filter = f
	case KwTargAttrFilters:
		if !eqOnly() {
			return false
		}
		lists, off, msg := parseTargAttrFilters(v)
		if msg != "" {
			p.errAt(str, off, msg)
			return false
		}
		t.AttrFilters = lists
	case KwTargetScope:
		if !eqOnly() {
			return false
		}
		for s, name := range scopeNames {
			if strings.EqualFold(strings.TrimSpace(v), name) {
				t.Scope = Scope(s)
				return true
			}
		}
		p.errAt(str, 0, fmt.Sprintf("targetscope must be base, onelevel, subtree or subordinate, not %q", v))
		return false
	case KwTargetControl, KwExtOp:
		items, offs := splitList(v, "||")
		for k, it := range items {
			if it != "*" && !isOID(it) {
				p.errAt(str, offs[k], fmt.Sprintf("%s needs OIDs or \"*\", not %q", t.Keyword, it))
				return false
			}
			t.OIDs = append(t.OIDs, it)
		}
	}
	return true
}

func cutLDAPPrefix(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if len(v) < 8 || !strings.EqualFold(v[:8], "ldap:///") {
		return "", false
	}
	rest := v[8:]
	if strings.HasPrefix(rest, "/") {
		return "", false
	}
	return rest, true
}

// splitList splits v on sep, trimming each item, and returns each item's
// byte offset in v.
func splitList(v, sep string) ([]string, []int) {
	var items []string
	var offs []int
	start := 0
	for {
		i := strings.Index(v[start:], sep)
		end := len(v)
		if i >= 0 {
			end = start + i
		}
		raw := v[start:end]
		lead := len(raw) - len(strings.TrimLeft(raw, " \t"))
		items = append(items, strings.TrimSpace(raw))
		offs = append(offs, start+lead)
		if i < 0 {
			return items, offs
		}
		start = end + len(sep)
	}
}

// checkAttrName returns a problem with an attribute name, or "". wild
// allows "*" and "+".
func checkAttrName(s string, wild bool) string {
	if wild && (s == "*" || s == "+") {
		return ""
	}
	if strings.Contains(s, ";") {
		return fmt.Sprintf("attribute options are not allowed in targetattr: %q", s)
	}
	if isOID(s) {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !(alpha || i > 0 && (c >= '0' && c <= '9' || c == '-')) {
			return fmt.Sprintf("invalid attribute name %q", s)
		}
	}
	return ""
}

func isOID(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return false
			}
		}
	}
	return strings.Contains(s, ".")
}

// parseFilterValue parses a targetfilter value; 389 accepts a filter
// without its outer parentheses, and so do we.
func parseFilterValue(v string) (ldapfilter.Filter, error) {
	t := strings.TrimSpace(v)
	if !strings.HasPrefix(t, "(") {
		f, err := ldapfilter.Parse("(" + t + ")")
		if err != nil {
			if se, ok := err.(*ldapfilter.SyntaxError); ok {
				return nil, &ldapfilter.SyntaxError{Offset: max(se.Offset-1, 0), Msg: se.Msg}
			}
		}
		return f, err
	}
	return ldapfilter.Parse(t)
}

func filterErrOffset(err error) int {
	if se, ok := err.(*ldapfilter.SyntaxError); ok {
		return se.Offset
	}
	return 0
}

func filterErrMsg(err error) string {
	if se, ok := err.(*ldapfilter.SyntaxError); ok {
		return se.Msg
	}
	return err.Error()
}

// splitTop splits v on sep where sep is outside parentheses.
func splitTop(v, sep string) ([]string, []int) {
	var items []string
	var offs []int
	depth, start := 0, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
			continue
		case '(':
			depth++
		case ')':
			depth--
		}
		if depth == 0 && strings.HasPrefix(v[i:], sep) {
			items = append(items, v[start:i])
			offs = append(offs, start)
			start = i + len(sep)
			i += len(sep) - 1
		}
	}
	items = append(items, v[start:])
	offs = append(offs, start)
	return items, offs
}

func parseTargAttrFilters(v string) ([]*AttrFilterList, int, string) {
	parts, poffs := splitTop(v, ",")
	if len(parts) > 2 {
		return nil, poffs[2], "targattrfilters holds at most two lists, one add= and one del="
	}
	var lists []*AttrFilterList
	for k, part := range parts {
		off := poffs[k] + len(part) - len(strings.TrimLeft(part, " "))
		part = strings.TrimSpace(part)
		op, rest, ok := strings.Cut(part, "=")
		l := &AttrFilterList{}
		switch strings.ToLower(strings.TrimSpace(op)) {
		case "add":
			l.Add = true
		case "del":
		default:
			return nil, off, `targattrfilters list must start with "add=" or "del="`
		}
		if !ok {
			return nil, off, `targattrfilters list must start with "add=" or "del="`
		}
		base := off + len(op) + 1
		items, ioffs := splitTop(rest, "&&")
		for j, it := range items {
			ioff := base + ioffs[j] + len(it) - len(strings.TrimLeft(it, " "))
			it = strings.TrimSpace(it)
			attr, fs, ok := strings.Cut(it, ":")
			attr = strings.TrimSpace(attr)
			if !ok || attr == "" {
				return nil, ioff, `targattrfilters item must be "attribute:(filter)"`
			}
			if msg := checkAttrName(attr, false); msg != "" {
				return nil, ioff, msg
			}
			f, err := ldapfilter.Parse(strings.TrimSpace(fs))
			if err != nil {
				return nil, ioff + len(attr) + 1, "invalid targattrfilters filter: " + filterErrMsg(err)
			}
			for _, a := range ldapfilter.Attributes(f) {
				if !strings.EqualFold(a, attr) && !strings.EqualFold(canonicalAttr(a), canonicalAttr(attr)) {
					return nil, ioff, fmt.Sprintf("targattrfilters filter for %q may test only %q, not %q", attr, attr, a)
				}
			}
			l.Filters = append(l.Filters, &AttrFilter{Attr: attr, Filter: f})
		}
		lists = append(lists, l)
	}
	if len(lists) == 2 && lists[0].Add == lists[1].Add {
		return nil, poffs[1], "targattrfilters lists must be one add= and one del="
	}
	return lists, 0, ""
}

func (p *parser) parseBody(a *ACI) {
	if _, ok := p.expect(tLParen, `"(" to open the ACI body`); !ok {
		return
	}
	v := p.tok()
	switch {
	case isWord(v, "version3.0"):
		p.next()
	case isWord(v, "version"):
		p.next()
		if t := p.tok(); t.kind == tWord && t.text == "3.0" {
			p.next()
		} else {
			p.errorf(t.pos, "only ACI version 3.0 is supported, found %s", t.describe())
			p.skipTo(tSemi)
		}
	default:
		p.expected(`"version 3.0"`)
		p.skipTo(tSemi)
	}
	if _, ok := p.expect(tSemi, `";" after "version 3.0"`); !ok {
		return
	}
	if t := p.tok(); !isWord(t, "acl") {
		p.expected(`"acl"`)
		return
	}
	p.next()
	name, ok := p.expect(tString, "quoted ACI name")
	if !ok {
		return
	}
	a.Name = name.text
	if _, ok := p.expect(tSemi, `";" after the ACI name`); !ok {
		return
	}
	tried := false
	for {
		t := p.tok()
		if t.kind == tRParen {
			if !tried {
				p.errorf(t.pos, "ACI has no allow or deny rule")
			}
			p.next()
			break
		}
		if t.kind == tEOF {
			p.expected(`")" to close the ACI body`)
			return
		}
		tried = true
		if r := p.parseRule(); r != nil {
			a.Rules = append(a.Rules, r)
		}
	}
	if t := p.tok(); t.kind != tEOF {
		p.errorf(t.pos, "unexpected %s after the end of the ACI", t.describe())
	}
}

func (p *parser) parseRule() *Rule {
	t := p.tok()
	r := &Rule{Pos: t.pos}
	switch {
	case isWord(t, "allow"):
		r.Allow = true
	case isWord(t, "deny"):
	default:
		if isWord(t, "absolute") {
			p.errorf(t.pos, `"absolute" is not supported: every deny already wins`)
		} else {
			p.expected(`"allow" or "deny"`)
		}
		p.skipTo(tSemi)
		p.next()
		return nil
	}
	p.next()
	if isWord(p.tok(), "absolute") {
		p.errorf(p.tok().pos, `"absolute" is not supported: every deny already wins`)
		p.next()
	}
	bad := false
	if _, ok := p.expect(tLParen, `"(" before the rights list`); !ok {
		p.skipTo(tSemi)
		p.next()
		return nil
	}
	for {
		w := p.tok()
		if w.kind != tWord {
			p.expected("a right (read, search, compare, write, selfwrite, add, delete, import, export, proxy, all)")
			p.skipTo(tSemi)
			p.next()
			return nil
		}
		p.next()
		if rt, ok := ParseRight(w.text); ok {
			r.Rights |= rt
		} else {
			bad = true
			p.errorf(w.pos, "unknown right %q (expected read, search, compare, write, selfwrite, add, delete, import, export, proxy or all)", w.text)
		}
		if p.tok().kind == tComma {
			p.next()
			continue
		}
		if p.tok().kind == tRParen {
			p.next()
			break
		}
		p.expected(`"," or ")" in the rights list`)
		p.skipTo(tSemi)
		p.next()
		return nil
	}
	start := len(p.errs)
	r.Bind = p.parseExpr()
	if len(p.errs) > start {
		p.skipTo(tSemi)
		p.next()
		return nil
	}
	if _, ok := p.expect(tSemi, `";" after the bind rule`); !ok {
		p.skipTo(tSemi)
		p.next()
		return nil
	}
	if bad {
		return nil
	}
	return r
}

// parseExpr parses "term [(and|or) expr]": and and or have the same
// precedence and group to the right, as in every product of the family.
func (p *parser) parseExpr() BindRule {
	left := p.parseTerm()
	if left == nil {
		return nil
	}
	t := p.tok()
	switch {
	case isWord(t, "and"):
		p.next()
		if right := p.parseExpr(); right != nil {
			return &And{left, right}
		}
		return nil
	case isWord(t, "or"):
		p.next()
		if right := p.parseExpr(); right != nil {
			return &Or{left, right}
		}
		return nil
	}
	return left
}

func (p *parser) parseTerm() BindRule {
	t := p.tok()
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > MaxBindRuleDepth {
		p.errorf(t.pos, "bind rule nested more than %d levels deep", MaxBindRuleDepth)
		return nil
	}
	switch {
	case isWord(t, "not"):
		p.next()
		if r := p.parseTerm(); r != nil {
			return &Not{r}
		}
		return nil
	case t.kind == tLParen:
		p.next()
		if p.tok().kind == tRParen {
			p.errorf(p.tok().pos, "empty parentheses in bind rule")
			return nil
		}
		r := p.parseExpr()
		if r == nil {
			return nil
		}
		if _, ok := p.expect(tRParen, `")" to close the group`); !ok {
			return nil
		}
		return r
	case t.kind == tWord:
		return p.parseCond()
	}
	p.expected("a bind rule (userdn, groupdn, userattr, authmethod, ip, dns, timeofday, dayofweek, secure, oauthscope)")
	return nil
}

func (p *parser) parseCond() BindRule {
	kw := p.next()
	c := &Cond{Pos: kw.pos}
	found := false
	for k, name := range bindKeywords {
		if strings.EqualFold(kw.text, name) {
			c.Keyword, found = BindKeyword(k), true
		}
	}
	if !found {
		switch strings.ToLower(kw.text) {
		case "roledn":
			p.errorf(kw.pos, "roledn is not supported (PingDirectory has no roles): use groupdn")
		case "userdnattr", "groupdnattr":
			p.errorf(kw.pos, "%s is a legacy 389 keyword and is not supported: use userattr", kw.text)
		default:
			p.errorf(kw.pos, "unknown bind rule keyword %q", kw.text)
		}
		return nil
	}
	op := p.tok()
	if op.kind != tOp {
		p.expected("an operator after " + c.Keyword.String())
		return nil
	}
	p.next()
	for o, s := range opText {
		if op.text == s {
			c.Op = Op(o)
		}
	}
	if c.Op != OpEq && c.Op != OpNe && c.Keyword != KwTimeOfDay {
		p.errorf(op.pos, "%s takes only \"=\" or \"!=\", not %q", c.Keyword, op.text)
		return nil
	}
	str := p.tok()
	if str.kind != tString {
		p.expected("quoted value after " + c.Keyword.String() + op.text)
		return nil
	}
	p.next()
	if strings.Contains(str.text, "($") || strings.Contains(str.text, "[$") {
		p.errAt(str, strings.Index(str.text, "$")-1, "macro ACIs are not supported")
		return nil
	}
	var items []string
	var offs []int
	if sep := c.Keyword.listSep(); sep != "" {
		items, offs = splitList(str.text, sep)
	} else {
		items, offs = []string{strings.TrimSpace(str.text)}, []int{len(str.text) - len(strings.TrimLeft(str.text, " "))}
	}
	for k, it := range items {
		canon, msg := checkCondValue(c.Keyword, it)
		if msg != "" {
			p.errAt(str, offs[k], msg)
			return nil
		}
		c.Values = append(c.Values, canon)
	}
	return c
}
