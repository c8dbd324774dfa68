package slapd

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Defaults used where Options leaves a field empty.
const (
	DefaultSuffix       = "dc=example,dc=com"
	DefaultSystemSchema = "/etc/ldap/schema"
	DefaultModuleDir    = "/usr/lib/ldap"
	// DefaultMaxSize is the mdb map size: room for well over 100,000 users.
	DefaultMaxSize = 1 << 30
	// DefaultStartTimeout bounds Start and Resume when the context has no earlier deadline.
	DefaultStartTimeout = 15 * time.Second
	// DefaultStopTimeout is how long Stop waits after SIGTERM before it sends SIGKILL.
	DefaultStopTimeout = 5 * time.Second
	// DefaultSortLimit is the value of sssvlv-max and sssvlv-maxperconn: the number of
	// sort/VLV/paged-results searches slapd keeps open, in all and per connection. slapd's own
	// default of 5 is far too low for a gateway that multiplexes clients over a pool.
	DefaultSortLimit = 64
	// MaxServerID is the largest Options.ServerID slapd accepts.
	MaxServerID = 4095
	// maxPeers is the most Options.Peers a server can have: syncrepl rids have three digits.
	maxPeers = 999
)

// Overlay names a slapd overlay that Start can configure.
type Overlay string

// The overlays Start knows how to configure.
const (
	// OverlayMemberOf maintains memberOf on the members of groupOfNames entries for online
	// writes. Start also derives memberOf for seed entries, since slapadd runs no overlay.
	OverlayMemberOf Overlay = "memberof"
	// OverlayRefint keeps member, manager, owner and seeAlso values pointing at entries that
	// are renamed or deleted.
	OverlayRefint Overlay = "refint"
	// OverlaySSSVLV provides server-side sorting (RFC 2891) and virtual list views, and takes
	// over simple paged results (RFC 2696).
	OverlaySSSVLV Overlay = "sssvlv"
	// OverlaySyncProv provides the content synchronisation provider (RFC 4533), so a client
	// can be told of changes (such as ACI edits) with a refreshAndPersist search.
	OverlaySyncProv Overlay = "syncprov"
	// OverlayAccessLog records every write in a second database, cn=accesslog, readable by
	// the admin and the service account. Not in DefaultOverlays.
	OverlayAccessLog Overlay = "accesslog"
)

// AccessLogSuffix is the suffix of the database OverlayAccessLog writes to.
const AccessLogSuffix = "cn=accesslog"

// PasswordScheme names how slapd stores the userPassword values clients write, in slapd's
// own notation.
type PasswordScheme string

// The password schemes Start knows how to configure.
const (
	// PasswordArgon2 hashes with Argon2 (the argon2 module, see Argon2Params).
	PasswordArgon2 PasswordScheme = "{ARGON2}"
	// PasswordSSHA hashes with salted SHA-1, built into slapd: for a slapd without the argon2
	// module.
	PasswordSSHA PasswordScheme = "{SSHA}"
	// PasswordClearText stores passwords as written and configures neither ppolicy nor
	// password-hash.
	PasswordClearText PasswordScheme = "{CLEARTEXT}"
)

// DefaultPasswordHash is the scheme used when Options.PasswordHash is empty: the strongest
// one Debian's slapd 2.5 can verify.
const DefaultPasswordHash = PasswordArgon2

// Argon2Params are the argon2 module's parameters (memory in KiB, iterations, threads):
// OWASP's minimum memory and iterations for Argon2id (slapd 2.5 computes Argon2i), tens of
// milliseconds a hash or bind. The module's own defaults (4 MiB) are weaker.
const Argon2Params = "m=19456 t=2 p=1"

// DefaultOverlays returns the overlays used when Options.Overlays is nil.
func DefaultOverlays() []Overlay {
	return []Overlay{OverlayMemberOf, OverlayRefint, OverlaySSSVLV, OverlaySyncProv}
}

// Options configures a slapd instance. The zero value is usable: an empty directory with the
// default suffix, in a temporary working directory, on a free loopback port.
type Options struct {
	// Dir is the working directory (configuration, database, pid file). "" means a new
	// temporary directory that Stop removes. A given Dir is kept; if it already holds a
	// database from an earlier run, Start reuses it and loads no seed unless Fresh is set.
	Dir string
	// Fresh removes an existing database in Dir before Start loads the seeds.
	Fresh bool
	// Addr is the host:port slapd listens on. "" means 127.0.0.1 with a free port.
	Addr string
	// Suffix is the naming context of the database; default DefaultSuffix.
	Suffix string
	// AdminDN and AdminPassword are slapd's rootdn and rootpw. Defaults: cn=admin,<Suffix>
	// and a random password. The gateway must not use them: slapd's rootdn bypasses every
	// access rule and the gateway binds as ServiceDN. Replication binds to the peers as
	// AdminDN with AdminPassword: with Peers, both must be the same on every provider, and
	// AdminPassword must be given.
	AdminDN, AdminPassword string
	// ServiceDN is the account the gateway binds as, named in slapd's access rules (see
	// DefaultAccess). Default cn=scimgate,ou=Services,<Suffix>, as in testdata/demo.
	ServiceDN string
	// Access replaces the database's access directives when not nil: each element is one
	// complete "access to ..." directive. Default DefaultAccess(ServiceDN).
	Access []string
	// SeedLDIF lists LDIF files loaded in order with slapadd before slapd starts. Entries
	// only (no changetype). Relative paths are resolved against the current directory.
	// Values of entryUUID, entryCSN and the other operational attributes that a file holds
	// are kept, as in a file written by Server.SaveLDIF; slapadd adds the missing ones.
	SeedLDIF []string
	// SeedCache, when set, is a directory where Start keeps the database slapadd made from
	// SeedLDIF, and copies it from the next time instead of loading the seeds again (a
	// million users take slapadd minutes; the copy, seconds). A database is kept under a
	// digest of what made it: the configuration slapd runs with, the seeds' contents and
	// the slapadd program. Nothing there is ever removed: delete the directory to reclaim it.
	SeedCache string
	// ServerID identifies this server in a multi-provider replica set (1 to MaxServerID),
	// written as slapd's serverID: it is part of every change sequence number (entryCSN) the
	// server makes, so every provider of a set needs its own. 0 means none, for a server that
	// does not replicate.
	ServerID int
	// Peers lists the ldap:// URLs of the other providers of a multi-provider replica set
	// (N-way multi-master): for each, slapd runs a syncrepl consumer in refreshAndPersist
	// mode that binds as AdminDN and retries every second while the peer is down, and
	// multiprovider is turned on, so that a write on any provider reaches every other. Peers
	// needs ServerID and an explicit AdminPassword, and adds OverlaySyncProv to Overlays if
	// it is missing. Only one provider of a set may be seeded from SeedLDIF; the others start
	// from its SaveLDIF, so that entryUUIDs (SCIM ids) agree. StartProviders does all this.
	//
	// With Peers, syncprov saves the contextCSN after every write (not every 100): slapd
	// trusts the saved value at start, so a provider killed with SIGKILL would otherwise
	// come back claiming less than it has, and a write it had not yet sent would never
	// reach its peers. A provider connected to a live peer takes about a second to stop or
	// halt: slapd waits for its consumer's request timeout. Providers.Stop stops a set all
	// at once.
	Peers []string
	// Overlays lists the overlays to configure. nil means DefaultOverlays(); an empty
	// non-nil slice means none.
	Overlays []Overlay
	// PasswordHash is the scheme slapd hashes clear-text userPassword values with, in every
	// add and modify whoever writes (the ppolicy overlay with ppolicy_hash_cleartext, no
	// policy entry needed) and in the Password Modify operation (password-hash). "" means
	// DefaultPasswordHash. Seeds are loaded as written: slapadd runs no overlay.
	PasswordHash PasswordScheme
	// SortLimit sets sssvlv-max and sssvlv-maxperconn; 0 means DefaultSortLimit.
	SortLimit int
	// MaxSize is the mdb map size in bytes; 0 means DefaultMaxSize.
	MaxSize int64
	// SchemaDir is the directory holding scimgate.schema. "" means testdata/schema of the
	// module, found by walking up from the current directory (and from this package's source).
	SchemaDir string
	// ExtraSchema lists further slapd schema files, included after scimgate.schema.
	ExtraSchema []string
	// SystemSchemaDir holds core.schema and friends; default DefaultSystemSchema.
	SystemSchemaDir string
	// ModuleDir holds slapd's loadable modules; default DefaultModuleDir.
	ModuleDir string
	// Slapd, Slapadd and Slapcat are the programs to run; default found in PATH, then
	// /usr/sbin. Slapcat is needed by SaveLDIF only.
	Slapd, Slapadd, Slapcat string
	// Logger receives slapd's and slapadd's output (slapd runs with -d 32768, which prints
	// only what is always logged, such as fatal start-up errors). Optional.
	Logger io.Writer
	// StartTimeout bounds Start and Resume when ctx has no earlier deadline; default
	// DefaultStartTimeout.
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL; default
	// DefaultStopTimeout.
	StopTimeout time.Duration
}

// withDefaults returns a copy of o with every empty field filled in, or every problem found.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	if o.Suffix == "" {
		o.Suffix = DefaultSuffix
	}
	if _, err := ldap.ParseDN(o.Suffix); err != nil {
		errs = append(errs, fmt.Errorf("suffix %q: %w", o.Suffix, err))
	}
	if o.AdminDN == "" {
		o.AdminDN = "cn=admin," + o.Suffix
	}
	errs = append(errs, o.checkReplication()...)
	if o.AdminPassword == "" {
		o.AdminPassword = randomPassword()
	}
	if o.ServiceDN == "" {
		o.ServiceDN = "cn=scimgate,ou=Services," + o.Suffix
	}
	for name, dn := range map[string]string{"admin DN": o.AdminDN, "service DN": o.ServiceDN} {
		if _, err := ldap.ParseDN(dn); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", name, dn, err))
		}
	}
	if o.Access == nil {
		o.Access = DefaultAccess(o.ServiceDN)
	}
	if o.Overlays == nil {
		o.Overlays = DefaultOverlays()
	}
	if len(o.Peers) > 0 && !o.has(OverlaySyncProv) {
		// The peers' consumers read this server through syncprov. A copy: the caller's
		// slice must not change.
		o.Overlays = append(slices.Clip(o.Overlays), OverlaySyncProv)
	}
	seen := map[Overlay]bool{}
	for _, ov := range o.Overlays {
		switch ov {
		case OverlayMemberOf, OverlayRefint, OverlaySSSVLV, OverlaySyncProv, OverlayAccessLog:
		default:
			errs = append(errs, fmt.Errorf("unknown overlay %q", ov))
		}
		if seen[ov] {
			errs = append(errs, fmt.Errorf("overlay %q listed twice", ov))
		}
		seen[ov] = true
	}
	if o.PasswordHash == "" {
		o.PasswordHash = DefaultPasswordHash
	}
	switch o.PasswordHash {
	case PasswordArgon2, PasswordSSHA, PasswordClearText:
	default:
		errs = append(errs, fmt.Errorf("unknown password scheme %q", o.PasswordHash))
	}
	if o.SortLimit == 0 {
		o.SortLimit = DefaultSortLimit
	}
	if o.SortLimit < 0 {
		errs = append(errs, fmt.Errorf("sort limit %d is negative", o.SortLimit))
	}
	if o.MaxSize == 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxSize < 0 {
		errs = append(errs, fmt.Errorf("max size %d is negative", o.MaxSize))
	}
	if o.Addr != "" {
		if _, _, err := net.SplitHostPort(o.Addr); err != nil {
			errs = append(errs, fmt.Errorf("address %q: %w", o.Addr, err))
		}
	}
	if o.SystemSchemaDir == "" {
		o.SystemSchemaDir = DefaultSystemSchema
	}
	if o.ModuleDir == "" {
		o.ModuleDir = DefaultModuleDir
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = DefaultStopTimeout
	}
	if o.SchemaDir == "" {
		dir, err := findSchemaDir()
		if err != nil {
			errs = append(errs, err)
		}
		o.SchemaDir = dir
	}
	if o.Slapd == "" {
		o.Slapd = FindProgram("slapd")
	}
	if o.Slapadd == "" {
		o.Slapadd = FindProgram("slapadd")
	}
	if o.Slapcat == "" {
		o.Slapcat = FindProgram("slapcat")
	}
	return o, errors.Join(errs...)
}

// checkReplication reports every problem with ServerID and Peers, before defaults are set.
func (o Options) checkReplication() []error {
	var errs []error
	if o.ServerID < 0 || o.ServerID > MaxServerID {
		errs = append(errs, fmt.Errorf("server ID %d is not between 1 and %d (or 0 for none)", o.ServerID, MaxServerID))
	}
	if len(o.Peers) == 0 {
		return errs
	}
	if o.ServerID == 0 {
		errs = append(errs, errors.New("peers need a server ID"))
	}
	if o.AdminPassword == "" {
		errs = append(errs, errors.New("peers need an admin password, the same on every provider"))
	}
	if len(o.Peers) > maxPeers {
		errs = append(errs, fmt.Errorf("%d peers: at most %d", len(o.Peers), maxPeers))
	}
	seen := map[string]bool{}
	for _, p := range o.Peers {
		u, err := url.Parse(p)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("peer %q: %w", p, err))
		case (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "":
			errs = append(errs, fmt.Errorf("peer %q: want ldap://host:port or ldaps://host:port", p))
		}
		if seen[p] {
			errs = append(errs, fmt.Errorf("peer %q listed twice", p))
		}
		seen[p] = true
	}
	return errs
}

func (o Options) has(ov Overlay) bool {
	for _, x := range o.Overlays {
		if x == ov {
			return true
		}
	}
	return false
}

// DefaultAccess returns the access directives Start uses unless Options.Access is set.
//
// The gateway authorizes every SCIM operation with its own ACI engine and binds as the
// service account, so slapd's rules only keep the demo directory sane: the service account
// may write everything (passwords included), a bound user may read everything but passwords
// and change their own password, and anonymous clients may only bind. The rootdn is not
// subject to them. The root DSE and the subschema entry stay readable by anyone (they are
// outside the database). With the Proxied Authorization control, operations run as the
// proxied user and therefore get read access only, unless Options.Access says otherwise.
func DefaultAccess(serviceDN string) []string {
	svc := quoteConf(serviceDN)
	return []string{
		"access to attrs=userPassword\n\tby dn.exact=" + svc + " write\n\tby self write\n\tby anonymous auth\n\tby * none",
		"access to *\n\tby dn.exact=" + svc + " write\n\tby users read\n\tby anonymous auth\n\tby * none",
	}
}

func randomPassword() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// quoteConf quotes a value for slapd.conf, which splits lines on blanks and honours double
// quotes and backslash escapes.
func quoteConf(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
