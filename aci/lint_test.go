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
