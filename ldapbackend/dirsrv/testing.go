package dirsrv

import (
	"errors"
	"testing"
	"time"
)

// StartT starts a server for a test and stops it in t.Cleanup. It fails the test when the
// server cannot start; when 389 Directory Server is not installed the message says to run
// `make test`, which installs it. It never skips: integration tests must run everywhere.
func StartT(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Logger == nil && testing.Verbose() {
		o.Logger = testWriter{t}
	}
	start := time.Now()
	s, err := Start(t.Context(), o)
	if d := time.Since(start); d > 5*time.Second {
		t.Logf("389 Directory Server took %v to start (a busy machine?)", d.Round(time.Millisecond))
	}
	if errors.Is(err, ErrNotInstalled) {
		t.Fatalf("%v\nrun `make test` (or scripts/ensure-deps.sh) to install 389-ds-base", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		start := time.Now()
		defer func() {
			if d := time.Since(start); d > 5*time.Second {
				t.Logf("389 Directory Server took %v to stop: %s", d.Round(time.Millisecond), s.Output())
			}
		}()
		if err := s.Stop(); err != nil {
			t.Errorf("stopping 389 Directory Server: %v", err)
		}
	})
	return s
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("ns-slapd: %s", b)
	return len(b), nil
}
