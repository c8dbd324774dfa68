package resource

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/elimity-com/scim/schema"
)

const entURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

func userType() *Type {
	return &Type{ID: "User", Name: "User", Endpoint: "/Users", Schema: schema.CoreUserSchema(),
		Extensions: []Extension{{Schema: schema.ExtensionEnterpriseUser()}}}
}

func groupType() *Type {
	return &Type{ID: "Group", Name: "Group", Endpoint: "/Groups", Schema: schema.CoreGroupSchema()}
}

// js decodes JSON as the HTTP layer does (numbers as float64).
func js(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

// canon renders a value as sorted JSON.
func canon(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in  string
		create    bool
		typ       *Type
		want      string
		ignored   []string
		errType   string
		errDetail string
	}{
		{name: "okta create", create: true, in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"test.user@okta.local",
			"name":{"givenName":"Test","familyName":"User"},"emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],
			"displayName":"Test User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","groups":[],"password":"1mz050nq","active":true}`,
			want: `{"active":true,"displayName":"Test User","emails":[{"primary":true,"type":"work","value":"test.user@okta.local"}],"externalId":"00ujl29u0le5T6Aj10h7","locale":"en-US","name":{"familyName":"User","givenName":"Test"},"password":"1mz050nq","userName":"test.user@okta.local"}`},
		{name: "okta put echoes id meta groups", in: `{"id":"1","meta":{"resourceType":"User"},"groups":[{"value":"g"}],"userName":"u","active":true}`,
			want: `{"active":true,"userName":"u"}`},
		{name: "names case-insensitive", create: true, in: `{"USERNAME":"u","Name":{"GIVENNAME":"g"},"EMAILS":[{"VALUE":"a@b","Type":"work"}]}`,
			want: `{"emails":[{"type":"work","value":"a@b"}],"name":{"givenName":"g"},"userName":"u"}`},
		{name: "entra strings for booleans", create: true, in: `{"userName":"u","active":"False","emails":[{"value":"a@b","primary":"True"}]}`,
			want: `{"active":false,"emails":[{"primary":true,"value":"a@b"}],"userName":"u"}`},
		{name: "extension nested", create: true, in: `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"Department":"d","manager":{"value":"m","displayName":"ro"}}}`,
			want: `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"d","manager":{"value":"m"}},"userName":"u"}`},
		{name: "extension flat and case of URN", create: true, in: `{"userName":"u","URN:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeeNumber":"7","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"d"}}`,
			want: `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"d","employeeNumber":"7"},"userName":"u"}`},
		{name: "core URN prefix", create: true, in: `{"urn:ietf:params:scim:schemas:core:2.0:User:userName":"u"}`, want: `{"userName":"u"}`},
		{name: "manager bare id", create: true, in: `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"myuser"}}`,
			want: `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"myuser"}},"userName":"u"}`},
		{name: "single object for multi-valued", create: true, in: `{"userName":"u","emails":{"value":"a@b"}}`, want: `{"emails":[{"value":"a@b"}],"userName":"u"}`},
		{name: "list of one for single-valued", create: true, in: `{"userName":["u"],"name":[{"givenName":"g"}]}`, want: `{"name":{"givenName":"g"},"userName":"u"}`},
		{name: "create drops nulls", create: true, in: `{"userName":"u","title":null,"addresses":null,"roles":[],"nickName":"","name":{}}`, want: `{"userName":"u"}`},
		{name: "put keeps nulls", in: `{"userName":"u","title":null,"roles":[],"nickName":"","name":{"givenName":null},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":null}`,
			want: `{"name":null,"nickName":null,"roles":null,"title":null,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":null,"userName":"u"}`},
		{name: "unserved schemas ignored", create: true, in: `{"userName":"u","urn:x:Other":{"a":1},"urn:x:Other:b":2}`,
			want: `{"userName":"u"}`, ignored: []string{"urn:x:Other", "urn:x:Other:b"}},
		{name: "unknown attribute", create: true, in: `{"userName":"u","foo":1}`, errType: ScimInvalidValue, errDetail: `attribute "foo" is not stored by this server (see /Schemas)`},
		{name: "unknown sub-attribute", create: true, in: `{"userName":"u","emails":[{"value":"a","bar":2}]}`, errType: ScimInvalidValue, errDetail: `attribute "emails.bar" is not stored by this server (see /Schemas)`},
		{name: "unknown extension attribute", create: true, in: `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"nope":1}}`, errType: ScimInvalidValue,
			errDetail: `attribute "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:nope" is not stored by this server (see /Schemas)`},
		{name: "unknown core-qualified attribute", create: true, in: `{"userName":"u","urn:ietf:params:scim:schemas:core:2.0:User:nope":1}`, errType: ScimInvalidValue, errDetail: `attribute "urn:ietf:params:scim:schemas:core:2.0:User:nope" is not stored by this server (see /Schemas)`},
		{name: "two primaries", create: true, in: `{"userName":"u","emails":[{"value":"a","primary":true},{"value":"b","primary":true}]}`, errType: ScimInvalidValue, errDetail: `attribute "emails": 2 values are primary; at most one may be (RFC 7643 §2.4)`},
		{name: "primary false stays", create: true, in: `{"userName":"u","emails":[{"value":"a","primary":false},{"value":"b","primary":true}]}`,
			want: `{"emails":[{"primary":false,"value":"a"},{"primary":true,"value":"b"}],"userName":"u"}`},
		{name: "group", create: true, typ: groupType(), in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"externalId":"e","displayName":"G","members":[{"$ref":null,"value":"u1"}]}`,
			want: `{"displayName":"G","externalId":"e","members":[{"value":"u1"}]}`},
		{name: "group without displayName", create: true, typ: groupType(), in: `{"members":[]}`, errType: ScimInvalidValue, errDetail: `attribute "displayName" is required`},
		{name: "create without userName", create: true, in: `{"name":{"givenName":"g"}}`, errType: ScimInvalidValue, errDetail: `attribute "userName" is required`},
		{name: "put with null userName", in: `{"userName":null}`, errType: ScimInvalidValue, errDetail: `attribute "userName" is required`},
		{name: "bad boolean", create: true, in: `{"userName":"u","active":"yes"}`, errType: ScimInvalidValue, errDetail: `attribute "active" must be a boolean, not a string`},
		{name: "number for string", create: true, in: `{"userName":5}`, errType: ScimInvalidValue, errDetail: `attribute "userName" must be a string, not a number`},
		{name: "object for string", create: true, in: `{"userName":"u","title":{"a":1}}`, errType: ScimInvalidValue, errDetail: `attribute "title" must be a string, not an object`},
		{name: "string for complex", create: true, in: `{"userName":"u","name":"x"}`, errType: ScimInvalidValue, errDetail: `attribute "name" must be an object, not a string`},
		{name: "two values for single", create: true, in: `{"userName":["a","b"]}`, errType: ScimInvalidValue, errDetail: `attribute "userName" is single-valued but got 2 values`},
		{name: "given twice", create: true, in: `{"userName":"a","USERNAME":"b"}`, errType: ScimInvalidValue, errDetail: `attribute "userName" given twice`},
		// Wrong types are refused, not dropped or coerced.
		{name: "[] for single complex", create: true, in: `{"userName":"u","name":[]}`, errType: ScimInvalidValue,
			errDetail: `attribute "name" is single-valued: [] is not a value of it (null clears it)`},
		{name: "[] for single string", in: `{"userName":"u","displayName":[]}`, errType: ScimInvalidValue,
			errDetail: `attribute "displayName" is single-valued: [] is not a value of it (null clears it)`},
		{name: "[] for boolean", create: true, in: `{"userName":"u","active":[]}`, errType: ScimInvalidValue,
			errDetail: `attribute "active" is single-valued: [] is not a value of it (null clears it)`},
		{name: "[] for extension string", create: true, in: `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":[]}}`, errType: ScimInvalidValue,
			errDetail: `attribute "department" is single-valued: [] is not a value of it (null clears it)`},
		{name: "{} for multi-valued", create: true, in: `{"userName":"u","emails":{}}`, errType: ScimInvalidValue,
			errDetail: `attribute "emails" is multi-valued: {} is not one of its values (a list, [] or null clears it)`},
		{name: "{} in a list", create: true, in: `{"userName":"u","emails":[{"value":"a@b"},{}]}`, errType: ScimInvalidValue,
			errDetail: `attribute "emails": {} is not a value`},
		{name: "string for list of objects", create: true, in: `{"userName":"u","emails":"a@b.c"}`, errType: ScimInvalidValue,
			errDetail: `attribute "emails" is a list of objects; a string is not one`},
		{name: "strings in list of objects", create: true, in: `{"userName":"u","emails":["a@b.c"]}`, errType: ScimInvalidValue,
			errDetail: `attribute "emails" is a list of objects; a string is not one`},
		{name: "readOnly checked", create: true, in: `{"userName":"u","groups":"x"}`, errType: ScimInvalidValue,
			errDetail: `attribute "groups" is a list of objects; a string is not one`},
		{name: "readOnly sub checked", create: true, in: `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m","displayName":5}}}`, errType: ScimInvalidValue,
			errDetail: `attribute "manager.displayName" must be a string, not a number`},
		{name: "group members {}", create: true, typ: groupType(), in: `{"displayName":"G","members":{}}`, errType: ScimInvalidValue,
			errDetail: `attribute "members" is multi-valued: {} is not one of its values (a list, [] or null clears it)`},
		{name: "group members string", create: true, typ: groupType(), in: `{"displayName":"G","members":"u1"}`, errType: ScimInvalidValue,
			errDetail: `attribute "members" is a list of objects; a string is not one`},
		{name: "empty string clears a list", create: true, in: `{"userName":"u","emails":""}`, want: `{"userName":"u"}`},
		{name: "extension not an object", create: true, in: `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":"x"}`, errType: ScimInvalidValue,
			errDetail: `"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" must be an object, not a string`},
	}
	for _, tt := range tests {
		typ := tt.typ
		if typ == nil {
			typ = userType()
		}
		got, ignored, err := NormalizeReport(js(t, tt.in), typ, tt.create)
		if tt.errType != "" {
			var e *Error
			if !errors.As(err, &e) || e.ScimType != tt.errType || e.Detail != tt.errDetail {
				t.Errorf("%s: error %v, want %s %s", tt.name, err, tt.errType, tt.errDetail)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if s := canon(t, got); s != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, s, tt.want)
		}
		if !reflect.DeepEqual(ignored, tt.ignored) && len(ignored)+len(tt.ignored) > 0 {
			t.Errorf("%s: ignored %q, want %q", tt.name, ignored, tt.ignored)
		}
	}
}

func TestNormalizeTypes(t *testing.T) {
	ints := schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{Name: "level", Type: schema.AttributeTypeInteger()}))
	dec := schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{Name: "ratio", Type: schema.AttributeTypeDecimal()}))
	when := schema.SimpleCoreAttribute(schema.SimpleDateTimeParams(schema.DateTimeParams{Name: "hired"}))
	typ := &Type{Name: "X", Schema: schema.Schema{ID: "urn:x:X", Attributes: schema.Attributes{ints, dec, when}}}
	tests := []struct {
		in, want, err string
	}{
		{in: `{"level":3,"ratio":1.5,"hired":"2024-01-02T03:04:05+02:00"}`, want: `{"hired":"2024-01-02T03:04:05+02:00","level":3,"ratio":1.5}`},
		{in: `{"level":3.0,"ratio":1}`, want: `{"level":3,"ratio":1}`},
		{in: `{"level":"42"}`, err: `attribute "level" must be an integer, not a string`},
		{in: `{"ratio":"0.25"}`, err: `attribute "ratio" must be a number, not a string`},
		{in: `{"level":[]}`, err: `attribute "level" is single-valued: [] is not a value of it (null clears it)`},
		{in: `{"level":1.5}`, err: `attribute "level" must be an integer, not a number`},
		{in: `{"level":true}`, err: `attribute "level" must be an integer, not a boolean`},
		{in: `{"ratio":false}`, err: `attribute "ratio" must be a number, not a boolean`},
		{in: `{"hired":"yesterday"}`, err: `attribute "hired" must be an RFC 3339 date-time, not "yesterday"`},
	}
	for _, tt := range tests {
		got, err := Normalize(js(t, tt.in), typ, true)
		if tt.err != "" {
			if err == nil || err.(*Error).Detail != tt.err {
				t.Errorf("%s: error %v, want %s", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if s := canon(t, got); s != tt.want {
			t.Errorf("%s: got %s, want %s", tt.in, s, tt.want)
		}
		if v, ok := got["level"]; ok {
			if _, isInt := v.(int64); !isInt {
				t.Errorf("%s: level is %T, want int64", tt.in, v)
			}
		}
	}
}

func TestNormalizeDoesNotMutate(t *testing.T) {
	in := js(t, `{"userName":"u","emails":{"value":"a"},"active":"true"}`)
	before := canon(t, in)
	if _, err := Normalize(in, userType(), true); err != nil {
		t.Fatal(err)
	}
	if after := canon(t, in); after != before {
		t.Errorf("input changed: %s -> %s", before, after)
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add(`{"userName":"u","emails":[{"value":"a","primary":"True"}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m"}}`)
	f.Add(`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager":[{"value":"m"}],"name":{"givenName":null}}`)
	f.Fuzz(func(t *testing.T, s string) {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) != nil {
			return
		}
		for _, create := range []bool{true, false} {
			out, err := Normalize(m, userType(), create)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Status != 400 {
					t.Fatalf("Normalize(%s): %v is not a 400 *Error", s, err)
				}
				continue
			}
			// Normalizing the result again changes nothing.
			again, err := Normalize(out, userType(), create)
			if err != nil {
				t.Fatalf("Normalize(Normalize(%s)) = %v", s, err)
			}
			if a, b := canon(t, out), canon(t, again); a != b {
				t.Fatalf("Normalize not idempotent on %s:\n%s\n%s", s, a, b)
			}
		}
	})
}
