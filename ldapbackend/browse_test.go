package ldapbackend

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestBrowsingIndexLDIF: values LDIF cannot carry as they are (non-ASCII,
// a leading space or colon) go in base64; RDN values are escaped; a
// service DN an ACI cannot name is refused rather than written broken.
func TestBrowsingIndexLDIF(t *testing.T) {
	ixs := []BrowsingIndex{{Type: "User", Name: "scimgateUser", Backend: "userRoot", Base: "ou=Personnes,dc=exemple,dc=fr",
		Filter: "(&(objectClass=inetOrgPerson)(o=Société))", Sort: "entryUUID"}}
	out, err := BrowsingIndexLDIF("cn=scimgate,ou=Services,dc=exemple,dc=fr", ixs)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"vlvBase: ou=Personnes,dc=exemple,dc=fr\n",
		"vlvFilter:: " + base64.StdEncoding.EncodeToString([]byte(ixs[0].Filter)) + "\n",
		"dn: cn=scimgateUserById,cn=scimgateUser,cn=userRoot,cn=ldbm database,cn=plugins,cn=config\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the LDIF lacks %q:\n%s", want, out)
		}
	}
	for _, dn := range []string{`cn=a\"b,dc=x`, "cn=a\nb,dc=x"} {
		if _, err := BrowsingIndexLDIF(dn, ixs); err == nil {
			t.Errorf("service DN %q: no error", dn)
		}
	}
	for v, want := range map[string]string{
		"plain":      "a: plain\n",
		"":           "a: \n",
		" lead":      "a:: IGxlYWQ=\n",
		":colon":     "a:: OmNvbG9u\n",
		"<url":       "a:: PHVybA==\n",
		"trail ":     "a:: dHJhaWwg\n",
		"é":          "a:: w6k=\n",
		"two\nlines": "a:: dHdvCmxpbmVz\n",
	} {
		var b strings.Builder
		ldifLine(&b, "a", v)
		if b.String() != want {
			t.Errorf("ldifLine(%q) = %q, want %q", v, b.String(), want)
		}
	}
	tasks := BrowsingIndexTaskLDIF(append(ixs, BrowsingIndex{Name: "scimgateGroup", Backend: "groups"}), "-x")
	if len(tasks) != 2 || !strings.Contains(tasks[1], "cn: scimgate-browsing-indexes-groups-x\nnsInstance: groups\nnsIndexVLVAttribute: scimgateGroupById\n") {
		t.Errorf("tasks: %q", tasks)
	}
}
