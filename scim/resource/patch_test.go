package resource

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/elimity-com/scim/schema"
)

// ops decodes a PatchOp request's Operations, parsing each path.
func ops(t *testing.T, s string) []PatchOp {
	t.Helper()
	var raw []struct {
		Op    string
		Path  *string
		Value any
	}
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		t.Fatalf("bad ops JSON %s: %v", s, err)
	}
	out := make([]PatchOp, len(raw))
	for i, r := range raw {
		out[i] = PatchOp{Op: r.Op, Value: r.Value}
		if r.Path != nil {
			p, err := ParsePath(*r.Path)
			if err != nil {
				t.Fatalf("ParsePath(%q): %v", *r.Path, err)
			}
			out[i].Path = p
		}
	}
	return out
}

const baseUser = `{"userName":"bjensen","active":true,"name":{"givenName":"Barbara","familyName":"Jensen"},
"emails":[{"value":"bj@work.com","type":"work","primary":true},{"value":"bj@home.com","type":"home"}],
"addresses":[{"type":"work","locality":"Hollywood"}],
"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"7","manager":{"value":"m1","displayName":"Boss"}}}`

const baseGroup = `{"displayName":"G","members":[{"value":"u1","display":"U1"},{"value":"u2"}]}`

func TestApplyPatch(t *testing.T) {
	const ent = `"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`
	tests := []struct {
		name  string
		group bool
		base  string // default baseUser / baseGroup
		ops   string
		want  string // the result, or only some keys of it with wantKeys
		keys  []string
	}{
		// Simple attributes.
		{name: "replace simple", ops: `[{"op":"replace","path":"userName","value":"babs"}]`, keys: []string{"userName"}, want: `{"userName":"babs"}`},
		{name: "Replace op case and attr case", ops: `[{"op":"Replace","path":"USERNAME","value":"babs"}]`, keys: []string{"userName"}, want: `{"userName":"babs"}`},
		{name: "add simple", ops: `[{"op":"add","path":"nickName","value":"Babs"}]`, keys: []string{"nickName"}, want: `{"nickName":"Babs"}`},
		{name: "entra disable", ops: `[{"op":"Replace","path":"active","value":"False"}]`, keys: []string{"active"}, want: `{"active":false}`},
		{name: "okta deactivate pathless", ops: `[{"op":"replace","value":{"active":false}}]`, keys: []string{"active"}, want: `{"active":false}`},
		{name: "remove simple", ops: `[{"op":"remove","path":"active"}]`, keys: []string{"active"}, want: `{}`},
		{name: "null clears", ops: `[{"op":"replace","path":"userName","value":null},{"op":"replace","path":"name.givenName","value":""}]`,
			keys: []string{"userName", "name"}, want: `{"name":{"familyName":"Jensen"}}`},
		{name: "empty string clears", ops: `[{"op":"replace","path":"active","value":""},{"op":"add","path":"emails","value":null}]`,
			keys: []string{"active", "emails"}, want: `{}`},
		// Complex attributes.
		{name: "sub-attribute", ops: `[{"op":"replace","path":"name.familyName","value":"Jensen-Smith"}]`, keys: []string{"name"},
			want: `{"name":{"familyName":"Jensen-Smith","givenName":"Barbara"}}`},
		{name: "complex merges", ops: `[{"op":"replace","path":"name","value":{"middleName":"J","givenName":null}}]`, keys: []string{"name"},
			want: `{"name":{"familyName":"Jensen","middleName":"J"}}`},
		{name: "add sub to missing complex", base: `{"userName":"u"}`, ops: `[{"op":"add","path":"name.givenName","value":"G"}]`,
			want: `{"name":{"givenName":"G"},"userName":"u"}`},
		// Pathless values with dotted and URN keys.
		{name: "entra pathless", ops: `[{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}]`,
			keys: []string{"displayName", "name", entURN}, want: `{"displayName":"Bjfe","name":{"familyName":"Unua","givenName":"Kkom"},` + ent + `:{"employeeNumber":"Aklq","manager":{"displayName":"Boss","value":"m1"}}}`},
		{name: "pathless nested extension", ops: `[{"op":"replace","value":{` + ent + `:{"department":"D","employeeNumber":null}}}]`,
			keys: []string{entURN}, want: `{` + ent + `:{"department":"D","manager":{"displayName":"Boss","value":"m1"}}}`},
		{name: "okta group rename with id", group: true, ops: `[{"op":"replace","value":{"id":"abf4dd94","displayName":"Test SCIMv2","schemas":["x"],"urn:x:Other:a":1}}]`,
			want: `{"displayName":"Test SCIMv2","members":[{"display":"U1","value":"u1"},{"value":"u2"}]}`},
		// Multi-valued attributes and value filters.
		{name: "entra replace work email", ops: `[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"new@work.com"}]`, keys: []string{"emails"},
			want: `{"emails":[{"primary":true,"type":"work","value":"new@work.com"},{"type":"home","value":"bj@home.com"}]}`},
		{name: "filter is case-insensitive", ops: `[{"op":"replace","path":"emails[type eq \"WORK\"].value","value":"x@y"}]`, keys: []string{"emails"},
			want: `{"emails":[{"primary":true,"type":"work","value":"x@y"},{"type":"home","value":"bj@home.com"}]}`},
		{name: "add to filter creates", ops: `[{"op":"add","path":"emails[type eq \"other\"].value","value":"o@x"}]`, keys: []string{"emails"},
			want: `{"emails":[{"primary":true,"type":"work","value":"bj@work.com"},{"type":"home","value":"bj@home.com"},{"type":"other","value":"o@x"}]}`},
		{name: "array value on filtered sub", ops: `[{"op":"add","path":"emails[type eq \"home\"].value","value":[{"value":"h@x"}]}]`, keys: []string{"emails"},
			want: `{"emails":[{"primary":true,"type":"work","value":"bj@work.com"},{"type":"home","value":"h@x"}]}`},
		{name: "address locality", ops: `[{"op":"replace","path":"addresses[type eq \"work\"].locality","value":"LA"}]`, keys: []string{"addresses"},
			want: `{"addresses":[{"locality":"LA","type":"work"}]}`},
		{name: "replace filtered value merges", ops: `[{"op":"replace","path":"emails[type eq \"home\"]","value":{"display":"Home"}}]`, keys: []string{"emails"},
			want: `{"emails":[{"primary":true,"type":"work","value":"bj@work.com"},{"display":"Home","type":"home","value":"bj@home.com"}]}`},
		{name: "remove filtered", ops: `[{"op":"remove","path":"emails[type eq \"home\" or value ew \"@nowhere\"]"}]`, keys: []string{"emails"},
			want: `{"emails":[{"primary":true,"type":"work","value":"bj@work.com"}]}`},
		{name: "remove last filtered value drops attribute", ops: `[{"op":"remove","path":"addresses[locality sw \"holly\"]"}]`, keys: []string{"addresses"}, want: `{}`},
		{name: "remove filtered sub", ops: `[{"op":"remove","path":"emails[primary eq true].primary"}]`, keys: []string{"emails"},
			want: `{"emails":[{"type":"work","value":"bj@work.com"},{"type":"home","value":"bj@home.com"}]}`},
		{name: "filter with not and pr", ops: `[{"op":"remove","path":"emails[not (primary pr)]"}]`, keys: []string{"emails"},
			want: `{"emails":[{"primary":true,"type":"work","value":"bj@work.com"}]}`},
		{name: "add email dedupes and takes primary", ops: `[{"op":"add","path":"emails","value":[{"value":"BJ@HOME.COM","primary":"True"},{"value":"n@x"}]}]`, keys: []string{"emails"},
			want: `{"emails":[{"primary":false,"type":"work","value":"bj@work.com"},{"primary":true,"type":"home","value":"BJ@HOME.COM"},{"value":"n@x"}]}`},
		{name: "replace list", ops: `[{"op":"replace","path":"emails","value":{"value":"only@x"}}]`, keys: []string{"emails"}, want: `{"emails":[{"value":"only@x"}]}`},
		// Group members.
		{name: "okta membership", group: true, ops: `[{"op":"remove","path":"members[value eq \"u1\"]"},{"op":"add","path":"members","value":[{"value":"u3","display":"test.user@okta.local"}]}]`,
			want: `{"displayName":"G","members":[{"value":"u2"},{"display":"test.user@okta.local","value":"u3"}]}`},
		{name: "entra add members dedupe", group: true, ops: `[{"op":"Add","path":"members","value":[{"$ref":null,"value":"u2"},{"$ref":null,"value":"u4"}]}]`,
			want: `{"displayName":"G","members":[{"display":"U1","value":"u1"},{"value":"u2"},{"value":"u4"}]}`},
		{name: "entra legacy remove members", group: true, ops: `[{"op":"Remove","path":"members","value":[{"value":"u1"},{"value":"gone"}]}]`,
			want: `{"displayName":"G","members":[{"value":"u2"}]}`},
		{name: "replace members", group: true, ops: `[{"op":"replace","path":"members","value":[{"value":"a"},{"value":"b"},{"value":"A"}]}]`,
			want: `{"displayName":"G","members":[{"value":"A"},{"value":"b"}]}`},
		{name: "remove all members", group: true, ops: `[{"op":"remove","path":"members"}]`, want: `{"displayName":"G"}`},
		{name: "add members to empty group", group: true, base: `{"displayName":"G"}`, ops: `[{"op":"add","path":"members","value":[{"value":"u9"}]}]`,
			want: `{"displayName":"G","members":[{"value":"u9"}]}`},
		// Entra manager forms.
		{name: "manager bare id without URN", ops: `[{"op":"add","path":"manager","value":"m2"}]`, keys: []string{entURN},
			want: `{` + ent + `:{"employeeNumber":"7","manager":{"value":"m2"}}}`},
		{name: "manager with URN path", ops: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"m3"}}]`, keys: []string{entURN},
			want: `{` + ent + `:{"employeeNumber":"7","manager":{"value":"m3"}}}`},
		{name: "manager list", ops: `[{"op":"replace","path":"manager","value":[{"$ref":"../Users/m4","value":"m4"}]}]`, keys: []string{entURN},
			want: `{` + ent + `:{"employeeNumber":"7","manager":{"$ref":"../Users/m4","value":"m4"}}}`},
		{name: "manager same value keeps displayName", ops: `[{"op":"replace","path":"manager","value":{"value":"m1"}}]`, keys: []string{entURN},
			want: `{` + ent + `:{"employeeNumber":"7","manager":{"displayName":"Boss","value":"m1"}}}`},
		{name: "manager empty removes", ops: `[{"op":"replace","path":"manager","value":""}]`, keys: []string{entURN}, want: `{` + ent + `:{"employeeNumber":"7"}}`},
		{name: "manager value sub", ops: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value","value":"m5"}]`, keys: []string{entURN},
			want: `{` + ent + `:{"employeeNumber":"7","manager":{"value":"m5"}}}`},
		{name: "remove manager with value", ops: `[{"op":"remove","path":"manager","value":[{"value":"m1"}]}]`, keys: []string{entURN}, want: `{` + ent + `:{"employeeNumber":"7"}}`},
		{name: "extension emptied disappears", ops: `[{"op":"remove","path":"manager"},{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"}]`,
			keys: []string{entURN}, want: `{}`},
		{name: "whole extension path", ops: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"costCenter":"C"}}]`, keys: []string{entURN},
			want: `{` + ent + `:{"costCenter":"C","employeeNumber":"7","manager":{"displayName":"Boss","value":"m1"}}}`},
		{name: "remove whole extension", ops: `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}]`, keys: []string{entURN}, want: `{}`},
		// Password is writeOnly, not readOnly.
		{name: "password", ops: `[{"op":"replace","value":{"password":"s3cret"}}]`, keys: []string{"password"}, want: `{"password":"s3cret"}`},
	}
	for _, tt := range tests {
		typ, base := userType(), baseUser
		if tt.group {
			typ, base = groupType(), baseGroup
		}
		if tt.base != "" {
			base = tt.base
		}
		in := js(t, base)
		before := canon(t, in)
		got, err := ApplyPatch(in, ops(t, tt.ops), typ)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if canon(t, in) != before {
			t.Errorf("%s: input modified", tt.name)
		}
		view := got
		if tt.keys != nil {
			view = map[string]any{}
			for _, k := range tt.keys {
				if v, ok := got[k]; ok {
					view[k] = v
				}
			}
		}
		if s := canon(t, view); s != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, s, tt.want)
		}
	}
}

func TestApplyPatchErrors(t *testing.T) {
	tests := []struct {
		name     string
		group    bool
		ops      string
		scimType string
		detail   string
	}{
		{"remove without path", false, `[{"op":"remove"}]`, ScimNoTarget, `remove needs a path`},
		{"remove missing attribute", false, `[{"op":"remove","path":"title"}]`, ScimNoTarget, `"title" has no value to remove`},
		{"remove missing sub", false, `[{"op":"remove","path":"name.middleName"}]`, ScimNoTarget, `"name.middleName" has no value to remove`},
		{"remove filter no match", true, `[{"op":"remove","path":"members[value eq \"nobody\"]"}]`, ScimNoTarget, `no value of "members" matches the filter of "members[value eq \"nobody\"]"`},
		{"replace filter no match", false, `[{"op":"replace","path":"emails[type eq \"other\"].value","value":"x"}]`, ScimNoTarget, `no value of "emails" matches`},
		{"add filter no match not seedable", false, `[{"op":"add","path":"emails[value co \"x\"].type","value":"x"}]`, ScimNoTarget, `the filter does not describe a new value`},
		{"readOnly id", false, `[{"op":"replace","path":"id","value":"x"}]`, ScimMutability, `attribute "id" is read-only`},
		{"readOnly meta", false, `[{"op":"replace","path":"meta.created","value":"x"}]`, ScimMutability, `is read-only`},
		{"readOnly groups", false, `[{"op":"add","path":"groups","value":[{"value":"g"}]}]`, ScimMutability, `attribute "groups" is read-only`},
		{"readOnly groups pathless", false, `[{"op":"add","value":{"groups":[{"value":"g"}]}}]`, ScimMutability, `attribute "groups" is read-only`},
		{"readOnly sub", false, `[{"op":"replace","path":"manager.displayName","value":"x"}]`, ScimMutability, `is read-only`},
		{"unknown attribute", false, `[{"op":"replace","path":"foo","value":"x"}]`, ScimInvalidPath, `attribute "foo" is not stored by this server`},
		{"unknown key without path", false, `[{"op":"add","value":{"foo":"x"}}]`, ScimInvalidPath, `attribute "foo" is not stored by this server`},
		{"unknown sub in a value", false, `[{"op":"add","path":"emails","value":[{"value":"x","bar":1}]}]`, ScimInvalidValue, `attribute "emails.bar" is not stored`},
		{"two primaries added", false, `[{"op":"add","path":"emails","value":[{"value":"x","primary":true},{"value":"y","primary":true}]}]`, ScimInvalidValue, `2 values are primary`},
		{"unknown schema", false, `[{"op":"replace","path":"urn:x:y:foo","value":"x"}]`, ScimInvalidPath, `attribute "urn:x:y:foo" is not stored`},
		{"unknown sub", false, `[{"op":"replace","path":"name.nope","value":"x"}]`, ScimInvalidPath, `"name" has no sub-attribute "nope" stored`},
		{"sub of simple", false, `[{"op":"replace","path":"userName.x","value":"x"}]`, ScimInvalidPath, `attribute "userName" has no sub-attributes`},
		{"filter on single-valued", false, `[{"op":"replace","path":"name[givenName eq \"x\"]","value":"x"}]`, ScimInvalidPath, `is single-valued`},
		{"unknown attribute in filter", false, `[{"op":"remove","path":"emails[nope eq \"x\"]"}]`, ScimInvalidPath, `"emails" has no sub-attribute "nope"`},
		{"type mismatch", false, `[{"op":"replace","path":"active","value":"maybe"}]`, ScimInvalidValue, `attribute "active" must be a boolean, not a string`},
		{"type mismatch sub", false, `[{"op":"add","path":"emails","value":[{"value":"x","primary":3}]}]`, ScimInvalidValue, `attribute "emails.primary" must be a boolean, not a number`},
		{"pathless not an object", false, `[{"op":"add","value":"x"}]`, ScimInvalidValue, `add without a path needs an object value, not a string`},
		{"bad op", false, `[{"op":"move","path":"title"}]`, ScimInvalidSyntax, `unknown PATCH op "move"`},
		{"string for list of objects", false, `[{"op":"replace","path":"emails","value":"x"}]`, ScimInvalidValue, `attribute "emails" is a list of objects; a string is not one`},
		{"{} for list", true, `[{"op":"add","path":"members","value":{}}]`, ScimInvalidValue, `attribute "members" is multi-valued: {} is not one of its values`},
		{"[] for single-valued", false, `[{"op":"replace","path":"active","value":[]}]`, ScimInvalidValue, `attribute "active" is single-valued: [] is not a value of it`},
		{"[] for single complex pathless", false, `[{"op":"replace","value":{"name":[]}}]`, ScimInvalidValue, `attribute "name" is single-valued`},
		{"string for integer", false, `[{"op":"replace","path":"userName","value":5}]`, ScimInvalidValue, `attribute "userName" must be a string, not a number`},
		{"index in detail", false, `[{"op":"add","path":"title","value":"t"},{"op":"remove","path":"nickName"}]`, ScimNoTarget, `Operations[1]: "nickName" has no value to remove`},
	}
	for _, tt := range tests {
		typ, base := userType(), baseUser
		if tt.group {
			typ, base = groupType(), baseGroup
		}
		_, err := ApplyPatch(js(t, base), ops(t, tt.ops), typ)
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || e.ScimType != tt.scimType || !strings.Contains(e.Detail, tt.detail) {
			t.Errorf("%s: error %v, want 400 %s containing %s", tt.name, err, tt.scimType, tt.detail)
		}
	}
}

func TestApplyPatchImmutable(t *testing.T) {
	typ := userType()
	typ.Schema.Attributes = append(typ.Schema.Attributes, schema.SimpleCoreAttribute(schema.SimpleStringParams(
		schema.StringParams{Name: "badge", Mutability: schema.AttributeMutabilityImmutable()})))
	got, err := ApplyPatch(js(t, `{"userName":"u"}`), ops(t, `[{"op":"add","path":"badge","value":"b1"}]`), typ)
	if err != nil || got["badge"] != "b1" {
		t.Fatalf("setting an absent immutable attribute: %v %v", got, err)
	}
	_, err = ApplyPatch(got, ops(t, `[{"op":"replace","path":"badge","value":"b2"}]`), typ)
	if e, ok := err.(*Error); !ok || e.ScimType != ScimMutability {
		t.Fatalf("changing an immutable attribute: %v, want mutability", err)
	}
	// Members' immutable sub-attributes do not make members immutable.
	if _, err := ApplyPatch(js(t, baseGroup), ops(t, `[{"op":"replace","path":"members[value eq \"u1\"].display","value":"x"}]`), groupType()); err != nil {
		t.Fatalf("members sub-attribute: %v", err)
	}
}

func TestTouchedAttributes(t *testing.T) {
	got := TouchedAttributes(ops(t, `[
		{"op":"replace","path":"emails[type eq \"work\"].value","value":"x"},
		{"op":"replace","value":{"id":"1","displayName":"d","name.givenName":"g","EMAILS":[],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"e","nope":1}},
		{"op":"add","path":"manager","value":"m"},
		{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"d"}}},
		{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		{"op":"remove","path":"unknownThing"}
	]`), userType())
	want := []string{"emails", "displayName", "name", entURN + ":employeeNumber", entURN + ":manager", entURN + ":department",
		entURN + ":costCenter", entURN + ":organization", entURN + ":division"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("TouchedAttributes\n got %q\nwant %q", got, want)
	}
}

func FuzzApplyPatch(f *testing.F) {
	f.Add(`emails[type eq "work"].value`, "replace", `"x@y"`)
	f.Add(`members[value eq "u1"]`, "remove", `null`)
	f.Add(`manager`, "add", `[{"value":"m"}]`)
	f.Add(``, "replace", `{"name.givenName":"g","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"d"}}`)
	f.Add(`emails`, "replace", `"x"`)
	f.Add(`active`, "add", `[]`)
	f.Add(`members`, "remove", `["u1"]`)
	f.Add(`emails[type eq "home"]`, "replace", `[{"display":5}]`)
	f.Fuzz(func(t *testing.T, path, op, value string) {
		var v any
		if json.Unmarshal([]byte(value), &v) != nil {
			return
		}
		o := PatchOp{Op: op, Value: v}
		if path != "" {
			p, err := ParsePath(path)
			if err != nil {
				return
			}
			o.Path = p
		}
		for _, c := range []struct {
			typ  *Type
			base string
		}{{userType(), baseUser}, {groupType(), baseGroup}} {
			in := js(t, c.base)
			before := canon(t, in)
			out, err := ApplyPatch(in, []PatchOp{o}, c.typ)
			if canon(t, in) != before {
				t.Fatalf("input modified")
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Status != 400 {
					t.Fatalf("%v is not a 400 *Error", err)
				}
				// What CheckPatch passes fails only for the state.
				if CheckPatch([]PatchOp{o}, c.typ) == nil && e.ScimType != ScimNoTarget {
					t.Fatalf("CheckPatch passes %s %q %s, ApplyPatch says %v", op, path, value, err)
				}
				continue
			}
			// The result is JSON-shaped.
			if _, err := json.Marshal(out); err != nil {
				t.Fatalf("result does not marshal: %v", err)
			}
			TouchedAttributes([]PatchOp{o}, c.typ)
		}
	})
}
