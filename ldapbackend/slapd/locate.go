package slapd

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// schemaFile is the scimgate schema's file name inside SchemaDir.
const schemaFile = "scimgate.schema"

// findSchemaDir returns the directory holding testdata/schema/scimgate.schema.
func findSchemaDir() (string, error) {
	f, err := FindInModule("testdata/schema/" + schemaFile)
	if err != nil {
		return "", fmt.Errorf("%w; set Options.SchemaDir", err)
	}
	return filepath.Dir(f), nil
}

// FindInModule looks for rel (a slash-separated path such as
// testdata/schema/scimgate.schema) in the current directory and its parents,
// then in the parents of this package's source directory (for binaries run
// from elsewhere in a checkout). The 389 harness (package dirsrv) uses it too.
func FindInModule(rel string) (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			cand := filepath.Join(dir, filepath.FromSlash(rel))
			if _, err := os.Stat(cand); err == nil {
				return cand, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("cannot find %s above %q", rel, starts)
}

// FindProgram returns the path of a server program: from PATH, else from
// /usr/sbin (often missing from a non-root PATH). It returns the bare name
// when neither has it, so that the error from running it names the program.
func FindProgram(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return name
}

// ErrNotInstalled is returned (wrapped) by Start when slapd, slapadd or a module the
// configuration loads cannot be found.
var ErrNotInstalled = errors.New("OpenLDAP slapd is not installed in full (run scripts/ensure-deps.sh, or `make test` which does)")

// checkModules reports ErrNotInstalled, naming every module of mods that dir lacks and what
// it is for, where slapd would only say that a moduleload failed.
func checkModules(dir string, mods []module) error {
	var missing []string
	for _, m := range mods {
		if !fileExists(filepath.Join(dir, m.name+".so")) && !fileExists(filepath.Join(dir, m.name+".la")) {
			missing = append(missing, fmt.Sprintf("%s (%s)", m.name, m.purpose))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s lacks the modules %s", ErrNotInstalled, dir, strings.Join(missing, ", "))
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// checkPrograms reports ErrNotInstalled when a program cannot be run.
func checkPrograms(paths ...string) error {
	for _, p := range paths {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrNotInstalled, p, err)
		}
	}
	return nil
}
