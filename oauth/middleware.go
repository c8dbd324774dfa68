package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/rs/zerolog"
)

// DefaultRealm is the realm named in WWW-Authenticate when none is configured.
const DefaultRealm = "scimgate"

// ErrorWriter writes the body of an authentication failure response. The
// status and the WWW-Authenticate header are already decided (the header is
// set before the call); the writer must call w.WriteHeader(status).
type ErrorWriter func(w http.ResponseWriter, r *http.Request, status int, e *Error)

// MiddlewareOptions configures Middleware and, through the request context,
// RequireScope.
type MiddlewareOptions struct {
	// Realm is the WWW-Authenticate realm. Default "scimgate".
	Realm string
	// Logger receives one line per failure at info (reason, method, path,
	// remote address, and for a refused JWT the subject, client id and jti
	// it claims, marked unverified) and per success at debug (subject,
	// client id, jti). The token and the Authorization header are never
	// logged. Zero value: no logging.
	Logger zerolog.Logger
	// ErrorWriter writes failure bodies. Default: SCIMErrorWriter.
	ErrorWriter ErrorWriter
	// OnFailure, if set, is called with the Reason of every failure, for
	// metrics.
	OnFailure func(reason string)
}

type optionsKey struct{}

// Middleware authenticates every request with a bearer token from the
// Authorization header (RFC 6750 §2.1: exactly one header, scheme "Bearer"
// in any case, a token68 credential) and puts the principal in the request
// context (see FromContext). Tokens in the query string or the form body are
// not accepted.
//
// Failures: no bearer credentials at all (no header, or another scheme) →
// 401 with a bare challenge; a malformed or repeated header → 400
// invalid_request; a refused token → 401 invalid_token; keys or the
// introspection endpoint unreachable → 503.
func Middleware(v Validator, opts MiddlewareOptions) func(http.Handler) http.Handler {
	opts = opts.withDefaults()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, e := bearerToken(r)
			if e == nil {
				p, err := v.Validate(r.Context(), token)
				if err == nil && p == nil {
					err = newError(ReasonMalformed, "the access token could not be validated")
				}
				if err != nil {
					opts.failToken(w, r, AsError(err), token)
					return
				}
				opts.Logger.Debug().Str("sub", p.Subject).Str("client_id", p.ClientID).
					Str("jti", p.TokenID).Msg("bearer token accepted")
				ctx := context.WithValue(NewContext(r.Context(), p), optionsKey{}, &opts)
				next.ServeHTTP(w, r.WithContext(ctx))
				return
			}
			opts.fail(w, r, e, "")
		})
	}
}

// RequireScope lets a request through only if the principal put in the
// context by Middleware holds every one of scopes; otherwise it answers 403
// with error="insufficient_scope" and scope="...". Without a principal it
// answers 401. It uses the options of the Middleware in front of it.
func RequireScope(scopes ...string) func(http.Handler) http.Handler {
	return requireScopes(scopes, true)
}

// RequireAnyScope is like RequireScope but is satisfied by any one of scopes.
func RequireAnyScope(scopes ...string) func(http.Handler) http.Handler {
	return requireScopes(scopes, false)
}

func requireScopes(scopes []string, all bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			opts, ok := r.Context().Value(optionsKey{}).(*MiddlewareOptions)
			if !ok {
				d := MiddlewareOptions{}.withDefaults()
				opts = &d
			}
			p, ok := FromContext(r.Context())
			if !ok {
				opts.fail(w, r, newError(ReasonMissingToken, "authentication required"), "")
				return
			}
			if len(scopes) == 0 || holds(p, scopes, all) {
				next.ServeHTTP(w, r)
				return
			}
			desc := "the access token lacks a required scope"
			if !all {
				desc = "the access token holds none of the accepted scopes"
			}
			opts.Logger.Info().Str("sub", p.Subject).Str("client_id", p.ClientID).Str("jti", p.TokenID).
				Strs("required", scopes).Str("method", r.Method).Str("path", r.URL.Path).
				Msg("request refused: insufficient scope")
			opts.fail(w, r, newError(ReasonInsufficientScope, desc), strings.Join(scopes, " "))
		})
	}
}

func holds(p *Principal, scopes []string, all bool) bool {
	for _, s := range scopes {
		has := p.HasScope(s)
		if has && !all {
			return true
		}
		if !has && all {
			return false
		}
	}
	return all
}

func (o MiddlewareOptions) withDefaults() MiddlewareOptions {
	if o.Realm == "" {
		o.Realm = DefaultRealm
	}
	if o.ErrorWriter == nil {
		o.ErrorWriter = SCIMErrorWriter
	}
	return o
}

// failToken is fail for a refused token: the log line also carries what
// the token claims to be (subject, client, jti), read without trusting it
// and marked unverified, when it is a JWT whose payload parses. Never the
// token itself.
func (o *MiddlewareOptions) failToken(w http.ResponseWriter, r *http.Request, e *Error, token string) {
	sub, client, jti := unverifiedIDs(token)
	o.refuse(w, r, e, "", func(ev *zerolog.Event) *zerolog.Event {
		return ev.Str("unverified_sub", sub).Str("unverified_client_id", client).Str("unverified_jti", jti)
	})
}

// unverifiedIDs reads sub, the client id (client_id, azp or cid) and jti
// from a JWT's payload without checking anything: for the log line of a
// refused token only. Values are cut to 128 bytes; "" when absent.
func unverifiedIDs(token string) (sub, client, jti string) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[1]) > 8192 {
		return "", "", ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", "", ""
	}
	var c map[string]any
	if json.Unmarshal(raw, &c) != nil {
		return "", "", ""
	}
	str := func(names ...string) string {
		for _, n := range names {
			if s, ok := c[n].(string); ok && s != "" {
				if len(s) > 128 {
					s = s[:128]
				}
				return s
			}
		}
		return ""
	}
	return str("sub"), str("client_id", "azp", "appid", "cid"), str("jti")
}

// fail answers an authentication or authorisation failure: status, challenge,
// body, metric, log line.
func (o *MiddlewareOptions) fail(w http.ResponseWriter, r *http.Request, e *Error, scope string) {
	o.refuse(w, r, e, scope, nil)
}

// refuse is fail with more fields on the log line.
func (o *MiddlewareOptions) refuse(w http.ResponseWriter, r *http.Request, e *Error, scope string, more func(*zerolog.Event) *zerolog.Event) {
	status := StatusFor(e.Reason)
	if status != http.StatusServiceUnavailable {
		w.Header().Set("WWW-Authenticate", challenge(o.Realm, e, scope))
	}
	if o.OnFailure != nil {
		o.OnFailure(string(e.Reason))
	}
	if e.Reason != ReasonInsufficientScope {
		ev := o.Logger.Info()
		if status == http.StatusServiceUnavailable {
			ev = o.Logger.Warn()
		}
		ev = ev.Str("reason", string(e.Reason)).Str("method", r.Method).Str("path", r.URL.Path).Str("remote", r.RemoteAddr)
		if more != nil {
			ev = more(ev)
		}
		ev.Msg("request refused: " + e.Description)
	}
	o.ErrorWriter(w, r, status, e)
}

// StatusFor maps a failure reason to its HTTP status: 400 for a malformed
// request, 403 for insufficient scope, 503 when keys or the introspection
// endpoint are unavailable, 401 otherwise.
func StatusFor(r Reason) int {
	switch r {
	case ReasonInvalidRequest:
		return http.StatusBadRequest
	case ReasonInsufficientScope:
		return http.StatusForbidden
	case ReasonUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusUnauthorized
	}
}

// challenge renders the WWW-Authenticate value (RFC 6750 §3). A request
// without credentials gets no error attribute.
func challenge(realm string, e *Error, scope string) string {
	var b strings.Builder
	b.WriteString(`Bearer realm="`)
	b.WriteString(quotable(realm))
	b.WriteByte('"')
	code := ""
	switch e.Reason {
	case ReasonMissingToken:
	case ReasonInvalidRequest:
		code = "invalid_request"
	case ReasonInsufficientScope:
		code = "insufficient_scope"
	default:
		code = "invalid_token"
	}
	if code != "" {
		b.WriteString(`, error="` + code + `"`)
		b.WriteString(`, error_description="` + quotable(e.Description) + `"`)
	}
	if scope != "" {
		b.WriteString(`, scope="` + quotable(scope) + `"`)
	}
	return b.String()
}

// quotable keeps only the characters RFC 6750 allows in attribute values
// (%x20-21 / %x23-5B / %x5D-7E).
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}

// SCIMErrorWriter is the default ErrorWriter: a SCIM error (RFC 7644 §3.12)
// as application/scim+json.
func SCIMErrorWriter(w http.ResponseWriter, _ *http.Request, status int, e *Error) {
	body, _ := json.Marshal(struct {
		Schemas []string `json:"schemas"`
		Status  string   `json:"status"`
		Detail  string   `json:"detail"`
	}{
		Schemas: []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		Status:  strconv.Itoa(status),
		Detail:  e.Description,
	})
	w.Header().Set("Content-Type", "application/scim+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// bearerToken extracts the token from the one Authorization header.
func bearerToken(r *http.Request) (string, *Error) {
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", newError(ReasonMissingToken, "a bearer access token is required")
	case 1:
	default:
		return "", newError(ReasonInvalidRequest, "more than one Authorization header")
	}
	scheme, rest, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", newError(ReasonMissingToken, "a bearer access token is required")
	}
	token := strings.TrimLeft(rest, " ")
	if token == "" {
		return "", newError(ReasonInvalidRequest, "the Authorization header has no bearer token")
	}
	if !isToken68(token) {
		return "", newError(ReasonMalformed, "the bearer token has characters outside the token68 syntax")
	}
	return token, nil
}

// isToken68 reports whether s matches RFC 7235 token68:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' {
			continue
		}
		break
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
