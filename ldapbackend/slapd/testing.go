package slapd

import (
	"errors"
	"testing"
	"time"
)

// StartT starts a server for a test and stops it in t.Cleanup. It fails the test when slapd
// cannot start; when slapd is not installed the message says to run `make test`, which
// installs it. It never skips: integration tests must run everywhere, CI included.
func StartT(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Logger == nil && testing.Verbose() {
		o.Logger = testWriter{t}
	}
	start := time.Now()
	s, err := Start(t.Context(), o)
	if d := time.Since(start); d > 2*time.Second {
		t.Logf("slapd took %v to start (a busy machine?)", d.Round(time.Millisecond))
	}
	if errors.Is(err, ErrNotInstalled) {
		t.Fatalf("%v\nrun `make test` (or scripts/ensure-deps.sh) to install slapd and ldap-utils", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		start := time.Now()
		defer func() {
			if d := time.Since(start); d > 2*time.Second {
				t.Logf("slapd took %v to stop: %s", d.Round(time.Millisecond), s.Output())
			}
		}()
		if err := s.Stop(); err != nil {
			t.Errorf("stopping slapd: %v", err)
		}
	})
	return s
}

// testWriter sends slapd's output to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("slapd: %s", b)
	return len(b), nil
}
