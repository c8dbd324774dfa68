package dirsrv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// RequestTimeout is the per-request timeout set on connections returned by Conn and Bind.
const RequestTimeout = 30 * time.Second

// Conn returns a connection bound as the admin (cn=Directory Manager). ctx bounds dialing
// and binding; later requests time out after RequestTimeout. The caller closes it.
func (s *Server) Conn(ctx context.Context) (*ldap.Conn, error) {
	return s.Bind(ctx, s.AdminDN, s.AdminPassword)
}

// Bind returns a connection bound as dn with password, or an anonymous one when dn is "".
func (s *Server) Bind(ctx context.Context, dn, password string) (*ldap.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	conn, err := ldap.DialURL(s.URL, ldap.DialWithDialer(d))
	if err != nil {
		return nil, err
	}
	if dn == "" {
		conn.SetTimeout(RequestTimeout)
		return conn, nil
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	conn.SetTimeout(timeoutFor(ctx))
	err = conn.Bind(dn, password)
	if !stop() || err != nil {
		conn.Close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("bind as %s: %w", dn, err)
	}
	conn.SetTimeout(RequestTimeout)
	return conn, nil
}

func timeoutFor(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return max(time.Until(dl), time.Millisecond)
	}
	return RequestTimeout
}

// LDAPModify applies a change LDIF as the admin over LDAP, record by record, the way
// ldapmodify -a does: records without a changetype are adds; add, delete, modify (add,
// delete, replace, increment) and modrdn/moddn are supported. The plugins (memberOf,
// referential integrity, USN, entryUUID) see every write. It stops at the first failing
// record and names it; records applied before stay applied.
func (s *Server) LDAPModify(ctx context.Context, ldif string) error {
	recs, err := parseLDIF("ldif", ldif)
	if err != nil {
		return fmt.Errorf("dirsrv: LDAPModify: %w", err)
	}
	if err := s.apply(ctx, "ldif", recs); err != nil {
		return fmt.Errorf("dirsrv: LDAPModify: %w", err)
	}
	return nil
}

func (s *Server) apply(ctx context.Context, source string, recs []ldifRecord) error {
	if len(recs) == 0 {
		return nil
	}
	conn, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	for _, r := range recs {
		conn.SetTimeout(timeoutFor(ctx))
		if err := applyRecord(conn, r); err != nil {
			if ctx.Err() != nil {
				err = errors.Join(ctx.Err(), err)
			}
			op := r.changeType
			if op == "" {
				op = "add"
			}
			return fmt.Errorf("%s:%d: %s %q: %w", source, r.line, op, r.dn, err)
		}
	}
	return nil
}

func applyRecord(conn *ldap.Conn, r ldifRecord) error {
	switch r.changeType {
	case "", "add":
		req := ldap.NewAddRequest(r.dn, nil)
		var order []string
		vals := map[string][]string{}
		for _, a := range r.attrs {
			k := strings.ToLower(a.typ)
			if _, ok := vals[k]; !ok {
				order = append(order, a.typ)
			}
			vals[k] = append(vals[k], a.value)
		}
		for _, typ := range order {
			req.Attribute(typ, vals[strings.ToLower(typ)])
		}
		return conn.Add(req)
	case "delete":
		return conn.Del(ldap.NewDelRequest(r.dn, nil))
	case "modrdn", "moddn":
		return conn.ModifyDN(ldap.NewModifyDNRequest(r.dn, r.newRDN, r.deleteOld, r.newSup))
	case "modify":
		req := ldap.NewModifyRequest(r.dn, nil)
		for _, m := range r.mods {
			switch m.op {
			case "add":
				req.Add(m.typ, m.values)
			case "delete":
				req.Delete(m.typ, m.values)
			case "replace":
				req.Replace(m.typ, m.values)
			case "increment":
				if len(m.values) != 1 {
					return fmt.Errorf("increment of %s needs exactly one value", m.typ)
				}
				req.Increment(m.typ, m.values[0])
			}
		}
		return conn.Modify(req)
	}
	return fmt.Errorf("unsupported changetype %q", r.changeType)
}

// seedFile is one parsed seed LDIF.
type seedFile struct {
	name string
	recs []ldifRecord
}

func loadSeeds(paths []string) ([]seedFile, error) {
	var out []seedFile
	var errs []error
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		recs, err := parseLDIF(p, string(b))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, seedFile{p, recs})
	}
	return out, errors.Join(errs...)
}
