package scimldap

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/scim"
	"github.com/scimgate/scimgate/scim/resource"
)

// fakeRefs resolves a fixed set of ids, by type.
type fakeRefs struct {
	calls int
	err   error
}

var fakeDNs = map[string]map[string]string{
	"User":  {"u1": "uid=u1,ou=People,dc=example,dc=com", "boss": "uid=boss,ou=People,dc=example,dc=com"},
	"Group": {"g1": `cn=a\2Cb (x*),ou=Groups,dc=example,dc=com`},
}

func (f *fakeRefs) DNsForIDs(_ context.Context, refTypes []string, ids []string) (map[string]string, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	out := map[string]string{}
	for _, t := range refTypes {
		for _, id := range ids {
			if dn, ok := fakeDNs[t][id]; ok {
				out[id] = dn
			}
		}
	}
	return out, nil
}

// compiled compiles m and binds it to its type's schemas (Serve), as the
// server does.
func compiled(t testing.TB, m *TypeMapping, urn string) *TypeMapping {
	if errs := m.Compile(urn); len(errs) > 0 {
		t.Fatalf("Compile: %v", errs)
	}
	typ := map[string]*resource.Type{CoreUserURN: scim.UserType(), CoreGroupURN: scim.GroupType()}[urn]
	if typ != nil {
		if _, err := m.Serve(typ); err != nil {
			t.Fatalf("Serve: %v", err)
		}
	}
	return m
}

func TestTranslateFilter(t *testing.T) {
	users := compiled(t, DefaultUserMapping("ou=People,dc=example,dc=com"), CoreUserURN)
	groups := compiled(t, DefaultGroupMapping("ou=Groups,dc=example,dc=com"), CoreGroupURN)
	const nothing = "(!(objectClass=*))"
	tests := []struct {
		group bool
		in    string
		want  string
		attrs string // comma-separated
	}{
		{false, `userName eq "bjensen"`, `(uid=bjensen)`, "uid"},
		{false, `USERNAME EQ "bjensen"`, `(uid=bjensen)`, "uid"},
		{false, `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "b"`, `(uid=b)`, "uid"},
		{false, `externalId eq "00ujl29u0le5T6Aj10h7"`, `(scimExternalId=00ujl29u0le5T6Aj10h7)`, "scimexternalid"},
		{false, `id eq "2819c223-7f76"`, `(entryUUID=2819c223-7f76)`, ""},
		{false, `id ne "x" or id sw "ab"`, `(|(!(entryUUID=x))(entryUUID=ab*))`, ""},
		{false, `id pr`, `(objectClass=*)`, ""},
		{false, `userName ne "b"`, `(!(uid=b))`, "uid"},
		{false, `userName co "ens"`, `(uid=*ens*)`, "uid"},
		{false, `userName sw "J"`, `(uid=J*)`, "uid"},
		{false, `userName ew "sen"`, `(uid=*sen)`, "uid"},
		{false, `userName co ""`, `(uid=*)`, "uid"},
		{false, `title pr`, `(title=*)`, "title"},
		{false, `userName gt "m"`, `(&(uid>=m)(!(uid=m)))`, "uid"},
		{false, `userName ge "m"`, `(uid>=m)`, "uid"},
		{false, `userName lt "m"`, `(&(uid<=m)(!(uid=m)))`, "uid"},
		{false, `userName le "m"`, `(uid<=m)`, "uid"},
		{false, `name.familyName eq "Jensen" and name.givenName sw "B"`, `(&(sn=Jensen)(givenName=B*))`, "sn,givenname"},
		{false, `not (userName eq "a" or userName eq "b")`, `(!(|(uid=a)(uid=b)))`, "uid"},
		{false, `not (not (title pr))`, `(title=*)`, "title"},
		{false, `a pr`, ``, ""},
		// Booleans; active reads as true when absent.
		{false, `active eq true`, `(!(scimAccountActive=FALSE))`, "scimaccountactive"},
		{false, `active eq false`, `(scimAccountActive=FALSE)`, "scimaccountactive"},
		{false, `active ne true`, `(scimAccountActive=FALSE)`, "scimaccountactive"},
		{false, `active ne false`, `(!(scimAccountActive=FALSE))`, "scimaccountactive"},
		{false, `active pr`, `(objectClass=*)`, ""},
		{false, `userName eq "x" and active eq true`, `(&(uid=x)(!(scimAccountActive=FALSE)))`, "uid,scimaccountactive"},
		// Multi-valued complex attributes.
		{false, `emails[type eq "work"].value eq "x@y"`, `(mail=x@y)`, "mail"}, // mail alone holds it: no json copy, no search right on it
		{false, `emails[value eq "x@y" and type eq "work"]`, `(mail=x@y)`, "mail"},
		{false, `emails[type eq "work" and primary eq true]`, `(scimEmails=*"primary":true*"type":"work"*)`, "scimemails,mail"},
		{false, `emails[type eq "home"]`, `(scimEmails=*"type":"home"*)`, "scimemails,mail"},
		{false, `emails.value eq "x@y"`, `(|(scimEmails=*"value":"x@y"*)(mail=x@y))`, "scimemails,mail"},
		{false, `emails co "@example.com"`, `(|(scimEmails=*"value":"*@example.com*"})(mail=*@example.com*))`, "scimemails,mail"},
		{false, `emails.value co "}"`, `(|(scimEmails=*"value":"*}*"})(mail=*}*))`, "scimemails,mail"},
		{false, `addresses.type co "o"`, `(|(scimAddresses=*"type":"*o*"})(street=*)(l=*)(st=*)(postalCode=*))`, "scimaddresses,street,l,st,postalcode"},
		{false, `emails ew ".com"`, `(|(scimEmails=*"value":"*.com"})(mail=*.com))`, "scimemails,mail"},
		{false, `emails pr`, `(|(scimEmails=*)(mail=*))`, "scimemails,mail"},
		{false, `emails[primary eq true]`, `(scimEmails=*"primary":true*)`, "scimemails,mail"},
		{false, `emails[display sw "B" and primary eq false]`, `(scimEmails=*"display":"B*"primary":false*)`, "scimemails,mail"},
		{false, `emails[type eq "a" or type eq "b"]`, `(|(scimEmails=*"type":"a"*)(scimEmails=*"type":"b"*))`, "scimemails,mail"},
		{false, `emails[value eq "a\"*)(uid=*"]`, `(|(scimEmails=*"value":"a\5c"\2a\29\28uid=\2a"*)(mail=a"\2a\29\28uid=\2a))`, "scimemails,mail"},
		{false, `ims[type eq "xmpp"].value eq "bj"`, `(scimIms=*"type":"xmpp"*"value":"bj"*)`, "scimims"},
		{false, `ims[type eq "xmpp" and value eq "bj"]`, `(scimIms=*"type":"xmpp"*"value":"bj"*)`, "scimims"},
		{false, `addresses[type eq "work" and locality eq "Oslo"]`, `(l=Oslo)`, "l"},
		{false, `addresses.type ew "rk"`, `(|(scimAddresses=*"type":"*rk"})(street=*)(l=*)(st=*)(postalCode=*))`, "scimaddresses,street,l,st,postalcode"},
		{false, `nickName eq "bj"`, `(scimNickName=bj)`, "scimnickname"},
		// Extensions.
		{false, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "x"`, `(departmentNumber=x)`, "departmentnumber"},
		{false, `department eq "x"`, `(departmentNumber=x)`, "departmentnumber"},
		{false, `URN:IETF:params:scim:schemas:extension:enterprise:2.0:user:employeeNumber pr`, `(employeeNumber=*)`, "employeenumber"},
		// References.
		{false, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "boss"`, `(manager=uid=boss,ou=People,dc=example,dc=com)`, "manager"},
		{false, `manager.value eq "nobody"`, nothing, ""},
		{false, `manager eq "boss"`, `(manager=uid=boss,ou=People,dc=example,dc=com)`, "manager"},
		{false, `manager.value ne "boss"`, `(&(manager=*)(!(manager=uid=boss,ou=People,dc=example,dc=com)))`, "manager"},
		{false, `manager pr`, `(manager=*)`, "manager"},
		{false, `groups.value eq "g1"`, `(memberOf=cn=a\5c2Cb \28x\2a\29,ou=Groups,dc=example,dc=com)`, "memberof"},
		{false, `groups.value eq "u1"`, nothing, ""},
		{true, `members[value eq "u1"]`, `(member=uid=u1,ou=People,dc=example,dc=com)`, "member"},
		{true, `members.value eq "g1" or members.value eq "u1"`, `(|(member=cn=a\5c2Cb \28x\2a\29,ou=Groups,dc=example,dc=com)(member=uid=u1,ou=People,dc=example,dc=com))`, "member"},
		{true, `displayName eq "Admins" and members[value eq "nobody"]`, nothing, ""},
		{true, `displayName eq "Admins" or members[value eq "nobody"]`, `(cn=Admins)`, "cn"},
		{true, `meta.resourceType eq "Group"`, `(objectClass=*)`, ""},
		{true, `meta.resourceType eq "User"`, nothing, ""},
		// meta dates.
		{false, `meta.lastModified gt "2011-05-13T04:42:34Z"`, `(&(modifyTimestamp>=20110513044234Z)(!(modifyTimestamp=20110513044234Z)))`, "modifytimestamp"},
		{false, `meta.created ge "2011-05-13T06:42:34+02:00"`, `(createTimestamp>=20110513044234Z)`, "createtimestamp"},
		{false, `meta.created ge "2011-05-13T04:42:34.5Z"`, `(createTimestamp>=20110513044235Z)`, "createtimestamp"},
		{false, `meta.created lt "2011-05-13T04:42:34.5Z"`, `(createTimestamp<=20110513044234Z)`, "createtimestamp"},
		{false, `meta.created eq "2011-05-13T04:42:34.5Z"`, nothing, ""},
		// Injection attempts come out escaped.
		{false, `userName eq "*)(uid=*"`, `(uid=\2a\29\28uid=\2a)`, "uid"},
		{false, `userName eq "a\\b"`, `(uid=a\5cb)`, "uid"},
		{false, `userName eq "a\u0000b"`, `(uid=a\00b)`, "uid"},
		{false, `userName eq "x)(|(objectClass=*)"`, `(uid=x\29\28|\28objectClass=\2a\29)`, "uid"},
		{false, `userName co "*"`, `(uid=*\2a*)`, "uid"},
		{false, `userName sw "("`, `(uid=\28*)`, "uid"},
		{false, `userName eq "é\u0007"`, `(uid=é\07)`, "uid"},
	}
	for _, tt := range tests {
		m := users
		if tt.group {
			m = groups
		}
		f, err := parseWithControls(tt.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.in, err)
			continue
		}
		got, err := TranslateFilter(context.Background(), f, m, &fakeRefs{})
		if tt.want == "" {
			if err == nil {
				t.Errorf("%s: got %s, want an error", tt.in, got.Filter)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if s := got.Filter.String(); s != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.in, s, tt.want)
		}
		if a := strings.Join(got.Attributes, ","); a != tt.attrs {
			t.Errorf("%s: attributes %q, want %q", tt.in, a, tt.attrs)
		}
		if _, err := ldapfilter.Parse(got.Filter.String()); err != nil {
			t.Errorf("%s: output %s does not parse: %v", tt.in, got.Filter, err)
		}
	}
}

// TestTranslateFilterTyped covers mappings of a complex attribute by type
// selector alone, without a json mapping beside them.
func TestTranslateFilterTyped(t *testing.T) {
	m := DefaultUserMapping("ou=People,dc=example,dc=com")
	m.Attrs = slices.DeleteFunc(m.Attrs, func(a *AttrMapping) bool { return a.KindName == "json" })
	users := compiled(t, m, CoreUserURN)
	const nothing = "(!(objectClass=*))"
	tests := []struct {
		in    string
		want  string
		attrs string // comma-separated
	}{
		{`emails[type eq "work"].value eq "x@y"`, `(mail=x@y)`, "mail"},
		{`emails[type eq "work" and value eq "x@y"]`, `(mail=x@y)`, "mail"},
		{`emails[type eq "home"]`, nothing, ""},
		{`emails[type eq "home"].value eq "x"`, nothing, ""},
		{`emails[type eq "WORK"]`, `(mail=*)`, "mail"},
		{`emails[type ne "work"]`, nothing, ""},
		{`emails.value eq "x@y"`, `(mail=x@y)`, "mail"},
		{`emails eq "x@y"`, `(mail=x@y)`, "mail"},
		{`emails co "@example.com"`, `(mail=*@example.com*)`, "mail"},
		{`emails pr`, `(mail=*)`, "mail"},
		{`emails.type eq "work"`, `(mail=*)`, "mail"},
		{`emails[value ne "x"]`, `(&(mail=*)(!(mail=x)))`, "mail"},
		{`phoneNumbers.value eq "123"`, `(|(telephoneNumber=123)(mobile=123))`, "telephonenumber,mobile"},
		{`phoneNumbers[type eq "mobile"].value sw "+1"`, `(mobile=+1*)`, "mobile"},
		{`phoneNumbers pr`, `(|(telephoneNumber=*)(mobile=*))`, "telephonenumber,mobile"},
		{`phoneNumbers[type eq "work" or type eq "mobile"]`, `(|(telephoneNumber=*)(mobile=*))`, "telephonenumber,mobile"},
		{`phoneNumbers[not (type eq "work")]`, `(mobile=*)`, "mobile"},
	}
	for _, tt := range tests {
		f, err := resource.ParseFilter(tt.in)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", tt.in, err)
		}
		got, err := TranslateFilter(context.Background(), f, users, &fakeRefs{})
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if s := got.Filter.String(); s != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.in, s, tt.want)
		}
		if a := strings.Join(got.Attributes, ","); a != tt.attrs {
			t.Errorf("%s: attributes %q, want %q", tt.in, a, tt.attrs)
		}
	}
}

// parseWithControls parses a filter whose string values may hold control
// characters as \u escapes, which the SCIM parser rejects: escaping them
// in the LDAP filter is tested on an expression built as if it had not.
func parseWithControls(in string) (filter.Expression, error) {
	ctl := regexp.MustCompile(`\\u00[01][0-9a-fA-F]`)
	if !ctl.MatchString(in) {
		return resource.ParseFilter(in)
	}
	var vals []string
	plain := ctl.ReplaceAllStringFunc(in, func(esc string) string {
		n, _ := strconv.ParseUint(esc[2:], 16, 8)
		vals = append(vals, string(rune(n)))
		return fmt.Sprintf("CTL%d", len(vals)-1)
	})
	e, err := resource.ParseFilter(plain)
	if err != nil {
		return nil, err
	}
	if x, ok := e.(*filter.AttributeExpression); ok {
		if v, ok := x.CompareValue.(string); ok {
			for i, c := range vals {
				v = strings.ReplaceAll(v, fmt.Sprintf("CTL%d", i), c)
			}
			x.CompareValue = v
		}
	}
	return e, nil
}

func TestTranslateFilterErrors(t *testing.T) {
	users := compiled(t, DefaultUserMapping("ou=People,dc=example,dc=com"), CoreUserURN)
	tests := []struct{ in, detail string }{
		{`nope eq "x"`, `unknown attribute "nope"`},
		{`name.nope eq "x"`, `unknown attribute "name.nope"`},
		{`userName.x eq "x"`, `unknown attribute "userName.x"`},
		{`nickName.x eq "x"`, `unknown attribute "nickName.x"`},
		{`emails[value gt "x"]`, `can be filtered with eq, sw and pr only`},
		{`emails[display co "x"]`, `can be filtered with eq, sw and pr only`},
		{`photos[value eq "https://x"]`, `is case-exact`},
		{`emails[not (type eq "work")]`, `not cannot be used`},
		{`emails[type eq "a" and (value eq "x" or value eq "y")]`, `or can join`},
		{`emails[value eq "x" and value sw "y"]`, `is tested twice`},
		{`emails[primary eq "true"]`, `is a boolean`},
		{`urn:x:y:department eq "x"`, `unknown attribute "urn:x:y:department"`},
		{`password eq "x"`, `attribute "password" cannot be used in a filter`},
		{`password pr`, `attribute "password" cannot be used in a filter`},
		{`userName eq 5`, `"userName" is a string: compare it with a string in double quotes`},
		{`userName eq true`, `"userName" is a string`},
		{`userName eq null`, `"userName": comparing with null is not supported`},
		{`active eq "true"`, `"active" is a boolean: compare it with true or false`},
		{`active gt false`, `"active" is a boolean: use eq or ne, not gt`},
		{`manager.value co "b"`, `is a reference: use eq, ne or pr, not co`},
		{`manager.value eq 3`, `is a string`},
		{`meta.created eq "yesterday"`, `is a date-time`},
		{`meta.created co "2011"`, `needs a string attribute`},
		{`meta.version eq "x"`, `filtering on "meta.version" is not supported`},
		{`emails[nope eq "x"]`, `unknown attribute "emails.nope"`},
		{`emails[type.x eq "x"]`, `name a sub-attribute`},
		{`emails[type eq 1]`, `is a string`},
		{`userName[value eq "x"]`, `has no sub-attributes to filter on`},
		{`members[value eq "x"]`, `unknown attribute "members"`},
	}
	for _, tt := range tests {
		f, err := resource.ParseFilter(tt.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.in, err)
			continue
		}
		_, err = TranslateFilter(context.Background(), f, users, &fakeRefs{})
		var e *resource.Error
		if !errors.As(err, &e) || e.Status != 400 || e.ScimType != resource.ScimInvalidFilter || !strings.Contains(e.Detail, tt.detail) {
			t.Errorf("%s: error %v, want invalidFilter containing %s", tt.in, err, tt.detail)
		}
	}
}

func TestTranslateFilterRefs(t *testing.T) {
	users := compiled(t, DefaultUserMapping("ou=People,dc=example,dc=com"), CoreUserURN)
	f, _ := resource.ParseFilter(`manager.value eq "boss" or manager.value eq "boss" or groups.value eq "boss"`)
	refs := &fakeRefs{}
	got, err := TranslateFilter(context.Background(), f, users, refs)
	if err != nil {
		t.Fatal(err)
	}
	// One lookup per (types, id); groups only resolve Group ids.
	if refs.calls != 2 {
		t.Errorf("resolver called %d times, want 2", refs.calls)
	}
	if want := `(|(manager=uid=boss,ou=People,dc=example,dc=com)(manager=uid=boss,ou=People,dc=example,dc=com))`; got.Filter.String() != want {
		t.Errorf("got %s, want %s", got.Filter, want)
	}
	boom := errors.New("directory down")
	if _, err := TranslateFilter(context.Background(), f, users, &fakeRefs{err: boom}); !errors.Is(err, boom) {
		t.Errorf("resolver error: got %v", err)
	}
	if _, err := TranslateFilter(context.Background(), f, users, nil); err == nil {
		t.Errorf("nil resolver: no error")
	}
}

func TestTranslateFilterAmbiguous(t *testing.T) {
	m := DefaultUserMapping("ou=People,dc=example,dc=com")
	m.Attrs = append(m.Attrs, &AttrMapping{SCIM: "urn:example:ext:1.0:User:department", LDAP: "ou"})
	m = compiled(t, m, CoreUserURN)
	f, _ := resource.ParseFilter(`department eq "x"`)
	_, err := TranslateFilter(context.Background(), f, m, &fakeRefs{})
	if err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("got %v, want ambiguous", err)
	}
	f, _ = resource.ParseFilter(`urn:example:ext:1.0:User:department eq "x"`)
	got, err := TranslateFilter(context.Background(), f, m, &fakeRefs{})
	if err != nil || got.Filter.String() != "(ou=x)" {
		t.Errorf("qualified: %v %v", got, err)
	}
}

func TestTranslateFilterDepth(t *testing.T) {
	users := compiled(t, DefaultUserMapping("ou=People,dc=example,dc=com"), CoreUserURN)
	// Each level adds a Not and an Or in LDAP: 32 SCIM levels exceed
	// LDAP's 64 and are refused rather than producing an unparsable filter.
	deep := func(n int) string {
		return strings.Repeat(`not (title pr or `, n) + "title pr" + strings.Repeat(")", n)
	}
	for _, c := range []struct {
		n  int
		ok bool
	}{{20, true}, {32, false}} {
		f, err := resource.ParseFilter(deep(c.n))
		if err != nil {
			t.Fatal(err)
		}
		got, err := TranslateFilter(context.Background(), f, users, &fakeRefs{})
		if c.ok != (err == nil) {
			t.Errorf("depth %d: %v", c.n, err)
		}
		if err == nil {
			if _, err := ldapfilter.Parse(got.Filter.String()); err != nil {
				t.Errorf("depth %d: %v", c.n, err)
			}
		}
	}
}

func TestTranslateFilterAttributesDistinct(t *testing.T) {
	users := compiled(t, DefaultUserMapping("ou=People,dc=example,dc=com"), CoreUserURN)
	f, _ := resource.ParseFilter(`userName eq "a" or USERNAME eq "b" or emails.value pr or id eq "x"`)
	got, err := TranslateFilter(context.Background(), f, users, &fakeRefs{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"uid", "scimemails", "mail"}; !reflect.DeepEqual(got.Attributes, want) {
		t.Errorf("attributes %q, want %q", got.Attributes, want)
	}
}

func FuzzTranslateFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "bjensen"`, `emails[type eq "work"].value eq "x@y"`, `active eq true and not (title pr)`,
		`manager.value eq "boss"`, `groups.value ne "g1"`, `meta.lastModified gt "2011-05-13T04:42:34Z"`,
		`phoneNumbers[type eq "mobile" or value sw "+1"]`, `userName eq "*)(uid=*"`, `id ge "a" and name.givenName lt "z"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department co "\u0000"`,
	} {
		f.Add(s)
	}
	users := compiled(f, DefaultUserMapping("ou=People,dc=example,dc=com"), CoreUserURN)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := resource.ParseFilter(s)
		if err != nil {
			return
		}
		got, err := TranslateFilter(context.Background(), e, users, &fakeRefs{})
		if err != nil {
			var re *resource.Error
			if !errors.As(err, &re) || re.ScimType != resource.ScimInvalidFilter {
				t.Fatalf("TranslateFilter(%q): %v is not invalidFilter", s, err)
			}
			return
		}
		text := got.Filter.String()
		if _, err := ldapfilter.Parse(text); err != nil {
			t.Fatalf("TranslateFilter(%q) = %s, which does not parse: %v", s, text, err)
		}
		for _, a := range got.Attributes {
			if a != strings.ToLower(a) || a == "entryuuid" {
				t.Fatalf("TranslateFilter(%q): attribute %q", s, a)
			}
		}
	})
}

// valuesEntry is an entry for ldapfilter.Match: lowercased attribute
// names to values.
type valuesEntry map[string][]string

func (e valuesEntry) DN() string                  { return "uid=x,ou=People,dc=example,dc=com" }
func (e valuesEntry) Values(attr string) []string { return e[attr] }

// TestJSONFilterMatches: a filter on a json mapping, matched against the
// canonical JSON of one element, matches exactly when the element does.
func TestJSONFilterMatches(t *testing.T) {
	users := compiled(t, DefaultUserMapping("ou=People,dc=example,dc=com"), CoreUserURN)
	tests := []struct {
		filter string
		elem   string // one element of emails
		want   bool
	}{
		{`emails.value co "}"`, `{"type":"home","value":"a@x"}`, false},
		{`emails.value co "}"`, `{"type":"home","value":"a}b@x"}`, true},
		{`emails.value co "\""`, `{"type":"home","value":"a@x"}`, false},
		{`emails.value co "\""`, `{"type":"home","value":"a\"b@x"}`, true},
		{`emails.value co "@x"`, `{"type":"home","value":"a@x"}`, true},
		{`emails.value co "home"`, `{"type":"home","value":"a@x"}`, false},
		{`emails.value co ""`, `{"type":"home","value":"a@x"}`, true},
		{`emails.value ew "}"`, `{"type":"home","value":"a@x"}`, false},
		{`emails.value ew "@X"`, `{"type":"home","value":"a@x"}`, true},
		{`emails.value sw "a"`, `{"type":"home","value":"a@x"}`, true},
	}
	for _, tt := range tests {
		f, err := resource.ParseFilter(tt.filter)
		if err != nil {
			t.Fatalf("%s: %v", tt.filter, err)
		}
		got, err := TranslateFilter(context.Background(), f, users, &fakeRefs{})
		if err != nil {
			t.Errorf("%s: %v", tt.filter, err)
			continue
		}
		el, err := jsonElement(users.Attrs[0], decodeJSON(t, tt.elem))
		if err != nil {
			t.Fatal(err)
		}
		e := valuesEntry{"scimemails": {el}}
		if m := ldapfilter.Match(got.Filter, e) == ldapfilter.True; m != tt.want {
			t.Errorf("%s (%s) on %s: match %v, want %v", tt.filter, got.Filter, el, m, tt.want)
		}
	}
}
