package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimgate/scimgate/ldapbackend/dirsrv"
	"github.com/scimgate/scimgate/ldapbackend/dirsrv/dirsrvtest"
	"github.com/scimgate/scimgate/ldapbackend/scimldap"
)

// TestSchemaRoundTrip holds the server to its own /Schemas: every
// attribute and sub-attribute the User schema and the enterprise extension
// advertise as writable is created, read back, replaced, removed, added to
// and filtered on, with values made from its advertised type, on OpenLDAP
// and on 389 DS. A mapping that leaves nickName out neither advertises it
// nor accepts it.
func TestSchemaRoundTrip(t *testing.T) {
	t.Run("slapd", func(t *testing.T) {
		rtRoundTrip(t, startEnv(t))
		t.Run("unmapped", rtUnmapped)
	})
	t.Run("389", func(t *testing.T) {
		d := dirsrvtest.StartT(t, dirsrv.Options{SeedLDIF: []string{"../../testdata/demo/directory-389.ldif"}})
		rtRoundTrip(t, startGateway(t, d.URL, d.Suffix, func(c *Config) { c.LDAP.Directory = "389" }))
	})
}

// rtDef is an attribute or sub-attribute as /Schemas advertises it.
type rtDef struct {
	Name            string   `json:"name"`
	Type            string   `json:"type"`
	MultiValued     bool     `json:"multiValued"`
	Required        bool     `json:"required"`
	CaseExact       bool     `json:"caseExact"`
	Mutability      string   `json:"mutability"`
	Returned        string   `json:"returned"`
	CanonicalValues []string `json:"canonicalValues"`
	ReferenceTypes  []string `json:"referenceTypes"`
	SubAttributes   []rtDef  `json:"subAttributes"`
}

// readable says whether a read returns the value without being asked.
func (d rtDef) readable() bool {
	return d.Mutability != "writeOnly" && (d.Returned == "default" || d.Returned == "always" || d.Returned == "")
}

// filterable says whether filters on the value are part of the contract
// tested: strings and booleans a client can both write and read.
func (d rtDef) filterable() bool {
	return (d.Type == "string" || d.Type == "boolean") && d.Mutability != "readOnly" && d.readable() && d.Name != "password"
}

// rtAttr is a top-level attribute of the User schema ("" urn) or of an
// extension.
type rtAttr struct {
	urn string
	rtDef
}

// path is the attribute's (or its sub-attribute's) path in PATCH and filters.
func (a rtAttr) path(sub string) string {
	p := a.Name
	if sub != "" {
		p += "." + sub
	}
	if a.urn != "" {
		p = a.urn + ":" + p
	}
	return p
}

// rtSchema returns the attributes /Schemas advertises for urn.
func rtSchema(e *testEnv, urn string) []rtDef {
	e.t.Helper()
	r := e.must(200, "GET", "/Schemas/"+urn, "rt", nil)
	var s struct {
		Attributes []rtDef `json:"attributes"`
	}
	if err := json.Unmarshal([]byte(r.raw), &s); err != nil || len(s.Attributes) == 0 {
		e.t.Fatalf("/Schemas/%s: %v, %d attributes\n%s", urn, err, len(s.Attributes), r.raw)
	}
	return s.Attributes
}

// rtWritable keeps the attributes a client may send, each with its
// writable sub-attributes only. groups is written through /Groups.
func rtWritable(urn string, defs []rtDef) []rtAttr {
	var out []rtAttr
	for _, d := range defs {
		if d.Mutability == "readOnly" || urn == "" && strings.EqualFold(d.Name, "groups") {
			continue
		}
		d.SubAttributes = slices.DeleteFunc(slices.Clone(d.SubAttributes), func(s rtDef) bool { return s.Mutability == "readOnly" })
		if d.Type == "complex" && len(d.SubAttributes) == 0 {
			continue
		}
		out = append(out, rtAttr{urn, d})
	}
	return out
}

// rtGen makes values from advertised definitions. Every string names its
// attribute, sub-attribute, round and element and ends in the run's tag,
// so a mismatch says where it came from and a filter finds one user.
type rtGen struct {
	run      string   // unique per run
	base     string   // SCIM base URL, for references to users
	managers []string // ids of users a manager may name, taken in turn
	next     int      // the next manager to name
}

// value returns a value of a for round n: two elements for a multi-valued
// attribute, the first primary false and the second primary true.
func (g *rtGen) value(a rtAttr, n int) any {
	switch {
	case a.Type == "complex" && a.MultiValued:
		return []any{g.element(a, n, 0), g.element(a, n, 1)}
	case a.Type == "complex":
		return g.element(a, n, -1)
	case a.MultiValued:
		return []any{g.simple(a, a.rtDef, "", n, 0), g.simple(a, a.rtDef, "", n, 1)}
	}
	return g.simple(a, a.rtDef, "", n, -1)
}

// element returns one complex value of a: element i of a multi-valued
// attribute (with the i-th type, and primary on element 1 only), or the
// value of a single-valued one for i < 0. A manager names another user
// by id, its $ref by that user's location.
func (g *rtGen) element(a rtAttr, n, i int) map[string]any {
	m := map[string]any{}
	for _, s := range a.SubAttributes {
		switch {
		case strings.EqualFold(a.Name, "manager") && s.Name == "value":
			m[s.Name] = g.manager()
		case s.Name == "$ref":
		case i >= 0 && s.Name == "primary" && s.Type == "boolean":
			m[s.Name] = i == 1
		case i >= 0 && s.Name == "type" && s.Type == "string":
			m[s.Name] = rtType(s, i)
		default:
			m[s.Name] = g.simple(a, s, s.Name, n, i)
		}
	}
	for _, s := range a.SubAttributes {
		if id, ok := m["value"].(string); ok && s.Name == "$ref" && slices.Contains(s.ReferenceTypes, "User") {
			m[s.Name] = g.base + "/Users/" + id
		}
	}
	return m
}

// manager returns the id of a user to name, never the one named last.
func (g *rtGen) manager() string {
	g.next++
	return g.managers[g.next%len(g.managers)]
}

// rtType is the type of element i: "work" and the canonical values after
// it (or the first ones), else work, home, other.
func rtType(d rtDef, i int) string {
	cv := d.CanonicalValues
	if len(cv) == 0 {
		cv = []string{"work", "home", "other"}
	}
	start := max(slices.Index(cv, "work"), 0)
	return cv[(start+i)%len(cv)]
}

// simple returns a value of the simple attribute or sub-attribute d of a
// for round n and element i (i < 0: single-valued).
func (g *rtGen) simple(a rtAttr, d rtDef, sub string, n, i int) any {
	tag := fmt.Sprintf("%s-%d", strings.TrimSuffix(a.Name+"-"+sub, "-"), n)
	if i >= 0 {
		tag += string(rune('a' + i))
	}
	tag += "-" + g.run
	if len(d.CanonicalValues) > 0 {
		return d.CanonicalValues[(n+max(i, 0))%len(d.CanonicalValues)]
	}
	switch d.Type {
	case "boolean":
		return n%2 == 0
	case "integer":
		return 1000*n + max(i, 0)
	case "decimal":
		return float64(n) + 0.25
	case "dateTime":
		at := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC).Add(time.Duration(n)*time.Hour + time.Duration(i+1)*time.Minute)
		return at.Format(time.RFC3339)
	case "binary":
		return base64.StdEncoding.EncodeToString([]byte("rt-" + tag))
	case "reference":
		if slices.Contains(d.ReferenceTypes, "User") {
			return g.base + "/Users/" + g.manager()
		}
		return "https://example.com/rt/" + tag
	}
	return "rt-" + tag
}

// rtVal is a value of one attribute, to put in a body.
type rtVal struct {
	a rtAttr
	v any
}

// rtBody is a User body with userName and vals, extension attributes
// under their schema's URN.
func rtBody(userName string, vals ...rtVal) map[string]any {
	b := map[string]any{"schemas": []string{userURN, scimldap.EnterpriseUserURN}}
	for _, x := range vals {
		into := b
		if x.a.urn != "" {
			if b[x.a.urn] == nil {
				b[x.a.urn] = map[string]any{}
			}
			into = b[x.a.urn].(map[string]any)
		}
		into[x.a.Name] = x.v
	}
	if userName != "" {
		b["userName"] = userName
	}
	return b
}

// rtField is m's member name, matched case-insensitively as SCIM names are.
func rtField(m any, name string) any {
	mm, _ := m.(map[string]any)
	for k, v := range mm {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// rtLookup is the value of a (or of its sub-attribute sub) in a resource body.
func rtLookup(body map[string]any, a rtAttr, sub string) any {
	var c any = body
	if a.urn != "" {
		c = rtField(body, a.urn)
	}
	if c = rtField(c, a.Name); sub != "" {
		c = rtField(c, sub)
	}
	return c
}

// rtAbsent says whether v is no value at all.
func rtAbsent(v any) bool {
	l, isList := v.([]any)
	m, isMap := v.(map[string]any)
	return v == nil || v == "" || isList && len(l) == 0 || isMap && len(m) == 0
}

// rtReport fails t with each mismatch, after what was done.
func rtReport(t *testing.T, what string, mismatches []string) {
	t.Helper()
	for _, m := range mismatches {
		t.Errorf("%s: %s", what, m)
	}
}

func rtJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// rtCompare reports, by path, where got differs from what was sent for
// the attribute d: a multi-valued value as a set of elements, a complex
// one on the sub-attributes sent (the server may add readOnly ones),
// strings in any case where caseExact is false. Values a read does not
// return are not compared.
func rtCompare(path string, d rtDef, sent, got any) []string {
	differ := []string{fmt.Sprintf("%s: got %s, want %s", path, rtJSON(got), rtJSON(sent))}
	gl, isList := got.([]any)
	gm, isMap := got.(map[string]any)
	switch {
	case d.MultiValued && !isList, d.Type == "complex" && !d.MultiValued && !isMap:
		return differ
	case d.MultiValued:
		var out []string
		one, sl := d, sent.([]any)
		one.MultiValued = false
		used := make([]bool, len(gl))
	next:
		for _, s := range sl {
			for j, g := range gl {
				if !used[j] && rtCompare(path, one, s, g) == nil {
					used[j] = true
					continue next
				}
			}
			out = append(out, fmt.Sprintf("%s: %s is missing; got %s", path, rtJSON(s), rtJSON(got)))
		}
		if len(gl) != len(sl) {
			out = append(out, fmt.Sprintf("%s: %d values, want the %d sent: got %s", path, len(gl), len(sl), rtJSON(got)))
		}
		return out
	case d.Type == "complex":
		var out []string
		for _, s := range d.SubAttributes {
			if v, ok := sent.(map[string]any)[s.Name]; ok && s.readable() {
				out = append(out, rtCompare(path+"."+s.Name, s, v, rtField(gm, s.Name))...)
			}
		}
		return out
	case !rtEqual(d, sent, got):
		return differ
	}
	return nil
}

// rtEqual compares a simple value as its definition says.
func rtEqual(d rtDef, sent, got any) bool {
	switch s := sent.(type) {
	case string:
		g, ok := got.(string)
		switch {
		case !ok:
			return false
		case d.Type == "dateTime":
			ts, err1 := time.Parse(time.RFC3339, s)
			tg, err2 := time.Parse(time.RFC3339, g)
			return err1 == nil && err2 == nil && ts.Equal(tg)
		case !d.CaseExact && d.Type == "string":
			return strings.EqualFold(s, g)
		}
		return s == g
	case int: // JSON numbers decode as float64
		return got == any(float64(s))
	}
	return got == sent
}

// rtTarget is what one PATCH writes: a top-level attribute, or the
// sub-attribute sub of a single-valued complex one; def defines it.
type rtTarget struct {
	attr rtAttr
	sub  string
	def  rtDef
}

// value returns a value of the target for round n.
func (tg rtTarget) value(g *rtGen, n int) any {
	if tg.sub == "" {
		return g.value(tg.attr, n)
	}
	return g.element(tg.attr, n, -1)[tg.sub]
}

// rtTargets lists what PATCH may change: every attribute neither readOnly
// nor immutable, each sub-attribute of a single-valued complex one before
// the whole (a $ref follows its value and is not written alone).
func rtTargets(attrs []rtAttr) []rtTarget {
	var out []rtTarget
	for _, a := range attrs {
		if a.Mutability == "immutable" {
			continue
		}
		if a.Type == "complex" && !a.MultiValued {
			for _, s := range a.SubAttributes {
				if s.Name != "$ref" && s.Mutability != "immutable" {
					out = append(out, rtTarget{a, s.Name, s})
				}
			}
		}
		out = append(out, rtTarget{a, "", a.rtDef})
	}
	return out
}

// rtWantError checks that r is a SCIM error with status and scimType.
func rtWantError(t *testing.T, what string, r response, status int, scimType string) {
	t.Helper()
	if r.status != status || str(r.body, "scimType") != scimType {
		t.Errorf("%s: %d %s, want %d scimType %q", what, r.status, r.raw, status, scimType)
	}
}

// rtNoUser checks, after what, that no user is named userName.
func rtNoUser(t *testing.T, e *testEnv, what, userName string) {
	t.Helper()
	if r := e.must(200, "GET", "/Users?filter="+q(`userName eq "`+userName+`"`), "rt", nil); num(r.body, "totalResults") != 0 {
		t.Errorf("%s: the user was created: %s", what, r.raw)
	}
}

// rtFind checks that filter finds the user id and that totalResults
// counts what came back.
func rtFind(t *testing.T, e *testEnv, id, filter string) {
	t.Helper()
	r := e.do("GET", "/Users?count=1000&filter="+q(filter), "rt", nil)
	if r.status != 200 {
		t.Errorf("filter %s: %d %s", filter, r.status, r.raw)
		return
	}
	list, _ := r.body["Resources"].([]any)
	if !slices.ContainsFunc(list, func(x any) bool { return str(x, "id") == id }) {
		t.Errorf("filter %s: the user is not among the %d found", filter, len(list))
	}
	if n := num(r.body, "totalResults"); n != len(list) {
		t.Errorf("filter %s: totalResults %d, %d Resources", filter, n, len(list))
	}
}

// rtRefilled are the attributes a remove does not leave empty, each with
// what it must then hold: cn and sn, which inetOrgPerson requires, are
// derived again from the other names (create_defaults), and active is
// true when absent (default_true).
var rtRefilled = map[string]func(body map[string]any) bool{
	"name.formatted":  func(b map[string]any) bool { return str(b, "name.formatted") != "" },
	"name.familyname": func(b map[string]any) bool { return str(b, "name.familyName") == str(b, "userName") },
	"name":            func(b map[string]any) bool { return str(b, "name.familyName") == str(b, "userName") },
	"active":          func(b map[string]any) bool { v, _ := b["active"].(bool); return v },
}

// rtFilters lists the filters that must find a user holding v (from
// g.value) in a: eq, pr and sw on every filterable value and eq in upper
// case where caseExact is false; on a multi-valued complex attribute
// also the bracket form, with the element's type where it has one.
func rtFilters(a rtAttr, v any) []string {
	var out []string
	leaf := func(path string, d rtDef, x any, first bool) {
		out = append(out, path+" eq "+rtJSON(x))
		if s, ok := x.(string); ok && first {
			if !strings.HasSuffix(strings.ToLower(path), "manager.value") { // an id: eq and pr only
				out = append(out, path+" sw "+rtJSON(s[:max(len(s)-1, 1)]))
			}
			if !d.CaseExact && strings.ToUpper(s) != s {
				out = append(out, path+" eq "+rtJSON(strings.ToUpper(s)))
			}
		}
		if first {
			out = append(out, path+" pr")
		}
	}
	elems, ok := v.([]any)
	if !ok {
		elems = []any{v}
	}
	for i, el := range elems {
		if a.Type != "complex" {
			if a.filterable() {
				leaf(a.path(""), a.rtDef, el, i == 0)
			}
			continue
		}
		m, _ := el.(map[string]any)
		for _, s := range a.SubAttributes {
			x, sent := m[s.Name]
			if !sent || !s.filterable() {
				continue
			}
			leaf(a.path(s.Name), s, x, i == 0)
			if !a.MultiValued {
				continue
			}
			if ty, ok := m["type"]; ok && s.Name != "type" {
				out = append(out, fmt.Sprintf("%s[type eq %s and %s eq %s]", a.path(""), rtJSON(ty), s.Name, rtJSON(x)))
			} else {
				out = append(out, fmt.Sprintf("%s[%s eq %s]", a.path(""), s.Name, rtJSON(x)))
			}
		}
	}
	return out
}

// rtRoundTrip creates a user with a value for every writable attribute
// of /Schemas, reads it back, then patches, filters on and checks primary
// for each attribute in turn.
func rtRoundTrip(t *testing.T, e *testEnv) {
	e.tokens["rt"] = e.token("sync-connector", "scim:read scim:write")
	var attrs []rtAttr
	attrs = append(attrs, rtWritable("", rtSchema(e, userURN))...)
	attrs = append(attrs, rtWritable(scimldap.EnterpriseUserURN, rtSchema(e, scimldap.EnterpriseUserURN))...)
	g := &rtGen{run: fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff), base: e.base}
	for i := range 3 {
		r := e.must(201, "POST", "/Users", "rt", rtBody(fmt.Sprintf("rt-manager-%d-%s", i, g.run)))
		g.managers = append(g.managers, str(r.body, "id"))
	}

	var sent []rtVal
	for _, a := range attrs {
		sent = append(sent, rtVal{a, g.value(a, 1)})
	}
	id := str(e.must(201, "POST", "/Users", "rt", rtBody("", sent...)).body, "id")
	got := e.must(200, "GET", "/Users/"+id, "rt", nil)
	for _, x := range sent {
		if x.a.readable() {
			rtReport(t, "create, then GET", rtCompare(x.a.path(""), x.a.rtDef, x.v, rtLookup(got.body, x.a, "")))
		}
	}

	n := 2 // the round: each write sends values not sent before
	t.Run("patch", func(t *testing.T) {
		e := e.in(t)
		cur := e.must(200, "GET", "/Users/"+id, "rt", nil)
		// write sends one PATCH and checks its status and that the version moved.
		write := func(what string, op map[string]any, statuses ...int) (response, bool) {
			r := e.do("PATCH", "/Users/"+id, "rt", op)
			if !slices.Contains(statuses, r.status) {
				t.Errorf("%s: %d %s", what, r.status, r.raw)
				return r, false
			}
			after := e.must(200, "GET", "/Users/"+id, "rt", nil)
			if v := str(after.body, "meta.version"); v == str(cur.body, "meta.version") {
				t.Errorf("%s: meta.version stayed %s", what, v)
			}
			cur = after
			return r, true
		}
		for _, tg := range rtTargets(attrs) {
			path, d := tg.attr.path(tg.sub), tg.def
			v := tg.value(g, n)
			n++
			if d.readable() && rtCompare(path, d, v, rtLookup(cur.body, tg.attr, tg.sub)) == nil {
				v = tg.value(g, n) // a boolean holding the value already
				n++
			}
			r, ok := write("replace "+path, patchOp("replace", path, v), 200)
			if ok && d.readable() {
				rtReport(t, "replace "+path+", response", rtCompare(path, d, v, rtLookup(r.body, tg.attr, tg.sub)))
				rtReport(t, "replace "+path+", then GET", rtCompare(path, d, v, rtLookup(cur.body, tg.attr, tg.sub)))
			}
			if ok && d.Type == "complex" && d.MultiValued {
				el := g.element(tg.attr, n, 2)
				n++
				if _, ok := write("add to "+path, patchOp("add", path, []any{el}), 200); ok {
					rtReport(t, "add to "+path+", then GET", rtCompare(path, d, append(slices.Clone(v.([]any)), el), rtLookup(cur.body, tg.attr, tg.sub)))
				}
			}
			// A value never returned cannot be seen gone (nor, by the
			// server, be known to be there: password).
			if d.Required || strings.EqualFold(path, "userName") || !d.readable() {
				continue
			}
			if _, ok := write("remove "+path, patchOp("remove", path, nil), 200, 204); ok {
				v := rtLookup(cur.body, tg.attr, tg.sub)
				if refill, ok := rtRefilled[strings.ToLower(path)]; ok {
					// What the directory cannot be without comes back
					// from the other attributes (or its default).
					if !refill(cur.body) {
						t.Errorf("remove %s: %s, not refilled from the other attributes", path, rtJSON(v))
					}
				} else if !rtAbsent(v) {
					t.Errorf("remove %s: still %s", path, rtJSON(v))
				}
			}
		}
	})

	t.Run("filter", func(t *testing.T) {
		e := e.in(t)
		for _, a := range attrs {
			if a.Mutability == "immutable" {
				continue
			}
			v := g.value(a, n)
			n++
			filters := rtFilters(a, v)
			if len(filters) == 0 {
				continue
			}
			if r := e.do("PATCH", "/Users/"+id, "rt", patchOp("replace", a.path(""), v)); r.status != 200 {
				t.Errorf("replace %s to filter on it: %d %s", a.path(""), r.status, r.raw)
				continue
			}
			for _, f := range filters {
				rtFind(t, e, id, f)
			}
		}
	})

	t.Run("primary", func(t *testing.T) {
		e := e.in(t)
		for _, a := range attrs {
			if !a.MultiValued || !slices.ContainsFunc(a.SubAttributes, func(s rtDef) bool { return s.Name == "primary" && s.Type == "boolean" }) {
				continue
			}
			path := a.path("")
			// Two primaries in a create: refused, and nothing created.
			both := []any{g.element(a, n, 0), g.element(a, n, 1)}
			both[0].(map[string]any)["primary"] = true
			userName := fmt.Sprintf("rt-primary-%s-%s", a.Name, g.run)
			rtWantError(t, "create with two primary "+path, e.do("POST", "/Users", "rt", rtBody(userName, rtVal{a, both})), 400, "invalidValue")
			rtNoUser(t, e, "create with two primary "+path, userName)
			// A new primary added: the one before it is primary no longer.
			old, added := g.element(a, n+1, 0), g.element(a, n+1, 1)
			n += 2
			old["primary"] = true
			e.must(200, "PATCH", "/Users/"+id, "rt", patchOp("replace", path, []any{old}))
			e.must(200, "PATCH", "/Users/"+id, "rt", patchOp("add", path, []any{added}))
			list, _ := rtLookup(e.must(200, "GET", "/Users/"+id, "rt", nil).body, a, "").([]any)
			var primaries []any
			for _, el := range list {
				if rtField(el, "primary") == true {
					primaries = append(primaries, el)
				}
			}
			one := a.rtDef
			one.MultiValued = false
			if len(list) != 2 || len(primaries) != 1 || rtCompare(path, one, added, primaries[0]) != nil {
				t.Errorf("add a primary to %s holding a primary one: got %s, want two values, only %s primary", path, rtJSON(list), rtJSON(added))
			}
		}
	})
}

// rtUnmapped: with a User mapping without nickName, /Schemas does not
// advertise it, and a create, PATCH or PUT naming it is refused with no
// change made.
func rtUnmapped(t *testing.T) {
	e := startEnvWith(t, func(c *Config) {
		for _, tc := range c.typeConfigs() {
			if tc.section == "users" {
				c.Users.Attributes = slices.DeleteFunc(tc.m.Attrs, func(a *scimldap.AttrMapping) bool {
					return strings.EqualFold(strings.TrimPrefix(a.SCIM, userURN+":"), "nickName")
				})
			}
		}
	})
	e.tokens["rt"] = e.token("sync-connector", "scim:read scim:write")
	if slices.ContainsFunc(rtSchema(e, userURN), func(d rtDef) bool { return strings.EqualFold(d.Name, "nickName") }) {
		t.Error("/Schemas advertises nickName, which the mapping does not store")
	}
	nick := rtVal{rtAttr{rtDef: rtDef{Name: "nickName"}}, "Nicky"}
	rtWantError(t, "create with nickName", e.do("POST", "/Users", "rt", rtBody("rt-unmapped-nick", nick)), 400, "invalidValue")
	rtNoUser(t, e, "create with nickName", "rt-unmapped-nick")

	id := str(e.must(201, "POST", "/Users", "rt", rtBody("rt-unmapped")).body, "id")
	version := str(e.must(200, "GET", "/Users/"+id, "rt", nil).body, "meta.version")
	for _, c := range []struct {
		what, method string
		body         any
		scimType     string
	}{
		{"PATCH add nickName", "PATCH", patchOp("add", "nickName", "Nicky"), "invalidPath"},
		{"PUT with nickName", "PUT", rtBody("rt-unmapped", nick), "invalidValue"},
	} {
		rtWantError(t, c.what, e.do(c.method, "/Users/"+id, "rt", c.body), 400, c.scimType)
		if v := str(e.must(200, "GET", "/Users/"+id, "rt", nil).body, "meta.version"); v != version {
			t.Errorf("%s: meta.version %s, was %s", c.what, v, version)
		}
	}
}
