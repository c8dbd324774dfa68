package resource

import (
	"testing"
	"time"
)

func TestProject(t *testing.T) {
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	user := &Resource{ID: "42", Attrs: js(t, `{"userName":"bjensen","password":"secret","active":true,"externalId":"e1",
		"name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"a@x","type":"work"},{"value":"b@x","type":"home"}],
		"groups":[{"value":"g1","display":"G1"}],"bogus":1,"meta":{"x":1},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","manager":{"value":"m","displayName":"Boss"}}}`),
		Meta: Meta{ResourceType: "User", Created: created, LastModified: created.Add(time.Hour), Location: "https://h/Users/42", Version: "abc"}}
	const meta = `"meta":{"created":"2024-01-02T02:04:05Z","lastModified":"2024-01-02T03:04:05Z","location":"https://h/Users/42","resourceType":"User","version":"W/\"abc\""}`
	const ent = `"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`
	const schemas2 = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",` + ent + `]`
	tests := []struct {
		name string
		p    Projection
		want string
	}{
		{"default", Projection{}, `{"active":true,"emails":[{"type":"work","value":"a@x"},{"type":"home","value":"b@x"}],"externalId":"e1",` +
			`"groups":[{"display":"G1","value":"g1"}],"id":"42",` + meta + `,"name":{"familyName":"Jensen","givenName":"Barbara"},` +
			schemas2 + `,` + ent + `:{"department":"D","manager":{"displayName":"Boss","value":"m"}},"userName":"bjensen"}`},
		{"attributes", Projection{Attributes: []string{"USERNAME", "name.givenName", "emails.value", "password"}},
			`{"emails":[{"value":"a@x"},{"value":"b@x"}],"id":"42","name":{"givenName":"Barbara"},"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen"}`},
		{"attributes URN-qualified", Projection{Attributes: []string{"urn:ietf:params:scim:schemas:core:2.0:User:userName", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "meta.version"}},
			`{"id":"42","meta":{"version":"W/\"abc\""},` + schemas2 + `,` + ent + `:{"manager":{"value":"m"}},"userName":"bjensen"}`},
		{"attributes whole extension", Projection{Attributes: []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}},
			`{"id":"42",` + schemas2 + `,` + ent + `:{"department":"D","manager":{"displayName":"Boss","value":"m"}}}`},
		{"attributes unqualified extension", Projection{Attributes: []string{"department"}},
			`{"id":"42",` + schemas2 + `,` + ent + `:{"department":"D"}}`},
		{"excluded", Projection{ExcludedAttributes: []string{"emails", "name.familyName", "groups", "meta", "id",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "unknown"}},
			`{"active":true,"externalId":"e1","id":"42","name":{"givenName":"Barbara"},` + schemas2 + `,` + ent + `:{"department":"D"},"userName":"bjensen"}`},
		{"excluded whole extension", Projection{ExcludedAttributes: []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "emails.type"}},
			`{"active":true,"emails":[{"value":"a@x"},{"value":"b@x"}],"externalId":"e1","groups":[{"display":"G1","value":"g1"}],"id":"42",` + meta +
				`,"name":{"familyName":"Jensen","givenName":"Barbara"},"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen"}`},
	}
	for _, tt := range tests {
		got := Project(user, userType(), tt.p)
		if s := canon(t, got); s != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, s, tt.want)
		}
	}
	// The output shares nothing with the resource.
	out := Project(user, userType(), Projection{})
	out["name"].(map[string]any)["givenName"] = "changed"
	if user.Attrs["name"].(map[string]any)["givenName"] != "Barbara" {
		t.Error("Project aliases the resource")
	}
}

func TestProjectGroup(t *testing.T) {
	g := &Resource{ID: "g", Attrs: js(t, `{"displayName":"G","members":[{"value":"u1","display":"U1"}]}`), Meta: Meta{}}
	got := canon(t, Project(g, groupType(), Projection{ExcludedAttributes: []string{"members"}}))
	if want := `{"displayName":"G","id":"g","meta":{"resourceType":"Group"},"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]}`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	got = canon(t, Project(g, groupType(), Projection{Attributes: []string{"members.value"}}))
	if want := `{"id":"g","members":[{"value":"u1"}],"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]}`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestWantsAttr(t *testing.T) {
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	tests := []struct {
		p    Projection
		path string
		want bool
	}{
		{Projection{}, "members", true},
		{Projection{ExcludedAttributes: []string{"members"}}, "members", false},
		{Projection{ExcludedAttributes: []string{"MEMBERS"}}, "members", false},
		{Projection{ExcludedAttributes: []string{"members"}}, "displayName", true},
		{Projection{ExcludedAttributes: []string{"members.display"}}, "members", true},
		{Projection{ExcludedAttributes: []string{"name"}}, "name.givenName", false},
		{Projection{ExcludedAttributes: []string{ent}}, ent + ":manager", false},
		{Projection{ExcludedAttributes: []string{ent + ":manager"}}, ent + ":manager", false},
		{Projection{ExcludedAttributes: []string{"manager"}}, ent + ":manager", false},
		{Projection{ExcludedAttributes: []string{ent + ":manager"}}, "manager", false},
		{Projection{ExcludedAttributes: []string{"urn:other:User:manager"}}, ent + ":manager", true},
		{Projection{ExcludedAttributes: []string{"id"}}, "id", true},
		{Projection{Attributes: []string{"userName"}}, "id", true},
		{Projection{Attributes: []string{"userName"}}, "username", true},
		{Projection{Attributes: []string{"userName"}}, "members", false},
		{Projection{Attributes: []string{"name.givenName"}}, "name", true},
		{Projection{Attributes: []string{"name"}}, "name.givenName", true},
		{Projection{Attributes: []string{"name"}}, "nameX", false},
		{Projection{Attributes: []string{ent}}, ent + ":department", true},
		{Projection{Attributes: []string{"urn:ietf:params:scim:schemas:core:2.0:User:userName"}}, "userName", true},
		{Projection{Attributes: []string{"emails.value"}}, "emails", true},
	}
	for _, tt := range tests {
		if got := WantsAttr(tt.p, tt.path); got != tt.want {
			t.Errorf("WantsAttr(%+v, %q) = %v, want %v", tt.p, tt.path, got, tt.want)
		}
	}
}
