package dirsrv

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/slapd"
)

// Defaults used where Options leaves a field empty.
const (
	DefaultSuffix = "dc=example,dc=com"
	// AdminDN is 389's root DN (nsslapd-rootdn). It bypasses every ACI.
	AdminDN = "cn=Directory Manager"
	// BackendName is the name of the ldbm backend that holds Suffix.
	BackendName = "userRoot"
	// DefaultStartTimeout bounds Start when the context has no earlier deadline.
	DefaultStartTimeout = 30 * time.Second
	// DefaultStopTimeout is how long Stop waits after SIGTERM before it sends SIGKILL.
	DefaultStopTimeout = 15 * time.Second
	// DefaultDataDir holds 389's templates (template-dse.ldif).
	DefaultDataDir = "/usr/share/dirsrv/data"
	// DefaultConfigDir holds 389's system-wide slapd-collations.conf and certmap.conf.
	DefaultConfigDir = "/etc/dirsrv/config"
)

// Options configures a 389 Directory Server instance. The zero value is usable: an empty
// suffix (no entries) in a temporary directory on a free loopback port.
type Options struct {
	// Dir is the instance directory (config/, db/, log/, run/...). "" means a new temporary
	// directory that Stop removes. A given Dir is created if missing and kept by Stop; if it
	// already holds an instance (config/dse.ldif) from an earlier Start, that instance is
	// started again with its data (listen address and admin password rewritten) and no seed
	// is loaded.
	Dir string
	// Addr is the host:port to listen on. "" means 127.0.0.1 with a free port.
	Addr string
	// Suffix is the naming context of the userRoot backend; default DefaultSuffix.
	Suffix string
	// AdminPassword is the password of AdminDN ("cn=Directory Manager"); default random.
	AdminPassword string
	// SeedLDIF lists LDIF files applied in order over LDAP, as the admin, once the server
	// runs (records without changetype are adds), so that the plugins (entryUUID, USN,
	// memberOf, referential integrity) process them. Relative paths are resolved against the
	// current directory.
	SeedLDIF []string
	// SchemaLDIF lists schema files copied into the instance's schema directory. nil means
	// testdata/schema/389/99scimgate.ldif of the module, found by walking up from the
	// current directory (and from this package's source); an empty non-nil slice means none.
	SchemaLDIF []string
	// Logger receives ns-slapd's standard output and error and, when start-up fails, the
	// tail of its errors log. Optional.
	Logger io.Writer
	// StartTimeout bounds Start when ctx has no earlier deadline; default DefaultStartTimeout.
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL; default
	// DefaultStopTimeout.
	StopTimeout time.Duration
	// NsSlapd is the server program; default found in PATH, then /usr/sbin.
	NsSlapd string
	// DataDir holds template-dse.ldif; default DefaultDataDir. ConfigDir holds
	// slapd-collations.conf and certmap.conf; default DefaultConfigDir.
	DataDir, ConfigDir string
}

func (o Options) withDefaults() (Options, error) {
	var errs []error
	if o.Suffix == "" {
		o.Suffix = DefaultSuffix
	}
	if _, err := ldap.ParseDN(o.Suffix); err != nil {
		errs = append(errs, fmt.Errorf("suffix %q: %w", o.Suffix, err))
	}
	if o.AdminPassword == "" {
		o.AdminPassword = randomPassword()
	}
	if o.Addr != "" {
		if _, _, err := net.SplitHostPort(o.Addr); err != nil {
			errs = append(errs, fmt.Errorf("address %q: %w", o.Addr, err))
		}
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = DefaultStopTimeout
	}
	if o.DataDir == "" {
		o.DataDir = DefaultDataDir
	}
	if o.ConfigDir == "" {
		o.ConfigDir = DefaultConfigDir
	}
	if o.NsSlapd == "" {
		o.NsSlapd = slapd.FindProgram("ns-slapd")
	}
	if o.SchemaLDIF == nil {
		f, err := findSchemaFile()
		if err != nil {
			errs = append(errs, err)
		}
		o.SchemaLDIF = []string{f}
	}
	return o, errors.Join(errs...)
}

func randomPassword() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
