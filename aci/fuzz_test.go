package aci

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseACI checks that the parser never panics, that every error has a
// position, and that whatever parses prints to text that parses to the
// same tree and prints the same again.
func FuzzParseACI(f *testing.F) {
	for _, tc := range validACIs {
		f.Add(tc.src)
	}
	for _, tc := range invalidACIs {
		f.Add(tc.src)
	}
	// Seed from the ACI corpus as well.
	files, _ := filepath.Glob("../testdata/aci/*/tree.ldif")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "aci: "); ok {
				f.Add(v)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		a, err := Parse(src)
		if err != nil {
			for _, e := range err.(ErrorList) {
				if e.Pos.Line < 1 || e.Pos.Col < 1 {
					t.Fatalf("error without a position: %v", e)
				}
			}
			return
		}
		text := a.String()
		b, err := Parse(text)
		if err != nil {
			t.Fatalf("canonical text does not parse:\n%s\n%v", text, err)
		}
		if !sameTree(a, b) || b.String() != text {
			t.Fatalf("round trip changed the ACI:\n%s\n%s", text, b.String())
		}
		// Compiling must not panic either.
		_, _ = Compile(a, "dc=example,dc=com", false)
	})
}
