package ldapbackend

import (
	"strings"
	"testing"
)

func TestFoldKey(t *testing.T) {
	words := []string{"", "a", "A", "Kelvin", "\u212aelvin", "kelvin", "σ", "ς", "Σ", "ß", "SS", "ss", "\xff", "\xfe",
		"49A58062-7AA4-1041-8A02-BBD9C1D81A89", "49a58062-7aa4-1041-8a02-bbd9c1d81a89", "İ", "i", "ı", "I"}
	for _, a := range words {
		for _, b := range words {
			if got, want := foldKey(a) == foldKey(b), strings.EqualFold(a, b); got != want {
				t.Errorf("foldKey(%q) == foldKey(%q) is %v, EqualFold %v", a, b, got, want)
			}
		}
	}
}
