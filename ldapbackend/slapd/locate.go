package slapd

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// schemaFile is the scimgate schema's file name inside SchemaDir.
const schemaFile = "scimgate.schema"

// findSchemaDir looks for testdata/schema/scimgate.schema in the current directory and its
// parents, then in the parents of this package's source directory (for binaries run from
// elsewhere in a checkout).
func findSchemaDir() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			cand := filepath.Join(dir, "testdata", "schema")
			if _, err := os.Stat(filepath.Join(cand, schemaFile)); err == nil {
				return cand, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("cannot find testdata/schema/%s above %q; set Options.SchemaDir", schemaFile, starts)
}

// findProgram returns the path of an OpenLDAP program: from PATH, else from /usr/sbin (which
// is often missing from a non-root PATH). It returns the bare name when neither has it, so
// that the error from running it names the program.
func findProgram(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return name
}

// ErrNotInstalled is returned (wrapped) by Start when slapd or slapadd cannot be found.
var ErrNotInstalled = errors.New("OpenLDAP slapd is not installed (run scripts/ensure-deps.sh, or `make test` which does)")

// checkPrograms reports ErrNotInstalled when a program cannot be run.
func checkPrograms(paths ...string) error {
	for _, p := range paths {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrNotInstalled, p, err)
		}
	}
	return nil
}
