package ldapfilter

import "testing"

const benchFilter = "(&(objectClass=inetOrgPerson)(|(uid=jdoe)(mail=j*@example.com))(!(pwdReset=TRUE))(memberOf=cn=admins,ou=groups,dc=example,dc=com))"

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchFilter); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkString(b *testing.B) {
	f, err := Parse(benchFilter)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = f.String()
	}
}

func BenchmarkMatch(b *testing.B) {
	f, err := Parse("(&(objectClass=inetOrgPerson)(uid=jdoe))")
	if err != nil {
		b.Fatal(err)
	}
	var e Entry = testEntry
	b.Run("compiled", func(b *testing.B) {
		c := Compile(f)
		b.ReportAllocs()
		for b.Loop() {
			if c.Match(e) != True {
				b.Fatal("no match")
			}
		}
	})
	b.Run("uncompiled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if Match(f, e) != True {
				b.Fatal("no match")
			}
		}
	})
}

func BenchmarkMatchMemberDN(b *testing.B) {
	c := Compile(Equality{Attr: "memberOf", Value: "cn=admins,ou=groups,dc=example,dc=com"})
	var e Entry = testEntry
	b.ReportAllocs()
	for b.Loop() {
		if c.Match(e) != True {
			b.Fatal("no match")
		}
	}
}

func BenchmarkNormalizeDN(b *testing.B) {
	b.Run("canonical", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = NormalizeDN("uid=jdoe,ou=people,dc=example,dc=com")
		}
	})
	b.Run("mixed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = NormalizeDN("UID=JDoe, OU=People, DC=Example, DC=Com")
		}
	})
	b.Run("multivalued", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = NormalizeDN(`uid=jdoe+cn=John\, Doe,ou=people,dc=example,dc=com`)
		}
	})
}
