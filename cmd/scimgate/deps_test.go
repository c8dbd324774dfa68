package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestBinaryDeps checks what the production binary links: nothing a test
// helper pulls in (package testing comes with the slapd runner's StartT,
// which lives in slapdtest for that reason).
func TestBinaryDeps(t *testing.T) {
	// The test binary was built by `go test` from this GOROOT, on this machine.
	//lint:ignore SA1019 the go command that built this test is the one to ask
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.CommandContext(t.Context(), goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, tc := range []struct {
		pkg    string
		linked bool
	}{
		{"testing", false},
		{"github.com/scimgate/scimgate/ldapbackend/slapd/slapdtest", false},
		{"github.com/scimgate/scimgate/ldapbackend/dirsrv/dirsrvtest", false},
		{"github.com/scimgate/scimgate/ldapbackend/internal/childproc/childproctest", false},
		{"github.com/scimgate/scimgate/ldapbackend/slapd", true}, // make run
	} {
		if got := slices.Contains(deps, tc.pkg); got != tc.linked {
			t.Errorf("the binary links %s: %v, want %v", tc.pkg, got, tc.linked)
		}
	}
}
