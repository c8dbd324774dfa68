package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/scimgate/scimgate/scim/resource"
)

// stubBackend answers every call with one fixed resource; it records the
// last call so tests can check what the HTTP layer passed on.
type stubBackend struct {
	last    string
	query   *resource.ListQuery
	patched []resource.PatchOp
	cond    resource.Conditions
}

func (b *stubBackend) res() *resource.Resource {
	return &resource.Resource{ID: "u1", Attrs: map[string]any{"userName": "alice"}, Meta: resource.Meta{ResourceType: "User", Version: "v7"}}
}

func (b *stubBackend) Get(_ context.Context, _ *resource.Type, id string, _ resource.Projection) (*resource.Resource, error) {
	b.last = "get " + id
	if id != "u1" {
		return nil, resource.NotFound("no such user")
	}
	return b.res(), nil
}

func (b *stubBackend) List(_ context.Context, _ *resource.Type, q *resource.ListQuery) (*resource.Page, error) {
	b.last, b.query = "list", q
	return &resource.Page{TotalResults: 1, StartIndex: q.StartIndex, Resources: []*resource.Resource{b.res()}}, nil
}

func (b *stubBackend) Create(_ context.Context, _ *resource.Type, _ map[string]any, _ resource.Projection) (*resource.Resource, error) {
	b.last = "create"
	return b.res(), nil
}

func (b *stubBackend) Replace(_ context.Context, _ *resource.Type, id string, _ map[string]any, c resource.Conditions, _ resource.Projection) (*resource.Resource, error) {
	b.last, b.cond = "replace "+id, c
	return b.res(), nil
}

func (b *stubBackend) Patch(_ context.Context, _ *resource.Type, id string, ops []resource.PatchOp, c resource.Conditions, _ resource.Projection) (*resource.Resource, error) {
	b.last, b.patched, b.cond = "patch "+id, ops, c
	return b.res(), nil
}

func (b *stubBackend) Delete(_ context.Context, _ *resource.Type, id string, c resource.Conditions) error {
	b.last, b.cond = "delete "+id, c
	return nil
}

const patchBody = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[%s]}`

func TestRouting(t *testing.T) {
	b := &stubBackend{}
	s := New(Config{BaseURL: "https://scim.example/scim/v2", MaxBodyBytes: 2048}, b, []*resource.Type{UserType(), GroupType()}, zerolog.Nop())
	cases := []struct {
		method, path, body string
		headers            map[string]string
		status             int
		scimType, call     string
	}{
		{"GET", "/scim/v2/Users/u1", "", nil, 200, "", "get u1"},
		{"GET", "/scim/v2/users/u1/", "", nil, 200, "", "get u1"},
		{"GET", "/SCIM/V2/USERS/u1", "", nil, 200, "", "get u1"},
		{"GET", "/scim/v2/Users/u2", "", nil, 404, "", "get u2"},
		{"GET", "/scim/v2/Users/u1", "", map[string]string{"If-None-Match": `W/"v7"`}, 304, "", "get u1"},
		{"GET", "/scim/v2/Users?filter=userName%20eq%20%22a%22&startIndex=3&count=5&sortBy=userName&sortOrder=descending", "", nil, 200, "", "list"},
		{"GET", "/scim/v2/Users?count=x", "", nil, 400, "invalidValue", ""},
		{"GET", "/scim/v2/Users?filter=userName%20eq", "", nil, 400, "invalidFilter", ""},
		{"GET", "/scim/v2/Users?attributes=a&excludedAttributes=b", "", nil, 400, "invalidValue", ""},
		{"POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob"}`, nil, 201, "", "create"},
		{"POST", "/scim/v2/Users", `{"userName": `, nil, 400, "invalidSyntax", ""},
		{"POST", "/scim/v2/Users", `{"userName":"a"} {"x":1}`, nil, 400, "invalidSyntax", ""},
		{"POST", "/scim/v2/Users", `{"userName":"` + strings.Repeat("a", 4096) + `"}`, nil, 413, "", ""},
		{"PUT", "/scim/v2/Users/u1", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice"}`, map[string]string{"If-Match": `W/"v7", "v8"`}, 200, "", "replace u1"},
		{"PATCH", "/scim/v2/Users/u1", strings.Replace(patchBody, "%s", `{"op":"Replace","path":"title","value":"x"}`, 1), nil, 200, "", "patch u1"},
		{"PATCH", "/scim/v2/Users/u1", strings.Replace(patchBody, "%s", ``, 1), nil, 400, "invalidValue", ""},
		{"PATCH", "/scim/v2/Users/u1", strings.Replace(patchBody, "%s", `{"op":"move","path":"title"}`, 1), nil, 400, "invalidValue", ""},
		{"PATCH", "/scim/v2/Users/u1", strings.Replace(patchBody, "%s", `{"op":"remove"}`, 1), nil, 400, "noTarget", ""},
		{"PATCH", "/scim/v2/Users/u1", strings.Replace(patchBody, "%s", `{"op":"add","value":"not an object"}`, 1), nil, 400, "invalidValue", ""},
		{"PATCH", "/scim/v2/Users/u1", `{"schemas":["x"],"Operations":[]}`, nil, 400, "invalidValue", ""},
		{"DELETE", "/scim/v2/Users/u1", "", map[string]string{"If-Match": "*"}, 204, "", "delete u1"},
		{"POST", "/scim/v2/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"count":2}`, nil, 200, "", "list"},
		{"DELETE", "/scim/v2/Users", "", nil, 405, "", ""},
		{"POST", "/scim/v2/ServiceProviderConfig", "{}", nil, 405, "", ""},
		{"GET", "/scim/v2/Bulk", "", nil, 501, "", ""},
		{"GET", "/scim/v2/Me", "", nil, 501, "", ""},
		{"POST", "/scim/v2/.search", "{}", nil, 400, "invalidValue", ""},
		{"POST", "/scim/v2/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"count":2}`, nil, 200, "", "list"},
		{"GET", "/scim/v2/.search", "", nil, 405, "", ""},
		{"GET", "/scim/v2/?count=1", "", nil, 200, "", "list"},
		{"DELETE", "/scim/v2/", "", nil, 405, "", ""},
		{"GET", "/scim/v2/Nothing", "", nil, 404, "", ""},
		{"GET", "/scim/v2/Users/u1/extra", "", nil, 404, "", ""},
		{"GET", "/elsewhere", "", nil, 404, "", ""},
		{"GET", "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group", "", nil, 200, "", ""},
		{"GET", "/scim/v2/ResourceTypes/Group", "", nil, 200, "", ""},
		{"GET", "/scim/v2/ResourceTypes/Nope", "", nil, 404, "", ""},
	}
	for _, tc := range cases {
		b.last = ""
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		for k, v := range tc.headers {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		name := tc.method + " " + tc.path
		if len(name) > 80 {
			name = name[:80]
		}
		if rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d: %s", name, rec.Code, tc.status, rec.Body.String())
			continue
		}
		if b.last != tc.call {
			t.Errorf("%s: backend call %q, want %q", name, b.last, tc.call)
		}
		if rec.Code >= 400 {
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["detail"] == "" || body["status"] == nil {
				t.Errorf("%s: error body %q", name, rec.Body.String())
			}
			if got, _ := body["scimType"].(string); got != tc.scimType {
				t.Errorf("%s: scimType %q, want %q", name, got, tc.scimType)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/scim+json" {
				t.Errorf("%s: content type %q", name, ct)
			}
		}
		if rec.Code == 405 && rec.Header().Get("Allow") == "" {
			t.Errorf("%s: 405 without Allow", name)
		}
	}
}

func TestRequestDetailsReachTheBackend(t *testing.T) {
	b := &stubBackend{}
	s := New(Config{BaseURL: "https://scim.example/scim/v2"}, b, []*resource.Type{UserType()}, zerolog.Nop())
	do := func(method, path, body string, headers ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	do("GET", "/scim/v2/Users?startIndex=0&count=-4&sortBy=name.familyName&sortOrder=DESCENDING&excludedAttributes=members,%20emails", "")
	q := b.query
	if q.StartIndex != 1 || q.Count != 0 || q.SortBy != "name.familyName" || !q.SortDescending || strings.Join(q.Projection.ExcludedAttributes, "|") != "members|emails" {
		t.Fatalf("query %+v", q)
	}
	do("PUT", "/scim/v2/Users/u1", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice"}`, "If-Match", `W/"a", "b"`, "If-None-Match", "*")
	if strings.Join(b.cond.IfMatch, "|") != "a|b" || strings.Join(b.cond.IfNoneMatch, "|") != "*" {
		t.Fatalf("conditions %+v", b.cond)
	}
	rec := do("PATCH", "/scim/v2/Users/u1", strings.Replace(patchBody, "%s", `{"op":"ADD","path":"emails[type eq \"work\"].value","value":"a@b"}`, 1))
	if rec.Code != 200 || len(b.patched) != 1 || b.patched[0].Op != "add" || b.patched[0].Path == nil || b.patched[0].Value != "a@b" {
		t.Fatalf("patch ops %+v (%d)", b.patched, rec.Code)
	}
	rec = do("POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob"}`)
	if rec.Header().Get("Location") != "https://scim.example/scim/v2/Users/u1" || rec.Header().Get("ETag") != `W/"v7"` {
		t.Fatalf("create headers %v", rec.Header())
	}
	var body map[string]any
	json.Unmarshal(rec.Body.Bytes(), &body)
	meta, _ := body["meta"].(map[string]any)
	if meta["location"] != "https://scim.example/scim/v2/Users/u1" || meta["version"] != `W/"v7"` {
		t.Fatalf("meta %v", meta)
	}
}

// failingBackend fails every Get with err.
type failingBackend struct {
	stubBackend
	err error
}

func (b *failingBackend) Get(context.Context, *resource.Type, string, resource.Projection) (*resource.Resource, error) {
	return nil, b.err
}

// TestErrorsRenderedOnce: a handler's error becomes one SCIM error
// response, and is logged once when it has a cause: at error level for a
// 5xx, at debug for a client error; a client error without a cause is
// left to the audit line.
func TestErrorsRenderedOnce(t *testing.T) {
	cause := errors.New("connection reset by peer")
	tests := []struct {
		name   string
		err    error
		status int
		detail string
		logged string // the level of the one "request failed" line, "" = none
	}{
		{"untyped", cause, 500, "internal error", "error"},
		{"unavailable", resource.Unavailable(cause, "the directory is unavailable"), 503, "the directory is unavailable", "error"},
		{"client error with a cause", &resource.Error{Status: 400, ScimType: "invalidValue", Detail: "bad", Err: cause}, 400, "bad", "debug"},
		{"client error", resource.NotFound("no such user"), 404, "no such user", ""},
	}
	for _, tt := range tests {
		var logs bytes.Buffer
		s := New(Config{}, &failingBackend{err: tt.err}, []*resource.Type{UserType()}, zerolog.New(&logs).Level(zerolog.DebugLevel))
		rec := httptest.NewRecorder()
		s.Handler(func(h http.Handler) http.Handler { return h }, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/scim/v2/Users/u1", nil))
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != tt.status || body["detail"] != tt.detail || body["status"] != strconv.Itoa(tt.status) {
			t.Errorf("%s: %d %s", tt.name, rec.Code, rec.Body.String())
		}
		if strings.Contains(rec.Body.String(), cause.Error()) {
			t.Errorf("%s: the cause reached the client: %s", tt.name, rec.Body.String())
		}
		var failed []string
		for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			if strings.Contains(line, `"message":"request failed"`) {
				failed = append(failed, line)
			}
		}
		switch {
		case tt.logged == "" && len(failed) > 0:
			t.Errorf("%s: logged %q", tt.name, failed)
		case tt.logged != "" && (len(failed) != 1 || !strings.Contains(failed[0], `"level":"`+tt.logged+`"`) || !strings.Contains(failed[0], cause.Error())):
			t.Errorf("%s: logged %q, want one %s line with the cause", tt.name, failed, tt.logged)
		}
	}
}
