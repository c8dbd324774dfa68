package aci

import (
	"strings"
	"testing"
)

func TestLint(t *testing.T) {
	cases := []struct {
		src  string
		ctx  LintContext
		want []string // substrings, one per expected warning; empty = clean
	}{
		{`(targetattr="*")(version 3.0; acl "ok"; allow (read,search) oauthscope="scim:read";)`, LintContext{EntryDN: "ou=people,dc=example,dc=com"}, nil},
		{`(targetattr="cn")(version 3.0; acl "all"; allow (read) userdn="ldap:///all";)`, LintContext{EntryDN: "ou=people,dc=example,dc=com"}, []string{"ldap:///all without oauthscope applies to this subtree"}},
		{`(targetattr="cn")(version 3.0; acl "all"; allow (read) userdn="ldap:///all" and authmethod="simple";)`, LintContext{Global: true}, []string{"applies to the whole tree"}},
		{`(targetattr="cn")(version 3.0; acl "scoped"; allow (read) userdn="ldap:///all" and oauthscope="x";)`, LintContext{Global: true}, nil},
		{`(targetattr="cn")(version 3.0; acl "anon"; allow (write) userdn="ldap:///anyone";)`, LintContext{EntryDN: "ou=x"}, []string{"without oauthscope", "anonymous clients change"}},
		{`(targetattr="*")(version 3.0; acl "w"; allow (write) oauthscope="scim:write";)`, LintContext{EntryDN: "ou=x"}, []string{`targetattr="*" with write`}},
		{`(targetattr!="cn")(version 3.0; acl "ne"; allow (read) oauthscope="scim:read";)`, LintContext{EntryDN: "ou=x"}, []string{"userPassword is not listed"}},
		{`(targetattr!="userPassword")(version 3.0; acl "ne"; allow (read) oauthscope="scim:read";)`, LintContext{EntryDN: "ou=x"}, []string{"including any added to the schema later; prefer"}},
		{`(targetattr="objectClass")(version 3.0; acl "oc"; allow (read,search) userdn="ldap:///all";)`, LintContext{EntryDN: "dc=example,dc=com", Suffix: true}, []string{"without oauthscope", "read of objectClass is granted at the suffix"}},
		{`(targetattr="objectClass")(version 3.0; acl "oc"; allow (read,search) userdn="ldap:///all";)`, LintContext{EntryDN: "ou=people,dc=example,dc=com"}, []string{"without oauthscope"}},
		{`(targetattr="*")(version 3.0; acl "deny"; deny (all) userdn="ldap:///anyone";)`, LintContext{Global: true}, nil},
		// What keeps a listing from being cut by the directory (Pushdown).
		{`(targetfilter="(employeeType=contractor)")(targetattr="*")(version 3.0; acl "tf"; deny (read) oauthscope="scim:read";)`, LintContext{EntryDN: "ou=x"}, nil},
		{`(targetattr="*")(version 3.0; acl "ua"; allow (read) userattr="manager#USERDN";)`, LintContext{EntryDN: "ou=x"}, nil},
		{`(target="ldap:///uid=*,ou=x")(targetattr="*")(version 3.0; acl "pat"; allow (read) oauthscope="s";)`, LintContext{EntryDN: "ou=x"}, []string{"lists cannot be cut by the directory for callers this ACI reaches: its target is a DN pattern"}},
		{`(targetfilter="(uidNumber>=1000)")(targetattr="*")(version 3.0; acl "int"; allow (search) oauthscope="s";)`, LintContext{EntryDN: "ou=x"}, []string{"its targetfilter item (uidNumber>=1000) may be undefined"}},
		{`(targetattr="*")(version 3.0; acl "up"; allow (read) userattr="parent[1].manager#USERDN";)`, LintContext{EntryDN: "ou=x"}, []string{"userattr with parent levels"}},
		{`(targetattr="*")(version 3.0; acl "val"; allow (read) userattr="employeeType#staff";)`, LintContext{EntryDN: "ou=x"}, []string{"userattr with an LDAP URL or a value"}},
		{`(targetattr="*")(version 3.0; acl "str"; allow (read) userattr="description#USERDN";)`, LintContext{EntryDN: "ou=x"}, []string{"userattr on description"}},
		{`(target="ldap:///uid=*,ou=x")(targetattr="*")(version 3.0; acl "w"; allow (write) oauthscope="scim:write";)`, LintContext{EntryDN: "ou=x"}, []string{`targetattr="*" with write`}},
		{`(targetfilter="(2.16.840.1.113730.3.1.4=contractor)")(targetattr="*")(version 3.0; acl "oid"; deny (read) oauthscope="s";)`, LintContext{EntryDN: "ou=x"},
			[]string{"attribute 2.16.840.1.113730.3.1.4 is named by OID", "names an attribute by OID"}},
		{`(targetattr="2.5.4.3")(version 3.0; acl "known oid"; allow (read) oauthscope="s";)`, LintContext{EntryDN: "ou=x"}, nil},
	}
	for _, tc := range cases {
		a, err := Parse(tc.src)
		if err != nil {
			t.Fatal(err)
		}
		ws := Lint(a, tc.ctx)
		if len(ws) != len(tc.want) {
			t.Errorf("%s: %d warnings, want %d: %v", tc.src, len(ws), len(tc.want), ws)
			continue
		}
		for i, w := range ws {
			if !strings.Contains(w.Msg, tc.want[i]) {
				t.Errorf("%s: warning %d = %q, want ...%s...", tc.src, i, w.Msg, tc.want[i])
			}
		}
	}
}

// TestLintIdentityAttrs: write on an attribute token subjects are mapped by
// is reported when ordinary users may hold it (self, all, groups, userattr,
// patterns, "not" and "!=" rules), not when only named accounts or a client
// scope may, nor where identities cannot be.
func TestLintIdentityAttrs(t *testing.T) {
	people := LintContext{EntryDN: "ou=people,dc=example,dc=com", IdentityAttrs: []string{"uid"}}
	const lets = "lets users change uid, which token subjects are mapped to entries by"
	cases := []struct {
		name string
		src  string
		ctx  LintContext
		want []string // substrings, one per expected warning; empty = clean
	}{
		{"self writes uid", `(targetattr="uid")(version 3.0; acl "a"; allow (write) userdn="ldap:///self";)`, people,
			[]string{`allow (write) to userdn="ldap:///self" ` + lets}},
		{"selfwrite with a scope", `(targetattr="uid || cn")(version 3.0; acl "a"; allow (selfwrite) userdn="ldap:///all" and oauthscope="scim:me";)`, people,
			[]string{`allow (selfwrite) to userdn="ldap:///all" ` + lets}},
		{"all rights include write", `(targetattr="uid")(version 3.0; acl "a"; allow (all) userdn="ldap:///self" and oauthscope="scim:me";)`, people,
			[]string{lets}},
		{"a group writes every attribute", `(targetattr="*")(version 3.0; acl "a"; allow (write) groupdn="ldap:///cn=staff,ou=groups,dc=example,dc=com";)`, people,
			[]string{`targetattr="*" with write`, `to groupdn="ldap:///cn=staff,ou=groups,dc=example,dc=com" ` + lets}},
		{"a != list leaves uid in", `(targetattr!="cn")(version 3.0; acl "a"; allow (write) userdn="ldap:///self";)`, people,
			[]string{"targetattr!= grants (write)", lets}},
		{"a != list leaves uid out", `(targetattr!="uid || userPassword")(version 3.0; acl "a"; allow (write) userdn="ldap:///self";)`, people,
			[]string{"targetattr!= grants (write)"}},
		{"the long name of uid", `(targetattr="userid")(version 3.0; acl "a"; allow (write) userattr="manager#USERDN";)`, people,
			[]string{`to userattr="manager#USERDN" ` + lets}},
		{"targattrfilters", `(targattrfilters="add=uid:(uid=a*)")(version 3.0; acl "a"; allow (write) userdn="ldap:///self";)`, people,
			[]string{lets}},
		{"a pattern of users", `(targetattr="uid")(version 3.0; acl "a"; allow (write) userdn="ldap:///uid=*,ou=people,dc=example,dc=com" and oauthscope="scim:me";)`, people,
			[]string{lets}},
		{"everyone but the admin", `(targetattr="uid")(version 3.0; acl "a"; allow (write) userdn!="ldap:///cn=admin,dc=example,dc=com" and oauthscope="scim:me";)`, people,
			[]string{`to userdn!="ldap:///cn=admin,dc=example,dc=com" ` + lets}},
		{"not the admin", `(targetattr="uid")(version 3.0; acl "a"; allow (write) oauthscope="scim:me" and not userdn="ldap:///cn=admin,dc=example,dc=com";)`, people,
			[]string{`to not userdn="ldap:///cn=admin,dc=example,dc=com" ` + lets}},
		{"an admin or a group", `(targetattr="uid")(version 3.0; acl "a"; allow (write) userdn="ldap:///cn=admin,dc=example,dc=com" or groupdn="ldap:///cn=staff,ou=groups,dc=example,dc=com";)`, people,
			[]string{lets}},
		{"self from the office network", `(targetattr="uid")(version 3.0; acl "a"; allow (write) userdn="ldap:///self" and ip="10.0.0.0/8" and oauthscope="scim:me";)`, people,
			[]string{lets}},

		{"another attribute", `(targetattr="telephoneNumber")(version 3.0; acl "a"; allow (write) userdn="ldap:///self";)`, people, nil},
		{"read only", `(targetattr="uid")(version 3.0; acl "a"; allow (read,search) userdn="ldap:///self" and oauthscope="scim:me";)`, people, nil},
		{"a client scope", `(targetattr="uid")(version 3.0; acl "a"; allow (write) oauthscope="scim:write";)`, people, nil},
		{"a named administrator", `(targetattr="uid")(version 3.0; acl "a"; allow (write) userdn="ldap:///cn=admin,dc=example,dc=com";)`, people, nil},
		{"self and a named administrator", `(targetattr="uid")(version 3.0; acl "a"; allow (write) userdn="ldap:///self" and userdn="ldap:///cn=admin,dc=example,dc=com";)`, people, nil},
		{"a deny", `(targetattr="uid")(version 3.0; acl "a"; deny (write) userdn="ldap:///self";)`, people, nil},
		{"operational attributes", `(targetattr="+")(version 3.0; acl "a"; allow (write) userdn="ldap:///self" and oauthscope="scim:me";)`, people, nil},
		{"entry level only", `(target="ldap:///uid=*,ou=people,dc=example,dc=com")(version 3.0; acl "a"; allow (write) userdn="ldap:///self";)`, people, nil},
		{"not asked", `(targetattr="uid")(version 3.0; acl "a"; allow (write) userdn="ldap:///self";)`, LintContext{EntryDN: "ou=people,dc=example,dc=com"}, nil},

		{"mapped by mail, uid written", `(targetattr="uid")(version 3.0; acl "a"; allow (write) userdn="ldap:///self";)`,
			LintContext{EntryDN: "ou=people,dc=example,dc=com", IdentityAttrs: []string{"mail"}}, nil},
		{"mapped by mail, mail written", `(targetattr="mail")(version 3.0; acl "a"; allow (write) userdn="ldap:///self";)`,
			LintContext{EntryDN: "ou=people,dc=example,dc=com", IdentityAttrs: []string{"uid", "mail"}},
			[]string{"lets users change mail"}},
		{"beside the identity base", `(targetattr="*")(version 3.0; acl "a"; allow (write) groupdn="ldap:///cn=staff,ou=groups,dc=example,dc=com";)`,
			LintContext{EntryDN: "ou=groups,dc=example,dc=com", IdentityAttrs: []string{"uid"}, IdentityBase: "ou=people,dc=example,dc=com"},
			[]string{`targetattr="*" with write`}},
		{"above the identity base", `(targetattr="uid")(version 3.0; acl "a"; allow (write) userdn="ldap:///self";)`,
			LintContext{EntryDN: "dc=example,dc=com", Suffix: true, IdentityAttrs: []string{"uid"}, IdentityBase: "ou=people,dc=example,dc=com"},
			[]string{lets}},
		{"below the identity base", `(targetattr="uid")(version 3.0; acl "a"; allow (write) userdn="ldap:///self";)`,
			LintContext{EntryDN: "ou=staff,ou=people,dc=example,dc=com", IdentityAttrs: []string{"uid"}, IdentityBase: "ou=people,dc=example,dc=com"},
			[]string{lets}},
		{"global", `(targetattr="uid")(version 3.0; acl "a"; allow (write) userdn="ldap:///self";)`,
			LintContext{Global: true, IdentityAttrs: []string{"uid"}, IdentityBase: "ou=people,dc=example,dc=com"},
			[]string{lets}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Parse(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			ws := Lint(a, tc.ctx)
			if len(ws) != len(tc.want) {
				t.Fatalf("%d warnings, want %d: %v", len(ws), len(tc.want), ws)
			}
			for i, w := range ws {
				if !strings.Contains(w.Msg, tc.want[i]) {
					t.Errorf("warning %d = %q, want ...%s...", i, w.Msg, tc.want[i])
				}
			}
		})
	}
}
