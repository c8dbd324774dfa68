package main

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/scim"
)

const (
	strictPatchURN  = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	strictSearchURN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	strictEntURN    = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// strictCase is one malformed request and the SCIM error it must get.
// Paths and bodies may hold {alice}, {group} and {connector}, replaced by
// the ids of the demo user alice, the group engineering and the connector
// hr-connector.
type strictCase struct {
	name        string
	method      string
	path        string
	body        string
	contentType string // "" = application/scim+json; "-" = no Content-Type header
	status      int
	scimType    string
}

// strictUser is a User body as JSON text, with extra members appended as
// written (so that a case can make it invalid by hand).
func strictUser(userName string, extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return `{"schemas":["` + userURN + `"],"userName":"` + userName + `"` + extra + `}`
}

func strictPatch(ops string) string {
	return `{"schemas":["` + strictPatchURN + `"],"Operations":[` + ops + `]}`
}

func strictSearch(filter string) string {
	return `{"schemas":["` + strictSearchURN + `"],"filter":` + filter + `}`
}

// strictCases: every kind of malformed request, on every method that takes
// a body. Each must be refused with the status and scimType given, and
// leave the directory as it was.
var strictCases = []strictCase{
	// A JSON value followed by more text.
	{"POST trailing braces", "POST", "/Users", strictUser("trail", "") + "}}", "", 400, "invalidSyntax"},
	{"POST trailing text", "POST", "/Users", strictUser("trail", "") + " x", "", 400, "invalidSyntax"},
	{"POST trailing bracket", "POST", "/Users", strictUser("trail", "") + "]", "", 400, "invalidSyntax"},
	{"POST two values", "POST", "/Users", strictUser("trail", "") + strictUser("trail2", ""), "", 400, "invalidSyntax"},
	{"PUT trailing braces", "PUT", "/Users/{alice}", strictUser("alice", `"title":"Trailing"`) + "}}", "", 400, "invalidSyntax"},
	{"PATCH trailing braces", "PATCH", "/Users/{alice}", strictPatch(`{"op":"replace","path":"title","value":"Trailing"}`) + "}}", "", 400, "invalidSyntax"},
	{".search trailing braces", "POST", "/Users/.search", strictSearch(`"userName eq \"alice\""`) + "}}", "", 400, "invalidSyntax"},
	{"POST array body", "POST", "/Users", `[` + strictUser("arr", "") + `]`, "", 400, "invalidSyntax"},
	{"PATCH Operations not a list", "PATCH", "/Users/{alice}", `{"schemas":["` + strictPatchURN + `"],"Operations":{"op":"add"}}`, "", 400, "invalidSyntax"},
	{"PATCH op not a string", "PATCH", "/Users/{alice}", strictPatch(`{"op":1,"path":"title","value":"x"}`), "", 400, "invalidSyntax"},
	{"PATCH path not a string", "PATCH", "/Users/{alice}", strictPatch(`{"op":"replace","path":["title"],"value":"x"}`), "", 400, "invalidSyntax"},
	{".search count a string", "POST", "/Users/.search", `{"schemas":["` + strictSearchURN + `"],"count":"5"}`, "", 400, "invalidSyntax"},

	// Values of the wrong type are refused, never dropped or coerced.
	{"name []", "POST", "/Users", strictUser("wt-name", `"name":[]`), "", 400, "invalidValue"},
	{"displayName []", "POST", "/Users", strictUser("wt-dn", `"displayName":[]`), "", 400, "invalidValue"},
	{"active []", "POST", "/Users", strictUser("wt-active", `"active":[]`), "", 400, "invalidValue"},
	{"active yes", "POST", "/Users", strictUser("wt-active", `"active":"yes"`), "", 400, "invalidValue"},
	{"emails {}", "POST", "/Users", strictUser("wt-emails", `"emails":{}`), "", 400, "invalidValue"},
	{"emails a string", "POST", "/Users", strictUser("wt-emails", `"emails":"a@b.c"`), "", 400, "invalidValue"},
	{"emails list of strings", "POST", "/Users", strictUser("wt-emails", `"emails":["a@b.c"]`), "", 400, "invalidValue"},
	{"groups a string", "POST", "/Users", strictUser("wt-groups", `"groups":"x"`), "", 400, "invalidValue"},
	{"department []", "POST", "/Users", `{"schemas":["` + userURN + `","` + strictEntURN + `"],"userName":"wt-dept","` + strictEntURN + `":{"department":[]}}`, "", 400, "invalidValue"},
	{"PUT active []", "PUT", "/Users/{alice}", strictUser("alice", `"active":[]`), "", 400, "invalidValue"},
	{"PUT emails a string", "PUT", "/Users/{alice}", strictUser("alice", `"emails":"a@b.c"`), "", 400, "invalidValue"},
	{"Group members {}", "POST", "/Groups", `{"schemas":["` + groupURN + `"],"displayName":"wt-members","members":{}}`, "", 400, "invalidValue"},
	{"Group members a string", "POST", "/Groups", `{"schemas":["` + groupURN + `"],"displayName":"wt-members","members":"x"}`, "", 400, "invalidValue"},
	{"PUT Group members {}", "PUT", "/Groups/{group}", `{"schemas":["` + groupURN + `"],"displayName":"engineering","members":{}}`, "", 400, "invalidValue"},
	{"Connector usersSynced a string", "POST", "/Connectors", `{"schemas":["` + scim.ConnectorSchemaURN + `"],"name":"wt-conn","status":{"usersSynced":"12"}}`, "", 400, "invalidValue"},
	{"PATCH usersSynced a string", "PATCH", "/Connectors/{connector}", strictPatch(`{"op":"replace","path":"status.usersSynced","value":"12"}`), "", 400, "invalidValue"},
	{"PATCH status with usersSynced a string", "PATCH", "/Connectors/{connector}", strictPatch(`{"op":"replace","path":"status","value":{"usersSynced":"12"}}`), "", 400, "invalidValue"},

	// schemas.
	{"schemas a string", "POST", "/Users", `{"schemas":"x","userName":"sc-1"}`, "", 400, "invalidValue"},
	{"schemas [5]", "POST", "/Users", `{"schemas":[5],"userName":"sc-2"}`, "", 400, "invalidValue"},
	{"schemas []", "POST", "/Users", `{"schemas":[],"userName":"sc-3"}`, "", 400, "invalidValue"},
	{"schemas bogus", "POST", "/Users", `{"schemas":["urn:bogus"],"userName":"sc-4"}`, "", 400, "invalidValue"},
	{"schemas bogus beside core", "POST", "/Users", `{"schemas":["` + userURN + `","urn:bogus"],"userName":"sc-5"}`, "", 400, "invalidValue"},
	{"schemas without core", "POST", "/Users", `{"schemas":["` + strictEntURN + `"],"userName":"sc-6"}`, "", 400, "invalidValue"},
	{"schemas absent", "POST", "/Users", `{"userName":"sc-7"}`, "", 400, "invalidValue"},
	{"schemas null", "POST", "/Users", `{"schemas":null,"userName":"sc-8"}`, "", 400, "invalidValue"},
	{"schemas of another type", "POST", "/Users", `{"schemas":["` + groupURN + `"],"userName":"sc-9"}`, "", 400, "invalidValue"},
	{"extension not registered for the type", "POST", "/Groups", `{"schemas":["` + groupURN + `","` + strictEntURN + `"],"displayName":"sc-10"}`, "", 400, "invalidValue"},
	{"PUT schemas without core", "PUT", "/Users/{alice}", `{"schemas":["` + strictEntURN + `"],"userName":"alice"}`, "", 400, "invalidValue"},
	{"PUT schemas a string", "PUT", "/Users/{alice}", `{"schemas":"` + userURN + `","userName":"alice"}`, "", 400, "invalidValue"},
	{"PATCH schemas a string", "PATCH", "/Users/{alice}", `{"schemas":"` + strictPatchURN + `","Operations":[{"op":"replace","path":"title","value":"x"}]}`, "", 400, "invalidValue"},
	{"PATCH schemas bogus", "PATCH", "/Users/{alice}", `{"schemas":["urn:bogus"],"Operations":[{"op":"replace","path":"title","value":"x"}]}`, "", 400, "invalidValue"},
	{".search schemas [5]", "POST", "/Users/.search", `{"schemas":[5]}`, "", 400, "invalidValue"},

	// PATCH operations.
	{"PATCH add without value", "PATCH", "/Users/{alice}", strictPatch(`{"op":"add","path":"title"}`), "", 400, "invalidValue"},
	{"PATCH replace without value", "PATCH", "/Users/{alice}", strictPatch(`{"op":"replace","path":"title"}`), "", 400, "invalidValue"},
	{"PATCH pathless replace without value", "PATCH", "/Users/{alice}", strictPatch(`{"op":"replace"}`), "", 400, "invalidValue"},
	{"PATCH remove without path", "PATCH", "/Users/{alice}", strictPatch(`{"op":"remove"}`), "", 400, "noTarget"},
	{"PATCH replace emails a string", "PATCH", "/Users/{alice}", strictPatch(`{"op":"replace","path":"emails","value":"x"}`), "", 400, "invalidValue"},
	{"PATCH add members a string", "PATCH", "/Groups/{group}", strictPatch(`{"op":"add","path":"members","value":"x"}`), "", 400, "invalidValue"},
	{"PATCH add members {}", "PATCH", "/Groups/{group}", strictPatch(`{"op":"add","path":"members","value":{}}`), "", 400, "invalidValue"},
	{"PATCH members display a number", "PATCH", "/Groups/{group}", strictPatch(`{"op":"add","path":"members","value":[{"value":"{alice}","display":5}]}`), "", 400, "invalidValue"},
	{"PATCH replace active []", "PATCH", "/Users/{alice}", strictPatch(`{"op":"replace","path":"active","value":[]}`), "", 400, "invalidValue"},
	{"PATCH pathless name []", "PATCH", "/Users/{alice}", strictPatch(`{"op":"replace","value":{"name":[]}}`), "", 400, "invalidValue"},
	{"PATCH second op bad", "PATCH", "/Users/{alice}", strictPatch(`{"op":"replace","path":"title","value":"First"},{"op":"replace","path":"emails","value":"x"}`), "", 400, "invalidValue"},
	{"PATCH unknown op", "PATCH", "/Users/{alice}", strictPatch(`{"op":"move","path":"title","value":"x"}`), "", 400, "invalidValue"},

	// Media types.
	{"POST xml", "POST", "/Users", strictUser("ct-1", ""), "application/xml", 415, ""},
	{"POST form", "POST", "/Users", strictUser("ct-2", ""), "application/x-www-form-urlencoded", 415, ""},
	{"POST multipart", "POST", "/Users", strictUser("ct-3", ""), "multipart/form-data; boundary=xyz", 415, ""},
	{"POST png", "POST", "/Users", strictUser("ct-4", ""), "image/png", 415, ""},
	{"POST text", "POST", "/Users", strictUser("ct-5", ""), "text/plain", 415, ""},
	{"POST json latin-1", "POST", "/Users", strictUser("ct-6", ""), "application/json; charset=iso-8859-1", 415, ""},
	{"POST unparsable media type", "POST", "/Users", strictUser("ct-7", ""), "application/", 415, ""},
	{"PUT xml", "PUT", "/Users/{alice}", strictUser("alice", `"title":"XML"`), "application/xml", 415, ""},
	{"PATCH form", "PATCH", "/Users/{alice}", strictPatch(`{"op":"replace","path":"title","value":"Form"}`), "application/x-www-form-urlencoded", 415, ""},
	{".search png", "POST", "/Users/.search", strictSearch(`"userName eq \"alice\""`), "image/png", 415, ""},

	// Control characters, invalid UTF-8 and lone surrogates in strings.
	{"userName NUL", "POST", "/Users", strictUser(`nul\u0000user`, ""), "", 400, "invalidValue"},
	{"userName ESC", "POST", "/Users", strictUser(`esc\u001buser`, ""), "", 400, "invalidValue"},
	{"userName backspace escape", "POST", "/Users", strictUser(`bs\buser`, ""), "", 400, "invalidValue"},
	{"displayName NUL", "POST", "/Users", strictUser("ctl-dn", `"displayName":"a\u0000b"`), "", 400, "invalidValue"},
	{"NUL in an unknown attribute", "POST", "/Users", strictUser("ctl-unknown", `"nickname2":"a\u0000"`), "", 400, "invalidValue"},
	{"NUL in a key", "POST", "/Users", strictUser("ctl-key", `"title\u0000":"a"`), "", 400, "invalidValue"},
	{"userName invalid UTF-8", "POST", "/Users", strictUser("x\xff\xfe", ""), "", 400, "invalidValue"},
	{"userName overlong NUL", "POST", "/Users", strictUser("x\xc0\x80", ""), "", 400, "invalidValue"},
	{"userName lone high surrogate", "POST", "/Users", strictUser(`x\ud800`, ""), "", 400, "invalidValue"},
	{"userName lone low surrogate", "POST", "/Users", strictUser(`x\udc00y`, ""), "", 400, "invalidValue"},
	{"userName surrogates reversed", "POST", "/Users", strictUser(`x\udc00\ud800`, ""), "", 400, "invalidValue"},
	{"PUT userName NUL", "PUT", "/Users/{alice}", strictUser(`alice\u0000`, ""), "", 400, "invalidValue"},
	{"PUT title invalid UTF-8", "PUT", "/Users/{alice}", strictUser("alice", "\"title\":\"\xff\""), "", 400, "invalidValue"},
	{"PATCH title NUL", "PATCH", "/Users/{alice}", strictPatch(`{"op":"replace","path":"title","value":"a\u0000b"}`), "", 400, "invalidValue"},
	{"PATCH title lone surrogate", "PATCH", "/Users/{alice}", strictPatch(`{"op":"replace","path":"title","value":"\ud83d"}`), "", 400, "invalidValue"},
	{"PATCH group displayName NUL", "PATCH", "/Groups/{group}", strictPatch(`{"op":"replace","path":"displayName","value":"eng\u0000"}`), "", 400, "invalidValue"},
	{"PATCH member id NUL", "PATCH", "/Groups/{group}", strictPatch(`{"op":"add","path":"members","value":[{"value":"{alice}\u0000"}]}`), "", 400, "invalidValue"},
	{"Group displayName invalid UTF-8", "POST", "/Groups", `{"schemas":["` + groupURN + "\"],\"displayName\":\"g\xff\"}", "", 400, "invalidValue"},
	{".search filter invalid UTF-8 in the body", "POST", "/Users/.search", strictSearch("\"userName eq \\\"\xff\\\"\""), "", 400, "invalidValue"},

	// Query parameters and ids.
	{"startIndex beyond maxInt", "GET", "/Users?startIndex=99999999999999", "", "", 400, "invalidValue"},
	{".search startIndex beyond maxInt", "POST", "/Users/.search", `{"schemas":["` + strictSearchURN + `"],"startIndex":99999999999999}`, "", 400, "invalidValue"},
	{"count not a number", "GET", "/Groups?count=ten", "", "", 400, "invalidValue"},
	{"sortBy NUL", "GET", "/Users?sortBy=user%00Name", "", "", 400, "invalidValue"},
	{"attributes invalid UTF-8", "GET", "/Users/{alice}?attributes=userName,%FF", "", "", 400, "invalidValue"},
	{"id NUL", "GET", "/Users/{alice}%00", "", "", 404, ""},
	{"id invalid UTF-8 on DELETE", "DELETE", "/Users/%FF%FE", "", "", 404, ""},
	{"id control character on PATCH", "PATCH", "/Groups/%1B", strictPatch(`{"op":"remove","path":"members"}`), "", 404, ""},

	// Filters and PATCH paths.
	{"filter NUL escape", "GET", "/Users?filter=" + q(`userName eq "\u0000"`), "", "", 400, "invalidFilter"},
	{"filter NUL escape in a value filter", "GET", "/Users?filter=" + q(`emails[value co "\u0000"]`), "", "", 400, "invalidFilter"},
	{"filter raw NUL", "GET", "/Users?filter=" + q("userName eq \"a\x00\""), "", "", 400, "invalidFilter"},
	{"filter raw invalid bytes", "GET", "/Users?filter=" + q("userName eq \"\xff\xfe\""), "", "", 400, "invalidFilter"},
	{"filter overlong NUL", "GET", "/Users?filter=" + q("userName eq \"\xc0\x80\""), "", "", 400, "invalidFilter"},
	{"filter lone surrogate", "GET", "/Users?filter=" + q(`userName eq "\ud800"`), "", "", 400, "invalidFilter"},
	{"filter control escape", "GET", "/Users?filter=" + q(`userName sw "a\u0007"`), "", "", 400, "invalidFilter"},
	{"filter raw invalid bytes outside a string", "GET", "/Users?filter=" + q("user\xffName pr"), "", "", 400, "invalidFilter"},
	{".search filter NUL escape", "POST", "/Users/.search", strictSearch(`"userName eq \"\\u0000\""`), "", 400, "invalidFilter"},
	{"PATCH path NUL in its filter", "PATCH", "/Users/{alice}", strictPatch(`{"op":"remove","path":"emails[value eq \"\\u0000\"]"}`), "", 400, "invalidPath"},
	{"PATCH members remove NUL id", "PATCH", "/Groups/{group}", strictPatch(`{"op":"remove","path":"members[value eq \"\\u0000\"]"}`), "", 400, "invalidPath"},
}

// TestStrictInput sends every malformed request of strictCases to a gateway
// in front of a real slapd, checks the SCIM error, and that the directory
// is what it was: every entry with its entryCSN, and every user readable
// as before. Then it checks what is still accepted: no Content-Type,
// application/json and application/scim+json with a charset, tabs and
// newlines, Entra's "True"/"False" strings and extra schema.
func TestStrictInput(t *testing.T) {
	e := startEnv(t)
	c := "connector"
	ids := map[string]string{
		"{alice}":     e.firstID("/Users", `userName eq "alice"`, c),
		"{group}":     e.firstID("/Groups", `displayName eq "engineering"`, c),
		"{connector}": e.firstID("/Connectors", `name eq "`+demoConnector+`"`, c),
	}
	fill := func(s string) string {
		for k, v := range ids {
			s = strings.ReplaceAll(s, k, v)
		}
		return s
	}
	before := e.strictSnapshot()
	aliceBefore := e.must(200, "GET", "/Users/"+ids["{alice}"], c, nil).raw
	users := num(e.must(200, "GET", "/Users?count=0", c, nil).body, "totalResults")
	for _, tc := range strictCases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.strictSend(tc.method, fill(tc.path), fill(tc.body), tc.contentType)
			if r.status != tc.status || str(r.body, "status") != strconv.Itoa(tc.status) ||
				!strings.Contains(str(r.body, "schemas"), "urn:ietf:params:scim:api:messages:2.0:Error") ||
				str(r.body, "scimType") != tc.scimType || str(r.body, "detail") == "" {
				t.Fatalf("got %d %s, want a SCIM error %d %q", r.status, r.raw, tc.status, tc.scimType)
			}
			if ct := r.header.Get("Content-Type"); ct != scimJSONType {
				t.Errorf("error with content type %q", ct)
			}
			if after := e.strictSnapshot(); !maps.Equal(before, after) {
				t.Fatalf("the directory changed: %s", strictDiff(before, after))
			}
		})
	}
	if got := e.must(200, "GET", "/Users/"+ids["{alice}"], c, nil).raw; got != aliceBefore {
		t.Errorf("alice changed:\n%s\n%s", aliceBefore, got)
	}
	if n := num(e.must(200, "GET", "/Users?count=0", c, nil).body, "totalResults"); n != users {
		t.Errorf("%d users, %d before", n, users)
	}

	// What stays accepted.
	for _, ok := range []struct {
		name, contentType, body string
	}{
		{"no Content-Type", "-", strictUser("ok-no-ct", "")},
		{"application/json", "application/json", strictUser("ok-json", "")},
		{"application/json with charset", "application/json; charset=UTF-8", strictUser("ok-json-charset", "")},
		{"application/scim+json with charset", "application/scim+json;charset=utf-8", strictUser("ok-scim-charset", "")},
		{"tab and newline in a value", "", strictUser("ok-ctl", `"addresses":[{"type":"work","formatted":"1 Main St\nSpringfield\tUSA"}]`)},
		{"Entra strings for booleans and its extra schema", "", `{"schemas":["` + userURN + `","` + strictEntURN + `"],"userName":"ok-entra","active":"True","emails":[{"value":"ok-entra@example.com","primary":"False"}]}`},
		{"a surrogate pair", "", strictUser(`ok-\ud83d\ude00`, "")},
	} {
		r := e.strictSend("POST", "/Users", ok.body, ok.contentType)
		if r.status != 201 {
			t.Errorf("%s: status %d, want 201: %s", ok.name, r.status, r.raw)
		}
	}
	r := e.strictSend("POST", "/Groups", `{"schemas":["`+groupURN+`","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"displayName":"ok-entra-group"}`, "")
	if r.status != 201 {
		t.Errorf("Entra's group schema: status %d, want 201: %s", r.status, r.raw)
	}
	r = e.strictSend("PATCH", "/Users/"+ids["{alice}"], strictPatch(`{"op":"Replace","path":"active","value":"False"},{"op":"replace","path":"title","value":null}`), "")
	if r.status != 200 || str(r.body, "active") != "false" {
		t.Errorf("Entra's PATCH: status %d: %s", r.status, r.raw)
	}
}

// strictSend sends body (as it is: it may be invalid UTF-8) with the
// Content-Type given ("" = application/scim+json, "-" = none) as the
// connector.
func (e *testEnv) strictSend(method, path, body, contentType string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	switch contentType {
	case "":
		if body != "" {
			req.Header.Set("Content-Type", scimJSONType)
		}
	case "-":
	default:
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens["connector"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(data)}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &r.body); err != nil {
			e.t.Errorf("%s %s: the answer is not JSON: %q", method, path, data)
		}
	}
	return r
}

// strictSnapshot returns every entry of the directory by DN with its
// entryCSN, which changes on every write.
func (e *testEnv) strictSnapshot() map[string]string {
	e.t.Helper()
	conn, err := e.ldap.Conn(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(&ldap.SearchRequest{
		BaseDN: e.ldap.Suffix, Scope: ldap.ScopeWholeSubtree, DerefAliases: ldap.NeverDerefAliases,
		Filter: "(objectClass=*)", Attributes: []string{"entryCSN"},
	})
	if err != nil {
		e.t.Fatalf("snapshot: %v", err)
	}
	out := map[string]string{}
	for _, le := range res.Entries {
		out[strings.ToLower(le.DN)] = le.GetAttributeValue("entryCSN")
	}
	return out
}

// strictDiff names the entries added, removed or changed between two
// snapshots.
func strictDiff(before, after map[string]string) string {
	var out []string
	for dn, csn := range after {
		if old, ok := before[dn]; !ok {
			out = append(out, "added "+dn)
		} else if old != csn {
			out = append(out, "changed "+dn)
		}
	}
	for dn := range before {
		if _, ok := after[dn]; !ok {
			out = append(out, "removed "+dn)
		}
	}
	slices.Sort(out)
	return strings.Join(out, "; ")
}
