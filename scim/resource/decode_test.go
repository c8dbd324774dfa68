package resource

import (
	"errors"
	"strings"
	"testing"
)

const (
	coreUser  = `"urn:ietf:params:scim:schemas:core:2.0:User"`
	coreGroup = `"urn:ietf:params:scim:schemas:core:2.0:Group"`
)

// wantErr checks that err is a 400 *Error of scimType whose detail holds
// detail.
func wantErr(t *testing.T, name string, err error, scimType, detail string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Status != 400 || e.ScimType != scimType || !strings.Contains(e.Detail, detail) {
		t.Errorf("%s: error %v, want 400 %s containing %q", name, err, scimType, detail)
	}
}

func TestDecodeResource(t *testing.T) {
	tests := []struct {
		name, body string
		group      bool
		want       string // canonical result when no error
		scimType   string
		detail     string
	}{
		{name: "ok", body: `{"schemas":[` + coreUser + `],"userName":"u","name":{"givenName":"G"}}`, want: `{"name":{"givenName":"G"},"userName":"u"}`},
		{name: "ok with extension and spaces", body: " \n{\"schemas\":[" + coreUser + `,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:USER"],"userName":"u"}` + "\r\n\t ",
			want: `{"userName":"u"}`},
		{name: "schemas case and member case", body: `{"SCHEMAS":["URN:ietf:params:scim:schemas:core:2.0:user"],"userName":"u"}`, want: `{"userName":"u"}`},
		{name: "Entra's group schema", group: true, body: `{"schemas":[` + coreGroup + `,"http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"displayName":"G"}`,
			want: `{"displayName":"G"}`},
		{name: "tab and newline kept", body: `{"schemas":[` + coreUser + `],"userName":"u","addresses":[{"formatted":"1 Main St\nSpringfield\tUSA"}]}`,
			want: `{"addresses":[{"formatted":"1 Main St\nSpringfield\tUSA"}],"userName":"u"}`},
		{name: "surrogate pair", body: `{"schemas":[` + coreUser + `],"userName":"\ud83d\ude00"}`, want: `{"userName":"😀"}`},
		{name: "big integer exact", group: false, body: `{"schemas":[` + coreUser + `],"userName":"u","urn:x:Other:x":123456789012345678901234567890}`, want: `{"userName":"u"}`},

		// The body as a whole.
		{name: "empty", body: " \n", scimType: ScimInvalidSyntax, detail: "request body is empty"},
		{name: "not JSON", body: `{"userName": `, scimType: ScimInvalidSyntax, detail: "not valid JSON"},
		{name: "trailing braces", body: `{"schemas":[` + coreUser + `],"userName":"u"}}}`, scimType: ScimInvalidSyntax,
			detail: `more than one JSON value: "}}" follows the first at line 1, column 74`},
		{name: "trailing text on a later line", body: "{\"schemas\":[" + coreUser + "],\"userName\":\"u\"}\n x", scimType: ScimInvalidSyntax,
			detail: "at line 2, column 2"},
		{name: "two objects", body: `{"userName":"a"} {"userName":"b"}`, scimType: ScimInvalidSyntax, detail: "more than one JSON value"},
		{name: "array", body: `[{"userName":"a"}]`, scimType: ScimInvalidSyntax, detail: "must be a JSON object, not a list"},
		{name: "string", body: `"x"`, scimType: ScimInvalidSyntax, detail: "must be a JSON object, not a string"},
		{name: "null", body: `null`, scimType: ScimInvalidSyntax, detail: "must be a JSON object, not null"},

		// Text.
		{name: "invalid UTF-8", body: "{\"schemas\":[" + coreUser + "],\"userName\":\"x\xff\xfe\"}", scimType: ScimInvalidValue,
			detail: "not valid UTF-8: byte 0xFF at line 1, column 72"},
		{name: "overlong NUL", body: "{\"userName\":\"x\xc0\x80\"}", scimType: ScimInvalidValue, detail: "byte 0xC0"},
		{name: "encoded surrogate", body: "{\"userName\":\"x\xed\xa0\x80\"}", scimType: ScimInvalidValue, detail: "byte 0xED"},
		{name: "NUL escape", body: `{"schemas":[` + coreUser + `],"userName":"a\u0000"}`, scimType: ScimInvalidValue,
			detail: "the control character U+0000 at line 1, column 72"},
		{name: "NUL escape in a key", body: `{"schemas":[` + coreUser + `],"userName":"a","x\u0000":1}`, scimType: ScimInvalidValue, detail: "U+0000"},
		{name: "NUL in an ignored attribute", body: `{"schemas":[` + coreUser + `],"userName":"a","unknown":"\u0000"}`, scimType: ScimInvalidValue, detail: "U+0000"},
		{name: "ESC escape", body: `{"userName":"a\u001B"}`, scimType: ScimInvalidValue, detail: "U+001B"},
		{name: "backspace escape", body: `{"userName":"a\b"}`, scimType: ScimInvalidValue, detail: `the escape \b`},
		{name: "form feed escape", body: `{"userName":"a\f"}`, scimType: ScimInvalidValue, detail: `the escape \f`},
		{name: "lone high surrogate", body: `{"userName":"x\ud800"}`, scimType: ScimInvalidValue, detail: `a lone surrogate \ud800`},
		{name: "high surrogate then letter escape", body: `{"userName":"x\ud800\u0041"}`, scimType: ScimInvalidValue, detail: `a lone surrogate \ud800`},
		{name: "lone low surrogate", body: `{"userName":"\uDC00x"}`, scimType: ScimInvalidValue, detail: `a lone surrogate \udc00`},
		{name: "reversed pair", body: `{"userName":"\udc00\ud800"}`, scimType: ScimInvalidValue, detail: `a lone surrogate \udc00`},
		{name: "escaped backslash before u", body: `{"schemas":[` + coreUser + `],"userName":"a\\u0000"}`, want: `{"userName":"a\\u0000"}`},

		// schemas.
		{name: "schemas absent", body: `{"userName":"u"}`, scimType: ScimInvalidValue, detail: "schemas is required"},
		{name: "schemas null", body: `{"schemas":null,"userName":"u"}`, scimType: ScimInvalidValue, detail: "schemas is required"},
		{name: "schemas a string", body: `{"schemas":` + coreUser + `,"userName":"u"}`, scimType: ScimInvalidValue, detail: "schemas must be a list of schema URNs, not a string"},
		{name: "schemas [5]", body: `{"schemas":[5],"userName":"u"}`, scimType: ScimInvalidValue, detail: "schemas[0] must be a string, not a number"},
		{name: "schemas []", body: `{"schemas":[],"userName":"u"}`, scimType: ScimInvalidValue, detail: "schemas must not be empty"},
		{name: "schemas bogus", body: `{"schemas":["urn:bogus"],"userName":"u"}`, scimType: ScimInvalidValue,
			detail: `schemas[0]: "urn:bogus" is not a schema of User resources`},
		{name: "schemas bogus beside core", body: `{"schemas":[` + coreUser + `,"urn:bogus"],"userName":"u"}`, scimType: ScimInvalidValue, detail: `schemas[1]: "urn:bogus"`},
		{name: "schemas without core", body: `{"schemas":["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"userName":"u"}`, scimType: ScimInvalidValue,
			detail: `schemas must hold the core schema "urn:ietf:params:scim:schemas:core:2.0:User"`},
		{name: "extension of another type", group: true, body: `{"schemas":[` + coreGroup + `,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"displayName":"G"}`,
			scimType: ScimInvalidValue, detail: `is not a schema of Group resources`},
		{name: "core of another type", body: `{"schemas":[` + coreGroup + `],"userName":"u"}`, scimType: ScimInvalidValue, detail: `schemas[0]`},

		// Values, through Normalize.
		{name: "emails a string", body: `{"schemas":[` + coreUser + `],"userName":"u","emails":"a@b.c"}`, scimType: ScimInvalidValue, detail: `"emails" is a list of objects`},
		{name: "name []", body: `{"schemas":[` + coreUser + `],"userName":"u","name":[]}`, scimType: ScimInvalidValue, detail: `"name" is single-valued`},
	}
	for _, tt := range tests {
		typ := userType()
		if tt.group {
			typ = groupType()
		}
		got, err := DecodeResource([]byte(tt.body), typ, true)
		if tt.scimType != "" {
			wantErr(t, tt.name, err, tt.scimType, tt.detail)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if s := canon(t, got); s != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, s, tt.want)
		}
	}
}

func TestDecodePatch(t *testing.T) {
	const urn = `"urn:ietf:params:scim:api:messages:2.0:PatchOp"`
	patch := func(ops string) string { return `{"schemas":[` + urn + `],"Operations":[` + ops + `]}` }
	tests := []struct {
		name, body string
		group      bool
		want       string // op|path|value of each operation, when no error
		scimType   string
		detail     string
	}{
		{name: "ok", body: patch(`{"op":"Replace","path":"title","value":"x"},{"op":"remove","path":"nickName"}`), want: `replace|title|"x" remove|nickName|null`},
		{name: "member names in any case", body: `{"Schemas":[` + urn + `],"operations":[{"OP":"add","Path":"title","VALUE":"x"}]}`, want: `add|title|"x"`},
		{name: "null path is no path", body: patch(`{"op":"add","path":null,"value":{"title":"x"}}`), want: `add||{"title":"x"}`},
		{name: "null value clears", body: patch(`{"op":"replace","path":"title","value":null}`), want: `replace|title|null`},
		{name: "Entra strings for booleans", body: patch(`{"op":"Replace","path":"active","value":"False"}`), want: `replace|active|"False"`},
		{name: "Entra manager bare id", body: patch(`{"op":"add","path":"manager","value":"m"}`), want: `add|manager|"m"`},
		{name: "filtered sub-attribute", body: patch(`{"op":"replace","path":"emails[type eq \"work\"].value","value":"a@b"}`), want: `replace|emails[type eq "work"].value|"a@b"`},
		{name: "members", group: true, body: patch(`{"op":"add","path":"members","value":[{"value":"u1"}]},{"op":"remove","path":"members[value eq \"u2\"]"}`),
			want: `add|members|[{"value":"u1"}] remove|members[value eq "u2"]|null`},

		{name: "trailing text", body: patch(`{"op":"remove","path":"title"}`) + "}}", scimType: ScimInvalidSyntax, detail: "more than one JSON value"},
		{name: "schemas a string", body: `{"schemas":` + urn + `,"Operations":[{"op":"remove","path":"title"}]}`, scimType: ScimInvalidValue, detail: "schemas must be a list"},
		{name: "schemas bogus", body: `{"schemas":["urn:bogus"],"Operations":[{"op":"remove","path":"title"}]}`, scimType: ScimInvalidValue,
			detail: `schemas[0]: a PATCH request carries the schema urn:ietf:params:scim:api:messages:2.0:PatchOp only, not "urn:bogus"`},
		{name: "schemas absent", body: `{"Operations":[{"op":"remove","path":"title"}]}`, scimType: ScimInvalidValue, detail: "schemas is required"},
		{name: "no operations", body: patch(``), scimType: ScimInvalidValue, detail: "at least one operation"},
		{name: "Operations absent", body: `{"schemas":[` + urn + `]}`, scimType: ScimInvalidValue, detail: "at least one operation"},
		{name: "Operations not a list", body: `{"schemas":[` + urn + `],"Operations":{"op":"add"}}`, scimType: ScimInvalidSyntax, detail: "Operations must be a list of operations, not an object"},
		{name: "operation not an object", body: patch(`"add"`), scimType: ScimInvalidSyntax, detail: "Operations[0]: an operation must be an object, not a string"},
		{name: "op not a string", body: patch(`{"op":1,"path":"title","value":"x"}`), scimType: ScimInvalidSyntax, detail: "Operations[0]: op must be a string, not a number"},
		{name: "op unknown", body: patch(`{"op":"move","path":"title","value":"x"}`), scimType: ScimInvalidValue, detail: `op must be add, replace or remove, not "move"`},
		{name: "op absent", body: patch(`{"path":"title","value":"x"}`), scimType: ScimInvalidValue, detail: `op must be add, replace or remove, not ""`},
		{name: "path not a string", body: patch(`{"op":"remove","path":["title"]}`), scimType: ScimInvalidSyntax, detail: "path must be a string, not a list"},
		{name: "path unparsable", body: patch(`{"op":"remove","path":"emails[type eq"}`), scimType: ScimInvalidPath, detail: "column"},
		{name: "path NUL in its filter", body: patch(`{"op":"remove","path":"emails[value eq \"\\u0000\"]"}`), scimType: ScimInvalidPath, detail: `the escape \u0000`},
		{name: "add without value", body: patch(`{"op":"add","path":"title"}`), scimType: ScimInvalidValue, detail: "Operations[0]: add needs a value"},
		{name: "replace without value", body: patch(`{"op":"remove","path":"title"},{"op":"replace","path":"title"}`), scimType: ScimInvalidValue, detail: "Operations[1]: replace needs a value"},
		{name: "pathless without value", body: patch(`{"op":"replace"}`), scimType: ScimInvalidValue, detail: "replace needs a value"},
		{name: "pathless not an object", body: patch(`{"op":"add","value":[{"title":"x"}]}`), scimType: ScimInvalidValue, detail: "add without a path needs an object value, not a list"},
		{name: "remove without path", body: patch(`{"op":"remove","value":{"title":"x"}}`), scimType: ScimNoTarget, detail: "remove needs a path"},

		// Values and targets, by CheckPatch.
		{name: "replace emails a string", body: patch(`{"op":"replace","path":"emails","value":"x"}`), scimType: ScimInvalidValue, detail: `"emails" is a list of objects`},
		{name: "add members a string", group: true, body: patch(`{"op":"add","path":"members","value":"u1"}`), scimType: ScimInvalidValue, detail: `"members" is a list of objects`},
		{name: "add members {}", group: true, body: patch(`{"op":"add","path":"members","value":{}}`), scimType: ScimInvalidValue, detail: `{} is not one of its values`},
		{name: "member display a number", group: true, body: patch(`{"op":"add","path":"members","value":[{"value":"u1","display":5}]}`), scimType: ScimInvalidValue,
			detail: `"members.display" must be a string, not a number`},
		{name: "remove members strings", group: true, body: patch(`{"op":"remove","path":"members","value":["u1"]}`), scimType: ScimInvalidValue, detail: `"members" is a list of objects`},
		{name: "active []", body: patch(`{"op":"replace","path":"active","value":[]}`), scimType: ScimInvalidValue, detail: `"active" is single-valued`},
		{name: "pathless name []", body: patch(`{"op":"replace","value":{"name":[]}}`), scimType: ScimInvalidValue, detail: `"name" is single-valued`},
		{name: "pathless extension department []", body: patch(`{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":[]}}}`),
			scimType: ScimInvalidValue, detail: `is single-valued`},
		{name: "number in a string", body: patch(`{"op":"replace","path":"active","value":"maybe"}`), scimType: ScimInvalidValue, detail: `must be a boolean`},
		{name: "filtered value not an object", body: patch(`{"op":"replace","path":"emails[type eq \"work\"]","value":5}`), scimType: ScimInvalidValue, detail: `must be an object, not a number`},
		{name: "unknown attribute", body: patch(`{"op":"replace","path":"nope","value":"x"}`), scimType: ScimInvalidPath, detail: `attribute "nope" is not stored by this server`},
		{name: "readOnly", body: patch(`{"op":"add","path":"groups","value":[{"value":"g"}]}`), scimType: ScimMutability, detail: `"groups" is read-only`},
		{name: "readOnly pathless", body: patch(`{"op":"replace","value":{"id":"x","meta":{},"title":"t","groups":[]}}`), scimType: ScimMutability, detail: `"groups" is read-only`},
		{name: "second operation named", body: patch(`{"op":"replace","path":"title","value":"t"},{"op":"replace","path":"emails","value":"x"}`), scimType: ScimInvalidValue,
			detail: `Operations[1]: attribute "emails"`},
	}
	for _, tt := range tests {
		typ := userType()
		if tt.group {
			typ = groupType()
		}
		ops, err := DecodePatch([]byte(tt.body), typ)
		if tt.scimType != "" {
			wantErr(t, tt.name, err, tt.scimType, tt.detail)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var got []string
		for _, op := range ops {
			path := ""
			if op.Path != nil {
				path = op.Path.String()
			}
			got = append(got, op.Op+"|"+path+"|"+canon(t, op.Value))
		}
		if s := strings.Join(got, " "); s != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, s, tt.want)
		}
	}
}

func TestDecodeSearch(t *testing.T) {
	const urn = `"urn:ietf:params:scim:api:messages:2.0:SearchRequest"`
	tests := []struct {
		name, body string
		want       string // the request as %+v-like text, when no error
		scimType   string
		detail     string
	}{
		{name: "all members", body: `{"schemas":[` + urn + `],"filter":"userName eq \"a\"","startIndex":3,"count":1e1,"sortBy":"userName","sortOrder":"descending","attributes":["userName","emails"]}`,
			want: `filter=userName eq "a" start=3 count=10 sortBy=userName order=descending attrs=[userName emails] excluded=[]`},
		{name: "nulls are absent", body: `{"schemas":[` + urn + `],"filter":null,"count":null,"excludedAttributes":null}`,
			want: `filter= start=nil count=nil sortBy= order= attrs=[] excluded=[]`},
		{name: "schemas [5]", body: `{"schemas":[5]}`, scimType: ScimInvalidValue, detail: "schemas[0] must be a string"},
		{name: "schemas absent", body: `{"count":1}`, scimType: ScimInvalidValue, detail: "schemas is required"},
		{name: "trailing braces", body: `{"schemas":[` + urn + `]}}}`, scimType: ScimInvalidSyntax, detail: "more than one JSON value"},
		{name: "count a string", body: `{"schemas":[` + urn + `],"count":"5"}`, scimType: ScimInvalidSyntax, detail: "count must be a number, not a string"},
		{name: "count a fraction", body: `{"schemas":[` + urn + `],"count":1.5}`, scimType: ScimInvalidValue, detail: "count must be an integer from -2147483648 to 2147483647, not 1.5"},
		{name: "startIndex huge", body: `{"schemas":[` + urn + `],"startIndex":1e300}`, scimType: ScimInvalidValue, detail: "startIndex must be an integer"},
		{name: "filter a number", body: `{"schemas":[` + urn + `],"filter":5}`, scimType: ScimInvalidSyntax, detail: "filter must be a string, not a number"},
		{name: "attributes a string", body: `{"schemas":[` + urn + `],"attributes":"userName"}`, scimType: ScimInvalidSyntax, detail: "attributes must be a list of strings, not a string"},
		{name: "attributes [5]", body: `{"schemas":[` + urn + `],"attributes":[5]}`, scimType: ScimInvalidSyntax, detail: "attributes[0] must be a string"},
		{name: "NUL in the filter", body: `{"schemas":[` + urn + `],"filter":"userName eq \"\u0000\""}`, scimType: ScimInvalidValue, detail: "U+0000"},
	}
	for _, tt := range tests {
		q, err := DecodeSearch([]byte(tt.body))
		if tt.scimType != "" {
			wantErr(t, tt.name, err, tt.scimType, tt.detail)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		num := func(p *int) string {
			if p == nil {
				return "nil"
			}
			return canon(t, *p)
		}
		got := "filter=" + q.Filter + " start=" + num(q.StartIndex) + " count=" + num(q.Count) + " sortBy=" + q.SortBy + " order=" + q.SortOrder +
			" attrs=[" + strings.Join(q.Attributes, " ") + "] excluded=[" + strings.Join(q.ExcludedAttributes, " ") + "]"
		if got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestCheckText(t *testing.T) {
	tests := []struct{ in, problem string }{
		{"alice", ""},
		{"a\tb\nc\r", ""},
		{"é😀", ""},
		{"a\x00", "the control character U+0000 at byte 2"},
		{"\x1b[0m", "the control character U+001B at byte 1"},
		{"x\xff", "invalid UTF-8 (byte 0xFF) at byte 2"},
		{"\xc0\x80", "invalid UTF-8 (byte 0xC0) at byte 1"},
		{"\xed\xa0\x80", "invalid UTF-8 (byte 0xED) at byte 1"},
	}
	for _, tt := range tests {
		err := CheckText("sortBy", tt.in)
		if tt.problem == "" {
			if err != nil {
				t.Errorf("CheckText(%q): %v", tt.in, err)
			}
			continue
		}
		wantErr(t, tt.in, err, ScimInvalidValue, "sortBy holds "+tt.problem)
	}
}

// FuzzDecode: the decoders refuse with a 400 *Error or return values
// whose strings are all text; a resource they accept normalises to
// itself.
func FuzzDecode(f *testing.F) {
	f.Add(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u","emails":[{"value":"a@b","primary":"True"}]}`)
	f.Add(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"emails[type eq \"work\"].value","value":"x"}]}`)
	f.Add(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName eq \"\ud83d\ude00\"","count":5}`)
	f.Add(`{"userName":"\ud800"}}`)
	f.Fuzz(func(t *testing.T, body string) {
		isText := func(v any) {
			var walk func(v any)
			walk = func(v any) {
				switch x := v.(type) {
				case string:
					if p, _ := textProblem(x); p != "" {
						t.Fatalf("%q decoded to a string with %s", body, p)
					}
				case []any:
					for _, e := range x {
						walk(e)
					}
				case map[string]any:
					for k, e := range x {
						walk(k)
						walk(e)
					}
				}
			}
			walk(v)
		}
		check := func(err error) bool {
			if err == nil {
				return true
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 || e.ScimType == "" {
				t.Fatalf("%q: %v is not a 400 *Error with a scimType", body, err)
			}
			return false
		}
		for _, typ := range []*Type{userType(), groupType()} {
			if m, err := DecodeResource([]byte(body), typ, false); check(err) {
				isText(m)
				again, err := Normalize(m, typ, false)
				if err != nil || canon(t, again) != canon(t, m) {
					t.Fatalf("%q: decoded to %s, which normalises to %v %v", body, canon(t, m), again, err)
				}
			}
			if ops, err := DecodePatch([]byte(body), typ); check(err) {
				for _, op := range ops {
					isText(op.Value)
				}
			}
		}
		if q, err := DecodeSearch([]byte(body)); check(err) {
			isText(q.Filter)
			isText(q.SortBy)
		}
	})
}
