package dirsrv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/scimgate/scimgate/ldapbackend/slapd"
)

// schemaRel is scimgate's 389 schema inside the module.
const schemaRel = "testdata/schema/389/99scimgate.ldif"

// findSchemaFile finds testdata/schema/389/99scimgate.ldif in the module.
func findSchemaFile() (string, error) {
	f, err := slapd.FindInModule(schemaRel)
	if err != nil {
		return "", fmt.Errorf("%w; set Options.SchemaLDIF", err)
	}
	return f, nil
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
