package childproc

import (
	"errors"
	"io"
	"testing"
	"time"
)

// TestServer describes a kind of server to StartT.
type TestServer struct {
	Name         string        // in messages, e.g. "389 Directory Server"
	Program      string        // prefixes the program's output in the test log
	Slow         time.Duration // a start or stop that takes longer is logged
	NotInstalled error         // what start returns (wrapped) when the server is not installed
	Install      string        // what `make test` installs, e.g. "389-ds-base"
}

// StartT calls start for a test and stops the server in t.Cleanup. start gets a logger
// that writes to the test log when testing.Verbose, or nil. StartT fails the test when
// start fails; when the server is not installed the message says to run `make test`.
func StartT[S interface {
	Stop() error
	Output() string
}](t testing.TB, ts TestServer, start func(logger io.Writer) (S, error)) S {
	t.Helper()
	var logger io.Writer
	if testing.Verbose() {
		logger = testWriter{t, ts.Program}
	}
	begin := time.Now()
	s, err := start(logger)
	if d := time.Since(begin); d > ts.Slow {
		t.Logf("%s took %v to start (a busy machine?)", ts.Name, d.Round(time.Millisecond))
	}
	if errors.Is(err, ts.NotInstalled) {
		t.Fatalf("%v\nrun `make test` (or scripts/ensure-deps.sh) to install %s", err, ts.Install)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		begin := time.Now()
		defer func() {
			if d := time.Since(begin); d > ts.Slow {
				t.Logf("%s took %v to stop: %s", ts.Name, d.Round(time.Millisecond), s.Output())
			}
		}()
		if err := s.Stop(); err != nil {
			t.Errorf("stopping %s: %v", ts.Name, err)
		}
	})
	return s
}

// testWriter sends a program's output to the test log.
type testWriter struct {
	t       testing.TB
	program string
}

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s: %s", w.program, b)
	return len(b), nil
}
