package dirsrv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// schemaRel is scimgate's 389 schema inside the module.
const schemaRel = "testdata/schema/389/99scimgate.ldif"

// findSchemaFile looks for testdata/schema/389/99scimgate.ldif in the current directory and
// its parents, then in the parents of this package's source directory.
func findSchemaFile() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			cand := filepath.Join(dir, filepath.FromSlash(schemaRel))
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
	return "", fmt.Errorf("cannot find %s above %q; set Options.SchemaLDIF", schemaRel, starts)
}

// findProgram returns a program's path from PATH, else /usr/sbin, else the bare name.
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

// ErrNotInstalled is returned (wrapped) by Start when ns-slapd or 389's templates are missing.
var ErrNotInstalled = errors.New("389 Directory Server is not installed (run scripts/ensure-deps.sh, or `make test` which does)")

func checkInstalled(o Options) error {
	if _, err := exec.LookPath(o.NsSlapd); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNotInstalled, o.NsSlapd, err)
	}
	for _, f := range []string{
		filepath.Join(o.DataDir, "template-dse.ldif"),
		filepath.Join(o.ConfigDir, "slapd-collations.conf"),
		filepath.Join(o.ConfigDir, "certmap.conf"),
	} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%w: %v", ErrNotInstalled, err)
		}
	}
	return nil
}
