package dirsrv

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/slapd"
)

// RequestTimeout is the per-request timeout set on connections returned by Conn and Bind.
const RequestTimeout = slapd.RequestTimeout

// Conn returns a connection bound as the admin (cn=Directory Manager). ctx bounds dialing
// and binding; later requests time out after RequestTimeout. The caller closes it.
func (s *Server) Conn(ctx context.Context) (*ldap.Conn, error) {
	return s.Bind(ctx, s.AdminDN, s.AdminPassword)
}

// Bind returns a connection bound as dn with password, or an anonymous one when dn is "".
func (s *Server) Bind(ctx context.Context, dn, password string) (*ldap.Conn, error) {
	return slapd.BindURL(ctx, s.URL, dn, password)
}

// LDAPModify applies a change LDIF as the admin over LDAP, record by record, the way
// ldapmodify -a does: records without a changetype are adds; add, delete, modify (add,
// delete, replace, increment) and modrdn/moddn are supported. The plugins (memberOf,
// referential integrity, USN, entryUUID) see every write. It stops at the first failing
// record and names it; records applied before stay applied.
func (s *Server) LDAPModify(ctx context.Context, ldif string) error {
	l, err := slapd.ParseLDIF("ldif", []byte(ldif))
	if err != nil {
		return fmt.Errorf("dirsrv: LDAPModify: %w", err)
	}
	if err := s.apply(ctx, l); err != nil {
		return fmt.Errorf("dirsrv: LDAPModify: %w", err)
	}
	return nil
}

// apply writes parsed LDIF over a fresh admin connection. The LDIF parser
// and applier are the OpenLDAP harness's (package slapd).
func (s *Server) apply(ctx context.Context, l *slapd.LDIF) error {
	if l.Len() == 0 {
		return nil
	}
	conn, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return l.Apply(ctx, conn)
}

// loadSeeds parses every seed file before the instance starts, reporting
// all problems at once.
func loadSeeds(paths []string) ([]*slapd.LDIF, error) {
	var out []*slapd.LDIF
	var errs []error
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		l, err := slapd.ParseLDIF(p, b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, l)
	}
	return out, errors.Join(errs...)
}
