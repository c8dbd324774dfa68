// Package oauth authenticates OAuth 2.0 bearer tokens (RFC 6750) and yields a
// typed Principal.
//
// Signed JWT access tokens are verified locally against keys from a JWKS URL, a
// JWKS file or a PEM public key; opaque tokens may be checked with RFC 7662
// introspection. Validators are composed with Chain, restricted by a client
// registry, and put in front of HTTP handlers with Middleware and RequireScope.
// New builds the whole stack from a Config.
//
// The package imports no other scimgate package: it knows nothing of SCIM,
// LDAP or ACIs. Scopes reach the ACI engine only as fields of the Principal.
package oauth

import (
	"context"
	"slices"
	"time"
)

// Principal is the authenticated caller described by a valid access token.
type Principal struct {
	// Subject is the token's subject (the configured subject claim, default sub).
	Subject string
	// ClientID is the OAuth client the token was issued to, or "" if the token
	// does not say.
	ClientID string
	// Issuer is the token's iss claim.
	Issuer string
	// Scopes are the granted scopes, deduplicated, in token order, after the
	// client registry's filtering. Empty when the token carries no scope claim.
	Scopes []string
	// Expiry is the token's exp, or the zero time if an introspection response
	// gave none.
	Expiry time.Time
	// TokenID is the jti claim, for logs; may be "".
	TokenID string
	// Claims are the raw claims (JWT payload or introspection response), for the
	// identity mapper. Callers must not modify them.
	Claims map[string]any
}

// HasScope reports whether the principal was granted scope (exact,
// case-sensitive match).
func (p *Principal) HasScope(scope string) bool {
	return p != nil && slices.Contains(p.Scopes, scope)
}

// Validator checks an access token and returns the principal it describes.
// Failures are *Error values; a validator that does not recognise the form of
// the token returns an error wrapping ErrNotRecognized.
type Validator interface {
	Validate(ctx context.Context, token string) (*Principal, error)
}

// ValidatorFunc adapts a function to the Validator interface.
type ValidatorFunc func(ctx context.Context, token string) (*Principal, error)

// Validate calls f.
func (f ValidatorFunc) Validate(ctx context.Context, token string) (*Principal, error) {
	return f(ctx, token)
}

type principalKey struct{}

// NewContext returns a copy of ctx carrying p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal stored by NewContext (or by Middleware).
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// dedupe returns scopes without duplicates or empty strings, in first-seen order.
func dedupe(scopes []string) []string {
	if len(scopes) == 0 {
		return nil
	}
	out := make([]string, 0, len(scopes))
	var seen map[string]struct{}
	if len(scopes) > 16 { // keep large claims linear
		seen = make(map[string]struct{}, len(scopes))
	}
	for _, s := range scopes {
		if s == "" {
			continue
		}
		if seen != nil {
			if _, dup := seen[s]; dup {
				continue
			}
			seen[s] = struct{}{}
		} else if slices.Contains(out, s) {
			continue
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
