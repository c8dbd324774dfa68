package oauth

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// claimRules says how claims become a Principal; shared by the JWT and the
// introspection validators.
type claimRules struct {
	issuer         string
	audiences      []string
	leeway         time.Duration
	scopeClaims    []string
	subjectClaim   string
	clientIDClaims []string
	now            func() time.Time
}

func newClaimRules(cfg Config) claimRules {
	return claimRules{
		issuer:         cfg.Issuer,
		audiences:      cfg.Audiences,
		leeway:         cfg.Leeway,
		scopeClaims:    cfg.ScopeClaims,
		subjectClaim:   cfg.SubjectClaim,
		clientIDClaims: cfg.ClientIDClaims,
		now:            cfg.now,
	}
}

// decodeClaims parses a JSON object, keeping numbers exact (json.Number).
func decodeClaims(data []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // trailing data
	}
	return m, true
}

// checkTimes applies exp, nbf and iat. exp is mandatory when requireExp.
func (r *claimRules) checkTimes(c map[string]any, requireExp bool) (exp time.Time, e *Error) {
	now := r.now()
	exp, present, ok := numericDate(c, "exp")
	switch {
	case !ok:
		return exp, newError(ReasonInvalidClaims, "the exp claim is not a number")
	case !present && requireExp:
		return exp, newError(ReasonInvalidClaims, "the token has no exp claim")
	case present && !now.Before(exp.Add(r.leeway)):
		return exp, newError(ReasonExpired, "the token has expired")
	}
	nbf, present, ok := numericDate(c, "nbf")
	switch {
	case !ok:
		return exp, newError(ReasonInvalidClaims, "the nbf claim is not a number")
	case present && now.Add(r.leeway).Before(nbf):
		return exp, newError(ReasonNotYetValid, "the token is not valid yet (nbf)")
	}
	iat, present, ok := numericDate(c, "iat")
	switch {
	case !ok:
		return exp, newError(ReasonInvalidClaims, "the iat claim is not a number")
	case present && now.Add(r.leeway).Before(iat):
		return exp, newError(ReasonNotYetValid, "the token was issued in the future (iat)")
	}
	return exp, nil
}

// numericDate reads an RFC 7519 NumericDate. ok is false when the claim is
// present but not a finite number.
func numericDate(c map[string]any, name string) (t time.Time, present, ok bool) {
	v, present := c[name]
	if !present {
		return time.Time{}, false, true
	}
	var f float64
	switch n := v.(type) {
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return time.Unix(i, 0), true, true
		}
		var err error
		if f, err = n.Float64(); err != nil {
			return time.Time{}, true, false
		}
	case float64:
		f = n
	default:
		return time.Time{}, true, false
	}
	// Bound to years 0..9999 so the conversion cannot overflow.
	if math.IsNaN(f) || f < -62135596800 || f > 253402300799 {
		return time.Time{}, true, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, true
}

// checkIssuer requires iss to equal the configured issuer. With required
// false a missing iss passes (introspection responses may omit it).
func (r *claimRules) checkIssuer(c map[string]any, required bool) *Error {
	v, present := c["iss"]
	if !present {
		if required {
			return newError(ReasonWrongIssuer, "the token has no iss claim")
		}
		return nil
	}
	if s, ok := v.(string); !ok || s != r.issuer {
		return newError(ReasonWrongIssuer, "the token issuer is not the trusted issuer")
	}
	return nil
}

// checkAudience requires aud (a string or an array of strings) to hold one of
// the configured audiences.
func (r *claimRules) checkAudience(c map[string]any, required bool) *Error {
	v, present := c["aud"]
	if !present {
		if required {
			return newError(ReasonWrongAudience, "the token has no aud claim")
		}
		return nil
	}
	var auds []string
	switch a := v.(type) {
	case string:
		auds = []string{a}
	case []any:
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				return newError(ReasonInvalidClaims, "the aud claim holds a non-string value")
			}
			auds = append(auds, s)
		}
	default:
		return newError(ReasonInvalidClaims, "the aud claim is neither a string nor an array of strings")
	}
	for _, a := range auds {
		if slices.Contains(r.audiences, a) {
			return nil
		}
	}
	return newError(ReasonWrongAudience, "the token is not intended for this server (aud)")
}

// principal builds the principal from validated claims: subject, client id,
// scopes and jti. A missing scope claim yields no scopes, not an error.
func (r *claimRules) principal(c map[string]any, exp time.Time, subjectRequired bool) (*Principal, *Error) {
	p := &Principal{Expiry: exp, Claims: c}
	if s, ok := c["iss"].(string); ok {
		p.Issuer = s
	}
	switch v, present := c[r.subjectClaim]; {
	case !present && subjectRequired:
		return nil, newError(ReasonInvalidClaims, "the token has no subject claim")
	case present:
		s, ok := v.(string)
		if !ok || (s == "" && subjectRequired) {
			return nil, newError(ReasonInvalidClaims, "the subject claim is not a non-empty string")
		}
		p.Subject = s
	}
	for _, name := range r.clientIDClaims {
		v, present := c[name]
		if !present {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, newError(ReasonInvalidClaims, "the client id claim is not a string")
		}
		if s != "" {
			p.ClientID = s
			break
		}
	}
	if v, present := c["jti"]; present {
		s, ok := v.(string)
		if !ok {
			return nil, newError(ReasonInvalidClaims, "the jti claim is not a string")
		}
		p.TokenID = s
	}
	scopes, e := r.scopes(c)
	if e != nil {
		return nil, e
	}
	p.Scopes = scopes
	return p, nil
}

// scopes reads the first configured scope claim present: a space-separated
// string, or an array of strings (each of which may itself hold several
// space-separated scopes). Any other type, or a scope with characters outside
// RFC 6749's scope-token syntax, makes the token invalid.
func (r *claimRules) scopes(c map[string]any) ([]string, *Error) {
	for _, name := range r.scopeClaims {
		v, present := c[name]
		if !present {
			continue
		}
		var out []string
		switch s := v.(type) {
		case string:
			out = splitScopes(s)
		case []any:
			for _, x := range s {
				str, ok := x.(string)
				if !ok {
					return nil, newError(ReasonInvalidClaims, "the scope claim holds a non-string value")
				}
				out = append(out, splitScopes(str)...)
			}
		default:
			return nil, newError(ReasonInvalidClaims, "the scope claim is neither a string nor an array of strings")
		}
		for _, s := range out {
			if !validScopeToken(s) {
				return nil, newError(ReasonInvalidClaims, "the scope claim holds an invalid scope")
			}
		}
		return dedupe(out), nil
	}
	return nil, nil
}

func splitScopes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' })
}

// validScopeToken reports whether s is an RFC 6749 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < 0x21 || b > 0x7e || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}
