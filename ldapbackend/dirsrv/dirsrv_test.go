package dirsrv

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
)

const (
	demoLDIF  = "../../testdata/demo/directory-389.ldif"
	suffix    = "dc=example,dc=com"
	serviceDN = "cn=scimgate,ou=Services,dc=example,dc=com"
	servicePW = "scimgate-demo-password"
	people    = "ou=People,dc=example,dc=com"
)

func search(t *testing.T, conn *ldap.Conn, base string, scope int, filter string, attrs []string, controls ...ldap.Control) *ldap.SearchResult {
	t.Helper()
	res, err := conn.Search(ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, controls))
	if err != nil {
		t.Fatalf("search %s %s: %v", base, filter, err)
	}
	return res
}

func one(t *testing.T, conn *ldap.Conn, dn string, attrs ...string) *ldap.Entry {
	t.Helper()
	res := search(t, conn, dn, ldap.ScopeBaseObject, "(objectClass=*)", attrs)
	if len(res.Entries) != 1 {
		t.Fatalf("%s: %d entries", dn, len(res.Entries))
	}
	return res.Entries[0]
}

// TestDemoDirectory starts one server with the demo directory and checks what scimgate
// relies on, as the service account.
func TestDemoDirectory(t *testing.T) {
	start := time.Now()
	s := StartT(t, Options{SeedLDIF: []string{demoLDIF}})
	t.Logf("Start with the demo directory: %v", time.Since(start).Round(time.Millisecond))
	ctx := t.Context()
	svc, err := s.Bind(ctx, serviceDN, servicePW)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()

	t.Run("entries", func(t *testing.T) {
		res := search(t, svc, people, ldap.ScopeSingleLevel, "(objectClass=inetOrgPerson)", []string{"uid"})
		if len(res.Entries) != 40 {
			t.Errorf("%d users, want 40", len(res.Entries))
		}
		res = search(t, svc, "ou=Groups,"+suffix, ldap.ScopeSingleLevel, "(objectClass=groupOfNames)", []string{"cn"})
		if len(res.Entries) != 6 {
			t.Errorf("%d groups, want 6", len(res.Entries))
		}
	})

	t.Run("indexes", func(t *testing.T) {
		// The ACI store's (scimgateAci=*) and lookups by id are indexed, so
		// 389's look-through limit does not apply to them.
		admin, err := s.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		for attr, typ := range map[string]string{"scimgateAci": "pres", "entryUUID": "eq"} {
			e := one(t, admin, "cn="+attr+",cn=index,cn="+BackendName+",cn=ldbm database,cn=plugins,cn=config", "nsIndexType")
			if !slices.ContainsFunc(e.GetAttributeValues("nsIndexType"), func(v string) bool { return strings.EqualFold(v, typ) }) {
				t.Errorf("%s index types %v, want %s", attr, e.GetAttributeValues("nsIndexType"), typ)
			}
		}
	})

	t.Run("entryUUID", func(t *testing.T) {
		e := one(t, svc, "uid=alice,"+people, "entryUUID", "entryusn", "nsUniqueId", "createTimestamp")
		u := e.GetAttributeValue("entryUUID")
		if len(u) != 36 || strings.Count(u, "-") != 4 {
			t.Fatalf("entryUUID %q", u)
		}
		for _, a := range []string{"entryusn", "nsUniqueId", "createTimestamp"} {
			if e.GetAttributeValue(a) == "" {
				t.Errorf("no %s", a)
			}
		}
		res := search(t, svc, suffix, ldap.ScopeWholeSubtree, "(entryUUID="+u+")", []string{"1.1"})
		if len(res.Entries) != 1 || res.Entries[0].DN != "uid=alice,"+people {
			t.Errorf("(entryUUID=%s) found %d entries", u, len(res.Entries))
		}
		// Added online later too.
		if err := s.LDAPModify(ctx, "dn: uid=newbie,"+people+"\nobjectClass: inetOrgPerson\nuid: newbie\ncn: New Bie\nsn: Bie\n"); err != nil {
			t.Fatal(err)
		}
		if u := one(t, svc, "uid=newbie,"+people, "entryUUID").GetAttributeValue("entryUUID"); len(u) != 36 {
			t.Errorf("new entry's entryUUID %q", u)
		}
	})

	t.Run("entryusn and assertion", func(t *testing.T) {
		dn := "uid=carol," + people
		usn := func() string { return one(t, svc, dn, "entryusn").GetAttributeValue("entryusn") }
		before := usn()
		mod := func(title, assertUSN string) error {
			req := ldap.NewModifyRequest(dn, nil)
			req.Replace("title", []string{title})
			if assertUSN != "" {
				c, err := ldapconn.NewAssertionControl("(entryusn=" + ldap.EscapeFilter(assertUSN) + ")")
				if err != nil {
					t.Fatal(err)
				}
				req.Controls = append(req.Controls, c)
			}
			return svc.Modify(req)
		}
		// 389 2.3.1 does not implement the Assertion control (not in supportedControl): a
		// critical one fails the operation with unavailableCriticalExtension (12).
		if err := mod("Principal Engineer", before); !ldap.IsErrorWithCode(err, ldap.LDAPResultUnavailableCriticalExtension) {
			t.Fatalf("modify with an Assertion control: %v, want unavailableCriticalExtension (12)", err)
		}
		if err := mod("Principal Engineer", ""); err != nil {
			t.Fatal(err)
		}
		after := usn()
		b, _ := strconv.Atoi(before)
		a, _ := strconv.Atoi(after)
		if a <= b {
			t.Fatalf("entryusn %s -> %s after a modify", before, after)
		}
	})

	t.Run("memberOf", func(t *testing.T) {
		e := one(t, svc, "uid=carol,"+people, "memberOf", "objectClass")
		got := e.GetAttributeValues("memberOf")
		// Nested: carol is in platform-team, which is in engineering, which is in all-staff.
		for _, g := range []string{"platform-team", "engineering", "all-staff"} {
			if !slices.ContainsFunc(got, func(v string) bool { return strings.EqualFold(v, "cn="+g+",ou=Groups,"+suffix) }) {
				t.Errorf("carol's memberOf %q lacks %s", got, g)
			}
		}
		req := ldap.NewModifyRequest("cn=sales,ou=Groups,"+suffix, nil)
		req.Add("member", []string{"uid=priya," + people})
		if err := svc.Modify(req); err != nil {
			t.Fatal(err)
		}
		got = one(t, svc, "uid=priya,"+people, "memberOf").GetAttributeValues("memberOf")
		if !slices.ContainsFunc(got, func(v string) bool { return strings.EqualFold(v, "cn=sales,ou=Groups,"+suffix) }) {
			t.Errorf("priya's memberOf %q after adding her to sales", got)
		}
	})

	t.Run("sort", func(t *testing.T) {
		sorted := func(rule string) ([]string, string) {
			sc := ldap.NewControlServerSideSortingWithSortKeys([]*ldap.SortKey{{AttributeType: "sn", MatchingRule: rule, Reverse: true}})
			res := search(t, svc, people, ldap.ScopeSingleLevel, "(departmentNumber=Sales)", []string{"sn"}, sc)
			var got []string
			for _, e := range res.Entries {
				got = append(got, e.GetAttributeValue("sn"))
			}
			result := "no sort response"
			if c, ok := ldap.FindControl(res.Controls, ldap.ControlTypeServerSideSortingResult).(*ldap.ControlServerSideSortingResult); ok {
				result = strconv.Itoa(int(c.Result))
			}
			return got, result
		}
		// Without a matching rule 389 sorts by the attribute's syntax (case-insensitively for
		// Directory String).
		got, result := sorted("")
		want := slices.Clone(got)
		slices.SortFunc(want, func(a, b string) int { return strings.Compare(strings.ToLower(b), strings.ToLower(a)) })
		if len(got) != 8 || !slices.Equal(got, want) || result != "0" {
			t.Errorf("sorted sn %q, sort result %s", got, result)
		}
		// Naming caseIgnoreOrderingMatch (which OpenLDAP needs) makes 389 answer
		// operationsError (1) in the sort response and return the entries unsorted.
		if _, result := sorted("caseIgnoreOrderingMatch"); result != "1" {
			t.Logf("sort with caseIgnoreOrderingMatch: sort result %s (ldapsearch -E sss=-sn:caseIgnoreOrderingMatch gets 1, unsorted, from 389 2.3.1)", result)
		}
	})

	t.Run("entryDN filter", func(t *testing.T) {
		a, b := "uid=alice,"+people, "cn=sales,ou=Groups,"+suffix
		res := search(t, svc, suffix, ldap.ScopeWholeSubtree, "(|(entryDN="+a+")(entryDN="+b+"))", []string{"entryDN"})
		var got []string
		for _, e := range res.Entries {
			got = append(got, e.DN)
		}
		slices.Sort(got)
		if !slices.Equal(got, []string{b, a}) {
			t.Errorf("(|(entryDN=...)(entryDN=...)) found %q", got)
		}
	})

	t.Run("scimgateAci", func(t *testing.T) {
		e := one(t, svc, "ou=People,"+suffix, "scimgateAci", "aci", "objectClass")
		if n := len(e.GetAttributeValues("scimgateAci")); n != 3 {
			t.Errorf("%d scimgateAci values on ou=People, want 3", n)
		}
		if v := e.GetAttributeValues("scimgateAci"); len(v) > 0 && !strings.Contains(v[0], `oauthscope="scim:read"`) {
			t.Errorf("scimgateAci %q", v[0])
		}
		// The service account manages scimgateAci like scimgate's admin API would.
		const extra = `(targetattr="title")(version 3.0; acl "test"; allow (read) oauthscope="test:x";)`
		req := ldap.NewModifyRequest("ou=People,"+suffix, nil)
		req.Add("scimgateAci", []string{extra})
		if err := svc.Modify(req); err != nil {
			t.Fatal(err)
		}
		req = ldap.NewModifyRequest("ou=People,"+suffix, nil)
		req.Delete("scimgateAci", []string{extra})
		if err := svc.Modify(req); err != nil {
			t.Fatal(err)
		}
		// 389 refuses scimgate's ACI language in its own aci.
		req = ldap.NewModifyRequest("ou=People,"+suffix, nil)
		req.Add("aci", []string{extra})
		if err := s.modifyAsAdmin(ctx, req); err == nil {
			t.Error("389 accepted oauthscope in aci")
		}
	})

	t.Run("service account writes", func(t *testing.T) {
		dn := "uid=tmp," + people
		add := ldap.NewAddRequest(dn, nil)
		add.Attribute("objectClass", []string{"inetOrgPerson", "scimResource", "scimAccount"})
		add.Attribute("uid", []string{"tmp"})
		add.Attribute("cn", []string{"Tmp User"})
		add.Attribute("sn", []string{"User"})
		add.Attribute("scimAccountActive", []string{"TRUE"})
		add.Attribute("userPassword", []string{"tmp-password"})
		if err := svc.Add(add); err != nil {
			t.Fatalf("add: %v", err)
		}
		mod := ldap.NewModifyRequest(dn, nil)
		mod.Replace("mail", []string{"tmp@example.com"})
		if err := svc.Modify(mod); err != nil {
			t.Fatalf("modify: %v", err)
		}
		grp := ldap.NewModifyRequest("cn=support,ou=Groups,"+suffix, nil)
		grp.Add("member", []string{dn})
		if err := svc.Modify(grp); err != nil {
			t.Fatalf("group modify: %v", err)
		}
		cn := ldap.NewModifyRequest("cn=hr-connector,ou=Connectors,"+suffix, nil)
		cn.Replace("scimConnectorState", []string{"running"})
		if err := svc.Modify(cn); err != nil {
			t.Fatalf("connector modify: %v", err)
		}
		if err := svc.Del(ldap.NewDelRequest(dn, nil)); err != nil {
			t.Fatalf("delete: %v", err)
		}
		// Referential integrity removed the deleted user from the group.
		for _, m := range one(t, svc, "cn=support,ou=Groups,"+suffix, "member").GetAttributeValues("member") {
			if strings.EqualFold(m, dn) {
				t.Errorf("support still lists %s after its deletion", dn)
			}
		}
	})
}

func (s *Server) modifyAsAdmin(ctx context.Context, req *ldap.ModifyRequest) error {
	conn, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Modify(req)
}

// TestStopLeavesNothing checks that Stop ends the process and removes the temporary directory.
func TestStopLeavesNothing(t *testing.T) {
	start := time.Now()
	s, err := Start(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Start (empty): %v", time.Since(start).Round(time.Millisecond))
	pid, dir := s.PID(), s.Dir
	if pid == 0 || !s.Running() {
		t.Fatal("not running")
	}
	stop := time.Now()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop: %v", time.Since(stop).Round(time.Millisecond))
	if s.Running() {
		t.Error("still running after Stop")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d still exists after Stop (kill -0: %v)", pid, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists: %v", dir, err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}
