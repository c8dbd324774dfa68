package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci/acieval"
	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/aci/ldif"
	"github.com/scimgate/scimgate/ldapbackend/scimldap"
)

// These tests prove that ACIs whose targetfilter or userattr name LDAP
// attributes the SCIM mapping does not map (employeeType,
// businessCategory, seeAlso, secretary) are enforced on every operation
// of the scope table, denies and allows alike. Every expected outcome is
// the ACI engine's decision on an LDIF rendering of the same tree
// (package acieval, as `scimgate aci eval` runs it), turned into HTTP by
// the rules of DESIGN.md; none is written by hand.

// uaContractorACIs are the two denies of the bug report: the reporting
// token does not see contractors, the connector may not change them.
var uaContractorACIs = []string{
	`(targetfilter="(employeeType=contractor)")(targetattr="*")(version 3.0; acl "reporting does not see contractors"; deny (read,search,compare) oauthscope="scim:read" and not oauthscope="scim:write";)`,
	`(targetfilter="(employeeType=contractor)")(targetattr="*")(version 3.0; acl "contractors are managed elsewhere"; deny (write,delete) oauthscope="scim:write";)`,
}

// uaServiceACIs add, for the service-account mode, grants that only a
// targetfilter on unmapped attributes gives (the demo ACIs grant none of
// these scopes on ou=People), and the create rules, whose targetfilters
// name a mapped attribute (departmentNumber is the enterprise department).
var uaServiceACIs = append(append([]string{}, uaContractorACIs...),
	`(targetfilter="(employeeType=staff)")(targetattr="*")(version 3.0; acl "sync profiles read staff"; allow (read,search,compare) oauthscope="sync:profile:read";)`,
	`(targetfilter="(&(employeeType=staff)(!(businessCategory=frozen)))")(targetattr="title")(version 3.0; acl "hr retitles staff"; allow (write) oauthscope="hr:staff:write";)`,
	`(targetfilter="(employeeType=intern)")(version 3.0; acl "hr removes interns"; allow (delete) oauthscope="hr:offboard";)`,
	`(targetfilter="(departmentNumber=Contracting)")(version 3.0; acl "no contracting hires over SCIM"; deny (add) oauthscope="scim:write";)`,
	`(targetfilter="(departmentNumber=Onboarding)")(targetattr="*")(version 3.0; acl "hr onboards"; allow (add) oauthscope="hr:onboard";)`,
	`(targetfilter="(uid=ua-probe)")(targetattr="*")(version 3.0; acl "test: liveness probe"; allow (read,search,compare) oauthscope="test:probe";)`,
)

// uaMappedACIs are the mapped-mode rules: userattr on seeAlso (a user DN,
// or a group DN on the entry or its parent) and secretary, none mapped.
var uaMappedACIs = append(append([]string{}, uaContractorACIs...),
	`(targetattr="*")(version 3.0; acl "see-also readers"; allow (read,search,compare) userattr="seeAlso#USERDN";)`,
	`(targetattr="title")(version 3.0; acl "see-also editors"; allow (write) userattr="seeAlso#USERDN";)`,
	`(targetattr="*")(version 3.0; acl "steward groups read"; allow (read,search,compare) userattr="parent[0,1].seeAlso#GROUPDN";)`,
	`(targetattr="title")(version 3.0; acl "steward groups retitle"; allow (write) userattr="parent[0,1].seeAlso#GROUPDN";)`,
	`(version 3.0; acl "steward groups remove"; allow (delete) userattr="parent[0,1].seeAlso#GROUPDN";)`,
	`(targetattr="*")(version 3.0; acl "secretaries do not edit"; deny (write,delete) userattr="secretary#USERDN";)`,
	`(targetfilter="(departmentNumber=Contracting)")(version 3.0; acl "no contracting hires over SCIM"; deny (add) oauthscope="scim:write";)`,
	`(targetfilter="(uid=ua-probe)")(targetattr="*")(version 3.0; acl "test: liveness probe"; allow (read,search,compare) oauthscope="test:probe";)`,
)

const (
	uaInitialTitle = "Initial Title"
	uaProbeUID     = "ua-probe"
	uaStewardedDN  = "ou=Stewarded,ou=People,dc=example,dc=com"
	uaEngineering  = "cn=engineering,ou=Groups,dc=example,dc=com"
	uaSales        = "cn=sales,ou=Groups,dc=example,dc=com"
)

// uaEntry describes a test user by the unmapped attributes the ACIs test.
type uaEntry struct {
	label        string
	stewarded    bool     // under ou=Stewarded (whose seeAlso names sales) rather than ou=People
	employeeType string   // contractor, staff, intern
	category     string   // businessCategory
	seeAlso      []string // DNs; "self" = the entry's own
	secretary    []string // DNs; "self" = the entry's own
}

func (u uaEntry) dn(uid string) string {
	if u.stewarded {
		return "uid=" + uid + "," + uaStewardedDN
	}
	return "uid=" + uid + "," + peopleDN
}

// ldif renders the entry as a content record.
func (u uaEntry) ldif(uid string) string {
	dn := u.dn(uid)
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nobjectClass: scimResource\nobjectClass: scimAccount\n", dn)
	fmt.Fprintf(&b, "uid: %s\ncn: Test %s\nsn: %s\ngivenName: Test\ndisplayName: Test %s\ntitle: %s\nscimAccountActive: TRUE\n", uid, uid, uid, uid, uaInitialTitle)
	if u.employeeType != "" {
		fmt.Fprintf(&b, "employeeType: %s\n", u.employeeType)
	}
	if u.category != "" {
		fmt.Fprintf(&b, "businessCategory: %s\n", u.category)
	}
	self := func(v string) string {
		if v == "self" {
			return dn
		}
		return v
	}
	for _, v := range u.seeAlso {
		fmt.Fprintf(&b, "seeAlso: %s\n", self(v))
	}
	for _, v := range u.secretary {
		fmt.Fprintf(&b, "secretary: %s\n", self(v))
	}
	return b.String() + "\n"
}

// uaWho is a caller: the token's subject (in the mapped mode a uid the
// identity mapper finds; "" = the case's target itself, for /Me) and its
// scopes.
type uaWho struct {
	sub, scopes string
}

// String names the caller in subtest names: subject=scope,scope.
func (w uaWho) String() string {
	s := w.sub
	if s == "" {
		s = "self"
	}
	if w.scopes == "" {
		return s + "=noscope"
	}
	return s + "=" + strings.Join(strings.Fields(w.scopes), ",")
}

// uaCase is one operation by one caller on one entry. want is the HTTP
// status the engine's decisions give, or for a list the number of results.
type uaCase struct {
	op     string // get, list, patch, put, delete, post, me-get, me-patch, me-put
	who    uaWho
	target uaEntry
	dept   string // post: the new user's department (departmentNumber, mapped)

	uid  string // the target's (or the new user's) uid
	want int
	why  string // the engine decisions behind want
}

func (c *uaCase) name() string {
	if c.op == "post" {
		return fmt.Sprintf("%s/%s/dept=%s", c.op, c.who, c.dept)
	}
	return fmt.Sprintf("%s/%s/%s", c.op, c.who, c.target.label)
}

func (c *uaCase) newTitle() string { return "Changed " + c.uid }

// uaOracle answers access questions with the ACI engine over the demo
// tree plus the test's entries and ACIs, loaded the way `scimgate aci
// eval --ldif` loads a tree.
type uaOracle struct {
	t   testing.TB
	env *acieval.Env
}

// newUAOracle builds the tree: the demo directory, the records of seed
// (content records), and acis added to ou=People.
func newUAOracle(t testing.TB, seed string, acis []string) *uaOracle {
	t.Helper()
	demo, err := os.ReadFile(demoLDIF)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := ldif.Parse(bytes.NewReader(demo))
	if err != nil {
		t.Fatalf("demo LDIF: %v", err)
	}
	more, err := ldif.Parse(strings.NewReader(seed))
	if err != nil {
		t.Fatalf("test LDIF: %v", err)
	}
	recs = append(recs, more...)
	people := uaNormDN(t, peopleDN)
	found := false
	for _, r := range recs {
		if uaNormDN(t, r.DN) == people {
			for _, a := range acis {
				r.Attrs = append(r.Attrs, ldif.Attr{Name: "aci", Value: a})
			}
			found = true
		}
	}
	if !found {
		t.Fatal("the demo tree has no ou=People")
	}
	tree, err := ldif.NewTree(recs)
	if err != nil {
		t.Fatal(err)
	}
	env, err := acieval.NewEnv(tree, nil)
	if err != nil {
		t.Fatalf("the engine refuses the test ACIs: %v", err)
	}
	return &uaOracle{t: t, env: env}
}

func uaNormDN(t testing.TB, dn string) string {
	t.Helper()
	n, err := ldapfilter.NormalizeDN(dn)
	if err != nil {
		t.Fatalf("DN %q: %v", dn, err)
	}
	return n
}

// uaAsk is one access question.
type uaAsk struct {
	right, attr string
	value       *string
	deleteValue bool
	entry       map[string][]string // the new entry, for add
}

// allow asks the engine whether bindDN holding scopes has the right on
// target; it also returns a one-line account for failure messages.
func (o *uaOracle) allow(bindDN string, scopes []string, target string, q uaAsk) (bool, string) {
	o.t.Helper()
	if scopes == nil {
		scopes = []string{}
	}
	sc, _ := json.Marshal(scopes)
	req := &acieval.Request{BindDN: bindDN, TargetDN: target, Right: q.right, Attr: q.attr, Value: q.value, Entry: q.entry, Scopes: sc}
	if q.deleteValue {
		req.Op = "delete"
	}
	res := o.env.Eval(0, req)
	if res.Error != "" {
		o.t.Fatalf("the engine cannot evaluate %s %s on %s: %s", q.right, q.attr, target, res.Error)
	}
	what := q.right
	if q.attr != "" {
		what += " " + q.attr
	}
	if q.value != nil {
		what += "=" + *q.value
		if q.deleteValue {
			what += " (delete)"
		}
	}
	return res.Decision == "allow", fmt.Sprintf("%s: %s (%s)", what, res.Decision, res.Reason)
}

// expect derives a case's HTTP outcome from the engine's decisions, with
// DESIGN.md's rules: GET by id 200 iff read on objectClass, else 404; a
// filter lists the entry iff read objectClass and search on every filtered
// attribute; PATCH/PUT: not readable 404, write on title denied 403, else
// 200; DELETE: not readable 404, no delete 403, else 204; POST: 201 iff add
// on the new entry and on each of its attributes, else 403.
func (o *uaOracle) expect(c *uaCase, bindDN string, scopes []string) {
	o.t.Helper()
	var why []string
	ask := func(target string, q uaAsk) bool {
		ok, s := o.allow(bindDN, scopes, target, q)
		why = append(why, s)
		return ok
	}
	defer func() { c.why = strings.Join(why, "; ") }()
	if c.op == "post" {
		entry := uaPostEntry(c)
		dn := "uid=" + c.uid + "," + peopleDN
		c.want = 201
		if !ask(dn, uaAsk{right: "add", entry: entry}) {
			c.want = 403
			return
		}
		for attr := range entry {
			if !ask(dn, uaAsk{right: "add", attr: attr, entry: entry}) {
				c.want = 403
				return
			}
		}
		return
	}
	target := c.target.dn(c.uid)
	read := ask(target, uaAsk{right: "read", attr: "objectClass"})
	switch c.op {
	case "get", "me-get":
		c.want = map[bool]int{true: 200, false: 404}[read]
	case "list":
		c.want = 0
		if read && ask(target, uaAsk{right: "search", attr: "uid"}) {
			c.want = 1
		}
	case "patch", "put", "me-patch", "me-put":
		oldT, newT := uaInitialTitle, c.newTitle()
		switch {
		case !read:
			c.want = 404
		case ask(target, uaAsk{right: "write", attr: "title"}) &&
			ask(target, uaAsk{right: "write", attr: "title", value: &oldT, deleteValue: true}) &&
			ask(target, uaAsk{right: "write", attr: "title", value: &newT}):
			c.want = 200
		default:
			c.want = 403
		}
	case "delete":
		switch {
		case !read:
			c.want = 404
		case ask(target, uaAsk{right: "delete"}):
			c.want = 204
		default:
			c.want = 403
		}
	default:
		o.t.Fatalf("unknown operation %q", c.op)
	}
}

// uaPostBody is the SCIM User a post case creates.
func uaPostBody(c *uaCase) map[string]any {
	return map[string]any{
		"schemas":  []string{userURN, scimldap.EnterpriseUserURN},
		"userName": c.uid, "displayName": "Posted " + c.uid, "title": uaInitialTitle, "active": true,
		"name":                     map[string]any{"givenName": "Posted", "familyName": c.uid},
		scimldap.EnterpriseUserURN: map[string]any{"department": c.dept},
	}
}

// uaPostEntry is the entry the gateway builds from uaPostBody, by the
// default User mapping (cn from displayName, sn from name.familyName).
func uaPostEntry(c *uaCase) map[string][]string {
	return map[string][]string{
		"objectClass":       scimldap.DefaultUserMapping(peopleDN).ObjectClasses,
		"uid":               {c.uid},
		"cn":                {"Posted " + c.uid},
		"sn":                {c.uid},
		"givenName":         {"Posted"},
		"displayName":       {"Posted " + c.uid},
		"title":             {uaInitialTitle},
		"scimAccountActive": {"TRUE"},
		"departmentNumber":  {c.dept},
	}
}

// uaDirEntry reads an entry as the directory's admin: its attributes, or
// nil when it does not exist.
func uaDirEntry(t testing.TB, e *testEnv, dn string, attrs ...string) map[string][]string {
	t.Helper()
	conn, err := e.ldap.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(&ldap.SearchRequest{BaseDN: dn, Scope: ldap.ScopeBaseObject, Filter: "(objectClass=*)", Attributes: attrs, SizeLimit: 1})
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil
	}
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read %s: %v", dn, err)
	}
	out := map[string][]string{}
	for _, a := range res.Entries[0].Attributes {
		out[strings.ToLower(a.Name)] = a.Values
	}
	return out
}

// uaIDOf returns the SCIM id (entryUUID) of an entry, read as the admin.
func uaIDOf(t testing.TB, e *testEnv, dn string) string {
	t.Helper()
	ent := uaDirEntry(t, e, dn, "entryUUID")
	if len(ent["entryuuid"]) != 1 {
		t.Fatalf("%s has no entryUUID", dn)
	}
	return ent["entryuuid"][0]
}

// uaMode is one identity mode's scenario.
type uaMode struct {
	mapped bool
	acis   []string
	extra  string // content records added to the seed beyond the cases' entries
	echo   uaWho  // reads the resources PUT echoes
	probe  uaWho  // may read ua-probe only once the test ACIs are live
	cases  []*uaCase
}

// run seeds the cases' entries, derives every expectation from the engine,
// starts slapd and the gateway, adds the ACIs, waits for them to be live
// and plays every case over HTTP.
func (m *uaMode) run(t *testing.T) {
	prefix := "ua-s"
	if m.mapped {
		prefix = "ua-m"
	}
	seed := m.extra + uaEntry{label: "probe"}.ldif(uaProbeUID)
	for i, c := range m.cases {
		c.uid = fmt.Sprintf("%s%03d", prefix, i)
		if c.op != "post" {
			seed += c.target.ldif(c.uid)
		}
	}

	// Expectations first, from the engine alone.
	oracle := newUAOracle(t, seed, m.acis)
	bind := func(w uaWho, c *uaCase) string {
		switch {
		case !m.mapped:
			return serviceDN
		case w.sub == "":
			return c.target.dn(c.uid)
		default:
			return "uid=" + w.sub + "," + peopleDN
		}
	}
	for _, c := range m.cases {
		oracle.expect(c, bind(c.who, c), strings.Fields(c.who.scopes))
	}
	probeCase := &uaCase{op: "get", who: m.probe, target: uaEntry{label: "probe"}, uid: uaProbeUID}
	oracle.expect(probeCase, bind(m.probe, probeCase), strings.Fields(m.probe.scopes))
	if probeCase.want != 200 {
		t.Fatalf("the engine does not let the probe read %s: %s", uaProbeUID, probeCase.why)
	}

	seedFile := filepath.Join(t.TempDir(), "unmapped.ldif")
	if err := os.WriteFile(seedFile, []byte(seed), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEnvWith(t, func(c *Config) {
		if m.mapped {
			c.Mapping = "required"
		}
	}, seedFile)
	tok := func(w uaWho, c *uaCase) string {
		sub := w.sub
		if sub == "" {
			sub = c.uid
		}
		key := "ua:" + sub + "|" + w.scopes
		if _, ok := e.tokens[key]; !ok {
			e.tokens[key] = e.token(sub, w.scopes)
		}
		return key
	}

	// The ACIs go in with one modify; the probe's grant is among them, so
	// once it reads the probe entry every test ACI is live.
	probeID := uaIDOf(t, e, probeCase.target.dn(uaProbeUID))
	probeTok := tok(m.probe, probeCase)
	if st := e.do("GET", "/Users/"+probeID, probeTok, nil).status; st != 404 {
		t.Fatalf("the probe reads %s before the test ACIs exist: %d", uaProbeUID, st)
	}
	mod := "dn: " + peopleDN + "\nchangetype: modify\nadd: aci\n"
	for _, a := range m.acis {
		mod += "aci: " + a + "\n"
	}
	if err := e.ldap.LDAPModify(t.Context(), mod); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for e.do("GET", "/Users/"+probeID, probeTok, nil).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the test ACIs did not apply in 3 s")
		}
		time.Sleep(100 * time.Millisecond)
	}

	var summary []string
	for _, c := range m.cases {
		played := false
		ok := t.Run(c.name(), func(t *testing.T) { played = true; m.play(t, e, c, tok) })
		if !played {
			continue // not selected by -run
		}
		mark := "pass"
		if !ok {
			mark = "FAIL"
		}
		summary = append(summary, fmt.Sprintf("%-4s %-55s want %d", mark, c.name(), c.want))
	}
	t.Logf("cases (want = the engine's outcome):\n%s", strings.Join(summary, "\n"))
}

// play runs one case and checks the status (or the listing) and what the
// directory holds afterwards.
func (m *uaMode) play(t *testing.T, e *testEnv, c *uaCase, tok func(uaWho, *uaCase) string) {
	who := tok(c.who, c)
	dn := c.target.dn(c.uid)
	path := ""
	if c.op != "post" {
		path = "/Users/" + uaIDOf(t, e, dn)
	}
	if strings.HasPrefix(c.op, "me-") {
		path = "/Me"
	}
	echo := func() map[string]any {
		t.Helper()
		r := e.do("GET", "/Users/"+uaIDOf(t, e, dn), tok(m.echo, c), nil)
		if r.status != 200 {
			t.Fatalf("the echo reader %s cannot read %s: %d %s", m.echo, c.uid, r.status, r.raw)
		}
		r.body["title"] = c.newTitle()
		return r.body
	}
	var r response
	switch c.op {
	case "get", "me-get":
		r = e.do("GET", path, who, nil)
		if r.status == 200 && str(r.body, "userName") != c.uid {
			t.Errorf("%s returned %s", path, r.raw)
		}
	case "list":
		r = e.do("GET", "/Users?filter="+q(`userName eq "`+c.uid+`"`), who, nil)
		if r.status != 200 {
			t.Fatalf("list: status %d: %s", r.status, r.raw)
		}
		if got := num(r.body, "totalResults"); got != c.want {
			t.Errorf("the filter lists %d resources, the engine says %d (%s)", got, c.want, c.why)
		}
		if c.want == 1 && str(r.body, "Resources[0].userName") != c.uid {
			t.Errorf("listed %s", r.raw)
		}
		return
	case "patch", "me-patch":
		r = e.do("PATCH", path, who, patchOp("replace", "title", c.newTitle()))
	case "put", "me-put":
		r = e.do("PUT", path, who, echo())
	case "delete":
		r = e.do("DELETE", path, who, nil)
	case "post":
		r = e.do("POST", "/Users", who, uaPostBody(c))
	}
	if r.status != c.want {
		t.Errorf("status %d, the engine says %d (%s)\n%s", r.status, c.want, c.why, tail(r.raw, 300))
	}

	// The directory: changed exactly when the engine allows the write.
	switch c.op {
	case "patch", "put", "me-patch", "me-put":
		ent := uaDirEntry(t, e, dn, "title")
		if ent == nil {
			t.Fatalf("%s vanished", dn)
		}
		changed := len(ent["title"]) == 1 && ent["title"][0] == c.newTitle()
		if unchanged := len(ent["title"]) == 1 && ent["title"][0] == uaInitialTitle; !changed && !unchanged {
			t.Errorf("%s has title %q", dn, ent["title"])
		}
		if changed != (c.want == 200) {
			t.Errorf("the directory's title changed: %v; the engine allows the write: %v", changed, c.want == 200)
		}
	case "delete":
		if gone := uaDirEntry(t, e, dn, "uid") == nil; gone != (c.want == 204) {
			t.Errorf("the entry is gone: %v; the engine allows the delete: %v", gone, c.want == 204)
		}
	case "post":
		if made := uaDirEntry(t, e, "uid="+c.uid+","+peopleDN, "uid") != nil; made != (c.want == 201) {
			t.Errorf("the entry exists: %v; the engine allows the add: %v", made, c.want == 201)
		}
	}
}

// uaCross is every operation of ops by every caller on every entry kind.
func uaCross(ops []string, whos []uaWho, targets []uaEntry) []*uaCase {
	var out []*uaCase
	for _, op := range ops {
		for _, w := range whos {
			for _, tg := range targets {
				out = append(out, &uaCase{op: op, who: w, target: tg})
			}
		}
	}
	return out
}

var uaByIDOps = []string{"get", "list", "patch", "put", "delete"}

// TestACIUnmappedServiceAccount: in the default mode (every request runs
// as the service account, the token's scopes decide), targetfilters on
// employeeType and businessCategory deny and allow by id, in lists and on
// writes; targetfilters on the new entry's department decide creates.
func TestACIUnmappedServiceAccount(t *testing.T) {
	var (
		reporting = uaWho{"reporting", "scim:read"}
		connector = uaWho{"sync-connector", allScopes}
		profile   = uaWho{"profile-reader", "sync:profile:read"}
		hr        = uaWho{"hr", "scim:read hr:staff:write hr:offboard"}
		onboard   = uaWho{"onboarding", "scim:read hr:onboard"}
	)
	targets := []uaEntry{
		{label: "contractor", employeeType: "contractor"},
		{label: "staff", employeeType: "staff"},
		{label: "frozen-staff", employeeType: "staff", category: "frozen"},
		{label: "intern", employeeType: "intern"},
	}
	m := &uaMode{
		acis:  uaServiceACIs,
		echo:  connector,
		probe: uaWho{"probe", "test:probe"},
		cases: uaCross(uaByIDOps, []uaWho{reporting, connector, profile, hr}, targets),
	}
	for _, p := range []struct {
		who  uaWho
		dept string
	}{
		{connector, "Engineering"}, {connector, "Contracting"},
		{onboard, "Onboarding"}, {onboard, "Engineering"}, {onboard, "Contracting"},
		{reporting, "Onboarding"},
	} {
		m.cases = append(m.cases, &uaCase{op: "post", who: p.who, dept: p.dept})
	}
	m.run(t)
}

// TestACIUnmappedMapped: with mapping required (the ACIs see the user's
// DN), userattr rules on seeAlso (naming the user, or a group on the entry
// or its parent, nested groups included) allow, userattr on secretary
// denies, and the employeeType targetfilters deny, by id, in lists, on
// writes and on /Me.
func TestACIUnmappedMapped(t *testing.T) {
	var (
		alice = uaWho{"alice", ""}                   // named by seeAlso
		dave  = uaWho{"dave", ""}                    // in platform-team, nested in engineering
		peggy = uaWho{"peggy", ""}                   // in sales
		bob   = uaWho{"bob", "scim:read scim:write"} // a secretary
		carol = uaWho{"carol", "scim:read"}          // a reader
		priya = uaWho{"priya", allScopes}            // reads everything (PUT echoes)
	)
	aliceDN := "uid=alice," + peopleDN
	bobDN := "uid=bob," + peopleDN
	targets := []uaEntry{
		{label: "seeAlso=alice", employeeType: "staff", seeAlso: []string{aliceDN}},
		{label: "seeAlso=engineering", employeeType: "staff", seeAlso: []string{uaEngineering}},
		{label: "parent.seeAlso=sales", employeeType: "staff", stewarded: true},
		{label: "secretary=bob", employeeType: "staff", secretary: []string{bobDN}},
		{label: "contractor", employeeType: "contractor"},
		{label: "contractor+seeAlso=alice", employeeType: "contractor", seeAlso: []string{aliceDN}},
		{label: "staff", employeeType: "staff"},
	}
	m := &uaMode{
		mapped: true,
		acis:   uaMappedACIs,
		extra: "dn: " + uaStewardedDN + "\nobjectClass: organizationalUnit\nou: Stewarded\n" +
			"description: users the sales group looks after\nseeAlso: " + uaSales + "\n\n",
		echo:  priya,
		probe: uaWho{"priya", "test:probe"},
		cases: uaCross(uaByIDOps, []uaWho{alice, dave, peggy, bob, carol}, targets),
	}
	self := func(scopes string) uaWho { return uaWho{"", scopes} }
	for _, me := range []struct {
		ops    []string
		scopes string
		target uaEntry
	}{
		{[]string{"me-get", "me-patch", "me-put"}, "", uaEntry{label: "seeAlso=self", employeeType: "staff", seeAlso: []string{"self"}}},
		{[]string{"me-get", "me-patch"}, "", uaEntry{label: "plain", employeeType: "staff"}},
		{[]string{"me-get", "me-patch"}, "scim:read", uaEntry{label: "contractor", employeeType: "contractor"}},
		{[]string{"me-get", "me-patch", "me-put"}, "scim:read scim:write", uaEntry{label: "contractor", employeeType: "contractor"}},
		{[]string{"me-get", "me-patch", "me-put"}, "scim:read scim:write", uaEntry{label: "staff", employeeType: "staff"}},
		{[]string{"me-get", "me-patch", "me-put"}, "scim:read scim:write", uaEntry{label: "secretary=self", employeeType: "staff", secretary: []string{"self"}}},
	} {
		m.cases = append(m.cases, uaCross(me.ops, []uaWho{self(me.scopes)}, []uaEntry{me.target})...)
	}
	for _, p := range []struct {
		who  uaWho
		dept string
	}{{bob, "Engineering"}, {bob, "Contracting"}, {alice, "Engineering"}} {
		m.cases = append(m.cases, &uaCase{op: "post", who: p.who, dept: p.dept})
	}
	m.run(t)
}
