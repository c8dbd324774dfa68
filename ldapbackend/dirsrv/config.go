package dirsrv

import (
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
)

// layout is where an instance keeps its files, all under Dir.
type layout struct {
	dir                                          string
	config, schema, db, log, run, lock, tmp, bak string
	ldif, dse, pid, errorsLog                    string
}

func newLayout(dir string) layout {
	j := func(p ...string) string { return filepath.Join(append([]string{dir}, p...)...) }
	return layout{
		dir: dir, config: j("config"), schema: j("config", "schema"), db: j("db"), log: j("log"),
		run: j("run"), lock: j("lock"), tmp: j("tmp"), bak: j("bak"), ldif: j("ldif"),
		dse: j("config", "dse.ldif"), pid: j("run", "ns-slapd.pid"), errorsLog: j("log", "errors"),
	}
}

func (l layout) mkdirs() error {
	for _, d := range []string{l.config, l.schema, l.db, l.log, l.run, l.lock, l.tmp, l.bak, l.ldif} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// dseRecord is one entry of dse.ldif as unfolded lines; lines[0] is the dn line.
type dseRecord struct{ lines []string }

func (r *dseRecord) dn() string { return strings.TrimSpace(strings.TrimPrefix(r.lines[0], "dn:")) }

// set replaces every value of attr with values (appending them if attr was absent).
func (r *dseRecord) set(attr string, values ...string) {
	prefix := strings.ToLower(attr) + ":"
	var out []string
	done := false
	for _, l := range r.lines {
		if strings.HasPrefix(strings.ToLower(l), prefix) {
			if !done {
				for _, v := range values {
					out = append(out, attr+": "+v)
				}
				done = true
			}
			continue
		}
		out = append(out, l)
	}
	if !done {
		for _, v := range values {
			out = append(out, attr+": "+v)
		}
	}
	r.lines = out
}

// add appends a value of attr unless present (compared case-insensitively).
func (r *dseRecord) add(attr, value string) {
	for _, l := range r.lines {
		if strings.EqualFold(l, attr+": "+value) {
			return
		}
	}
	r.lines = append(r.lines, attr+": "+value)
}

// parseDSE splits dse.ldif text into unfolded records; comments are dropped.
func parseDSE(text string) []*dseRecord {
	var recs []*dseRecord
	var cur *dseRecord
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		switch {
		case strings.TrimSpace(l) == "":
			cur = nil
		case strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, " ") && cur != nil:
			cur.lines[len(cur.lines)-1] += l[1:]
		case cur == nil:
			cur = &dseRecord{lines: []string{l}}
			recs = append(recs, cur)
		default:
			cur.lines = append(cur.lines, l)
		}
	}
	return recs
}

func renderDSE(recs []*dseRecord) string {
	var b strings.Builder
	for _, r := range recs {
		for _, l := range r.lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// normDN lower-cases a DN and removes blanks after commas, for comparing config DNs.
func normDN(dn string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(dn)), ", ", ",")
}

func findRecord(recs []*dseRecord, dn string) *dseRecord {
	for _, r := range recs {
		if normDN(r.dn()) == normDN(dn) {
			return r
		}
	}
	return nil
}

var placeholder = regexp.MustCompile(`%[a-z_]+%`)

// newDSE renders 389's own template-dse.ldif (what dscreate writes) for an instance in l,
// with the changes scimgate needs:
//   - listen on host:port only, no LDAPI socket; root password stored as SSHA512;
//   - no size or look-through limit (the gateway pages through large directories);
//   - a small fixed database cache instead of 389's autosizing to a share of the machine;
//   - the USN (entryusn), MemberOf and Referential Integrity plugins enabled (the entryUUID
//     plugin is enabled by default), referential integrity also for manager.
//
// The backend for the suffix is added online after the first start (adding it to
// dse.ldif beforehand makes ns-slapd 2.3 exit silently).
func newDSE(o Options, l layout, host, port string) (string, error) {
	tpl, err := os.ReadFile(filepath.Join(o.DataDir, "template-dse.ldif"))
	if err != nil {
		return "", err
	}
	localUser := "root"
	if u, err := user.Current(); err == nil {
		localUser = u.Username
	}
	vars := map[string]string{
		"schema_dir": l.schema, "lock_dir": l.lock, "tmp_dir": l.tmp, "cert_dir": l.config,
		"ldif_dir": l.ldif, "bak_dir": l.bak, "run_dir": l.run, "inst_dir": l.dir,
		"log_dir": l.log, "fqdn": "localhost", "ds_port": port, "ds_user": localUser,
		"rootdn": AdminDN, "ds_passwd": hashSSHA512(o.AdminPassword), "ldapi_enabled": "off",
		"ldapi": filepath.Join(l.run, "ldapi"), "ldapi_autobind": "off", "ds_suffix": o.Suffix,
		"config_dir": l.config, "db_dir": l.db, "db_home_dir": l.db, "db_lib": "bdb",
		"instance_name": "scimgate",
	}
	var unknown []string
	text := placeholder.ReplaceAllStringFunc(string(tpl), func(m string) string {
		if v, ok := vars[strings.Trim(m, "%")]; ok {
			return v
		}
		unknown = append(unknown, m)
		return m
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("%s: unknown placeholders %v (389 version not supported?)", filepath.Join(o.DataDir, "template-dse.ldif"), unknown)
	}
	recs := parseDSE(text)
	patch := func(dn string, f func(r *dseRecord)) {
		if err != nil {
			return
		}
		r := findRecord(recs, dn)
		if r == nil {
			err = fmt.Errorf("template-dse.ldif has no entry %q (389 version not supported?)", dn)
			return
		}
		f(r)
	}
	patch("cn=config", func(r *dseRecord) {
		r.set("nsslapd-listenhost", host)
		r.set("nsslapd-rootpwstoragescheme", "SSHA512")
		r.set("nsslapd-sizelimit", "-1")
	})
	patch("cn=config,cn=ldbm database,cn=plugins,cn=config", func(r *dseRecord) {
		r.set("nsslapd-lookthroughlimit", "-1")
		r.set("nsslapd-cache-autosize", "0")
		r.set("nsslapd-dbcachesize", "33554432")
	})
	for _, dn := range []string{
		"cn=USN,cn=plugins,cn=config",
		"cn=MemberOf Plugin,cn=plugins,cn=config",
		"cn=referential integrity postoperation,cn=plugins,cn=config",
	} {
		patch(dn, func(r *dseRecord) { r.set("nsslapd-pluginEnabled", "on") })
	}
	patch("cn=referential integrity postoperation,cn=plugins,cn=config", func(r *dseRecord) {
		r.add("referint-membership-attr", "manager")
	})
	if err != nil {
		return "", err
	}
	// 389 adds the entryUUID plugins to dse.ldif at its first start but only loads them at
	// the next one: declare them here so that entries get entryUUID from the start.
	for _, p := range []struct{ cn, path, init, typ string }{
		{"entryuuid_syntax", "libentryuuid-syntax-plugin", "entryuuid_syntax_plugin_init", "syntax"},
		{"entryuuid", "libentryuuid-plugin", "entryuuid_plugin_init", "betxnpreoperation"},
	} {
		dn := "cn=" + p.cn + ",cn=plugins,cn=config"
		if findRecord(recs, dn) != nil {
			continue
		}
		recs = append(recs, &dseRecord{lines: []string{
			"dn: " + dn, "objectClass: top", "objectClass: nsSlapdPlugin", "cn: " + p.cn,
			"nsslapd-pluginPath: " + p.path, "nsslapd-pluginInitfunc: " + p.init,
			"nsslapd-pluginType: " + p.typ, "nsslapd-pluginEnabled: on", "nsslapd-pluginId: " + p.cn,
			"nsslapd-pluginVersion: none", "nsslapd-pluginVendor: 389 Project",
			"nsslapd-pluginDescription: " + p.cn,
		}})
	}
	// dscreate adds the VLV control's feature entry, whose ACI lets every
	// bound user send the control; template-dse.ldif lacks it, and without
	// it only the Directory Manager may.
	if vlv := "oid=2.16.840.1.113730.3.4.9,cn=features,cn=config"; findRecord(recs, vlv) == nil {
		recs = append(recs, &dseRecord{lines: []string{
			"dn: " + vlv, "objectClass: top", "objectClass: directoryServerFeature",
			"oid: 2.16.840.1.113730.3.4.9", "cn: VLV Request Control",
			`aci: (targetattr != "aci")(version 3.0; acl "VLV Request Control"; allow( read, search, compare, proxy ) userdn = "ldap:///all";)`,
		}})
	}
	return renderDSE(recs), nil
}

// rewriteDSE sets the listen address and root password of an existing instance's dse.ldif.
func rewriteDSE(o Options, l layout, host, port string) error {
	src, err := os.ReadFile(l.dse)
	if err != nil {
		return err
	}
	recs := parseDSE(string(src))
	r := findRecord(recs, "cn=config")
	if r == nil {
		return fmt.Errorf("%s has no cn=config entry", l.dse)
	}
	r.set("nsslapd-port", port)
	r.set("nsslapd-listenhost", host)
	r.set("nsslapd-rootpwstoragescheme", "SSHA512")
	r.set("nsslapd-rootpw", hashSSHA512(o.AdminPassword))
	return os.WriteFile(l.dse, []byte(renderDSE(recs)), 0o600)
}

// hashSSHA512 returns password in 389's {SSHA512} form: base64(SHA-512(password+salt)+salt).
func hashSSHA512(password string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	h := sha512.Sum512(append([]byte(password), salt...))
	return "{SSHA512}" + base64.StdEncoding.EncodeToString(append(h[:], salt...))
}

// backendIndexes are the indexes backendLDIF adds: attribute and type.
var backendIndexes = [][2]string{{"scimgateAci", "pres"}, {"entryUUID", "eq"}, {"scimExternalId", "eq"}, {"scimEmails", "sub"}, {"scimPhoneNumbers", "sub"}}

// backendLDIF is what Start adds online to a new instance: the userRoot backend for the
// suffix, its mapping-tree entry, and the indexes scimgate's searches need beyond 389's
// defaults: presence of scimgateAci (the ACI store reads (scimgateAci=*) under the suffix:
// unindexed, 389's default look-through limit of 5,000 makes that search fail in a larger
// directory), equality of entryUUID (every lookup by SCIM id) and of scimExternalId
// (Entra's externalId eq), and substrings of scimEmails and scimPhoneNumbers (a filter on
// emails.value reads the JSON copy beside mail).
func backendLDIF(suffix string) string {
	backend := "cn=" + BackendName + ",cn=ldbm database,cn=plugins,cn=config"
	out := "dn: " + backend + "\n" +
		"objectClass: top\nobjectClass: extensibleObject\nobjectClass: nsBackendInstance\n" +
		"cn: " + BackendName + "\nnsslapd-suffix: " + suffix + "\n\n" +
		"dn: cn=" + escapeRDNValue(suffix) + ",cn=mapping tree,cn=config\n" +
		"objectClass: top\nobjectClass: extensibleObject\nobjectClass: nsMappingTree\n" +
		"cn: " + suffix + "\nnsslapd-state: backend\nnsslapd-backend: " + BackendName + "\n"
	for _, ix := range backendIndexes {
		out += "\ndn: cn=" + ix[0] + ",cn=index," + backend + "\n" +
			"objectClass: top\nobjectClass: nsIndex\ncn: " + ix[0] + "\nnsSystemIndex: false\nnsIndexType: " + ix[1] + "\n"
	}
	return out
}

// escapeRDNValue escapes a value for use in an RFC 4514 RDN (hex escapes for = , + " \ < > ;).
func escapeRDNValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '=', ',', '+', '"', '\\', '<', '>', ';', '#':
			fmt.Fprintf(&b, "\\%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// listenHost returns the host of addr to put in nsslapd-listenhost ("" means all
// interfaces) and the host to dial (127.0.0.1 for an unspecified one).
func listenHost(addr string) (listen, dial, port string, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", "", err
	}
	listen, dial = host, host
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		dial = "127.0.0.1"
		if host == "" {
			listen = "0.0.0.0"
		}
	}
	return listen, dial, port, nil
}
