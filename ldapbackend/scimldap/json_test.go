package scimldap

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/scimgate/scimgate/scim/resource"
)

// decodeJSON decodes a JSON literal of a test table; "" is nil.
func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	if s == "" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("test table: %q: %v", s, err)
	}
	return v
}

// mustJSON prints v for a failure message.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// parsedMapping is a mapping of the User core schema with its path
// parsed, as Compile leaves it.
func parsedMapping(t *testing.T, path string) *AttrMapping {
	t.Helper()
	a := &AttrMapping{SCIM: path, LDAP: "x"}
	if err := a.parse(CoreUserURN); err != nil {
		t.Fatalf("parse %q: %v", path, err)
	}
	return a
}

// TestReconcile: the LDAP attribute of a typed mapping is authoritative
// for the elements the mapping claims in what the json mapping rendered.
func TestReconcile(t *testing.T) {
	const (
		workEmail  = `emails[type eq "work"].value`
		anyEmail   = `emails.value`
		mobile     = `phoneNumbers[type eq "mobile"].value`
		workStreet = `addresses[type eq "work"].streetAddress`
		workLocal  = `addresses[type eq "work"].locality`
	)
	tests := []struct {
		name  string
		path  string // the typed mapping; its last dotted part is the sub-attribute
		first bool   // the attribute's first typed mapping
		in    string // the attribute as the json mapping rendered it; "" absent
		vals  []any  // the LDAP attribute's values; nil: not read
		want  string // the attribute after; "" absent
	}{
		{"held value keeps the rest and takes the LDAP spelling", workEmail, true,
			`[{"value":"BJensen@Example.com","type":"work","primary":true,"display":"Babs"}]`,
			[]any{"bjensen@example.com"},
			`[{"value":"bjensen@example.com","type":"work","primary":true,"display":"Babs"}]`},
		{"an exact match goes before a match without case", workEmail, true,
			`[{"value":"a@x","type":"work"}]`,
			[]any{"A@X", "a@x"},
			`[{"value":"a@x","type":"work"},{"value":"A@X","type":"work"}]`},
		{"type is matched without case", workEmail, false,
			`[{"value":"old@x","type":"WORK"}]`,
			[]any{"new@x"},
			`[{"value":"new@x","type":"WORK"}]`},
		{"the element's own spelling of the sub-attribute is kept", workEmail, true,
			`[{"Value":"a@x","type":"work"}]`,
			[]any{"A@x"},
			`[{"Value":"A@x","type":"work"}]`},
		{"lost value replaced in place", workEmail, true,
			`[{"value":"old@x","type":"work","primary":true,"display":"Old"},{"value":"h@x","type":"home"}]`,
			[]any{"new@x"},
			`[{"value":"new@x","type":"work","primary":true,"display":"Old"},{"value":"h@x","type":"home"}]`},
		{"lost values replaced in order, held ones stay", workEmail, true,
			`[{"value":"a1","type":"work","primary":true},{"value":"a2","type":"work"},{"value":"a3","type":"work","display":"3"}]`,
			[]any{"b1", "a2", "b3"},
			`[{"value":"b1","type":"work","primary":true},{"value":"a2","type":"work"},{"value":"b3","type":"work","display":"3"}]`},
		{"lost value with nothing to replace it drops the element", workEmail, true,
			`[{"value":"old@x","type":"work","primary":true},{"value":"h@x","type":"home"}]`,
			[]any{},
			`[{"value":"h@x","type":"home"}]`},
		{"two elements, one value: both keep it", workEmail, true,
			`[{"value":"a@x","type":"work","display":"1"},{"value":"A@X","type":"work","display":"2"}]`,
			[]any{"a@x"},
			`[{"value":"a@x","type":"work","display":"1"},{"value":"a@x","type":"work","display":"2"}]`},
		{"two addresses in one town share the value", workLocal, false,
			`[{"streetAddress":"1 Main","locality":"Oslo","type":"work"},{"streetAddress":"2 Side","locality":"Oslo","type":"work"}]`,
			[]any{"Oslo"},
			`[{"streetAddress":"1 Main","locality":"Oslo","type":"work"},{"streetAddress":"2 Side","locality":"Oslo","type":"work"}]`},
		{"values compare without case and runs of spaces", workLocal, false,
			`[{"locality":" new  YORK","type":"work"}]`,
			[]any{"New York"},
			`[{"locality":"New York","type":"work"}]`},
		{"a shared value is no leftover for a lost one", workLocal, false,
			`[{"locality":"Oslo","type":"work"},{"locality":"Oslo","type":"work"},{"locality":"Bergen","type":"work"}]`,
			[]any{"Oslo", "Trondheim"},
			`[{"locality":"Oslo","type":"work"},{"locality":"Oslo","type":"work"},{"locality":"Trondheim","type":"work"}]`},
		{"lost sub-attribute other than value is deleted alone", workStreet, true,
			`[{"streetAddress":"1 Old St","locality":"Oslo","type":"work","primary":true}]`,
			[]any{},
			`[{"locality":"Oslo","type":"work","primary":true}]`},
		{"lost sub-attribute other than value is replaced", workStreet, true,
			`[{"streetAddress":"1 Old St","locality":"Oslo","type":"work"}]`,
			[]any{"2 New St"},
			`[{"streetAddress":"2 New St","locality":"Oslo","type":"work"}]`},
		{"other types untouched", workEmail, true,
			`[{"value":"h@x","type":"home","primary":true},{"value":"o@x","type":"other"}]`,
			[]any{"w@x"},
			`[{"value":"h@x","type":"home","primary":true},{"value":"o@x","type":"other"},{"value":"w@x","type":"work"}]`},
		{"untyped untouched when not first", mobile, false,
			`[{"value":"123"}]`,
			[]any{"456"},
			`[{"value":"123"},{"value":"456","type":"mobile"}]`},
		{"untyped untouched when not first, even without values", mobile, false,
			`[{"value":"123"}]`,
			nil,
			`[{"value":"123"}]`},
		{"untyped claimed when first", workEmail, true,
			`[{"value":"a@x","primary":true}]`,
			[]any{"b@x"},
			`[{"value":"b@x","primary":true}]`},
		{"null type is untyped", workEmail, true,
			`[{"value":"A@x","type":null}]`,
			[]any{"a@x"},
			`[{"value":"a@x","type":null}]`},
		{"untyped dropped when first and lost", workEmail, true,
			`[{"value":"a@x"}]`,
			[]any{},
			``},
		{"nil values take out every claimed value", workEmail, true,
			`[{"value":"w@x","type":"work","primary":true},{"value":"h@x","type":"home"},{"value":"u@x"}]`,
			nil,
			`[{"value":"h@x","type":"home"}]`},
		{"nil values take out a claimed sub-attribute", workStreet, true,
			`[{"streetAddress":"1 Main","locality":"Oslo","type":"work"},{"streetAddress":"2 Home","type":"home"}]`,
			nil,
			`[{"locality":"Oslo","type":"work"},{"streetAddress":"2 Home","type":"home"}]`},
		{"leftover values become elements of the mapping's type", workEmail, true,
			``,
			[]any{"a@x", "b@x"},
			`[{"value":"a@x","type":"work"},{"value":"b@x","type":"work"}]`},
		{"leftover value without a type selector has no type", anyEmail, true,
			`[{"value":"a@x","type":"home"}]`,
			[]any{"a@x", "b@x"},
			`[{"value":"a@x","type":"home"},{"value":"b@x"}]`},
		{"leftover value fills a claimed element lacking the sub-attribute", workLocal, false,
			`[{"streetAddress":"1 Main","type":"work"}]`,
			[]any{"Oslo"},
			`[{"streetAddress":"1 Main","type":"work","locality":"Oslo"}]`},
		{"leftover value fills only claimed elements", workLocal, false,
			`[{"streetAddress":"1 Home","type":"home"},{"streetAddress":"9 Any"}]`,
			[]any{"Oslo"},
			`[{"streetAddress":"1 Home","type":"home"},{"streetAddress":"9 Any"},{"locality":"Oslo","type":"work"}]`},
		{"leftover value is not put into an element lacking value", workEmail, true,
			`[{"display":"no value","type":"work"}]`,
			[]any{"a@x"},
			`[{"display":"no value","type":"work"},{"value":"a@x","type":"work"}]`},
		{"non-objects untouched", workEmail, true,
			`["junk",{"value":"a@x","type":"work"}]`,
			[]any{},
			`["junk"]`},
		{"empty result deletes the key", workEmail, true,
			`[{"value":"a@x","type":"work"}]`,
			nil,
			``},
		{"nothing rendered, nothing held", workEmail, true,
			``,
			nil,
			``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := parsedMapping(t, tt.path)
			name := tt.path[:strings.IndexAny(tt.path, "[.")]
			sub := tt.path[strings.LastIndex(tt.path, ".")+1:]
			c := map[string]any{"userName": "bjensen"}
			if in := decodeJSON(t, tt.in); in != nil {
				c[name] = in
			}
			Reconcile(c, a, name, sub, tt.vals, tt.first)
			got, ok := c[name]
			want := decodeJSON(t, tt.want)
			if ok != (want != nil) || !reflect.DeepEqual(got, want) {
				t.Errorf("got %s (present %v), want %s", mustJSON(got), ok, tt.want)
			}
			if c["userName"] != "bjensen" || len(c) > 2 {
				t.Errorf("other keys changed: %s", mustJSON(c))
			}
		})
	}
}

// typedUserMapping is the default User mapping without its json
// mappings: only the typed values are stored.
func typedUserMapping(t *testing.T) *TypeMapping {
	m := DefaultUserMapping("ou=People,dc=example,dc=com")
	m.Attrs = slices.DeleteFunc(m.Attrs, func(a *AttrMapping) bool { return a.KindName == "json" })
	return compiled(t, m, CoreUserURN)
}

// TestUnclaimed: without a json mapping, an element whose type no
// mapping selects is refused rather than dropped.
func TestUnclaimed(t *testing.T) {
	typed := typedUserMapping(t)
	full := compiled(t, DefaultUserMapping("ou=People,dc=example,dc=com"), CoreUserURN)
	tests := []struct {
		name    string
		m       *TypeMapping
		attrs   string
		wantErr bool
	}{
		{"typed: home email", typed, `{"emails":[{"value":"h@x","type":"home"}]}`, true},
		{"typed: home email beside a work one", typed, `{"emails":[{"value":"w@x","type":"work"},{"value":"h@x","type":"home"}]}`, true},
		{"typed: work email", typed, `{"emails":[{"value":"w@x","type":"work","primary":true}]}`, false},
		{"typed: WORK email", typed, `{"Emails":[{"value":"w@x","type":"WORK"}]}`, false},
		{"typed: untyped email", typed, `{"emails":[{"value":"u@x"}]}`, false},
		{"typed: null-typed email", typed, `{"emails":[{"value":"u@x","type":null}]}`, false},
		{"typed: empty type", typed, `{"emails":[{"value":"u@x","type":""}]}`, true},
		{"typed: mobile phone", typed, `{"phoneNumbers":[{"value":"1","type":"mobile"},{"value":"2"}]}`, false},
		{"typed: home phone", typed, `{"phoneNumbers":[{"value":"1","type":"home"}]}`, true},
		{"typed: home address", typed, `{"addresses":[{"locality":"Oslo","type":"home"}]}`, true},
		{"typed: untyped address", typed, `{"addresses":[{"locality":"Oslo"}]}`, false},
		{"typed: no multi-valued attribute", typed, `{"userName":"b","name":{"givenName":"B"}}`, false},
		{"typed: manager", typed, `{"` + EnterpriseUserURN + `":{"manager":{"value":"boss"}}}`, false},
		{"default: home email", full, `{"emails":[{"value":"h@x","type":"home"}]}`, false},
		{"default: other phone, home address", full, `{"phoneNumbers":[{"value":"1","type":"other"}],"addresses":[{"type":"home"}]}`, false},
		{"default: work email", full, `{"emails":[{"value":"w@x","type":"work"}]}`, false},
	}
	for _, tt := range tests {
		attrs, _ := decodeJSON(t, tt.attrs).(map[string]any)
		err := tt.m.Unclaimed(attrs)
		if !tt.wantErr {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var e *resource.Error
		if !errors.As(err, &e) || e.Status != 400 || e.ScimType != resource.ScimInvalidValue {
			t.Errorf("%s: error %v, want 400 invalidValue", tt.name, err)
		}
	}
}

// besideOf lists the typed mappings of m beside its json mapping of
// attr, in mapping order, each with the values vals gives for its LDAP
// attribute (absent: none).
func besideOf(t *testing.T, m *TypeMapping, attr string, vals map[string][]any) []Beside {
	t.Helper()
	spelling := map[string]string{"value": "value", "streetaddress": "streetAddress", "locality": "locality", "region": "region", "postalcode": "postalCode"}
	var out []Beside
	first := true
	for _, a := range m.Attrs {
		if a.Attr != strings.ToLower(attr) || a.Kind == KindJSON {
			continue
		}
		sub, ok := spelling[mappingSub(a)]
		if !ok {
			t.Fatalf("no spelling of %s", a.Sub)
		}
		out = append(out, Beside{Mapping: a, Sub: sub, First: first && !a.ReadOnly, Vals: vals[a.LDAP]})
		first = first && a.ReadOnly
	}
	return out
}

// TestSettled: a caller who may write the typed attributes beside a json
// mapping (mail) but not the json mapping's own (scimEmails) changes the
// elements through them alone; modify accepts that when a read then
// shows the elements sent: the stored ones, reconciled with the typed
// values after the write, are those sent.
func TestSettled(t *testing.T) {
	full := compiled(t, DefaultUserMapping("ou=People,dc=example,dc=com"), CoreUserURN)
	const (
		work   = `[{"value":"w@x","type":"work","primary":true,"display":"W"},{"value":"h@x","type":"home"}]`
		phones = `[{"value":"1","type":"work"},{"value":"2","type":"mobile"},{"value":"3","type":"home"}]`
		addrs  = `[{"streetAddress":"1 Main","locality":"Oslo","country":"NO","type":"work"}]`
	)
	mail := func(v ...any) map[string][]any { return map[string][]any{"mail": v} }
	phone := func(work, mobile string) map[string][]any {
		return map[string][]any{"telephoneNumber": {work}, "mobile": {mobile}}
	}
	tests := []struct {
		name         string
		attr         string
		stored, sent string
		typed        map[string][]any // the typed attributes' values after the write
		want         bool
	}{
		{"work value changed", "emails", work,
			`[{"value":"new@x","type":"work","primary":true,"display":"W"},{"value":"h@x","type":"home"}]`, mail("new@x"), true},
		{"nothing changed", "emails", work, work, mail("w@x"), true},
		{"in another order", "emails", work,
			`[{"value":"h@x","type":"home"},{"value":"w@x","type":"work","primary":true,"display":"W"}]`, mail("w@x"), true},
		{"untyped value changed", "emails", `[{"value":"a@x"}]`, `[{"value":"b@x"}]`, mail("b@x"), true},
		{"work element removed", "emails", work, `[{"value":"h@x","type":"home"}]`, mail(), true},
		{"work value removed, element kept", "emails", work,
			`[{"type":"work","primary":true,"display":"W"},{"value":"h@x","type":"home"}]`, mail(), false},
		{"work element added", "emails", work,
			`[{"value":"w@x","type":"work","primary":true,"display":"W"},{"value":"h@x","type":"home"},{"value":"w2@x","type":"work"}]`, mail("w@x", "w2@x"), true},
		{"primary work element added", "emails", work,
			`[{"value":"w@x","type":"work","display":"W"},{"value":"h@x","type":"home"},{"value":"w2@x","type":"work","primary":true}]`, mail("w@x", "w2@x"), false},
		{"primary moved between work values", "emails",
			`[{"value":"a@x","type":"work","primary":true},{"value":"b@x","type":"work"}]`,
			`[{"value":"b@x","type":"work","primary":true},{"value":"a@x","type":"work"}]`, mail("b@x", "a@x"), false},
		{"primary changed", "emails", work,
			`[{"value":"w@x","type":"work","primary":false,"display":"W"},{"value":"h@x","type":"home"}]`, mail("w@x"), false},
		{"display changed", "emails", work,
			`[{"value":"w@x","type":"work","primary":true,"display":"X"},{"value":"h@x","type":"home"}]`, mail("w@x"), false},
		{"type changed", "emails", work,
			`[{"value":"w@x","type":"other","primary":true,"display":"W"},{"value":"h@x","type":"home"}]`, mail(), false},
		{"home value changed", "emails", work,
			`[{"value":"w@x","type":"work","primary":true,"display":"W"},{"value":"h2@x","type":"home"}]`, mail("w@x"), false},
		{"typed value not changed with it", "emails", work,
			`[{"value":"new@x","type":"work","primary":true,"display":"W"},{"value":"h@x","type":"home"}]`, mail("w@x"), false},
		{"mobile value changed", "phoneNumbers", phones,
			`[{"value":"1","type":"work"},{"value":"22","type":"mobile"},{"value":"3","type":"home"}]`, phone("1", "22"), true},
		{"home phone changed", "phoneNumbers", phones,
			`[{"value":"1","type":"work"},{"value":"2","type":"mobile"},{"value":"33","type":"home"}]`, phone("1", "2"), false},
		{"work locality changed", "addresses", addrs,
			`[{"streetAddress":"1 Main","locality":"Bergen","country":"NO","type":"work"}]`,
			map[string][]any{"street": {"1 Main"}, "l": {"Bergen"}}, true},
		{"work country changed", "addresses", addrs,
			`[{"streetAddress":"1 Main","locality":"Oslo","country":"SE","type":"work"}]`,
			map[string][]any{"street": {"1 Main"}, "l": {"Oslo"}}, false},
		{"no typed mapping: changed", "ims", `[{"value":"a","type":"xmpp"}]`, `[{"value":"b","type":"xmpp"}]`, nil, false},
		{"no typed mapping: unchanged", "ims", `[{"value":"a","type":"xmpp"}]`, `[{"value":"a","type":"xmpp"}]`, nil, true},
	}
	for _, tt := range tests {
		stored, _ := decodeJSON(t, tt.stored).([]any)
		sent, _ := decodeJSON(t, tt.sent).([]any)
		settled := Reconciled(stored, besideOf(t, full, tt.attr, tt.typed))
		if got := SameElements(sent, settled); got != tt.want {
			t.Errorf("%s: got %v, want %v (settled %s)", tt.name, got, tt.want, mustJSON(settled))
		}
		if mustJSON(stored) != mustJSON(decodeJSON(t, tt.stored)) {
			t.Errorf("%s: the stored elements were modified", tt.name)
		}
	}
}

func TestSameElements(t *testing.T) {
	tests := []struct {
		x, y string
		want bool
	}{
		{`[]`, `[]`, true},
		{`[{"a":1,"b":2}]`, `[{"b":2,"a":1}]`, true},
		{`[{"a":1},{"a":2}]`, `[{"a":2},{"a":1}]`, true},
		{`[{"a":1},{"a":1}]`, `[{"a":1},{"a":2}]`, false},
		{`[{"a":1}]`, `[{"a":1},{"a":1}]`, false},
		{`[{"a":"x"}]`, `[{"a":"X"}]`, false},
	}
	for _, tt := range tests {
		x, _ := decodeJSON(t, tt.x).([]any)
		y, _ := decodeJSON(t, tt.y).([]any)
		if got := SameElements(x, y); got != tt.want {
			t.Errorf("SameElements(%s, %s) = %v, want %v", tt.x, tt.y, got, tt.want)
		}
	}
}

// TestKeepUnseen: what a caller sends of a json mapping's attribute gets
// back what it could not see of the stored elements.
func TestKeepUnseen(t *testing.T) {
	full := compiled(t, DefaultUserMapping("ou=People,dc=example,dc=com"), CoreUserURN)
	tests := []struct {
		name         string
		attr         string
		hidden       []string // LDAP attributes the caller may not read
		stored, sent string
		want         string
	}{
		{"a hidden work email is kept whole", "emails", []string{"mail"},
			`[{"value":"w@x","type":"work","primary":true,"display":"W"},{"value":"h@x","type":"home"}]`,
			`[{"value":"h@x","type":"home"},{"value":"o@x","type":"other"}]`,
			`[{"value":"h@x","type":"home"},{"value":"o@x","type":"other"},{"value":"w@x","type":"work","primary":true,"display":"W"}]`},
		{"a hidden untyped email is the first mapping's", "emails", []string{"mail"},
			`[{"value":"u@x"}]`, `[]`, `[{"value":"u@x"}]`},
		{"a work element without value was seen", "emails", []string{"mail"},
			`[{"display":"D","type":"work"}]`, `[]`, `[]`},
		{"nothing hidden of another type", "emails", []string{"mail"},
			`[{"value":"h@x","type":"home"}]`, `[]`, `[]`},
		{"a hidden locality goes back into its address", "addresses", []string{"l"},
			`[{"streetAddress":"1 Main","locality":"Oslo","country":"NO","type":"work"}]`,
			`[{"streetAddress":"1 Main","country":"NO","type":"work","primary":true}]`,
			`[{"streetAddress":"1 Main","locality":"Oslo","country":"NO","type":"work","primary":true}]`},
		{"into the address whose street changed", "addresses", []string{"l"},
			`[{"streetAddress":"1 Main","locality":"Oslo","type":"work"}]`,
			`[{"streetAddress":"2 Side","type":"work"}]`,
			`[{"streetAddress":"2 Side","locality":"Oslo","type":"work"}]`},
		{"each locality into its own address", "addresses", []string{"l"},
			`[{"streetAddress":"1 Main","locality":"Oslo","type":"work"},{"streetAddress":"2 Side","locality":"Bergen","type":"work"}]`,
			`[{"streetAddress":"2 Side","type":"work"},{"streetAddress":"1 Main","type":"work"}]`,
			`[{"streetAddress":"2 Side","locality":"Bergen","type":"work"},{"streetAddress":"1 Main","locality":"Oslo","type":"work"}]`},
		{"else into the address a read would fill", "addresses", []string{"l"},
			`[{"streetAddress":"1 Main","locality":"Oslo","country":"NO","type":"work"}]`,
			`[{"streetAddress":"1 Home","type":"home"},{"streetAddress":"1 Main","country":"SE","type":"work"}]`,
			`[{"streetAddress":"1 Home","type":"home"},{"streetAddress":"1 Main","locality":"Oslo","country":"SE","type":"work"}]`},
		{"nowhere when no address lacks it", "addresses", []string{"l"},
			`[{"streetAddress":"1 Main","locality":"Oslo","type":"work"}]`,
			`[{"streetAddress":"2 Side","country":"SE","type":"home"}]`,
			`[{"streetAddress":"2 Side","country":"SE","type":"home"}]`},
		{"not over what the caller sent", "addresses", []string{"l"},
			`[{"streetAddress":"1 Main","locality":"Oslo","type":"work"}]`,
			`[{"streetAddress":"1 Main","locality":"Bergen","type":"work"}]`,
			`[{"streetAddress":"1 Main","locality":"Bergen","type":"work"}]`},
	}
	for _, tt := range tests {
		beside := besideOf(t, full, tt.attr, nil)
		var hidden []Beside
		for _, b := range beside {
			if slices.Contains(tt.hidden, b.Mapping.LDAP) {
				hidden = append(hidden, b)
			}
		}
		stored, _ := decodeJSON(t, tt.stored).([]any)
		sent, _ := decodeJSON(t, tt.sent).([]any)
		got := KeepUnseen(stored, sent, hidden, beside)
		want, _ := decodeJSON(t, tt.want).([]any)
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, mustJSON(got), tt.want)
		}
		if mustJSON(sent) != mustJSON(decodeJSON(t, tt.sent)) {
			t.Errorf("%s: the elements sent were modified", tt.name)
		}
	}
}

func TestEncodeJSON(t *testing.T) {
	tests := []struct {
		in      any
		want    string
		wantErr bool
	}{
		{map[string]any{"value": "a@x", "type": "work", "primary": true}, `{"primary":true,"type":"work","value":"a@x"}`, false},
		{map[string]any{"b": map[string]any{"z": 1, "a": []any{"y", "x"}}, "a": nil}, `{"a":null,"b":{"a":["y","x"],"z":1}}`, false},
		{"<a href=\"x\">&amp;</a>", `"<a href=\"x\">&amp;</a>"`, false},
		{"line\nbreak\ttab", `"line\nbreak\ttab"`, false},
		{"blåbær \u2028", `"blåbær \u2028"`, false},
		{"Value", `"Value"`, false},
		{float64(1), `1`, false},
		{math.NaN(), ``, true},
		{func() {}, ``, true},
	}
	for _, tt := range tests {
		got, err := encodeJSON(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("encodeJSON(%#v) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestJSONElement(t *testing.T) {
	a := &AttrMapping{SCIM: "emails", LDAP: "scimEmails", KindName: "json", Kind: KindJSON}
	tests := []struct {
		in      any
		want    string
		wantErr bool
	}{
		{map[string]any{"value": "<a&b>@x", "type": "work"}, `{"type":"work","value":"<a&b>@x"}`, false},
		{map[string]any{"display": "B", "primary": false}, `{"display":"B","primary":false}`, false},
		{map[string]any{}, ``, true},
		{map[string]any{"value": math.Inf(1)}, ``, true},
		{"a@x", ``, true},
		{[]any{map[string]any{"value": "a"}}, ``, true},
		{nil, ``, true},
		{true, ``, true},
	}
	for _, tt := range tests {
		got, err := jsonElement(a, tt.in)
		if tt.wantErr {
			var e *resource.Error
			if !errors.As(err, &e) || e.Status != 400 || e.ScimType != resource.ScimInvalidValue || !strings.Contains(e.Detail, "emails") {
				t.Errorf("jsonElement(%#v): error %v, want 400 invalidValue naming emails", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("jsonElement(%#v) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestDecodeElement(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" when the value is left out
	}{
		{`{"type":"work","value":"a@x"}`, `{"type":"work","value":"a@x"}`},
		{`{ "value" : "a@x",  "primary" : true }`, `{"primary":true,"value":"a@x"}`},
		{`{"value":{"nested":[1,2]}}`, `{"value":{"nested":[1,2]}}`},
		{`{}`, ``},
		{`null`, ``},
		{`[]`, ``},
		{`[{"value":"a"}]`, ``},
		{`"a@x"`, ``},
		{`42`, ``},
		{`a@x`, ``},
		{`{"value":"a"`, ``},
		{`{"value":"a"} {}`, ``},
		{``, ``},
	}
	for _, tt := range tests {
		got, ok := decodeElement(tt.in)
		want := decodeJSON(t, tt.want)
		if ok != (want != nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("decodeElement(%q) = %s, %v; want %s", tt.in, mustJSON(got), ok, tt.want)
		}
	}
}

// TestJSONRoundTrip: an element written and read back is the same
// element, and a canonical value read and written back is the same
// string, so one element has one spelling.
func TestJSONRoundTrip(t *testing.T) {
	a := &AttrMapping{SCIM: "addresses", LDAP: "scimAddresses", KindName: "json", Kind: KindJSON}
	for _, in := range []string{
		`{"value":"a@x","type":"work","primary":true,"display":"Babs <b&j>"}`,
		`{"streetAddress":"1 Main St\nApt 2","locality":"Tromsø","postalCode":"9000","type":"home"}`,
		`{"value":"\"quoted\" \\ back","n":1.5,"z":null,"list":["b","a"]}`,
		`{"value":"\u0001\u2028"}`,
	} {
		el := decodeJSON(t, in)
		s, err := jsonElement(a, el)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		back, ok := decodeElement(s)
		if !ok || !reflect.DeepEqual(back, el) {
			t.Errorf("%s: wrote %s, read back %s", in, s, mustJSON(back))
		}
		again, err := jsonElement(a, back)
		if err != nil || again != s {
			t.Errorf("%s: canonical %s, written again as %s (%v)", in, s, again, err)
		}
	}
}

func TestFoldSpaceCase(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"Babs Jensen", "babs jensen"},
		{"  Babs   JENSEN  ", "babs jensen"},
		{"Babs\t\nJensen", "babs jensen"},
		{"ÆRØ Skole", "ærø skole"},
		{"a@Example.COM", "a@example.com"},
	}
	for _, tt := range tests {
		if got := FoldSpaceCase(tt.in); got != tt.want {
			t.Errorf("FoldSpaceCase(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
