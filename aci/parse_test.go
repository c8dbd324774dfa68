package aci

import (
	"strings"
	"testing"
)

// validACIs covers every keyword and form of the language; each must parse,
// print canonically, and parse back to the same text.
var validACIs = []struct{ src, canon string }{
	{`(targetattr="*")(version 3.0; acl "read"; allow (read,search) oauthscope="scim:read";)`, ""},
	{`(TargetAttr = "cn||sn || mail")(Version 3.0; ACL "x"; Allow (Read, Search) UserDN = "ldap:///all";)`,
		`(targetattr="cn || sn || mail")(version 3.0; acl "x"; allow (read,search) userdn="ldap:///all";)`},
	{`(targetattr="+")(version 3.0; acl "oper"; allow (read) userdn="ldap:///anyone";)`, ""},
	{`(targetattr="* || +")(version 3.0; acl "both"; allow (all) userdn="ldap:///self";)`, ""},
	{`(targetattr!="userPassword || aci")(version 3.0; acl "ne"; allow (read,search,compare) userdn="ldap:///all";)`, ""},
	{`(target="ldap:///ou=People,dc=example,dc=com")(version 3.0; acl "t"; allow (add,delete) oauthscope="scim:write";)`, ""},
	{`(target!="ldap:///uid=*,ou=People,dc=example,dc=com")(version 3.0; acl "tn"; deny (delete) userdn="ldap:///anyone";)`, ""},
	{`(target="ldap:///uid=a*,**,dc=example,dc=com")(targetscope="onelevel")(targetattr="cn")(version 3.0; acl "p"; allow (write) userdn="ldap:///parent";)`, ""},
	{`(targetfilter="(objectClass=person)")(targetattr="cn")(version 3.0; acl "f"; allow (read) userdn="ldap:///all";)`, ""},
	{`(targetfilter!="objectClass=person")(targetattr="cn")(version 3.0; acl "f2"; allow (read) userdn="ldap:///all";)`,
		`(targetfilter!="(objectClass=person)")(targetattr="cn")(version 3.0; acl "f2"; allow (read) userdn="ldap:///all";)`},
	{`(targattrfilters="add=title:(title=arch*) && cn:(cn=x), del=title:(title=*)")(version 3.0; acl "v"; allow (write) userdn="ldap:///all";)`, ""},
	{`(targetscope="base")(targetattr="*")(version 3.0; acl "s"; allow (read) userdn="ldap:///all";)`, ""},
	{`(targetscope="subordinate")(targetattr="*")(version 3.0; acl "s"; allow (read) userdn="ldap:///all";)`, ""},
	{`(targetcontrol="2.16.840.1.113730.3.4.18 || 1.2.840.113556.1.4.319")(version 3.0; acl "c"; allow (read) userdn="ldap:///all";)`, ""},
	{`(extop="1.3.6.1.4.1.4203.1.11.1")(version 3.0; acl "e"; allow (read) userdn="ldap:///all";)`, ""},
	{`(targetattr="cn")(version 3.0; acl "g"; allow (read) groupdn="ldap:///cn=admins,ou=Groups,dc=example,dc=com || ldap:///cn=ops,ou=Groups,dc=example,dc=com";)`, ""},
	{`(targetattr="cn")(version 3.0; acl "u"; allow (read) userdn="ldap:///ou=People,dc=example,dc=com??sub?(l=Paris)";)`, ""},
	{`(targetattr="telephoneNumber")(version 3.0; acl "m"; allow (read,write) userattr="manager#USERDN";)`, ""},
	{`(targetattr="cn")(version 3.0; acl "m"; allow (read) userattr="parent[0,1,2].owner#GROUPDN" or userattr="seeAlso#LDAPURL" or userattr="departmentNumber#42";)`, ""},
	{`(targetattr="cn")(version 3.0; acl "m"; allow (read) userattr="Parent[3].manager#userdn";)`,
		`(targetattr="cn")(version 3.0; acl "m"; allow (read) userattr="parent[3].manager#USERDN";)`},
	{`(targetattr="cn")(version 3.0; acl "a"; allow (read) authmethod="SASL external" and secure="TRUE";)`,
		`(targetattr="cn")(version 3.0; acl "a"; allow (read) authmethod="sasl EXTERNAL" and secure="true";)`},
	{`(targetattr="cn")(version 3.0; acl "ip"; allow (read) ip="127.0.0.1,10.*.*.*, 192.168.0.0/16,10.1.0.0+255.255.0.0,::1, [2001:db8::]/32";)`,
		`(targetattr="cn")(version 3.0; acl "ip"; allow (read) ip="127.0.0.1, 10.*.*.*, 192.168.0.0/16, 10.1.0.0+255.255.0.0, ::1, [2001:db8::]/32";)`},
	{`(targetattr="cn")(version 3.0; acl "dns"; allow (read) dns="*.example.com, host.example.org";)`, ""},
	{`(targetattr="cn")(version 3.0; acl "t"; allow (read) timeofday>="0800" and timeofday<"1800" and dayofweek="Mon,tue,WED";)`,
		`(targetattr="cn")(version 3.0; acl "t"; allow (read) timeofday>="0800" and timeofday<"1800" and dayofweek="mon, tue, wed";)`},
	{`(targetattr="cn")(version 3.0; acl "s"; allow (read) oauthscope="scim:read || sync:*" or oauthscope!="*";)`, ""},
	{`(targetattr="cn")(version 3.0; acl "n"; allow (read) not (userdn="ldap:///anyone" or ip="1.2.3.4") and oauthscope="x";)`,
		`(targetattr="cn")(version 3.0; acl "n"; allow (read) not (userdn="ldap:///anyone" or ip="1.2.3.4") and oauthscope="x";)`},
	{`(targetattr="cn")(version 3.0; acl "grp"; allow (read) (userdn="ldap:///all" or userdn="ldap:///anyone") and oauthscope="x";)`, ""},
	{`(targetattr="cn")(version 3.0; acl "right"; allow (read) userdn="ldap:///all" and (oauthscope="x" or oauthscope="y");)`,
		`(targetattr="cn")(version 3.0; acl "right"; allow (read) userdn="ldap:///all" and oauthscope="x" or oauthscope="y";)`},
	{`(targetattr="*")(version 3.0; acl "two"; deny (read,search) userdn="ldap:///uid=sam,dc=example,dc=com"; allow (all) userdn="ldap:///uid=jeff,dc=example,dc=com";)`, ""},
	{`(version 3.0; acl "entry"; allow (add,delete,proxy,import,export) userdn="ldap:///cn=*+sn=x,dc=example,dc=com";)`,
		`(version 3.0; acl "entry"; allow (add,delete,import,export,proxy) userdn="ldap:///cn=*+sn=x,dc=example,dc=com";)`},
	{`(version3.0; acl ""; allow (proxy) userdn="ldap:///cn=a(b),dc=example,dc=com";)`,
		`(version 3.0; acl ""; allow (proxy) userdn="ldap:///cn=a(b),dc=example,dc=com";)`},
	{"(targetattr=\"cn\")\n  (version 3.0;\n   acl \"multi\\\"line\";\n   allow (read)\n   userdn=\"ldap:///all\";)",
		`(targetattr="cn")(version 3.0; acl "multi\"line"; allow (read) userdn="ldap:///all";)`},
}

func TestParseValid(t *testing.T) {
	for _, tc := range validACIs {
		a, err := Parse(tc.src)
		if err != nil {
			t.Errorf("Parse(%s): %v", tc.src, err)
			continue
		}
		want := tc.canon
		if want == "" {
			want = tc.src
		}
		if got := a.String(); got != want {
			t.Errorf("String()\n got %s\nwant %s", got, want)
		}
		b, err := Parse(a.String())
		if err != nil {
			t.Errorf("reparse %s: %v", a, err)
			continue
		}
		if !sameTree(a, b) {
			t.Errorf("round trip changed the tree for %s", tc.src)
		}
	}
}

func TestPrecedence(t *testing.T) {
	a, err := Parse(`(targetattr="cn")(version 3.0; acl "p"; allow (read) userdn="ldap:///all" and ip="1.1.1.1" or not dns="x.y" and secure="true";)`)
	if err != nil {
		t.Fatal(err)
	}
	and, ok := a.Rules[0].Bind.(*And)
	if !ok {
		t.Fatalf("top node %T, want *And (right-associative, equal precedence)", a.Rules[0].Bind)
	}
	or, ok := and.Right.(*Or)
	if !ok {
		t.Fatalf("right of and is %T, want *Or", and.Right)
	}
	if _, ok := or.Right.(*And); !ok {
		t.Fatalf("right of or is %T, want *And", or.Right)
	}
	if _, ok := or.Right.(*And).Left.(*Not); !ok {
		t.Fatal("not must bind to the term that follows it")
	}
}

// invalidACIs: each must fail, and the first error must sit at the given
// line:col and mention the text.
var invalidACIs = []struct {
	src  string
	pos  string
	want string
}{
	{`(targetattr=="*")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";)`, "1:12", `expected "=" or "!="`},
	{`(target == "ldap:///dc=x")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";)`, "1:9", `expected "=" or "!="`},
	{`(targetattr="*")(version 3.0; alc "x"; allow (read) userdn="ldap:///all";)`, "1:31", `expected "acl"`},
	{`(targetattr="*")(version 2.0; acl "x"; allow (read) userdn="ldap:///all";)`, "1:26", "only ACI version 3.0"},
	{`(targetattr="*")(acl "x"; allow (read) userdn="ldap:///all";)`, "1:18", `expected "version 3.0"`},
	{`(targetattr="*")(targetattr="cn")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";)`, "1:18", "appears more than once"},
	{`(target="ldap:///dc=a")(target="ldap:///dc=a")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";)`, "1:25", "appears more than once"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read;write) userdn="ldap:///all";)`, "1:51", `expected "," or ")"`},
	{`(targetattr="*")(version 3.0; acl "x"; allow (rite) userdn="ldap:///all";)`, "1:47", `unknown right "rite"`},
	{`(targetattr="*")(version 3.0; acl x; allow (read) userdn="ldap:///all";)`, "1:35", "expected quoted ACI name"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) userdn="ldap:///all")`, "1:73", `expected ";" after the bind rule`},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) userdn="ldap:/anyone";)`, "1:61", "must be an LDAP URL"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) userdn="ldap:////anyone";)`, "1:61", "must be an LDAP URL"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) userdns="ldap:///all";)`, "1:53", `unknown bind rule keyword "userdns"`},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) roledn="ldap:///cn=r";)`, "1:53", "roledn is not supported"},
	{`(target="ldap:///($dn),dc=x")(version 3.0; acl "x"; allow (read) userdn="ldap:///[$dn],dc=x";)`, "1:18", "macro ACIs are not supported"},
	{`(targetattr="cn ||")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";)`, "1:19", "empty attribute name"},
	{`(targetattr="")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";)`, "1:14", "empty attribute name"},
	{`(targetattr="cn;lang-fr")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";)`, "1:14", "attribute options"},
	{`(targetscope="sub_tree")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";)`, "1:15", "targetscope must be"},
	{`(targetscope!="base")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";)`, "1:2", `takes only "="`},
	{`(targetfilter="(cn=x")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";)`, "1:", "invalid targetfilter"},
	{`(targattrfilters="add=title:(cn=x)")(version 3.0; acl "x"; allow (write) userdn="ldap:///all";)`, "1:23", `may test only "title"`},
	{`(targattrfilters="add=title:(title=x), add=cn:(cn=y)")(version 3.0; acl "x"; allow (write) userdn="ldap:///all";)`, "1:", "one add= and one del="},
	{`(targattrfilters="mod=title:(title=x)")(version 3.0; acl "x"; allow (write) userdn="ldap:///all";)`, "1:19", `"add=" or "del="`},
	{`(frobnicate="x")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";)`, "1:2", "unknown target keyword"},
	{`(targetattr="*")(version 3.0; acl "x"; allows (read) userdn="ldap:///all";)`, "1:40", `expected "allow" or "deny"`},
	{`(targetattr="*")(version 3.0; acl "x"; foo allow (read) userdn="ldap:///all";)`, "1:40", `expected "allow" or "deny"`},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) userdn="ldap:///all" or;)`, "1:76", "expected a bind rule"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) ();)`, "1:54", "empty parentheses"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) groupdn="ldap:///bogus";)`, "1:62", "invalid group DN"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) groupdn="ldap:///cn=*,dc=x";)`, "1:62", "no wildcards"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) dayofweek="sumday";)`, "1:64", "dayofweek takes"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) timeofday="2500";)`, "1:64", "not a time"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) timeofday="9am";)`, "1:64", "four digits"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) ip="10.0.0";)`, "1:57", "invalid IP address"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) ip="10.*.0";)`, "1:57", "needs four parts"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) dns="host.*.com";)`, "1:58", `"*" may only be the leftmost label`},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) authmethod="kerberos";)`, "1:65", "authmethod must be"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) secure="yes";)`, "1:61", "secure must be"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) userdn>"ldap:///all";)`, "1:59", `takes only "=" or "!="`},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) userattr="manager";)`, "1:63", "userattr value must be"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) userattr="parent[12].manager#USERDN";)`, "1:63", "parent level must be 0 to 9"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) userattr="manager#ROLEDN";)`, "1:63", "#ROLEDN is not supported"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) oauthscope="scim read";)`, "1:65", "invalid character"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) oauthscope="";)`, "1:65", "empty value"},
	{`(targetattr="*")(version 3.0; acl "x";)`, "1:39", "no allow or deny rule"},
	{`(targetattr="*")(version 3.0; acl "x"; deny absolute (all) userdn="ldap:///all";)`, "1:45", `"absolute" is not supported`},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";) trailing`, "1:76", "after the end of the ACI"},
	{`(targetattr="*")(version 3.0; acl "x"; allow (read) userdn="ldap:///all`, "1:60", "unterminated quoted string"},
	{`(targetattr="*")`, "1:17", `expected "(version 3.0; acl ..."`},
	{``, "1:1", `expected "(version 3.0; acl ..."`},
	{`(target="ldap:///self")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";)`, "1:10", "invalid target DN"},
	{`(targetcontrol="abc")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";)`, "1:17", "needs OIDs"},
	{`(target_to="ldap:///dc=x")(version 3.0; acl "x"; allow (read) userdn="ldap:///all";)`, "1:2", "389 Directory Server keyword"},
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range invalidACIs {
		_, err := Parse(tc.src)
		if err == nil {
			t.Errorf("Parse(%s): no error, want %q", tc.src, tc.want)
			continue
		}
		list := err.(ErrorList)
		first := list[0]
		if !strings.HasPrefix(first.Pos.String(), tc.pos) || !strings.Contains(first.Msg, tc.want) {
			t.Errorf("Parse(%s):\n got %v\nwant %s: ...%s...", tc.src, err, tc.pos, tc.want)
		}
	}
}

func TestParseReportsEveryError(t *testing.T) {
	src := `(targetattr=="*")(targetscope="bogus")(version 3.0; acl "x"; allow (read,frob) userdn="ldap:///all"; deny (all) roledn="ldap:///x"; allow (read) ip="300.1.1.1";)`
	_, err := Parse(src)
	list, _ := err.(ErrorList)
	if len(list) != 5 {
		t.Fatalf("want 5 errors, got %d:\n%v", len(list), err)
	}
	for i := 1; i < len(list); i++ {
		if list[i].Pos.Col < list[i-1].Pos.Col {
			t.Errorf("errors not in source order: %v", err)
		}
	}
}

func TestParseNestingLimit(t *testing.T) {
	build := func(depth int) string {
		return `(targetattr="cn")(version 3.0; acl "deep"; allow (read) ` + strings.Repeat("(", depth-1) + `userdn="ldap:///all"` + strings.Repeat(")", depth-1) + `;)`
	}
	if _, err := Parse(build(MaxBindRuleDepth)); err != nil {
		t.Errorf("depth %d must parse: %v", MaxBindRuleDepth, err)
	}
	_, err := Parse(build(MaxBindRuleDepth + 1))
	if err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Errorf("depth %d: want a nesting error, got %v", MaxBindRuleDepth+1, err)
	}
	nots := `(targetattr="cn")(version 3.0; acl "deep"; allow (read) ` + strings.Repeat("not ", 100000) + `userdn="ldap:///all";)`
	if _, err := Parse(nots); err == nil {
		t.Error("100000 nested nots must be rejected")
	}
}

// TestParseMutations removes each character of valid ACIs in turn: the
// parser must never panic, and every error must carry a position.
func TestParseMutations(t *testing.T) {
	for _, tc := range validACIs {
		for i := range tc.src {
			m := tc.src[:i] + tc.src[i+1:]
			a, err := Parse(m)
			if err != nil {
				for _, e := range err.(ErrorList) {
					if e.Pos.Line < 1 || e.Pos.Col < 1 {
						t.Fatalf("error without position for %q: %v", m, e)
					}
				}
				continue
			}
			if b, err := Parse(a.String()); err != nil || !sameTree(a, b) {
				t.Fatalf("mutant %q parses but does not round-trip: %v", m, err)
			}
		}
	}
}

// sameTree compares two ACIs ignoring positions, through their canonical
// text and structure.
func sameTree(a, b *ACI) bool {
	if a.String() != b.String() || len(a.Rules) != len(b.Rules) || len(a.Targets) != len(b.Targets) {
		return false
	}
	for i := range a.Rules {
		if shape(a.Rules[i].Bind) != shape(b.Rules[i].Bind) {
			return false
		}
	}
	return true
}

// shape prints a bind rule fully parenthesised, so trees that print alike
// but group differently are told apart.
func shape(b BindRule) string {
	switch b := b.(type) {
	case *And:
		return "(" + shape(b.Left) + " AND " + shape(b.Right) + ")"
	case *Or:
		return "(" + shape(b.Left) + " OR " + shape(b.Right) + ")"
	case *Not:
		return "NOT(" + shape(b.Rule) + ")"
	case *Cond:
		return b.String()
	}
	return "?"
}
