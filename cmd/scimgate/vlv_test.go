package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestVLVIndexesCommand: scimgate vlv-indexes prints, for each type of the
// configuration, a vlvSearch of its whole listing (base, subtree, the
// type's filter) with an ACI for the service account, its vlvIndex by id,
// and the task that builds them all (TestBrowsingIndexesOn389 loads the
// same LDIF into 389 DS).
func TestVLVIndexesCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	// printed runs the command on the demo configuration with args, and
	// checks that what it prints holds each of wants.
	printed := func(what string, args []string, wants ...string) {
		t.Helper()
		out.Reset()
		args = append([]string{"vlv-indexes", "--config", "../../testdata/demo/scimgate.yaml"}, args...)
		if code := run(args, nil, &out, &errOut); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		for _, want := range wants {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s, the output lacks %q:\n%s", what, want, out.String())
			}
		}
	}
	printed("with one backend", []string{"--backend", "db1"},
		"dn: cn=scimgateUser,cn=db1,cn=ldbm database,cn=plugins,cn=config\nchangetype: add\nobjectClass: top\nobjectClass: vlvSearch\ncn: scimgateUser\nvlvBase: ou=People,dc=example,dc=com\nvlvScope: 2\nvlvFilter: (objectClass=inetOrgPerson)\n",
		`userdn="ldap:///cn=scimgate,ou=Services,dc=example,dc=com"`,
		"dn: cn=scimgateUserById,cn=scimgateUser,cn=db1,cn=ldbm database,cn=plugins,cn=config\nchangetype: add\nobjectClass: top\nobjectClass: vlvIndex\ncn: scimgateUserById\nvlvSort: entryUUID\n",
		"vlvBase: ou=Groups,dc=example,dc=com",
		"objectClass: extensibleObject\ncn: scimgate-browsing-indexes-db1-",
		"nsInstance: db1\nnsIndexVLVAttribute: scimgateUserById\nnsIndexVLVAttribute: scimgateGroupById\n",
		"ldapmodify -c -f",
	)
	// A type held by another backend: its index goes there, built by a
	// task of its own.
	printed("with a backend for Group", []string{"--backend", "db1", "--backend", "Group=groups_db"},
		"dn: cn=scimgateUser,cn=db1,cn=ldbm database",
		"dn: cn=scimgateGroup,cn=groups_db,cn=ldbm database",
		"nsInstance: db1\nnsIndexVLVAttribute: scimgateUserById\nnsIndexVLVAttribute: scimgateSyncProfileById\n",
		"nsInstance: groups_db\nnsIndexVLVAttribute: scimgateGroupById\n",
	)
	if code := run([]string{"vlv-indexes", "--config", "../../testdata/demo/scimgate.yaml", "--backend", "Nosuch=db2"}, nil, &out, &errOut); code != 2 {
		t.Errorf("a backend for a type the configuration lacks: exit %d, want 2", code)
	}
	if code := run([]string{"vlv-indexes", "--config", "no-such-file.yaml"}, nil, &out, &errOut); code != 2 {
		t.Errorf("a missing configuration: exit %d, want 2", code)
	}
	if code := run([]string{"vlv-indexes", "--config", "../../testdata/demo/scimgate.yaml", "--backend", "a,b"}, nil, &out, &errOut); code != 2 {
		t.Errorf("a backend name with a comma: exit %d, want 2", code)
	}
}
