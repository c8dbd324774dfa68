package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/dirsrv"
	"github.com/scimgate/scimgate/ldapbackend/dirsrv/dirsrvtest"
)

// directoryAdmin is what the password checks need of a private directory server: where it
// listens and its administrator, who may read userPassword.
type directoryAdmin struct {
	url, adminDN, adminPassword, suffix string
}

// passwordWrite is one SCIM request that sets a user's password.
type passwordWrite struct {
	name     string
	status   int
	method   string
	password string
	body     func(userName, password string) map[string]any
}

// passwordWrites creates a user with a password, then changes it with PATCH and with PUT.
var passwordWrites = []passwordWrite{
	{"POST", 201, "POST", "Post-Secret-1", func(userName, password string) map[string]any {
		return map[string]any{"schemas": []string{userURN}, "userName": userName, "password": password,
			"name": map[string]any{"givenName": "Pat", "familyName": "Word"}}
	}},
	{"PATCH", 200, "PATCH", "Patch-Secret-2", func(_, password string) map[string]any {
		return patchOp("replace", "password", password)
	}},
	{"PUT", 200, "PUT", "Put-Secret-3", func(userName, password string) map[string]any {
		return map[string]any{"schemas": []string{userURN}, "userName": userName, "password": password,
			"name": map[string]any{"givenName": "Pat", "familyName": "Word"}, "title": "Replaced"}
	}},
}

// checkPasswordWrites sends passwordWrites through the gateway and checks after each that
// the directory stores a hash whose scheme starts with one of schemes (never the password),
// that the user binds with the new password but no longer with the previous one nor a wrong
// one, and that no response and no read carries the password.
func checkPasswordWrites(t *testing.T, e *testEnv, d directoryAdmin, userName string, schemes ...string) {
	t.Helper()
	c := "connector"
	var id, previous string
	for _, w := range passwordWrites {
		path := "/Users"
		if id != "" {
			path += "/" + id
		}
		r := e.must(w.status, w.method, path, c, w.body(userName, w.password))
		if id == "" {
			id = str(r.body, "id")
		}
		if strings.Contains(r.raw, w.password) || strings.Contains(r.raw, `"password"`) {
			t.Errorf("%s: the response carries the password: %s", w.name, r.raw)
		}

		dn, stored := storedPasswords(t, d, userName)
		if len(stored) != 1 {
			t.Fatalf("%s: %s has %d userPassword values, want 1", w.name, dn, len(stored))
		}
		hashed := false
		for _, s := range schemes {
			hashed = hashed || strings.HasPrefix(stored[0], s)
		}
		if !hashed || strings.Contains(stored[0], w.password) {
			t.Errorf("%s: userPassword is %q, want a hash in one of %v", w.name, stored[0], schemes)
		}

		if err := bindAs(t, d.url, dn, w.password); err != nil {
			t.Errorf("%s: bind with the password: %v", w.name, err)
		}
		for _, wrong := range []string{previous, w.password + "x"} {
			if wrong == "" {
				continue
			}
			if err := bindAs(t, d.url, dn, wrong); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
				t.Errorf("%s: bind with %q: %v, want invalid credentials", w.name, wrong, err)
			}
		}
		previous = w.password
	}

	// The password is never read back, not even when asked for.
	for _, path := range []string{
		"/Users/" + id,
		"/Users/" + id + "?attributes=password",
		"/Users?filter=" + q(`userName eq "`+userName+`"`),
		"/Users?filter=" + q(`userName eq "`+userName+`"`) + "&attributes=userName,password",
	} {
		r := e.must(200, "GET", path, c, nil)
		if strings.Contains(r.raw, `"password"`) || strings.Contains(r.raw, previous) {
			t.Errorf("GET %s returns the password: %s", path, r.raw)
		}
	}
	e.must(204, "DELETE", "/Users/"+id, c, nil)
}

// storedPasswords reads, as the directory's administrator, the DN and the userPassword
// values of the user with this uid.
func storedPasswords(t *testing.T, d directoryAdmin, uid string) (string, []string) {
	t.Helper()
	conn := dial(t, d.url)
	defer conn.Close()
	if err := conn.Bind(d.adminDN, d.adminPassword); err != nil {
		t.Fatalf("bind as %s: %v", d.adminDN, err)
	}
	res, err := conn.Search(&ldap.SearchRequest{
		BaseDN: d.suffix, Scope: ldap.ScopeWholeSubtree, DerefAliases: ldap.NeverDerefAliases,
		Filter: "(uid=" + ldap.EscapeFilter(uid) + ")", Attributes: []string{"userPassword"},
	})
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("search uid=%s: %v", uid, err)
	}
	return res.Entries[0].DN, res.Entries[0].GetAttributeValues("userPassword")
}

// bindAs makes an LDAP simple bind as dn on a connection of its own.
func bindAs(t *testing.T, url, dn, password string) error {
	t.Helper()
	conn := dial(t, url)
	defer conn.Close()
	return conn.Bind(dn, password)
}

// dial connects to url with a deadline on the dial and on every request.
func dial(t *testing.T, url string) *ldap.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	dl, _ := ctx.Deadline()
	conn, err := ldap.DialURL(url, ldap.DialWithDialer(&net.Dialer{Deadline: dl}))
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	conn.SetTimeout(10 * time.Second)
	return conn
}

// TestPasswordHashedOpenLDAP: a password written through the gateway (POST, PATCH, PUT) is
// stored by slapd as an {ARGON2} hash (the ppolicy overlay hashes the service account's
// writes), binds, and is never returned.
func TestPasswordHashedOpenLDAP(t *testing.T) {
	e := startEnv(t)
	d := directoryAdmin{url: e.ldap.URL, adminDN: e.ldap.AdminDN, adminPassword: e.ldap.AdminPassword, suffix: e.ldap.Suffix}
	checkPasswordWrites(t, e, d, "pw-openldap", "{ARGON2}")
}

// TestPasswordHashed389: the same on 389 Directory Server, which hashes clear-text
// passwords with its own storage scheme (PBKDF2-SHA512 on 2.x) without being told to.
func TestPasswordHashed389(t *testing.T) {
	s := dirsrvtest.StartT(t, dirsrv.Options{SeedLDIF: []string{"../../testdata/demo/directory-389.ldif"}})
	e := startGateway(t, s.URL, s.Suffix, func(c *Config) { c.LDAP.Directory = "389" })
	d := directoryAdmin{url: s.URL, adminDN: s.AdminDN, adminPassword: s.AdminPassword, suffix: s.Suffix}
	checkPasswordWrites(t, e, d, "pw-389", "{PBKDF2")
}
