package oauth

import "errors"

// Reason is a stable, machine-readable cause of an authentication failure. Its
// values are short snake_case strings, safe to use as Prometheus label values.
type Reason string

// The reasons a token or request can be refused. New reasons may be added; the
// existing strings never change.
const (
	// ReasonMissingToken: the request carries no bearer credentials at all.
	ReasonMissingToken Reason = "missing_token"
	// ReasonInvalidRequest: the Authorization header itself is malformed or repeated.
	ReasonInvalidRequest Reason = "invalid_request"
	// ReasonMalformed: the token is not a well-formed token of any accepted kind.
	ReasonMalformed Reason = "malformed"
	// ReasonTooLarge: the token or its JOSE header exceeds the configured size cap.
	ReasonTooLarge Reason = "too_large"
	// ReasonEncrypted: the token is a JWE; only signed JWTs (JWS) are accepted.
	ReasonEncrypted Reason = "encrypted_token"
	// ReasonBadAlgorithm: the JWS algorithm is not on the allow-list.
	ReasonBadAlgorithm Reason = "bad_algorithm"
	// ReasonUnknownKey: no trusted key matches the token's key id and algorithm.
	ReasonUnknownKey Reason = "unknown_key"
	// ReasonBadSignature: the signature does not verify.
	ReasonBadSignature Reason = "bad_signature"
	// ReasonExpired: the token's exp is in the past (beyond the leeway).
	ReasonExpired Reason = "expired"
	// ReasonNotYetValid: the token's nbf or iat is in the future (beyond the leeway).
	ReasonNotYetValid Reason = "not_yet_valid"
	// ReasonWrongIssuer: iss is missing or differs from the configured issuer.
	ReasonWrongIssuer Reason = "wrong_issuer"
	// ReasonWrongAudience: aud is missing or names none of the configured audiences.
	ReasonWrongAudience Reason = "wrong_audience"
	// ReasonInvalidClaims: a claim is missing or has the wrong type or syntax.
	ReasonInvalidClaims Reason = "invalid_claims"
	// ReasonInactive: the introspection endpoint reports the token inactive.
	ReasonInactive Reason = "inactive"
	// ReasonUnknownClient: the client registry rejects the token's client.
	ReasonUnknownClient Reason = "unknown_client"
	// ReasonInsufficientScope: the principal lacks a scope the route requires.
	ReasonInsufficientScope Reason = "insufficient_scope"
	// ReasonUnavailable: keys or the introspection endpoint could not be reached;
	// the token was neither accepted nor found invalid.
	ReasonUnavailable Reason = "unavailable"
)

// Error is an authentication or authorisation failure. Description says which
// check failed in words fit for a client; it never contains the token, nor any
// value taken from it.
type Error struct {
	Reason      Reason
	Description string
	// Err is an underlying cause kept for errors.Is/As (for instance
	// ErrNotRecognized or a context error). It is never shown to clients.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	return "oauth: " + string(e.Reason) + ": " + e.Description
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// ErrNotRecognized is wrapped by the errors of a Validator that does not
// recognise the form of a token, so that a Chain offers it to the next one. A
// token that is recognised but invalid is refused with another error.
var ErrNotRecognized = errors.New("oauth: token not recognized by this validator")

func newError(r Reason, desc string) *Error {
	return &Error{Reason: r, Description: desc}
}

// declined reports a token that this validator does not handle.
func declined(desc string) *Error {
	return &Error{Reason: ReasonMalformed, Description: desc, Err: ErrNotRecognized}
}

// AsError returns err as an *Error. Errors of another type become a
// ReasonMalformed error with a generic description, so callers always have a
// reason to report.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Reason: ReasonMalformed, Description: "the access token could not be validated", Err: err}
}
