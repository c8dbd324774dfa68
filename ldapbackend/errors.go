package ldapbackend

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-ldap/ldap/v3"

	"github.com/scimgate/scimgate/ldapbackend/acisource"
	"github.com/scimgate/scimgate/ldapbackend/ldapconn"
	"github.com/scimgate/scimgate/scim/resource"
)

// MapError turns the error of an LDAP operation into a typed SCIM error of
// package resource; op names the operation ("create", "modify", ...) for the
// logs. The detail shown to clients is a fixed text per case: the directory's
// own diagnostic message, which can reveal its internals, is kept in Err for
// the logs only. Errors that already are *resource.Error pass unchanged; nil
// stays nil.
func MapError(err error, op string) error {
	if err == nil {
		return nil
	}
	var re *resource.Error
	if errors.As(err, &re) {
		return re
	}
	cause := fmt.Errorf("ldap %s: %w", op, err)

	var lock *acisource.LockdownError
	switch {
	case errors.As(err, &lock):
		return resource.Unavailable(cause, "service locked down: the directory holds an invalid ACI: %s", lock.Error())
	case errors.Is(err, acisource.ErrACIsNotLoaded):
		return resource.Unavailable(cause, "access control not available yet")
	case errors.Is(err, ldapconn.ErrUnavailable),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, context.Canceled):
		return resource.Unavailable(cause, "the directory is unavailable; try again later")
	}

	var le *ldap.Error
	if !errors.As(err, &le) {
		if ldapconn.IsConnError(err) {
			return resource.Unavailable(cause, "the directory is unavailable; try again later")
		}
		return resource.Internal(cause)
	}
	e := mapCode(le.ResultCode)
	if e == nil {
		return resource.Internal(cause)
	}
	e.Err = cause
	return e
}

// mapCode returns the SCIM error for an LDAP result code, or nil for
// "internal error".
func mapCode(code uint16) *resource.Error {
	switch code {
	case ldap.LDAPResultNoSuchObject:
		return resource.NotFound("resource not found")
	case ldap.LDAPResultEntryAlreadyExists:
		return resource.Uniqueness("a resource with the same name already exists")
	case ldap.LDAPResultInsufficientAccessRights, ldap.LDAPResultAuthorizationDenied:
		return resource.Forbidden("the directory denied this operation")
	case ldap.LDAPResultNoSuchAttribute:
		return resource.NoTarget("a value to remove is not present")
	case ldap.LDAPResultAttributeOrValueExists:
		return resource.InvalidValue("a value to add is already present")
	case ldap.LDAPResultConstraintViolation:
		return resource.InvalidValue("a value violates a constraint of the directory")
	case ldap.LDAPResultObjectClassViolation:
		return resource.InvalidValue("the resource lacks a required attribute or has one its type does not allow")
	case ldap.LDAPResultInvalidAttributeSyntax:
		return resource.InvalidValue("a value does not have the syntax its attribute requires")
	case ldap.LDAPResultUndefinedAttributeType:
		return resource.InvalidValue("an attribute is not known to the directory")
	case ldap.LDAPResultNamingViolation:
		return resource.InvalidValue("the resource's name is not allowed at this place")
	case ldap.LDAPResultNotAllowedOnRDN:
		return resource.InvalidValue("a value that names the resource cannot be removed")
	case ldap.LDAPResultInvalidDNSyntax:
		return resource.InvalidValue("a distinguished name is not valid")
	case ldap.LDAPResultObjectClassModsProhibited:
		return resource.Mutability("the resource's object classes cannot be changed")
	case ldap.LDAPResultUnwillingToPerform:
		// A policy refusal (password policy, read-only attribute, operation
		// outside the naming context): the request cannot succeed as sent.
		return resource.InvalidValue("the directory refused the operation")
	case ldap.LDAPResultInappropriateMatching:
		return resource.InvalidFilter("the filter compares an attribute in a way the directory does not support")
	case ldap.LDAPResultNotAllowedOnNonLeaf:
		return &resource.Error{Status: http.StatusConflict, Detail: "the resource has entries below it and cannot be removed or renamed"}
	case ldap.LDAPResultSizeLimitExceeded, ldap.LDAPResultAdminLimitExceeded, ldap.LDAPResultTimeLimitExceeded:
		return resource.TooMany("the request matches more resources than the directory will return")
	case ldap.LDAPResultAssertionFailed:
		return resource.PreconditionFailed("the resource has changed")
	case ldap.LDAPResultBusy:
		return resource.Unavailable(nil, "the directory is busy; try again later")
	case ldap.LDAPResultUnavailable, ldap.LDAPResultServerDown, ldap.LDAPResultTimeout,
		ldap.LDAPResultConnectError, ldap.ErrorNetwork:
		return resource.Unavailable(nil, "the directory is unavailable; try again later")
	}
	return nil
}
