package slapd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// RequestTimeout is the per-request timeout set on connections returned by Conn and Bind.
const RequestTimeout = 30 * time.Second

// Conn returns a connection bound as the admin (rootdn). ctx bounds dialing and binding;
// later requests time out after RequestTimeout. The caller closes it.
func (s *Server) Conn(ctx context.Context) (*ldap.Conn, error) {
	return s.Bind(ctx, s.AdminDN, s.AdminPassword)
}

// Bind returns a connection bound as dn with password, or an anonymous one when dn is "".
// ctx bounds dialing and binding; later requests time out after RequestTimeout.
func (s *Server) Bind(ctx context.Context, dn, password string) (*ldap.Conn, error) {
	return BindURL(ctx, s.URL, dn, password)
}

// BindURL is Bind for any directory URL; the 389 harness (package dirsrv)
// uses it too.
func BindURL(ctx context.Context, url, dn, password string) (*ldap.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	conn, err := ldap.DialURL(url, ldap.DialWithDialer(d))
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

// timeoutFor returns the time left before ctx's deadline, or RequestTimeout.
func timeoutFor(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return max(time.Until(dl), time.Millisecond)
	}
	return RequestTimeout
}

// LDAPModify applies a change LDIF as the admin over LDAP, record by record, the way
// ldapmodify -a does: records without a changetype are adds; add, delete, modify (add,
// delete, replace, increment) and modrdn/moddn are supported. Online writes go through the
// overlays (memberof, refint, syncprov). It stops at the first failing record and names it.
// Records applied before the failure stay applied.
func (s *Server) LDAPModify(ctx context.Context, ldif string) error {
	l, err := ParseLDIF("ldif", []byte(ldif))
	if err != nil {
		return fmt.Errorf("slapd: LDAPModify: %w", err)
	}
	if l.Len() == 0 {
		return nil
	}
	conn, err := s.Conn(ctx)
	if err != nil {
		return fmt.Errorf("slapd: LDAPModify: %w", err)
	}
	defer conn.Close()
	if err := l.Apply(ctx, conn); err != nil {
		return fmt.Errorf("slapd: LDAPModify: %w", err)
	}
	return nil
}

// LDIF is a parsed LDIF file or text, ready to be applied over LDAP; the
// 389 harness (package dirsrv) uses it too.
type LDIF struct {
	source string
	recs   []ldifRecord
}

// ParseLDIF parses content and change records; errors name the source and line.
func ParseLDIF(source string, src []byte) (*LDIF, error) {
	recs, err := parseLDIF(source, src)
	if err != nil {
		return nil, err
	}
	return &LDIF{source: source, recs: recs}, nil
}

// Len is the number of records.
func (l *LDIF) Len() int { return len(l.recs) }

// DNs are the records' DNs, in order.
func (l *LDIF) DNs() []string {
	out := make([]string, len(l.recs))
	for i, r := range l.recs {
		out[i] = r.dn
	}
	return out
}

// Apply writes every record over conn in order, as ldapmodify -a does, each
// with a deadline from ctx (or RequestTimeout). It stops at the first
// failing record, naming it by source and line; earlier records stay
// applied. A cancelled ctx closes conn.
func (l *LDIF) Apply(ctx context.Context, conn *ldap.Conn) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	for _, r := range l.recs {
		conn.SetTimeout(timeoutFor(ctx))
		if err := applyRecord(conn, r); err != nil {
			if ctx.Err() != nil {
				err = errors.Join(ctx.Err(), err)
			}
			op := r.changeType
			if op == "" {
				op = "add"
			}
			return fmt.Errorf("%s:%d: %s %q: %w", l.source, r.line, op, r.dn, err)
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
