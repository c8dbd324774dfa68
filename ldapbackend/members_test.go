package ldapbackend

import (
	"strings"
	"testing"

	"github.com/scimgate/scimgate/ldapbackend/scimldap"
	"github.com/scimgate/scimgate/scim/resource"
)

func TestMemberOps(t *testing.T) {
	m := scimldap.DefaultGroupMapping("ou=Groups,dc=example,dc=com")
	if errs := m.Compile(scimldap.CoreGroupURN); errs != nil {
		t.Fatal(errs)
	}
	ts := &typeState{m: m}
	path := func(s string) resource.PatchOp {
		p, err := resource.ParsePath(s)
		if err != nil {
			t.Fatal(err)
		}
		return resource.PatchOp{Path: p}
	}
	op := func(o resource.PatchOp, verb string, v any) resource.PatchOp { o.Op, o.Value = verb, v; return o }
	list := func(ids ...string) []any {
		out := []any{}
		for _, id := range ids {
			out = append(out, map[string]any{"value": id, "display": "x"})
		}
		return out
	}
	cases := []struct {
		name     string
		ops      []resource.PatchOp
		ok       bool
		add, del string
	}{
		{"add list", []resource.PatchOp{op(path("members"), "add", list("a", "b"))}, true, "a,b", ""},
		{"Entra legacy remove list", []resource.PatchOp{op(path("members"), "remove", list("a"))}, true, "", "a"},
		{"remove by filter", []resource.PatchOp{op(path(`members[value eq "c"]`), "remove", nil)}, true, "", "c"},
		{"mixed", []resource.PatchOp{op(path(`members[value eq "c"]`), "remove", nil), op(path("Members"), "add", list("d"))}, true, "d", "c"},
		{"replace takes the general path", []resource.PatchOp{op(path("members"), "replace", list("a"))}, false, "", ""},
		{"other attribute", []resource.PatchOp{op(path("displayName"), "replace", "x")}, false, "", ""},
		{"no path", []resource.PatchOp{{Op: "add", Value: map[string]any{"members": list("a")}}}, false, "", ""},
		{"filter other than value eq", []resource.PatchOp{op(path(`members[display eq "c"]`), "remove", nil)}, false, "", ""},
		{"sub-attribute", []resource.PatchOp{op(path("members.value"), "add", list("a"))}, false, "", ""},
		{"bad element", []resource.PatchOp{op(path("members"), "add", []any{"a"})}, false, "", ""},
	}
	for _, tc := range cases {
		add, del, ok := memberOps(ts, tc.ops)
		if ok != tc.ok || ok && (strings.Join(add, ",") != tc.add || strings.Join(del, ",") != tc.del) {
			t.Errorf("%s: add %v del %v ok %v", tc.name, add, del, ok)
		}
	}
}
