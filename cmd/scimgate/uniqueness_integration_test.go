package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"gopkg.in/yaml.v3"

	"github.com/scimgate/scimgate/ldapbackend/dirsrv"
	"github.com/scimgate/scimgate/ldapbackend/dirsrv/dirsrvtest"
)

// TestUniquenessOutsideTheName: userName stays unique when the mapping
// keeps it outside the entry's name (here mail, with entries named by cn),
// where the directory's unique DNs do not keep it so: a create and a PATCH
// to a taken userName are 409 uniqueness, through either of two gateways.
// (Two gateways creating one userName at the very same moment can both
// pass this check: see the README's notes on uniqueness.)
func TestUniquenessOutsideTheName(t *testing.T) {
	staff := func(c *Config) {
		if err := yaml.Unmarshal([]byte(staffMapping), c); err != nil {
			t.Fatal(err)
		}
		c.Log.Level = "info"
	}
	e := startEnvWith(t, staff, "../../testdata/demo/staff.ldif")
	e2 := startGateway(t, e.ldap.URL, "dc=example,dc=com", staff)
	c := "connector"
	user := func(name, display string) map[string]any {
		return map[string]any{"schemas": []string{userURN}, "userName": name, "displayName": display}
	}
	e.must(201, "POST", "/Users", c, user("uma@example.com", "Uma One"))
	scimError(t, e.do("POST", "/Users", c, user("uma@example.com", "Uma Two")), 409, "uniqueness")
	scimError(t, e2.do("POST", "/Users", c, user("UMA@example.com", "Uma Three")), 409, "uniqueness")

	other := str(e2.must(201, "POST", "/Users", c, user("vera@example.com", "Vera Four")).body, "id")
	scimError(t, e2.do("PATCH", "/Users/"+other, c, patchOp("replace", "userName", "uma@example.com")), 409, "uniqueness")
	scimError(t, e.do("PUT", "/Users/"+other, c, user("uma@example.com", "Vera Four")), 409, "uniqueness")
	r := e.must(200, "GET", "/Users/"+other, c, nil)
	if str(r.body, "userName") != "vera@example.com" {
		t.Errorf("after the refused changes, userName is %q", str(r.body, "userName"))
	}
	conn, err := e.ldap.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest("ou=Staff,dc=example,dc=com", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(mail=uma@example.com)", []string{"1.1"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Errorf("entries with userName uma@example.com: %d %v, want 1", len(res.Entries), err)
	}
}

// TestUniquenessRace: with userName outside the entry's name (mail), 16
// clients creating one userName at once through two gateways get one 201
// and 409s, and the directory holds one entry with it; 8 users renamed to
// one userName at once: one keeps it, the others keep their old one. On
// OpenLDAP and on 389 DS.
func TestUniquenessRace(t *testing.T) {
	staff := func(c *Config) {
		if err := yaml.Unmarshal([]byte(staffMapping), c); err != nil {
			t.Fatal(err)
		}
		c.Log.Level = "info"
	}
	t.Run("slapd", func(t *testing.T) {
		e := startEnvWith(t, staff, "../../testdata/demo/staff.ldif")
		uniquenessRace(t, [2]*testEnv{e, startGateway(t, e.ldap.URL, "dc=example,dc=com", staff)},
			func(ctx context.Context) (*ldap.Conn, error) { return e.ldap.Conn(ctx) })
	})
	t.Run("389", func(t *testing.T) {
		// The staff subtree with its ACIs where 389 keeps scimgate's.
		data, err := os.ReadFile("../../testdata/demo/staff.ldif")
		if err != nil {
			t.Fatal(err)
		}
		staff389 := filepath.Join(t.TempDir(), "staff-389.ldif")
		if err := os.WriteFile(staff389, []byte(strings.ReplaceAll(string(data), "\naci: ", "\nscimgateAci: ")), 0o600); err != nil {
			t.Fatal(err)
		}
		d := dirsrvtest.StartT(t, dirsrv.Options{SeedLDIF: []string{"../../testdata/demo/directory-389.ldif", staff389}})
		on389 := func(c *Config) {
			staff(c)
			c.LDAP.Directory = "389"
		}
		uniquenessRace(t, [2]*testEnv{startGateway(t, d.URL, d.Suffix, on389), startGateway(t, d.URL, d.Suffix, on389)}, d.Conn)
	})
}

func uniquenessRace(t *testing.T, gws [2]*testEnv, conn func(context.Context) (*ldap.Conn, error)) {
	e := gws[0]
	holders := func(name string) int {
		c, err := conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		res, err := c.Search(ldap.NewSearchRequest("ou=Staff,dc=example,dc=com", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(mail="+ldap.EscapeFilter(name)+")", []string{"1.1"}, nil))
		if err != nil {
			t.Fatal(err)
		}
		return len(res.Entries)
	}
	race := func(n int, req func(i int) response) map[int]int {
		statuses := map[int]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r := req(i)
				if r.status >= 500 {
					t.Logf("%d: %s", r.status, r.raw)
				}
				mu.Lock()
				statuses[r.status]++
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		return statuses
	}
	for round := range 5 {
		name := fmt.Sprintf("race-%d@example.com", round)
		got := race(16, func(i int) response {
			return gws[i%2].do("POST", "/Users", "connector", map[string]any{"schemas": []string{userURN}, "userName": name, "displayName": fmt.Sprintf("Racer %d-%d", round, i)})
		})
		if got[201] != 1 || got[409] != 15 {
			t.Errorf("16 creates of %s: %v, want one 201 and 15 409", name, got)
		}
		if n := holders(name); n != 1 {
			t.Errorf("%s: %d entries hold it, want 1", name, n)
		}
	}
	var ids, olds []string
	for i := range 8 {
		old := fmt.Sprintf("renamee-%d@example.com", i)
		olds = append(olds, old)
		ids = append(ids, str(e.must(201, "POST", "/Users", "connector", map[string]any{"schemas": []string{userURN}, "userName": old, "displayName": "Renamee " + old}).body, "id"))
	}
	got := race(8, func(i int) response {
		return gws[i%2].do("PATCH", "/Users/"+ids[i], "connector", patchOp("replace", "userName", "taken@example.com"))
	})
	if got[200] != 1 || got[409] != 7 {
		t.Errorf("8 renames to one userName: %v, want one 200 and 7 409", got)
	}
	if n := holders("taken@example.com"); n != 1 {
		t.Errorf("taken@example.com: %d entries hold it, want 1", n)
	}
	kept := 0
	for i, id := range ids {
		if str(e.must(200, "GET", "/Users/"+id, "connector", nil).body, "userName") == olds[i] {
			kept++
		}
	}
	if kept != 7 {
		t.Errorf("%d users kept their old userName, want 7", kept)
	}
}
