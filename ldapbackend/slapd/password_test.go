package slapd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// TestRenderConfPasswordHash checks the configuration each password scheme gets: ppolicy
// with ppolicy_hash_cleartext and password-hash unless passwords are kept in clear, the
// argon2 module (with its parameters) only for {ARGON2}.
func TestRenderConfPasswordHash(t *testing.T) {
	for _, c := range []struct {
		scheme        PasswordScheme
		want, without []string
	}{
		{"", // the default
			[]string{"moduleload ppolicy\n", "moduleload argon2 " + Argon2Params + "\n", "password-hash {ARGON2}\n", "\noverlay ppolicy\nppolicy_hash_cleartext\n"},
			nil},
		{PasswordSSHA,
			[]string{"moduleload ppolicy\n", "password-hash {SSHA}\n", "\noverlay ppolicy\nppolicy_hash_cleartext\n"},
			[]string{"argon2"}},
		{PasswordClearText, nil, []string{"ppolicy", "password-hash", "argon2"}},
	} {
		t.Run(string(c.scheme), func(t *testing.T) {
			o, err := Options{SchemaDir: "/s", PasswordHash: c.scheme}.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			conf := renderConf(o, "/w")
			for _, w := range c.want {
				if !strings.Contains(conf, w) {
					t.Errorf("conf lacks %q", w)
				}
			}
			for _, w := range c.without {
				if strings.Contains(conf, w) {
					t.Errorf("conf has %q", w)
				}
			}
			// The hashing overlay is on the main database, not the access log's.
			if c.scheme != PasswordClearText && strings.Index(conf, "overlay ppolicy") < strings.LastIndex(conf, "database mdb") {
				t.Error("ppolicy is not on the main database")
			}
		})
	}
	_, err := Options{SchemaDir: "/s", PasswordHash: "{MD5}"}.withDefaults()
	if err == nil || !strings.Contains(err.Error(), `unknown password scheme "{MD5}"`) {
		t.Errorf("error = %v, want the unknown scheme named", err)
	}
}

// TestPasswordHashing writes passwords over LDAP as the service account, the user itself
// and the rootdn, and checks for each scheme that the directory stores a hash (or, for
// {CLEARTEXT}, the password), that a bind with the password succeeds and one with another
// password fails, and that the access log never records the password.
func TestPasswordHashing(t *testing.T) {
	t.Parallel()
	const alice = "uid=alice,ou=People,dc=example,dc=com"
	const zed = "uid=zed,ou=People,dc=example,dc=com"
	for _, scheme := range []PasswordScheme{PasswordArgon2, PasswordSSHA, PasswordClearText} {
		t.Run(string(scheme), func(t *testing.T) {
			t.Parallel()
			s := StartT(t, Options{SeedLDIF: []string{demoLDIF}, PasswordHash: scheme,
				Overlays: append(DefaultOverlays(), OverlayAccessLog)})
			admin := bindT(t, s, s.AdminDN, s.AdminPassword)
			svc := bindT(t, s, demoService, demoSvcPass)
			self := bindT(t, s, alice, "alice-demo-password")
			for _, w := range []struct {
				name     string
				conn     *ldap.Conn
				dn, pass string
				write    func(conn *ldap.Conn, dn, pass string) error
			}{
				{"service add", svc, zed, "zed-add-1", func(conn *ldap.Conn, dn, pass string) error {
					r := ldap.NewAddRequest(dn, nil)
					r.Attribute("objectClass", []string{"inetOrgPerson"})
					r.Attribute("cn", []string{"Zed"})
					r.Attribute("sn", []string{"Zed"})
					r.Attribute("userPassword", []string{pass})
					return conn.Add(r)
				}},
				{"service replace", svc, alice, "alice-svc-2", replacePassword},
				{"service add value", svc, zed, "zed-add-3", func(conn *ldap.Conn, dn, pass string) error {
					r := ldap.NewModifyRequest(dn, nil)
					r.Add("userPassword", []string{pass})
					return conn.Modify(r)
				}},
				{"self replace", self, alice, "alice-self-4", replacePassword},
				{"rootdn replace", admin, alice, "alice-root-5", replacePassword},
			} {
				if err := w.write(w.conn, w.dn, w.pass); err != nil {
					t.Fatalf("%s: %v", w.name, err)
				}
				stored := search(t, admin, w.dn, "(objectClass=*)", "userPassword")[0].GetAttributeValues("userPassword")
				last := stored[len(stored)-1]
				if scheme == PasswordClearText {
					if last != w.pass {
						t.Errorf("%s: stored %q, want the password as written", w.name, last)
					}
				} else if !strings.HasPrefix(last, string(scheme)) || strings.Contains(last, w.pass) {
					t.Errorf("%s: stored %q, want a %s hash", w.name, last, scheme)
				}
				if conn, err := s.Bind(testCtx(t), w.dn, w.pass); err != nil {
					t.Errorf("%s: bind with the password: %v", w.name, err)
				} else {
					conn.Close()
				}
				if _, err := s.Bind(testCtx(t), w.dn, w.pass+"x"); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
					t.Errorf("%s: bind with a wrong password: %v, want invalid credentials", w.name, err)
				}
				if scheme == PasswordClearText {
					continue
				}
				logged := false
				for _, e := range search(t, admin, AccessLogSuffix, "(reqDN="+w.dn+")", "reqMod") {
					for _, m := range e.GetAttributeValues("reqMod") {
						if strings.Contains(m, w.pass) {
							t.Errorf("%s: the access log holds the password: %q", w.name, m)
						}
						logged = logged || strings.HasPrefix(m, "userPassword:") && strings.Contains(m, string(scheme))
					}
				}
				if !logged {
					t.Errorf("%s: the access log has no hashed userPassword", w.name)
				}
			}
		})
	}
}

func replacePassword(conn *ldap.Conn, dn, pass string) error {
	r := ldap.NewModifyRequest(dn, nil)
	r.Replace("userPassword", []string{pass})
	return conn.Modify(r)
}

// TestMissingModules checks that Start refuses, naming the modules, when the module
// directory lacks what hashing passwords needs, and that {CLEARTEXT} needs neither module.
func TestMissingModules(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(DefaultModuleDir, "back_mdb.so"), filepath.Join(dir, "back_mdb.so")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		scheme        PasswordScheme
		want, without []string
	}{
		{PasswordArgon2, []string{"lacks the modules ppolicy (", "argon2 (the {ARGON2} password scheme"}, nil},
		{PasswordSSHA, []string{"lacks the modules ppolicy ("}, []string{"argon2"}},
		{PasswordClearText, nil, nil},
	} {
		t.Run(string(c.scheme), func(t *testing.T) {
			t.Parallel()
			o := Options{ModuleDir: dir, Overlays: []Overlay{}, PasswordHash: c.scheme}
			if c.want == nil {
				StartT(t, o)
				return
			}
			s, err := Start(testCtx(t), o)
			if err == nil {
				s.Stop()
				t.Fatal("started without the modules")
			}
			if !errors.Is(err, ErrNotInstalled) {
				t.Errorf("error = %v, want ErrNotInstalled", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error = %v, want it to contain %q", err, w)
				}
			}
			for _, w := range c.without {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error = %v, should not name %q", err, w)
				}
			}
		})
	}
}
