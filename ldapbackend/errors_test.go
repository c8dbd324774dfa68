package ldapbackend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/ldapbackend/acisource"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/ldapbackend/slapd"
	"github.com/scimgate/scimgate/scim/resource"
)

// serverText stands for a directory's diagnostic message, which must never
// reach a client.
const serverText = "internal detail: olcDatabase={1}mdb,cn=config"

func TestMapErrorCodes(t *testing.T) {
	tests := []struct {
		code     uint16
		status   int
		scimType string
	}{
		{ldap.LDAPResultNoSuchObject, 404, ""},
		{ldap.LDAPResultEntryAlreadyExists, 409, resource.ScimUniqueness},
		{ldap.LDAPResultInsufficientAccessRights, 403, ""},
		{ldap.LDAPResultAuthorizationDenied, 403, ""},
		{ldap.LDAPResultConstraintViolation, 400, resource.ScimInvalidValue},
		{ldap.LDAPResultObjectClassViolation, 400, resource.ScimInvalidValue},
		{ldap.LDAPResultInvalidAttributeSyntax, 400, resource.ScimInvalidValue},
		{ldap.LDAPResultUndefinedAttributeType, 400, resource.ScimInvalidValue},
		{ldap.LDAPResultNamingViolation, 400, resource.ScimInvalidValue},
		{ldap.LDAPResultNotAllowedOnRDN, 400, resource.ScimInvalidValue},
		{ldap.LDAPResultInvalidDNSyntax, 400, resource.ScimInvalidValue},
		{ldap.LDAPResultAttributeOrValueExists, 400, resource.ScimInvalidValue},
		{ldap.LDAPResultUnwillingToPerform, 400, resource.ScimInvalidValue},
		{ldap.LDAPResultNoSuchAttribute, 400, resource.ScimNoTarget},
		{ldap.LDAPResultObjectClassModsProhibited, 400, resource.ScimMutability},
		{ldap.LDAPResultInappropriateMatching, 400, resource.ScimInvalidFilter},
		{ldap.LDAPResultNotAllowedOnNonLeaf, 409, ""},
		{ldap.LDAPResultSizeLimitExceeded, 400, resource.ScimTooMany},
		{ldap.LDAPResultAdminLimitExceeded, 400, resource.ScimTooMany},
		{ldap.LDAPResultTimeLimitExceeded, 400, resource.ScimTooMany},
		{ldap.LDAPResultAssertionFailed, 412, ""},
		{ldap.LDAPResultBusy, 503, ""},
		{ldap.LDAPResultUnavailable, 503, ""},
		{ldap.LDAPResultServerDown, 503, ""},
		{ldap.LDAPResultTimeout, 503, ""},
		{ldap.LDAPResultConnectError, 503, ""},
		{ldap.ErrorNetwork, 503, ""},
		{ldap.LDAPResultOperationsError, 500, ""},
		{ldap.LDAPResultProtocolError, 500, ""},
		{ldap.LDAPResultUnavailableCriticalExtension, 500, ""},
		{ldap.LDAPResultStrongAuthRequired, 500, ""},
		{ldap.LDAPResultInvalidCredentials, 500, ""},
		{ldap.LDAPResultOther, 500, ""},
		{ldap.ErrorFilterCompile, 500, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.code, ldap.LDAPResultCodeMap[tt.code]), func(t *testing.T) {
			raw := ldap.NewError(tt.code, errors.New(serverText))
			got := MapError(fmt.Errorf("wrapped: %w", raw), "modify")
			re := checkMapped(t, got, tt.status, tt.scimType)
			if !errors.Is(re, raw) {
				t.Errorf("Err does not keep the LDAP error for the logs: %v", re.Err)
			}
			if !strings.Contains(re.Err.Error(), "modify") {
				t.Errorf("Err does not name the operation: %v", re.Err)
			}
		})
	}
}

func TestMapErrorOther(t *testing.T) {
	lock := &acisource.LockdownError{Problems: []*aci.LoadError{{EntryDN: "ou=x", Index: 1, Err: errors.New("1:2: bad")}}}
	tests := []struct {
		name     string
		err      error
		status   int
		scimType string
	}{
		{"unavailable", ldapconn.Unavailable(errors.New("dial tcp: connection refused")), 503, ""},
		{"pool closed", ldapconn.Unavailable(ldapconn.ErrPoolClosed), 503, ""},
		{"bind refused", ldapconn.Unavailable(fmt.Errorf("bind as cn=x: %w", ldap.NewError(ldap.LDAPResultInvalidCredentials, errors.New(serverText)))), 503, ""},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), 503, ""},
		{"canceled", context.Canceled, 503, ""},
		{"lockdown", fmt.Errorf("x: %w", lock), 503, ""},
		{"not loaded", fmt.Errorf("%w: %w", acisource.ErrACIsNotLoaded, errors.New("down")), 503, ""},
		{"plain", errors.New(serverText), 500, ""},
		{"scim error passes", resource.InvalidPath("bad path"), 400, resource.ScimInvalidPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkMapped(t, MapError(tt.err, "op"), tt.status, tt.scimType)
		})
	}
	if MapError(nil, "op") != nil {
		t.Error("MapError(nil) != nil")
	}
	re := MapError(lock, "op").(*resource.Error)
	if !strings.Contains(re.Detail, `entry "ou=x", aci value 2: 1:2: bad`) {
		t.Errorf("lockdown detail %q does not name the ACI", re.Detail)
	}
}

func checkMapped(t *testing.T, err error, status int, scimType string) *resource.Error {
	t.Helper()
	var re *resource.Error
	if !errors.As(err, &re) {
		t.Fatalf("got %T %v, want *resource.Error", err, err)
	}
	if re.Status != status || re.ScimType != scimType {
		t.Errorf("got %d %q, want %d %q", re.Status, re.ScimType, status, scimType)
	}
	if strings.Contains(re.Detail, serverText) || re.Detail == "" {
		t.Errorf("detail %q: empty or leaks the server's message", re.Detail)
	}
	return re
}

// TestMapErrorLive provokes real result codes from slapd, the assertion
// control's among them.
func TestMapErrorLive(t *testing.T) {
	s := startDemo(t, slapd.Options{})
	p := newTestPool(t, testConfig(s))
	ctx := t.Context()

	t.Run("noSuchObject", func(t *testing.T) {
		err := p.Do(ctx, func(c *ldap.Conn) error {
			_, err := c.Search(ldap.NewSearchRequest("uid=nobody,ou=People,dc=example,dc=com", ldap.ScopeBaseObject,
				ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil))
			return err
		})
		checkMapped(t, MapError(err, "get"), http.StatusNotFound, "")
	})
	t.Run("entryAlreadyExists", func(t *testing.T) {
		err := p.Do(ctx, func(c *ldap.Conn) error {
			add := ldap.NewAddRequest(aliceDN, nil)
			add.Attribute("objectClass", []string{"inetOrgPerson"})
			add.Attribute("cn", []string{"Alice"})
			add.Attribute("sn", []string{"A"})
			return c.Add(add)
		})
		checkMapped(t, MapError(err, "create"), http.StatusConflict, resource.ScimUniqueness)
	})
	t.Run("objectClassViolation", func(t *testing.T) {
		err := p.Do(ctx, func(c *ldap.Conn) error {
			add := ldap.NewAddRequest("uid=newbie,ou=People,dc=example,dc=com", nil)
			add.Attribute("objectClass", []string{"inetOrgPerson"})
			add.Attribute("uid", []string{"newbie"})
			return c.Add(add) // no cn, no sn
		})
		checkMapped(t, MapError(err, "create"), http.StatusBadRequest, resource.ScimInvalidValue)
	})

	t.Run("assertion", func(t *testing.T) {
		csn := func() string {
			var v string
			if err := p.Do(ctx, func(c *ldap.Conn) error {
				res, err := c.Search(ldap.NewSearchRequest(aliceDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
					0, 0, false, "(objectClass=*)", []string{"entryCSN"}, nil))
				if err == nil {
					v = res.Entries[0].GetAttributeValue("entryCSN")
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return v
		}
		modify := func(filter, title string) error {
			ctl, err := ldapconn.NewAssertionControl(filter)
			if err != nil {
				t.Fatal(err)
			}
			return p.Do(ctx, func(c *ldap.Conn) error {
				m := ldap.NewModifyRequest(aliceDN, []ldap.Control{ctl})
				m.Replace("title", []string{title})
				return c.Modify(m)
			})
		}
		etag := csn()
		eq := "(entryCSN=" + ldap.EscapeFilter(etag) + ")"
		if err := modify(eq, "CTO"); err != nil {
			t.Fatalf("modify with a true assertion: %v", err)
		}
		// The same ETag again: the entry changed since, so the write must fail.
		err := modify(eq, "CEO")
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultAssertionFailed) {
			t.Fatalf("stale assertion: got %v, want assertionFailed (122)", err)
		}
		checkMapped(t, MapError(err, "modify"), http.StatusPreconditionFailed, "")
		if err := modify("(&(sn=Anderson)(title=CTO))", "CEO"); err != nil {
			t.Fatalf("compound assertion: %v", err)
		}
	})

	t.Run("bad assertion filter", func(t *testing.T) {
		if _, err := ldapconn.NewAssertionControl("(sn=unclosed"); err == nil {
			t.Error("NewAssertionControl accepted a broken filter")
		}
		ctl, err := ldapconn.NewAssertionControl("(cn=x)")
		if err != nil || ctl.GetControlType() != ldapconn.ControlTypeAssertion || !strings.Contains(ctl.String(), "(cn=x)") {
			t.Errorf("control %v, %v", ctl, err)
		}
	})
}
