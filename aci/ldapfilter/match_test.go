package ldapfilter

import (
	"testing"
)

// testEntry is the entry most match tests run against.
var testEntry = NewMapEntry("UID=JDoe, OU=People, DC=Example, DC=Com", map[string][]string{
	"objectClass":      {"top", "Person", "organizationalPerson", "inetOrgPerson"},
	"uid":              {"jdoe"},
	"cn":               {"John  Doe", "Johnny"},
	"sn":               {"Doe"},
	"mail":             {"John.Doe@Example.com"},
	"manager":          {"uid=Boss, ou=People, dc=example, dc=com"},
	"memberOf":         {"CN=Admins,OU=Groups,DC=Example,DC=Com", "cn=broken,,dc=x"},
	"uidNumber":        {"1000"},
	"gidNumber":        {"-0042"},
	"shadowMax":        {"not-a-number"},
	"createTimestamp":  {"20240115103000Z"},
	"modifyTimestamp":  {"202402011200+0100"},
	"pwdReset":         {"TRUE"},
	"hasSubordinates":  {"maybe"},
	"userPassword":     {"{SSHA}AbC"},
	"aci":              {`(targetattr="*")(version 3.0; acl "A"; allow(read) userdn="ldap:///anyone";)`},
	"description":      {"  Leading   and trailing  "},
	"displayName;lang": {"ignored options key"},
})

// matchTests give filters with their result against testEntry.
var matchTests = []struct {
	filter string
	want   Result
}{
	// Case-ignore strings.
	{"(objectClass=inetOrgPerson)", True},
	{"(OBJECTCLASS=INETORGPERSON)", True},
	{"(objectClass;x-opt=person)", True},
	{"(objectClass=device)", False},
	{"(uid=JDOE)", True},
	{"(cn=john doe)", True},
	{"(cn= JOHN   DOE )", True},
	{"(cn=johndoe)", False},
	{"(description=leading and trailing)", True},
	{"(sn>=d)", True},
	{"(sn>=doe)", True},
	{"(sn>=e)", False},
	{"(sn<=DOE)", True},
	{"(sn<=c)", False},
	{"(cn~=johndoe)", True},
	{"(cn~=J O H N N Y)", True},
	{"(cn~=jane)", False},
	{"(missing=x)", False},
	{"(missing>=x)", False},
	{"(displayName=ignored options key)", True},
	// Substrings.
	{"(cn=jo*)", True},
	{"(cn=JOHN *)", True},
	{"(cn=johnn*)", True},
	{"(cn=*doe)", True},
	{"(cn=*n d*)", True},
	{"(cn=*N  D*)", True},
	{"(cn=j*h*n*y)", True},
	{"(cn=j*y*h)", False},
	{"(cn=john*doe*)", True},
	{"(cn=john*doe*x)", False},
	{"(cn=johnny*y)", False},
	{"(mail=*@example.com)", True},
	{"(cn=**)", True},
	{"(missing=a*)", False},
	// Present.
	{"(mail=*)", True},
	{"(MAIL=*)", True},
	{"(missing=*)", False},
	{"(entryDN=*)", True},
	// DN syntax.
	{"(manager=uid=boss,ou=people,dc=example,dc=com)", True},
	{"(manager=UID = BOSS , OU = PEOPLE, DC=EXAMPLE,DC=COM)", True},
	{"(manager=uid=boss,dc=example,dc=com)", False},
	{"(memberOf=cn=admins,ou=groups,dc=example,dc=com)", True},
	{"(memberOf=CN=BROKEN,,DC=X)", True}, // invalid DNs compare case-folded
	{"(memberOf=cn=broken, ,dc=x)", False},
	{"(manager=*ou=people*)", True},
	{"(manager=UID=BOSS,*)", True},
	{"(manager=*OU=PEOPLE, DC=*)", False}, // the normalized form has no space
	{"(manager>=a)", Undefined},
	{"(manager<=a)", Undefined},
	{"(entryDN=uid=jdoe,ou=people,dc=example,dc=com)", True},
	{"(entryDN=uid=other,ou=people,dc=example,dc=com)", False},
	{"(manager~=uid=boss, ou=people, dc=example, dc=com)", True},
	// Integer syntax.
	{"(uidNumber=1000)", True},
	{"(uidNumber=01000)", True},
	{"(uidNumber= 1000 )", True},
	{"(uidNumber=999)", False},
	{"(uidNumber>=999)", True},
	{"(uidNumber>=1000)", True},
	{"(uidNumber>=10000)", False},
	{"(uidNumber<=99999999999999999999999)", True},
	{"(uidNumber<=-5)", False},
	{"(gidNumber=-42)", True},
	{"(gidNumber<=-41)", True},
	{"(gidNumber>=-41)", False},
	{"(gidNumber>=-43)", True},
	{"(uidNumber=abc)", Undefined},
	{"(uidNumber>=1e3)", Undefined},
	{"(uidNumber=)", Undefined},
	{"(uidNumber=-)", Undefined},
	{"(uidNumber=1*)", Undefined},
	{"(shadowMax=1)", Undefined}, // the stored value is not an integer
	{"(missingNumber=1)", False},
	{"(gidNumber=*)", True},
	// Generalized time.
	{"(createTimestamp=20240115103000Z)", True},
	{"(createTimestamp=20240115113000+0100)", True},
	{"(createTimestamp=202401151030Z)", True},
	{"(createTimestamp=2024011510.5Z)", True},
	{"(createTimestamp=20240115103000.000Z)", True},
	{"(createTimestamp>=20240101000000Z)", True},
	{"(createTimestamp>=20240115103001Z)", False},
	{"(createTimestamp<=20240115103000Z)", True},
	{"(createTimestamp<=2024011510+01)", False},
	{"(createTimestamp<=2024011510-01)", True},
	{"(modifyTimestamp=20240201110000Z)", True},
	{"(createTimestamp>=yesterday)", Undefined},
	{"(createTimestamp>=20241301000000Z)", Undefined},
	{"(createTimestamp>=20240230000000Z)", Undefined},
	{"(createTimestamp>=20240115103000)", Undefined},
	{"(createTimestamp=2024*)", Undefined},
	// Boolean.
	{"(pwdReset=TRUE)", True},
	{"(pwdReset=true)", True},
	{"(pwdReset=FALSE)", False},
	{"(pwdReset=yes)", Undefined},
	{"(pwdReset>=TRUE)", Undefined},
	{"(hasSubordinates=TRUE)", Undefined}, // the stored value is not a boolean
	// Octet string and case-exact.
	{"(userPassword={SSHA}AbC)", True},
	{"(userPassword={ssha}abc)", False},
	{"(userPassword={SSHA}*)", True},
	{"(userPassword~={ssha}abc)", False},
	{`(aci=*acl "A"*)`, True},
	{`(aci=*acl "a"*)`, False},
	// Extensible.
	{"(cn:caseExactMatch:=John Doe)", True},
	{"(cn:caseExactMatch:=john doe)", False},
	{"(cn:2.5.13.5:=Johnny)", True},
	{"(cn:caseIgnoreMatch:=JOHNNY)", True},
	{"(cn:2.5.13.2:=JOHNNY)", True},
	{"(cn:=JOHNNY)", True},
	{"(manager:distinguishedNameMatch:=UID=boss, OU=people,DC=example,DC=com)", True},
	{"(manager:2.5.13.1:=uid=boss,dc=com)", False},
	{"(uidNumber:integerMatch:=01000)", True},
	{"(uidNumber:integerMatch:=x)", Undefined},
	{"(pwdReset:booleanMatch:=true)", True},
	{"(cn:unknownMatch:=x)", Undefined},
	{"(cn:1.2.3.4:=x)", Undefined},
	{"(ou:dn:=people)", True},
	{"(ou:dn:=PEOPLE)", True},
	{"(ou:=people)", False},
	{"(ou:dn:caseExactMatch:=People)", True},
	{"(ou:dn:caseExactMatch:=people)", False},
	{"(dc:dn:=example)", True},
	{"(dc:dn:=org)", False},
	{"(:dn:caseIgnoreMatch:=example)", True},
	{"(:dn:caseIgnoreMatch:=nowhere)", Undefined},
	{"(:caseIgnoreMatch:=jdoe)", Undefined},
	// Three-valued logic.
	{"(&(uid=jdoe)(objectClass=person))", True},
	{"(&(uid=jdoe)(uid=other))", False},
	{"(&(uid=jdoe)(uidNumber=x))", Undefined},
	{"(&(uid=other)(uidNumber=x))", False},
	{"(&(uidNumber=x)(uid=other))", False},
	{"(|(uid=other)(uidNumber=x))", Undefined},
	{"(|(uidNumber=x)(uid=jdoe))", True},
	{"(|(uid=other)(sn=other))", False},
	{"(!(uid=jdoe))", False},
	{"(!(uid=other))", True},
	{"(!(uidNumber=x))", Undefined},
	{"(!(!(uidNumber=x)))", Undefined},
	{"(&)", True},
	{"(|)", False},
	{"(!(&))", False},
	{"(!(|))", True},
	{"(&(&)(|(uidNumber=x)(&)))", True},
}

func TestMatch(t *testing.T) {
	for _, tt := range matchTests {
		f, err := Parse(tt.filter)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.filter, err)
			continue
		}
		if got := Match(f, testEntry); got != tt.want {
			t.Errorf("Match(%s) = %v, want %v", tt.filter, got, tt.want)
		}
		if got := Compile(f).Match(testEntry); got != tt.want {
			t.Errorf("Compile(%s).Match = %v, want %v", tt.filter, got, tt.want)
		}
	}
}

// TestMatchMemberDN checks DN-aware group membership as the ACI engine
// uses it: spacing and case differ between the stored and asserted DNs.
func TestMatchMemberDN(t *testing.T) {
	group := NewMapEntry("cn=admins,ou=groups,dc=example,dc=com", map[string][]string{
		"member":       {"uid=jdoe,ou=people,dc=example,dc=com", "UID=ASmith , OU=People,DC=Example,DC=Com"},
		"uniqueMember": {"uid=x\\2C y,dc=com", "cn=A+sn=B,dc=com"},
	})
	tests := []struct {
		filter string
		want   Result
	}{
		{"(member=uid=jdoe,ou=people,dc=example,dc=com)", True},
		{"(member=UID=JDOE, OU=PEOPLE, DC=EXAMPLE, DC=COM)", True},
		{"(member=uid=asmith,ou=people,dc=example,dc=com)", True},
		{"(Member=uid = asmith , ou = people , dc = example , dc = com)", True},
		{"(member=uid=bob,ou=people,dc=example,dc=com)", False},
		{`(uniqueMember=uid=X\5c, Y,dc=com)`, True},
		{"(uniqueMember=sn=b+cn=a,dc=com)", True},
		{"(member=*uid=asmith*)", True},
		{"(!(member=uid=jdoe,ou=people,dc=example,dc=com))", False},
	}
	for _, tt := range tests {
		f, err := Parse(tt.filter)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.filter, err)
		}
		if got := Match(f, group); got != tt.want {
			t.Errorf("Match(%s) = %v, want %v", tt.filter, got, tt.want)
		}
	}
}

func TestMatchEntryDNFallback(t *testing.T) {
	stored := NewMapEntry("cn=a,dc=com", map[string][]string{"entryDN": {"cn=stored,dc=com"}})
	bare := NewMapEntry("cn=a,dc=com", nil)
	root := NewMapEntry("", nil)
	eq := Equality{Attr: "entryDN", Value: "CN=A,DC=COM"}
	if got := Match(eq, bare); got != True {
		t.Errorf("without stored entryDN: %v, want TRUE", got)
	}
	if got := Match(eq, stored); got != False {
		t.Errorf("with stored entryDN: %v, want FALSE", got)
	}
	if got := Match(Present{Attr: "entrydn"}, root); got != False {
		t.Errorf("root DSE entryDN=*: %v, want FALSE", got)
	}
}

func TestMatchNil(t *testing.T) {
	if got := Match(nil, testEntry); got != Undefined {
		t.Errorf("Match(nil) = %v, want UNDEFINED", got)
	}
	if got := Match(Not{}, testEntry); got != Undefined {
		t.Errorf("Match(Not{}) = %v, want UNDEFINED", got)
	}
	if got := Match((*And)(nil), testEntry); got != Undefined {
		t.Errorf("Match((*And)(nil)) = %v, want UNDEFINED", got)
	}
}

func TestSyntaxOf(t *testing.T) {
	tests := []struct {
		attr string
		want Syntax
	}{
		{"member", SyntaxDN},
		{"uniqueMember;binary", SyntaxDN},
		{"MemberOf", SyntaxDN},
		{"uidNumber", SyntaxInteger},
		{"modifyTimestamp", SyntaxGeneralizedTime},
		{"pwdReset", SyntaxBoolean},
		{"userPassword", SyntaxOctetString},
		{"ACI", SyntaxCaseExact},
		{"entryUUID", SyntaxCaseIgnore},
		{"objectClass", SyntaxCaseIgnore},
		{"anything", SyntaxCaseIgnore},
	}
	for _, tt := range tests {
		if got := SyntaxOf(tt.attr); got != tt.want {
			t.Errorf("SyntaxOf(%q) = %v, want %v", tt.attr, got, tt.want)
		}
	}
}

func TestMatchAllocs(t *testing.T) {
	tests := []string{
		"(&(objectClass=inetOrgPerson)(uid=jdoe))",
		"(cn=jo*do*)",
		"(manager=uid=boss,ou=people,dc=example,dc=com)",
		"(uidNumber>=1000)",
		"(createTimestamp<=20250101000000Z)",
	}
	for _, s := range tests {
		f, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		c := Compile(f)
		var e Entry = testEntry // boxed once, as a caller's entry would be
		if n := testing.AllocsPerRun(100, func() { c.Match(e) }); n != 0 {
			t.Errorf("Compile(%s).Match allocs = %v, want 0", s, n)
		}
	}
}
