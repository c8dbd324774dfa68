package ldapfilter

import (
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics and that every filter it
// accepts prints to text that parses back to the same tree and prints the
// same again. Matching the tree against an entry must not panic either.
func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	for _, tt := range parseErrorTests {
		f.Add(tt.in)
	}
	for _, tt := range matchTests {
		f.Add(tt.filter)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tree, err := Parse(s)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("Parse(%q) error %T, want *SyntaxError", s, err)
			}
			return
		}
		text := tree.String()
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", s, text, err)
		}
		if !reflect.DeepEqual(again, tree) {
			t.Fatalf("Parse(%q) = %#v\nParse(%q) = %#v", s, tree, text, again)
		}
		if text2 := again.String(); text2 != text {
			t.Fatalf("String not stable: %q then %q", text, text2)
		}
		Match(tree, testEntry)
		Attributes(tree)
	})
}

// FuzzNormalizeDN checks that NormalizeDN never panics, is idempotent, and
// that SplitDN, ParentDN and IsDescendant agree on what it produces.
func FuzzNormalizeDN(f *testing.F) {
	for _, tt := range normalizeDNTests {
		f.Add(tt.in)
	}
	for _, tt := range normalizeDNErrorTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormalizeDN(s)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("NormalizeDN(%q) error %T, want *SyntaxError", s, err)
			}
			return
		}
		n2, err := NormalizeDN(n)
		if err != nil || n2 != n {
			t.Fatalf("NormalizeDN(%q) = %q, but NormalizeDN(%q) = %q, %v", s, n, n, n2, err)
		}
		rdns := SplitDN(n)
		if n == "" {
			if len(rdns) != 0 {
				t.Fatalf("SplitDN(%q) = %q", n, rdns)
			}
			return
		}
		parent := ParentDN(n)
		if !IsDescendant(n, parent) {
			t.Fatalf("IsDescendant(%q, its parent %q) = false", n, parent)
		}
		if len(rdns) > 1 && parent == n {
			t.Fatalf("ParentDN(%q) = itself", n)
		}
		for _, rdn := range rdns {
			if r, err := NormalizeDN(rdn); err != nil || r != rdn {
				t.Fatalf("RDN %q of %q normalizes to %q, %v", rdn, n, r, err)
			}
		}
	})
}
