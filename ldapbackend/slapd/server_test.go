package slapd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

const (
	demoLDIF     = "../../testdata/demo/directory.ldif"
	demoService  = "cn=scimgate,ou=Services,dc=example,dc=com"
	demoSvcPass  = "scimgate-demo-password"
	people       = "ou=People,dc=example,dc=com"
	groups       = "ou=Groups,dc=example,dc=com"
	ctxTestLimit = 10 * time.Second
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), ctxTestLimit)
	t.Cleanup(cancel)
	return ctx
}

func search(t *testing.T, conn *ldap.Conn, base, filter string, attrs ...string) []*ldap.Entry {
	t.Helper()
	res, err := conn.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, 0, false, filter, attrs, nil))
	if err != nil {
		t.Fatalf("search %s %s: %v", base, filter, err)
	}
	return res.Entries
}

func dns(entries []*ldap.Entry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.DN)
	}
	return out
}

func bindT(t *testing.T, s *Server, dn, pw string) *ldap.Conn {
	t.Helper()
	conn, err := s.Bind(testCtx(t), dn, pw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestDemoDirectory loads the demo data into one server and checks the schema, the seeded
// data, the overlays and slapd's access rules against it.
func TestDemoDirectory(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{SeedLDIF: []string{demoLDIF}})
	admin := bindT(t, s, s.AdminDN, s.AdminPassword)

	t.Run("counts", func(t *testing.T) {
		for _, c := range []struct {
			base, filter string
			want         int
		}{
			{people, "(objectClass=inetOrgPerson)", 40},
			{groups, "(objectClass=groupOfNames)", 6},
			{"dc=example,dc=com", "(objectClass=scimSyncProfile)", 1},
			{"dc=example,dc=com", "(objectClass=scimConnector)", 1},
			{"dc=example,dc=com", "(aci=*)", 5},
			{people, "(scimAccountActive=FALSE)", 2},
			{people, "(&(objectClass=scimAccount)(!(scimAccountActive=FALSE)))", 38},
			{"dc=example,dc=com", "(scimConnectorLastRun>=20240101000000Z)", 1},
			{"dc=example,dc=com", "(scimConnectorUsersSynced>=40)", 1},
			{"dc=example,dc=com", "(scimSyncAttributeMapping=userName=uid)", 1},
			{"dc=example,dc=com", "(scimExternalId=hr-1001)", 1},
			{"dc=example,dc=com", "(scimExternalId=HR-1001)", 0}, // case-exact
			{"dc=example,dc=com", "(scimSyncEnabled=TRUE)", 1},
			{people, "(sn=conceição)", 1},
			{people, "(manager=uid=bob,ou=People,dc=example,dc=com)", 10},
		} {
			if got := len(search(t, admin, c.base, c.filter, "1.1")); got != c.want {
				t.Errorf("%s under %s: %d entries, want %d", c.filter, c.base, got, c.want)
			}
		}
	})

	t.Run("slapadd operational attributes", func(t *testing.T) {
		e := search(t, admin, people, "(uid=alice)", "entryUUID", "entryCSN", "createTimestamp", "aci")
		if len(e) != 1 {
			t.Fatalf("uid=alice: %d entries", len(e))
		}
		for _, a := range []string{"entryUUID", "entryCSN", "createTimestamp"} {
			if e[0].GetAttributeValue(a) == "" {
				t.Errorf("alice has no %s", a)
			}
		}
		uuid := e[0].GetAttributeValue("entryUUID")
		if got := dns(search(t, admin, "dc=example,dc=com", "(entryUUID="+uuid+")", "1.1")); len(got) != 1 {
			t.Errorf("lookup by entryUUID: %v", got)
		}
		ou := search(t, admin, people, "(ou=People)", "aci")
		if got := ou[0].GetAttributeValues("aci"); len(got) != 3 || !strings.Contains(got[0], `oauthscope="scim:read"`) {
			t.Errorf("ou=People aci = %q", got)
		}
	})

	t.Run("memberOf derived for seeds", func(t *testing.T) {
		for uid, want := range map[string][]string{
			"carol":   {"cn=engineering,ou=Groups,dc=example,dc=com", "cn=platform-team,ou=Groups,dc=example,dc=com"},
			"beatriz": {"cn=support,ou=Groups,dc=example,dc=com"}, // all-staff only through support
			"elif":    {"cn=all-staff,ou=Groups,dc=example,dc=com"},
		} {
			e := search(t, admin, people, "(uid="+uid+")", "memberOf")
			got := e[0].GetAttributeValues("memberOf")
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s memberOf = %q, want %q", uid, got, want)
			}
		}
		g := search(t, admin, groups, "(cn=platform-team)", "memberOf")
		if got := g[0].GetAttributeValues("memberOf"); !slices.Equal(got, []string{"cn=engineering,ou=Groups,dc=example,dc=com"}) {
			t.Errorf("nested group memberOf = %q", got)
		}
		if n := len(search(t, admin, people, "(memberOf=cn=sales,ou=Groups,dc=example,dc=com)", "1.1")); n != 8 {
			t.Errorf("memberOf=sales: %d, want 8", n)
		}
	})

	t.Run("server-side sort and paging", func(t *testing.T) {
		sortCtl := ldap.NewControlServerSideSortingWithSortKeys([]*ldap.SortKey{
			{AttributeType: "sn", MatchingRule: "caseIgnoreOrderingMatch", Reverse: true},
		})
		// sssvlv keeps one paged-results state per connection and may still be finishing the
		// previous page when the next request arrives: it then answers Busy (51), and the
		// page must be asked for again.
		paging := ldap.NewControlPaging(7)
		req := ldap.NewSearchRequest(people, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=inetOrgPerson)", []string{"sn"}, []ldap.Control{sortCtl, paging})
		var sns []string
		for busy := 0; busy < 100; {
			res, err := admin.Search(req)
			if ldap.IsErrorWithCode(err, ldap.LDAPResultBusy) {
				busy++
				time.Sleep(5 * time.Millisecond)
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range res.Entries {
				sns = append(sns, strings.ToLower(e.GetAttributeValue("sn")))
			}
			cookie := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging).Cookie
			if len(cookie) == 0 {
				break
			}
			paging.SetCookie(cookie)
		}
		if len(sns) != 40 {
			t.Fatalf("%d entries, want 40", len(sns))
		}
		if !slices.IsSortedFunc(sns, func(a, b string) int { return strings.Compare(b, a) }) {
			t.Errorf("not in descending sn order: %q", sns)
		}
		// Several sorted searches left open on one connection: the per-connection cap is
		// raised above slapd's default of 5.
		for i := range 8 {
			ctl := ldap.NewControlPaging(2)
			req := ldap.NewSearchRequest(people, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
				"(objectClass=inetOrgPerson)", []string{"1.1"}, []ldap.Control{sortCtl, ctl})
			// sssvlv answers Busy (51) to a sorted search that follows the
			// previous one on the same connection too closely; retry briefly.
			var err error
			for try := 0; try < 50; try++ {
				if _, err = admin.Search(req); !ldap.IsErrorWithCode(err, ldap.LDAPResultBusy) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err != nil {
				t.Fatalf("open paged search %d: %v", i, err)
			}
		}
	})

	t.Run("access rules", func(t *testing.T) {
		anon := bindT(t, s, "", "")
		res, err := anon.Search(ldap.NewSearchRequest(people, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			0, 0, false, "(uid=*)", []string{"uid"}, nil))
		if err == nil && len(res.Entries) > 0 {
			t.Errorf("anonymous reads %d users", len(res.Entries))
		}
		root, err := anon.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			0, 0, false, "(objectClass=*)", []string{"supportedControl"}, nil))
		if err != nil {
			t.Fatalf("anonymous root DSE: %v", err)
		}
		ctls := root.Entries[0].GetAttributeValues("supportedControl")
		for _, oid := range []string{"1.2.840.113556.1.4.473", "2.16.840.1.113730.3.4.9", "1.3.6.1.4.1.4203.1.9.1.1", "2.16.840.1.113730.3.4.18"} {
			if !slices.Contains(ctls, oid) {
				t.Errorf("root DSE lacks supportedControl %s", oid)
			}
		}

		svc := bindT(t, s, demoService, demoSvcPass)
		if got := search(t, svc, people, "(uid=alice)", "userPassword"); got[0].GetAttributeValue("userPassword") != "alice-demo-password" {
			t.Errorf("service account cannot read userPassword")
		}
		err = svc.Modify(modReq("uid=erin,"+people, "title", "Staff Engineer"))
		if err != nil {
			t.Errorf("service account cannot write: %v", err)
		}

		alice := bindT(t, s, "uid=alice,"+people, "alice-demo-password")
		got := search(t, alice, people, "(uid=bob)", "userPassword", "mail")
		if len(got) != 1 || got[0].GetAttributeValue("mail") != "bob@example.com" {
			t.Fatalf("alice cannot read bob: %v", dns(got))
		}
		if got[0].GetAttributeValue("userPassword") != "" {
			t.Errorf("alice reads bob's password")
		}
		err = alice.Modify(modReq("uid=bob,"+people, "title", "Boss"))
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
			t.Errorf("alice writes bob: %v", err)
		}
		if err := alice.Modify(modReq("uid=alice,"+people, "userPassword", "alice-demo-password")); err != nil {
			t.Errorf("alice cannot set her own password: %v", err)
		}
	})

	t.Run("proxied authorization", func(t *testing.T) {
		svc := bindT(t, s, demoService, demoSvcPass)
		proxy := &ldap.ControlString{ControlType: "2.16.840.1.113730.3.4.18", Criticality: true,
			ControlValue: "dn:uid=carol," + people}
		req := ldap.NewModifyRequest("uid=dave,"+people, []ldap.Control{proxy})
		req.Replace("title", []string{"x"})
		if err := svc.Modify(req); !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
			t.Errorf("write proxied as carol: %v, want insufficient access", err)
		}
		res, err := svc.WhoAmI([]ldap.Control{proxy})
		if err != nil || !strings.EqualFold(res.AuthzID, "dn:uid=carol,"+people) {
			t.Errorf("whoami proxied as carol = %+v, %v", res, err)
		}
	})
}

func modReq(dn, attr, value string) *ldap.ModifyRequest {
	req := ldap.NewModifyRequest(dn, nil)
	req.Replace(attr, []string{value})
	return req
}

// TestLDAPModifyOverlays applies change LDIF online and checks what memberof and refint do.
func TestLDAPModifyOverlays(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{SeedLDIF: []string{demoLDIF}})
	ctx := testCtx(t)
	err := s.LDAPModify(ctx, `
# a new user, added to a group, made a manager, renamed, then deleted
dn: uid=zoe,ou=People,dc=example,dc=com
objectClass: inetOrgPerson
objectClass: scimResource
uid: zoe
cn: Zo
 e Zed
sn:: WmVk
scimExternalId: ext-zoe

dn: cn=sales,ou=Groups,dc=example,dc=com
changetype: modify
add: member
member: uid=zoe,ou=People,dc=example,dc=com
-

dn: uid=peggy,ou=People,dc=example,dc=com
changetype: modify
replace: manager
manager: uid=zoe,ou=People,dc=example,dc=com
-
replace: title
title: Senior Account Executive
-
delete: telephoneNumber
`)
	if err != nil {
		t.Fatal(err)
	}
	admin := bindT(t, s, s.AdminDN, s.AdminPassword)
	e := search(t, admin, people, "(uid=zoe)", "cn", "sn", "memberOf")
	if len(e) != 1 || e[0].GetAttributeValue("cn") != "Zoe Zed" || e[0].GetAttributeValue("sn") != "Zed" {
		t.Fatalf("zoe = %v", e)
	}
	if got := e[0].GetAttributeValues("memberOf"); !slices.Equal(got, []string{"cn=sales,ou=Groups,dc=example,dc=com"}) {
		t.Errorf("zoe memberOf = %q (memberof overlay)", got)
	}

	err = s.LDAPModify(ctx, `
dn: uid=zoe,ou=People,dc=example,dc=com
changetype: modrdn
newrdn: uid=zoey
deleteoldrdn: 1
`)
	if err != nil {
		t.Fatal(err)
	}
	// refint updates references in the background, after the rename has been answered.
	var peggy *ldap.Entry
	for range 100 {
		peggy = search(t, admin, people, "(uid=peggy)", "manager", "title", "telephoneNumber")[0]
		if peggy.GetAttributeValue("manager") != "uid=zoe,ou=People,dc=example,dc=com" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := peggy.GetAttributeValue("manager"); got != "uid=zoey,ou=People,dc=example,dc=com" {
		t.Errorf("peggy's manager after rename = %q (refint)", got)
	}
	if peggy.GetAttributeValue("title") != "Senior Account Executive" || peggy.GetAttributeValue("telephoneNumber") != "" {
		t.Errorf("peggy = %v", peggy.Attributes)
	}
	sales := search(t, admin, groups, "(cn=sales)", "member")[0].GetAttributeValues("member")
	if !slices.Contains(sales, "uid=zoey,ou=People,dc=example,dc=com") {
		t.Errorf("sales members after rename: %q", sales)
	}

	if err := s.LDAPModify(ctx, "dn: uid=zoey,ou=People,dc=example,dc=com\nchangetype: delete\n"); err != nil {
		t.Fatal(err)
	}
	sales = search(t, admin, groups, "(cn=sales)", "member")[0].GetAttributeValues("member")
	if len(sales) != 8 || slices.ContainsFunc(sales, func(m string) bool { return strings.Contains(m, "zoe") }) {
		t.Errorf("sales members after delete: %q", sales)
	}

	// The failing record is named with its line; earlier records stay applied.
	err = s.LDAPModify(ctx, "dn: cn=ok,ou=Groups,dc=example,dc=com\nobjectClass: groupOfNames\ncn: ok\nmember: uid=bob,ou=People,dc=example,dc=com\n\n"+
		"dn: uid=nobody,ou=People,dc=example,dc=com\nchangetype: modify\nreplace: title\ntitle: x\n")
	if err == nil || !strings.Contains(err.Error(), "ldif:6:") || !ldap.IsErrorWithCode(errors.Unwrap(err), ldap.LDAPResultNoSuchObject) {
		t.Errorf("error = %v", err)
	}
	if n := len(search(t, admin, groups, "(cn=ok)", "1.1")); n != 1 {
		t.Errorf("first record not applied")
	}
}

// TestSyncProvNotifies follows ou=People with a refreshAndPersist search (as the gateway
// does for ACI changes) and expects an ACI edit to arrive.
func TestSyncProvNotifies(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{SeedLDIF: []string{demoLDIF}})
	ctx := testCtx(t)
	conn := bindT(t, s, demoService, demoSvcPass)
	req := ldap.NewSearchRequest("dc=example,dc=com", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(aci=*)", []string{"aci"}, nil)
	resp := conn.Syncrepl(ctx, req, 16, ldap.SyncRequestModeRefreshAndPersist, nil, false)
	initial := 0
	for initial < 5 && resp.Next() {
		if resp.Entry() != nil {
			initial++
		}
	}
	if initial != 5 {
		t.Fatalf("refresh phase: %d entries with aci, want 5 (%v)", initial, resp.Err())
	}
	go func() {
		s.LDAPModify(ctx, `dn: ou=Groups,dc=example,dc=com
changetype: modify
add: aci
aci: (targetattr="cn")(version 3.0; acl "new"; allow (read) userdn="ldap:///anyone";)
`)
	}()
	for resp.Next() {
		e := resp.Entry()
		if e != nil && strings.EqualFold(e.DN, groups) && len(e.GetAttributeValues("aci")) == 4 {
			return
		}
	}
	t.Fatalf("no notification of the ACI change: %v", resp.Err())
}

// TestRestartKeepsData restarts and halts/resumes a server: same address, same data, and
// refused connections while halted.
func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{})
	ctx := testCtx(t)
	err := s.LDAPModify(ctx, "dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n")
	if err != nil {
		t.Fatal(err)
	}
	url, pid := s.URL, s.PID()
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if s.URL != url || s.PID() == pid || !s.Running() {
		t.Errorf("after restart: url %s (was %s), pid %d (was %d), running %v", s.URL, url, s.PID(), pid, s.Running())
	}
	if n := len(search(t, bindT(t, s, s.AdminDN, s.AdminPassword), "dc=example,dc=com", "(o=Example)", "1.1")); n != 1 {
		t.Errorf("data lost on restart")
	}

	if err := s.Halt(); err != nil {
		t.Fatal(err)
	}
	if s.Running() {
		t.Error("running after Halt")
	}
	if c, err := s.Conn(ctx); err == nil {
		c.Close()
		t.Fatal("connected to a halted server")
	}
	if err := s.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(search(t, bindT(t, s, s.AdminDN, s.AdminPassword), "dc=example,dc=com", "(o=Example)", "1.1")); n != 1 {
		t.Errorf("data lost on halt/resume")
	}
}

// TestFreeze checks that a frozen server times requests out and a thawed one answers.
func TestFreeze(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{})
	conn := bindT(t, s, s.AdminDN, s.AdminPassword)
	if err := s.Freeze(); err != nil {
		t.Fatal(err)
	}
	conn.SetTimeout(200 * time.Millisecond)
	_, err := conn.WhoAmI(nil)
	if err == nil {
		t.Error("frozen server answered")
	}
	if err := s.Thaw(); err != nil {
		t.Fatal(err)
	}
	conn2 := bindT(t, s, s.AdminDN, s.AdminPassword)
	if _, err := conn2.WhoAmI(nil); err != nil {
		t.Errorf("thawed server: %v", err)
	}
}

// TestPortInUse asks for an address someone else listens on.
func TestPortInUse(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	s, err := Start(testCtx(t), Options{Addr: l.Addr().String()})
	if err == nil {
		s.Stop()
		t.Fatal("started on a port in use")
	}
	if !errors.Is(err, ErrAddrInUse) || !strings.Contains(err.Error(), "port "+port) {
		t.Errorf("error = %v, want ErrAddrInUse naming port %s", err, port)
	}
}

// TestStopCleansUp checks that Stop ends the process and removes the temporary directory,
// and that a given directory is kept and reused.
func TestStopCleansUp(t *testing.T) {
	t.Parallel()
	s, err := Start(testCtx(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	pid, dir := s.PID(), s.Dir
	if _, err := os.Stat(filepath.Join(dir, "slapd.conf")); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("working directory %s left behind: %v", dir, err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("slapd pid %d still exists: %v", pid, err)
	}
	if err := s.Resume(testCtx(t)); err == nil {
		t.Error("Resume after Stop succeeded")
	}

	// A given directory survives Stop; the next Start reuses its data and skips the seeds.
	keep := t.TempDir()
	s = StartT(t, Options{Dir: keep, SeedLDIF: []string{demoLDIF}})
	if err := s.LDAPModify(testCtx(t), "dn: uid=carol,ou=People,dc=example,dc=com\nchangetype: delete\n"); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s = StartT(t, Options{Dir: keep, SeedLDIF: []string{demoLDIF}})
	admin := bindT(t, s, s.AdminDN, s.AdminPassword)
	if n := len(search(t, admin, people, "(uid=carol)", "1.1")); n != 0 {
		t.Errorf("seeds reloaded into an existing database")
	}
	s.Stop()
	s = StartT(t, Options{Dir: keep, SeedLDIF: []string{demoLDIF}, Fresh: true})
	admin = bindT(t, s, s.AdminDN, s.AdminPassword)
	if n := len(search(t, admin, people, "(uid=carol)", "1.1")); n != 1 {
		t.Errorf("Fresh did not reload the seeds")
	}
}

// TestOverlayChoice starts servers without overlays and with the access log.
func TestOverlayChoice(t *testing.T) {
	t.Parallel()
	t.Run("none", func(t *testing.T) {
		t.Parallel()
		// With passwords in clear, ppolicy is not configured either.
		s := StartT(t, Options{SeedLDIF: []string{demoLDIF}, Overlays: []Overlay{}, PasswordHash: PasswordClearText})
		conf, err := os.ReadFile(filepath.Join(s.Dir, "slapd.conf"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(conf), "overlay") {
			t.Errorf("overlays configured:\n%s", conf)
		}
		admin := bindT(t, s, s.AdminDN, s.AdminPassword)
		// Without memberof, the seeds get no memberOf (and slapd does not know the type).
		if e := search(t, admin, people, "(uid=carol)", "memberOf"); e[0].GetAttributeValue("memberOf") != "" {
			t.Errorf("memberOf without the overlay")
		}
	})
	t.Run("accesslog", func(t *testing.T) {
		t.Parallel()
		s := StartT(t, Options{SeedLDIF: []string{demoLDIF}, Overlays: append(DefaultOverlays(), OverlayAccessLog)})
		if err := s.LDAPModify(testCtx(t), "dn: uid=bob,ou=People,dc=example,dc=com\nchangetype: modify\nreplace: title\ntitle: CTO\n"); err != nil {
			t.Fatal(err)
		}
		svc := bindT(t, s, demoService, demoSvcPass)
		got := search(t, svc, AccessLogSuffix, "(&(objectClass=auditModify)(reqDN=uid=bob,ou=People,dc=example,dc=com))", "reqMod")
		if len(got) != 1 || !slices.Contains(got[0].GetAttributeValues("reqMod"), "title:= CTO") {
			t.Errorf("access log: %v", got)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		t.Parallel()
		_, err := Start(testCtx(t), Options{Overlays: []Overlay{"ppolicy"}, Addr: "nonsense"})
		if err == nil || !strings.Contains(err.Error(), `unknown overlay "ppolicy"`) || !strings.Contains(err.Error(), `address "nonsense"`) {
			t.Errorf("error = %v, want both problems", err)
		}
	})
}

// TestBadSeed reports a broken seed with its file and line before anything starts.
func TestBadSeed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, c := range map[string]struct{ text, want string }{
		"syntax":    {"dn: dc=example,dc=com\nobjectClass dcObject\n", "bad.ldif:2: missing ':'"},
		"change":    {"dn: dc=example,dc=com\nchangetype: delete\n", "seed files hold entries only"},
		"schema":    {"dn: dc=example,dc=com\nobjectClass: dcObject\ndc: example\n", "slapadd"},
		"undefined": {"dn: dc=example,dc=com\nobjectClass: organization\nobjectClass: dcObject\ndc: example\no: x\nnoSuchAttr: 1\n", "noSuchAttr"},
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name, "bad.ldif")
			os.MkdirAll(filepath.Dir(p), 0o700)
			os.WriteFile(p, []byte(c.text), 0o600)
			s, err := Start(testCtx(t), Options{SeedLDIF: []string{p}})
			if err == nil {
				s.Stop()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// TestFailedSeedLeavesNoDatabase checks that a load that failed half-way is not taken for
// a loaded database by the next Start in the same directory.
func TestFailedSeedLeavesNoDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.ldif")
	os.WriteFile(bad, []byte("dn: cn=x,ou=People,dc=example,dc=com\nobjectClass: person\ncn: x\n"), 0o600) // no sn
	keep := filepath.Join(dir, "slapd")
	s, err := Start(testCtx(t), Options{Dir: keep, SeedLDIF: []string{demoLDIF, bad}})
	if err == nil {
		s.Stop()
		t.Fatal("started with a bad seed")
	}
	s = StartT(t, Options{Dir: keep, SeedLDIF: []string{demoLDIF}})
	admin := bindT(t, s, s.AdminDN, s.AdminPassword)
	if n := len(search(t, admin, people, "(uid=carol)", "1.1")); n != 1 {
		t.Errorf("seeds not loaded after a failed load")
	}
}

// TestGeneratedUsersLoad seeds the demo plus generated users and searches them.
func TestGeneratedUsersLoad(t *testing.T) {
	t.Parallel()
	p := usersLDIF(t, 500)
	s := StartT(t, Options{SeedLDIF: []string{demoLDIF, p}})
	admin := bindT(t, s, s.AdminDN, s.AdminPassword)
	for filter, want := range map[string]int{
		"(objectClass=inetOrgPerson)":              540,
		"(uid=user000500)":                         1,
		"(scimAccountActive=FALSE)":                2 + 50,
		"(manager=uid=user000001," + people + ")":  49,
		"(&(uid=user*)(departmentNumber=Finance))": 72, // i%7 == 1
	} {
		if got := len(search(t, admin, people, filter, "1.1")); got != want {
			t.Errorf("%s: %d, want %d", filter, got, want)
		}
	}
}

// orphanHelperEnv makes the test binary act as the helper of TestNoOrphanWhenParentDies.
const orphanHelperEnv = "SCIMGATE_SLAPD_ORPHAN_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(orphanHelperEnv) == "1" {
		orphanHelper()
		return
	}
	code := m.Run()
	if code == 0 {
		// Every test stops what it started: no slapd child may outlive the tests.
		if kids := childProcesses(); len(kids) > 0 {
			fmt.Fprintf(os.Stderr, "slapd processes left running: %v\n", kids)
			code = 1
		}
	}
	os.Exit(code)
}

// childProcesses lists the live children of this process, from /proc.
func childProcesses() []string {
	me := fmt.Sprint(os.Getpid())
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == me && f[0] != "Z" {
			out = append(out, e.Name()+" "+s[:i+1])
		}
	}
	return out
}

// orphanHelper starts slapd, reports its pid and directory on stdout, and waits to be killed.
func orphanHelper() {
	s, err := Start(context.Background(), Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("SLAPD %d %s\n", s.PID(), s.Dir)
	select {}
}

// TestSeedCache: with SeedCache, the first Start keeps the database slapadd made, and the
// next Start with the same configuration and seeds copies it instead of loading the seeds:
// the same entries, entryUUIDs included; other seeds make another.
func TestSeedCache(t *testing.T) {
	cache, users := t.TempDir(), usersLDIF(t, 200)
	uuids := func(s *Server) []string {
		t.Helper()
		c, err := s.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		res, err := c.Search(ldap.NewSearchRequest(people, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=inetOrgPerson)", []string{"entryUUID"}, nil))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range res.Entries {
			out = append(out, e.GetAttributeValue("entryUUID"))
		}
		slices.Sort(out)
		return out
	}
	o := Options{SeedLDIF: []string{demoLDIF, users}, SeedCache: cache}
	first := StartT(t, o)
	if first.seedKey == "" || first.seedCached != "" {
		t.Fatalf("first start: key %q, cached %q; want a key and no copy", first.seedKey, first.seedCached)
	}
	want := uuids(first)
	first.Stop()
	second := StartT(t, o)
	if second.seedKey != first.seedKey || second.seedCached == "" {
		t.Fatalf("second start: key %q (first %q), cached %q; want the first's database", second.seedKey, first.seedKey, second.seedCached)
	}
	if got := uuids(second); len(got) < 200 || !slices.Equal(got, want) {
		t.Errorf("the copied database has %d users, want the %d of the first, with the same entryUUIDs", len(got), len(want))
	}
	second.Stop()
	other := StartT(t, Options{SeedLDIF: []string{demoLDIF}, SeedCache: cache})
	if other.seedKey == first.seedKey || other.seedCached != "" {
		t.Errorf("other seeds: key %q, cached %q; want a new key and a load", other.seedKey, other.seedCached)
	}
}

// usersLDIF writes n generated users under DefaultSuffix to a temporary LDIF file.
func usersLDIF(tb testing.TB, n int) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "users.ldif")
	f, err := os.Create(p)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := GenerateUsersLDIF(f, DefaultSuffix, n); err != nil {
		tb.Fatal(err)
	}
	return p
}
