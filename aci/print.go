package aci

import "strings"

// String prints the ACI as canonical ACI text: targets in source order,
// single spaces, lists joined with " || " or ", ". Parsing the result gives
// the same tree.
func (a *ACI) String() string {
	var b strings.Builder
	for _, t := range a.Targets {
		b.WriteString(t.String())
	}
	b.WriteString(`(version 3.0; acl `)
	writeQuoted(&b, a.Name)
	b.WriteString(";")
	for _, r := range a.Rules {
		b.WriteByte(' ')
		b.WriteString(r.String())
	}
	b.WriteString(")")
	return b.String()
}

func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' && (i+1 == len(s) || s[i+1] == '"' || s[i+1] == '\\') {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// String prints the target as `(keyword op "value")`.
func (t *Target) String() string {
	var b strings.Builder
	b.WriteByte('(')
	b.WriteString(t.Keyword.String())
	b.WriteString(t.Op.String())
	var v string
	switch t.Keyword {
	case KwTarget:
		v = "ldap:///" + t.DN
	case KwTargetAttr:
		v = strings.Join(t.Attrs, " || ")
	case KwTargetFilter:
		v = t.Filter.String()
	case KwTargAttrFilters:
		parts := make([]string, len(t.AttrFilters))
		for i, l := range t.AttrFilters {
			items := make([]string, len(l.Filters))
			for j, f := range l.Filters {
				items[j] = f.Attr + ":" + f.Filter.String()
			}
			op := "del="
			if l.Add {
				op = "add="
			}
			parts[i] = op + strings.Join(items, " && ")
		}
		v = strings.Join(parts, ", ")
	case KwTargetScope:
		v = t.Scope.String()
	case KwTargetControl, KwExtOp:
		v = strings.Join(t.OIDs, " || ")
	}
	writeQuoted(&b, v)
	b.WriteByte(')')
	return b.String()
}

// String prints the rule as `allow (rights) bindrule;`.
func (r *Rule) String() string {
	verb := "deny"
	if r.Allow {
		verb = "allow"
	}
	return verb + " (" + r.Rights.String() + ") " + r.Bind.String() + ";"
}

// String prints "left and right"; a left operand that is itself and/or is
// parenthesised, because both operators group to the right.
func (n *And) String() string { return operand(n.Left) + " and " + n.Right.String() }

// String prints "left or right", parenthesising as And does.
func (n *Or) String() string { return operand(n.Left) + " or " + n.Right.String() }

// String prints "not rule", parenthesising an and/or operand.
func (n *Not) String() string { return "not " + operand(n.Rule) }

func operand(r BindRule) string {
	switch r.(type) {
	case *And, *Or:
		return "(" + r.String() + ")"
	}
	return r.String()
}

// String prints `keyword op "v1 || v2"`.
func (c *Cond) String() string {
	var b strings.Builder
	b.WriteString(c.Keyword.String())
	b.WriteString(c.Op.String())
	sep := c.Keyword.listSep()
	if sep == "," {
		sep = ", "
	} else if sep != "" {
		sep = " " + sep + " "
	}
	writeQuoted(&b, strings.Join(c.Values, sep))
	return b.String()
}
