package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/scimgate/scimgate/oauth"
	"github.com/scimgate/scimgate/scim/resource"
)

const fuzzToken = "fuzz-token"

// fuzzSelf resolves /Me to one id.
type fuzzSelf string

func (f fuzzSelf) SelfID(context.Context, *resource.Type) (string, error) { return string(f), nil }

// newStrictServer is the whole handler (audit, authentication, routing)
// in front of a memBackend holding a user u1, a group g1 and a connector
// c1; the bearer token fuzzToken holds every scope.
func newStrictServer() (http.Handler, *memBackend) {
	b := newMemBackend()
	types := []*resource.Type{UserType(), GroupType(), SyncProfileType(), ConnectorType()}
	b.seed(types[0], "u1", `{"userName":"alice","name":{"givenName":"Alice","familyName":"A"},"active":true,
		"emails":[{"value":"alice@example.com","type":"work","primary":true}],"title":"Engineer",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D","manager":{"value":"u2"}}}`)
	b.seed(types[1], "g1", `{"displayName":"engineering","members":[{"value":"u1"}]}`)
	b.seed(types[2], "p1", `{"name":"default-sync","attributeMappings":["userName=uid"]}`)
	b.seed(types[3], "c1", `{"name":"hr-connector","enabled":true,"syncProfile":{"value":"p1"},"status":{"state":"idle","usersSynced":12}}`)
	s := New(Config{BaseURL: "https://scim.example/scim/v2", MaxBodyBytes: 64 << 10}, b, types, zerolog.Nop())
	s.MeHandler = s.Me(UserTypeIn(types), fuzzSelf("u1"))
	v := oauth.ValidatorFunc(func(_ context.Context, token string) (*oauth.Principal, error) {
		if token != fuzzToken {
			return nil, errors.New("unknown token")
		}
		return &oauth.Principal{Subject: "sync", ClientID: "sync", Scopes: []string{"scim:read", "scim:write", "connector:read", "connector:write"}}, nil
	})
	return s.Handler(oauth.Middleware(v, oauth.MiddlewareOptions{Logger: zerolog.Nop()}), nil), b
}

// strictRequest is one request with headers written "Name: value", one a
// line; it carries the fuzz token unless it names an Authorization.
type strictRequest struct {
	name, method, target, headers, body string
	status                              int
	scimType                            string
}

const (
	userURN    = "urn:ietf:params:scim:schemas:core:2.0:User"
	entURN     = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	patchMsg   = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[%s]}`
	searchMsg  = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]%s}`
	scimHeader = "Content-Type: application/scim+json"
)

func user(extra string) string {
	return `{"schemas":["` + userURN + `"],"userName":"bob"` + extra + `}`
}

func patchOf(ops string) string { return strings.Replace(patchMsg, "%s", ops, 1) }

func searchOf(members string) string { return strings.Replace(searchMsg, "%s", members, 1) }

// strictRequests: what the HTTP layer must refuse before the backend
// writes anything, and some of what it must still accept.
var strictRequests = []strictRequest{
	{"trailing braces POST", "POST", "/scim/v2/Users", scimHeader, user("") + "}}", 400, "invalidSyntax"},
	{"trailing braces PUT", "PUT", "/scim/v2/Users/u1", scimHeader, user("") + "}}", 400, "invalidSyntax"},
	{"trailing braces PATCH", "PATCH", "/scim/v2/Users/u1", scimHeader, patchOf(`{"op":"remove","path":"title"}`) + "}}", 400, "invalidSyntax"},
	{"trailing braces .search", "POST", "/scim/v2/Users/.search", scimHeader, searchOf("") + "}}", 400, "invalidSyntax"},
	{"name []", "POST", "/scim/v2/Users", scimHeader, user(`,"name":[]`), 400, "invalidValue"},
	{"displayName []", "POST", "/scim/v2/Users", scimHeader, user(`,"displayName":[]`), 400, "invalidValue"},
	{"active []", "PUT", "/scim/v2/Users/u1", scimHeader, user(`,"active":[]`), 400, "invalidValue"},
	{"emails {}", "POST", "/scim/v2/Users", scimHeader, user(`,"emails":{}`), 400, "invalidValue"},
	{"emails a string", "POST", "/scim/v2/Users", scimHeader, user(`,"emails":"a@b.c"`), 400, "invalidValue"},
	{"groups a string", "POST", "/scim/v2/Users", scimHeader, user(`,"groups":"x"`), 400, "invalidValue"},
	{"department []", "POST", "/scim/v2/Users", scimHeader, `{"schemas":["` + userURN + `","` + entURN + `"],"userName":"bob","` + entURN + `":{"department":[]}}`, 400, "invalidValue"},
	{"members {}", "POST", "/scim/v2/Groups", scimHeader, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G","members":{}}`, 400, "invalidValue"},
	{"usersSynced a string", "PATCH", "/scim/v2/Connectors/c1", scimHeader, patchOf(`{"op":"replace","path":"status.usersSynced","value":"12"}`), 400, "invalidValue"},
	{"schemas a string", "POST", "/scim/v2/Users", scimHeader, `{"schemas":"x","userName":"bob"}`, 400, "invalidValue"},
	{"schemas [5]", "POST", "/scim/v2/Users", scimHeader, `{"schemas":[5],"userName":"bob"}`, 400, "invalidValue"},
	{"schemas []", "PUT", "/scim/v2/Users/u1", scimHeader, `{"schemas":[],"userName":"alice"}`, 400, "invalidValue"},
	{"schemas bogus", "POST", "/scim/v2/Users", scimHeader, `{"schemas":["urn:bogus"],"userName":"bob"}`, 400, "invalidValue"},
	{"schemas without core", "POST", "/scim/v2/Users", scimHeader, `{"schemas":["` + entURN + `"],"userName":"bob"}`, 400, "invalidValue"},
	{"add without value", "PATCH", "/scim/v2/Users/u1", scimHeader, patchOf(`{"op":"add","path":"title"}`), 400, "invalidValue"},
	{"replace without value", "PATCH", "/scim/v2/Users/u1", scimHeader, patchOf(`{"op":"replace","path":"title"}`), 400, "invalidValue"},
	{"remove without path", "PATCH", "/scim/v2/Users/u1", scimHeader, patchOf(`{"op":"remove"}`), 400, "noTarget"},
	{"replace emails a string", "PATCH", "/scim/v2/Users/u1", scimHeader, patchOf(`{"op":"replace","path":"emails","value":"x"}`), 400, "invalidValue"},
	{"xml", "POST", "/scim/v2/Users", "Content-Type: application/xml", user(""), 415, ""},
	{"form", "PATCH", "/scim/v2/Users/u1", "Content-Type: application/x-www-form-urlencoded", patchOf(`{"op":"remove","path":"title"}`), 415, ""},
	{"multipart", "PUT", "/scim/v2/Users/u1", "Content-Type: multipart/form-data; boundary=x", user(""), 415, ""},
	{"png", "POST", "/scim/v2/Users/.search", "Content-Type: image/png", searchOf(""), 415, ""},
	{"two Content-Types", "POST", "/scim/v2/Users", "Content-Type: application/json\nContent-Type: application/xml", user(""), 415, ""},
	{"NUL in userName", "POST", "/scim/v2/Users", scimHeader, `{"schemas":["` + userURN + `"],"userName":"a\u0000b"}`, 400, "invalidValue"},
	{"ESC in a PATCH value", "PATCH", "/scim/v2/Users/u1", scimHeader, patchOf(`{"op":"replace","path":"title","value":"\u001b[31m"}`), 400, "invalidValue"},
	{"invalid UTF-8", "POST", "/scim/v2/Users", scimHeader, "{\"schemas\":[\"" + userURN + "\"],\"userName\":\"x\xff\xfe\"}", 400, "invalidValue"},
	{"overlong NUL", "PUT", "/scim/v2/Users/u1", scimHeader, "{\"schemas\":[\"" + userURN + "\"],\"userName\":\"x\xc0\x80\"}", 400, "invalidValue"},
	{"lone surrogate", "POST", "/scim/v2/Users", scimHeader, `{"schemas":["` + userURN + `"],"userName":"x\ud800"}`, 400, "invalidValue"},
	{"filter NUL", "GET", "/scim/v2/Users?filter=" + url.QueryEscape(`userName eq "\u0000"`), "", "", 400, "invalidFilter"},
	{"value filter NUL", "GET", "/scim/v2/Users?filter=" + url.QueryEscape(`emails[value co "\u0000"]`), "", "", 400, "invalidFilter"},
	{"filter raw bytes", "GET", "/scim/v2/Users?filter=userName%20eq%20%22%FF%FE%22", "", "", 400, "invalidFilter"},
	{"filter lone surrogate", "GET", "/scim/v2/Groups?filter=" + url.QueryEscape(`displayName eq "\udc00"`), "", "", 400, "invalidFilter"},
	{"sortBy NUL", "GET", "/scim/v2/Users?sortBy=user%00Name", "", "", 400, "invalidValue"},
	{"attributes invalid UTF-8", "GET", "/scim/v2/Users/u1?attributes=%FF", "", "", 400, "invalidValue"},
	{"startIndex beyond maxInt", "GET", "/scim/v2/Users?startIndex=99999999999999", "", "", 400, "invalidValue"},
	{".search count beyond maxInt", "POST", "/scim/v2/Groups/.search", scimHeader, searchOf(`,"count":2147483648`), 400, "invalidValue"},
	{"id NUL", "DELETE", "/scim/v2/Users/u1%00", "", "", 404, ""},
	{"id invalid UTF-8", "PATCH", "/scim/v2/Users/u%FF", scimHeader, patchOf(`{"op":"remove","path":"title"}`), 404, ""},

	// Still accepted.
	{"no Content-Type", "POST", "/scim/v2/Users", "", user(""), 201, ""},
	{"application/json with charset", "PUT", "/scim/v2/Users/u1", "Content-Type: application/json; charset=UTF-8", `{"schemas":["` + userURN + `"],"userName":"alice","active":"False"}`, 200, ""},
	{"Entra PATCH", "PATCH", "/scim/v2/Users/u1", "Content-Type: application/scim+json; charset=utf-8",
		patchOf(`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"new@x"},{"op":"Add","path":"manager","value":"u9"},{"op":"Replace","path":"active","value":"False"}`), 200, ""},
	{"Entra group", "POST", "/scim/v2/Groups", scimHeader, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"displayName":"G"}`, 201, ""},
	{"members by PATCH", "PATCH", "/scim/v2/Groups/g1", scimHeader, patchOf(`{"op":"add","path":"members","value":[{"value":"u2"}]},{"op":"remove","path":"members[value eq \"u1\"]"}`), 200, ""},
	{"search", "POST", "/scim/v2/Users/.search", scimHeader, searchOf(`,"filter":"userName sw \"a\"","count":5`), 200, ""},
	{"me", "PATCH", "/scim/v2/Me", scimHeader, patchOf(`{"op":"replace","value":{"title":"Boss"}}`), 200, ""},
}

// fuzzRequest builds the request a client would send, or false for one
// that net/http would not hand to a handler (a malformed method, target
// or header).
func fuzzRequest(method, target, headers string, body []byte) (*http.Request, bool) {
	if !isToken(method) {
		return nil, false
	}
	if !strings.HasPrefix(target, "/") {
		target = "/scim/v2/" + target
	}
	if strings.ContainsAny(target, " \t") {
		return nil, false
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, false
	}
	h := http.Header{}
	auth := false
	for _, line := range strings.Split(headers, "\n") {
		k, v, ok := strings.Cut(line, ":")
		k, v = strings.TrimSpace(k), strings.Trim(v, " \t")
		if !ok || !isToken(k) || !isHeaderValue(v) {
			continue
		}
		if strings.EqualFold(k, "Authorization") {
			auth = true
		}
		h.Add(k, v)
	}
	h.Del("Host")
	if !auth {
		h.Set("Authorization", "Bearer "+fuzzToken)
	}
	return (&http.Request{
		Method: method, URL: u, RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
		Host: "scim.example", RemoteAddr: "192.0.2.7:40000",
	}).WithContext(context.Background()), true
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

func isHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// checkAnswer fails on a 5xx, on a write left behind by an answer other
// than 2xx, and on an error that is not a SCIM error.
func checkAnswer(t *testing.T, req string, rec *httptest.ResponseRecorder, wrote bool) {
	t.Helper()
	code := rec.Code
	// 501 is RFC 7644's answer to an operation the server does not offer
	// (bulk, /Me without identity mapping); every other 5xx is a failure.
	if code >= 500 && code != http.StatusNotImplemented {
		t.Fatalf("%s: %d %s", req, code, rec.Body.String())
	}
	if code >= 300 && wrote {
		t.Fatalf("%s: answered %d and left a write behind: %s", req, code, rec.Body.String())
	}
	if code < 400 {
		return
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["status"] != strconv.Itoa(code) || body["detail"] == "" {
		t.Fatalf("%s: %d with a body that is no SCIM error: %q", req, code, rec.Body.String())
	}
	if code == http.StatusMethodNotAllowed && rec.Header().Get("Allow") == "" {
		t.Fatalf("%s: 405 without Allow", req)
	}
}

func TestStrictRequests(t *testing.T) {
	for _, tc := range strictRequests {
		t.Run(tc.name, func(t *testing.T) {
			h, b := newStrictServer()
			req, ok := fuzzRequest(tc.method, tc.target, tc.headers, []byte(tc.body))
			if !ok {
				t.Fatal("not a request")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			checkAnswer(t, tc.method+" "+tc.target, rec, b.Writes() > 0)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body.String())
			}
			if tc.status >= 400 {
				var body map[string]any
				_ = json.Unmarshal(rec.Body.Bytes(), &body)
				if got, _ := body["scimType"].(string); got != tc.scimType {
					t.Errorf("scimType %q, want %q: %s", got, tc.scimType, rec.Body.String())
				}
				if ct := rec.Header().Get("Content-Type"); ct != contentType {
					t.Errorf("content type %q", ct)
				}
			} else if tc.method != "GET" && !strings.HasSuffix(tc.target, "/.search") && b.Writes() != 1 {
				t.Errorf("%d writes, want 1", b.Writes())
			}
		})
	}
}

// FuzzHTTP sends arbitrary methods, targets, headers and bodies through
// the whole handler, in front of a backend that counts its writes and
// answers 500 to anything the HTTP layer should have refused. It fails
// on any 5xx but 501, on an answer other than 2xx that left a write
// behind, and on an error answer that is not a SCIM error.
func FuzzHTTP(f *testing.F) {
	for _, tc := range strictRequests {
		f.Add(tc.method, tc.target, tc.headers, []byte(tc.body))
	}
	for _, s := range [][4]string{
		{"GET", "/scim/v2/Users?filter=" + url.QueryEscape(`emails[type eq "work"].value co "@" and not (title pr)`) + "&sortBy=name.familyName&sortOrder=descending&startIndex=2&count=1", "", ""},
		{"GET", "/scim/v2/Users/u1?excludedAttributes=emails,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "If-None-Match: W/\"v1\"", ""},
		{"PUT", "/scim/v2/Connectors/c1", "If-Match: W/\"v1\"\n" + scimHeader, `{"schemas":["urn:scimgate:params:scim:schemas:core:1.0:Connector"],"name":"hr","status":{"usersSynced":3,"lastRun":"2025-01-01T00:00:00Z"}}`},
		{"DELETE", "/scim/v2/Groups/g1", "If-Match: *", ""},
		{"PATCH", "/scim/v2/SyncProfiles/p1", scimHeader, patchOf(`{"op":"add","path":"attributeMappings","value":["mail=mail"]}`)},
		{"GET", "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "", ""},
		{"OPTIONS", "/scim/v2/ResourceTypes", "", ""},
		{"GET", "/scim/v2/Users", "Authorization: Bearer nope", ""},
		{"POST", "/scim/v2/Bulk", scimHeader, "{}"},
	} {
		f.Add(s[0], s[1], s[2], []byte(s[3]))
	}
	f.Fuzz(func(t *testing.T, method, target, headers string, body []byte) {
		req, ok := fuzzRequest(method, target, headers, body)
		if !ok {
			return
		}
		h, b := newStrictServer()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkAnswer(t, strconv.Quote(method+" "+target+"\n"+headers+"\n\n"+string(body)), rec, b.Writes() > 0)
	})
}
