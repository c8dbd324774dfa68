package scimldap

import (
	"testing"
	"time"
)

// TestParseGeneralizedTimeZ: the fast path agrees with time.Parse on the
// directories' own form and refuses what time.Parse refuses.
func TestParseGeneralizedTimeZ(t *testing.T) {
	for _, v := range []string{
		"20261122084733Z", "19700101000000Z", "20240229235959Z", "99991231235959Z",
		"20230229000000Z", "20261131000000Z", "20261322000000Z", "20261100000000Z", "20261122246000Z",
		"20261122086000Z", "20261122080060Z", "2026112208473Z", "202611220847330Z", "20261122084733z",
		"2026-1122084733Z", "20261122084733+", "",
	} {
		want, werr := time.Parse("20060102150405Z", v)
		got, ok := parseGeneralizedTimeZ(v)
		if ok != (werr == nil) || ok && !got.Equal(want) {
			t.Errorf("%q: fast path %v %v, time.Parse %v %v", v, got, ok, want, werr)
		}
	}
	if got, err := ParseGeneralizedTime("20261122084733.123456Z"); err != nil || got.Nanosecond() != 123456000 {
		t.Errorf("fractional seconds still parse: %v %v", got, err)
	}
}

// TestFoldKey: two strings share a fold key exactly when strings.EqualFold
// holds for them.
