// Package childproctest holds the test helper of package childproc: it is
// the only place the server runners touch package testing, so that the
// production binary, which runs slapd for `make run`, does not link it.
package childproctest

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/scimgate/scimgate/ldapbackend/internal/childproc"
)

// StartT calls start for a test and stops the server in t.Cleanup. start gets a logger
// that writes to the test log when testing.Verbose, or nil. StartT fails the test when
// start fails; when the server is not installed the message says to run `make test`.
func StartT[S interface {
	Stop() error
	Output() string
}](t testing.TB, ts childproc.TestServer, start func(logger io.Writer) (S, error)) S {
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
