package resource

import (
	"errors"
	"fmt"
	"net/http"
)

// ScimType values of RFC 7644 §3.12.
const (
	ScimInvalidFilter = "invalidFilter"
	ScimTooMany       = "tooMany"
	ScimUniqueness    = "uniqueness"
	ScimMutability    = "mutability"
	ScimInvalidSyntax = "invalidSyntax"
	ScimInvalidPath   = "invalidPath"
	ScimNoTarget      = "noTarget"
	ScimInvalidValue  = "invalidValue"
	ScimInvalidVers   = "invalidVers"
	ScimSensitive     = "sensitive"
)

// Error is a failure with the HTTP status and SCIM scimType it deserves.
// Detail is shown to the client; Err, when set, is the internal cause and
// is logged, never shown.
type Error struct {
	Status   int
	ScimType string
	Detail   string
	Err      error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.Status, e.ScimType, e.Detail, e.Err)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.ScimType, e.Detail)
}

func (e *Error) Unwrap() error { return e.Err }

func newErr(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// NotFound is 404: no such resource, or one the caller may not see.
func NotFound(format string, args ...any) *Error {
	return newErr(http.StatusNotFound, "", format, args...)
}

// Forbidden is 403: the caller may see the resource but not do this.
func Forbidden(format string, args ...any) *Error {
	return newErr(http.StatusForbidden, "", format, args...)
}

// Uniqueness is 409 uniqueness.
func Uniqueness(format string, args ...any) *Error {
	return newErr(http.StatusConflict, ScimUniqueness, format, args...)
}

// IsUniqueness reports whether err is a 409 uniqueness.
func IsUniqueness(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.ScimType == ScimUniqueness
}

// PreconditionFailed is 412.
func PreconditionFailed(format string, args ...any) *Error {
	return newErr(http.StatusPreconditionFailed, "", format, args...)
}

// InvalidFilter is 400 invalidFilter.
func InvalidFilter(format string, args ...any) *Error {
	return newErr(http.StatusBadRequest, ScimInvalidFilter, format, args...)
}

// TooMany is 400 tooMany.
func TooMany(format string, args ...any) *Error {
	return newErr(http.StatusBadRequest, ScimTooMany, format, args...)
}

// InvalidValue is 400 invalidValue.
func InvalidValue(format string, args ...any) *Error {
	return newErr(http.StatusBadRequest, ScimInvalidValue, format, args...)
}

// InvalidSyntax is 400 invalidSyntax.
func InvalidSyntax(format string, args ...any) *Error {
	return newErr(http.StatusBadRequest, ScimInvalidSyntax, format, args...)
}

// InvalidPath is 400 invalidPath.
func InvalidPath(format string, args ...any) *Error {
	return newErr(http.StatusBadRequest, ScimInvalidPath, format, args...)
}

// NoTarget is 400 noTarget.
func NoTarget(format string, args ...any) *Error {
	return newErr(http.StatusBadRequest, ScimNoTarget, format, args...)
}

// Mutability is 400 mutability.
func Mutability(format string, args ...any) *Error {
	return newErr(http.StatusBadRequest, ScimMutability, format, args...)
}

// Unavailable is 503: the directory cannot be reached, or the service is
// locked down.
func Unavailable(cause error, format string, args ...any) *Error {
	e := newErr(http.StatusServiceUnavailable, "", format, args...)
	e.Err = cause
	return e
}

// Internal is 500 with a generic detail; the cause is logged only.
func Internal(cause error) *Error {
	return &Error{Status: http.StatusInternalServerError, Detail: "internal error", Err: cause}
}
