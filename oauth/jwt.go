package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/rs/zerolog"
)

// JWTValidator verifies signed JWT access tokens (JWS compact serialization)
// against trusted asymmetric keys and checks their claims.
//
// It recognises a token as a JWT when it has three dot-separated parts and
// the first decodes to a JSON object with an "alg" member; anything else is
// declined with an error wrapping ErrNotRecognized (so a Chain can try
// introspection). A recognised token that fails any check is refused. JWEs
// (five parts with an "enc" header) are refused with ReasonEncrypted.
//
// Checks, in order: size caps; header (alg on the allow-list, no "crit");
// key lookup by kid, with the key's type matching alg; signature; exp
// (required), nbf, iat with leeway; iss; aud; subject; client id; scopes.
// Key material named in the token (jku, x5u, jwk, x5c) is never used, and
// typ is not checked (issuers disagree on "JWT" versus "at+jwt").
type JWTValidator struct {
	maxToken  int
	maxHeader int
	verifiers map[string]jws.Verifier // the allow-list
	keys      keySource
	rules     claimRules
	verified  verifiedCache
}

// verifiedCache remembers tokens whose signature and claims were checked,
// keyed by the token's SHA-256, so a client reusing its token is not
// verified again on every request. An entry lives at most
// verifiedCacheTTL, never past the token's exp, and only while the key set
// it was verified with is current; times are checked again on every hit.
// Failures are never cached.
type verifiedCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]verifiedToken
}

type verifiedToken struct {
	p     *Principal // its Claims are the token's claims
	keys  *keySet
	until time.Time
}

const (
	verifiedCacheTTL  = time.Minute
	verifiedCacheSize = 10000
)

func (c *verifiedCache) get(k [sha256.Size]byte) (verifiedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[k]
	return t, ok
}

func (c *verifiedCache) put(k [sha256.Size]byte, t verifiedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= verifiedCacheSize {
		c.m = map[[sha256.Size]byte]verifiedToken{}
	}
	c.m[k] = t
}

func (c *verifiedCache) drop(k [sha256.Size]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}

// NewJWTValidator builds a JWT validator from cfg (defaults applied; cfg is
// not validated here, New does that). With JWKSURL it fetches the keys once
// (waiting up to JWKSTimeout; a failure is logged, not returned) and keeps
// refreshing them in the background until ctx is done.
func NewJWTValidator(ctx context.Context, cfg Config, logger zerolog.Logger) (*JWTValidator, error) {
	cfg = cfg.withDefaults()
	var keys keySource
	var err error
	switch {
	case cfg.JWKSURL != "":
		keys = newRemoteJWKS(ctx, cfg, logger)
	case cfg.JWKSFile != "":
		keys, err = loadJWKSFile(cfg.JWKSFile, logger)
	case cfg.PublicKeyFile != "":
		keys, err = loadPublicKeyFile(cfg.PublicKeyFile)
	default:
		err = fmt.Errorf("oauth: no JWT key source (jwks_url, jwks_file or public_key_file)")
	}
	if err != nil {
		return nil, err
	}
	return newJWTValidator(cfg, keys)
}

// newJWTValidator builds a validator on a key source; cfg has its defaults.
func newJWTValidator(cfg Config, keys keySource) (*JWTValidator, error) {
	v := &JWTValidator{
		maxToken:  cfg.MaxTokenBytes,
		maxHeader: cfg.MaxHeaderBytes,
		verifiers: make(map[string]jws.Verifier, len(cfg.Algorithms)),
		keys:      keys,
		rules:     newClaimRules(cfg),
	}
	for _, alg := range cfg.Algorithms {
		if !slices.Contains(supportedAlgorithms, alg) {
			return nil, fmt.Errorf("oauth: algorithm %q is not allowed", alg)
		}
		ver, err := jws.NewVerifier(jwa.SignatureAlgorithm(alg))
		if err != nil {
			return nil, fmt.Errorf("oauth: algorithm %s: %w", alg, err)
		}
		v.verifiers[alg] = ver
	}
	return v, nil
}

// joseHeader holds the JOSE header members the validator looks at.
type joseHeader struct {
	alg  string
	kid  string
	crit bool
}

// Validate implements Validator.
func (v *JWTValidator) Validate(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, newError(ReasonMissingToken, "no access token")
	}
	if len(token) > v.maxToken {
		return nil, newError(ReasonTooLarge, fmt.Sprintf("the access token is longer than %d bytes", v.maxToken))
	}
	key := sha256.Sum256([]byte(token))
	if hit, ok := v.verified.get(key); ok {
		if hit.keys == v.keys.current() && v.rules.now().Before(hit.until) {
			if _, e := v.rules.checkTimes(hit.p.Claims, true); e != nil {
				v.verified.drop(key)
				return nil, e
			}
			return clonePrincipal(hit.p), nil
		}
		v.verified.drop(key)
	}
	dots := strings.Count(token, ".")
	if dots == 4 {
		return nil, v.classifyFiveParts(token)
	}
	if dots != 2 {
		return nil, declined("the access token is not a JWS in compact serialization")
	}
	i := strings.IndexByte(token, '.')
	j := i + 1 + strings.IndexByte(token[i+1:], '.')
	encHeader, encPayload, encSig := token[:i], token[i+1:j], token[j+1:]
	if len(encHeader) > v.maxHeader {
		// Too large to decode; if it is a JWT at all, it is refused.
		return nil, newError(ReasonTooLarge, fmt.Sprintf("the JOSE header is longer than %d bytes", v.maxHeader))
	}
	hdr, e := parseJOSEHeader(encHeader)
	if e != nil {
		return nil, e
	}
	ver, ok := v.verifiers[hdr.alg]
	if !ok {
		return nil, newError(ReasonBadAlgorithm, "the token's signing algorithm is not accepted")
	}
	if hdr.crit {
		return nil, newError(ReasonMalformed, "critical JOSE header parameters are not supported")
	}
	sig, err := base64.RawURLEncoding.DecodeString(encSig)
	if err != nil || len(sig) == 0 {
		return nil, newError(ReasonMalformed, "the token signature is not valid base64url")
	}
	keys, e := v.lookup(ctx, hdr)
	if e != nil {
		return nil, e
	}
	signed := token[:j] // header "." payload
	verified := false
	for _, k := range keys {
		if ver.Verify([]byte(signed), sig, k.pub) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, newError(ReasonBadSignature, "the token signature does not verify")
	}

	payload, err := base64.RawURLEncoding.DecodeString(encPayload)
	if err != nil {
		return nil, newError(ReasonMalformed, "the token payload is not valid base64url")
	}
	claims, ok := decodeClaims(payload)
	if !ok {
		return nil, newError(ReasonMalformed, "the token payload is not a JSON object")
	}
	exp, e := v.rules.checkTimes(claims, true)
	if e != nil {
		return nil, e
	}
	if e := v.rules.checkIssuer(claims, true); e != nil {
		return nil, e
	}
	if e := v.rules.checkAudience(claims, true); e != nil {
		return nil, e
	}
	p, e := v.rules.principal(claims, exp, true)
	if e != nil {
		return nil, e
	}
	until := v.rules.now().Add(verifiedCacheTTL)
	if !exp.IsZero() && exp.Before(until) {
		until = exp
	}
	v.verified.put(key, verifiedToken{p: p, keys: v.keys.current(), until: until})
	return clonePrincipal(p), nil
}

// lookup finds the keys to try, refreshing a remote JWKS early (rate-limited)
// when the kid is unknown.
func (v *JWTValidator) lookup(ctx context.Context, hdr joseHeader) ([]*verifyKey, *Error) {
	set := v.keys.current()
	keys, kidKnown := set.candidates(hdr.kid, hdr.alg)
	if len(keys) == 0 && !kidKnown && v.keys.refreshEarly(ctx) {
		set = v.keys.current()
		keys, kidKnown = set.candidates(hdr.kid, hdr.alg)
	}
	switch {
	case len(keys) > 0:
		return keys, nil
	case kidKnown:
		return nil, newError(ReasonBadAlgorithm, "the token's algorithm does not match the type of its key")
	case set == nil:
		return nil, newError(ReasonUnavailable, "the signing keys of the issuer are not available")
	case hdr.kid == "":
		return nil, newError(ReasonUnknownKey, "no trusted key fits the token's algorithm")
	default:
		return nil, newError(ReasonUnknownKey, "the token's key id (kid) is not a trusted key")
	}
}

// parseJOSEHeader decodes a JWS protected header. A header that is not
// base64url JSON with an "alg" member means the token is not a JWT at all,
// and is declined.
func parseJOSEHeader(enc string) (joseHeader, *Error) {
	var h joseHeader
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return h, declined("the access token is not a JWS in compact serialization")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return h, declined("the access token is not a JWS in compact serialization")
	}
	algRaw, ok := m["alg"]
	if !ok {
		return h, declined("the access token is not a JWS in compact serialization")
	}
	if json.Unmarshal(algRaw, &h.alg) != nil {
		return h, newError(ReasonMalformed, "the JOSE header alg is not a string")
	}
	if kidRaw, ok := m["kid"]; ok {
		if json.Unmarshal(kidRaw, &h.kid) != nil {
			return h, newError(ReasonMalformed, "the JOSE header kid is not a string")
		}
	}
	_, h.crit = m["crit"]
	return h, nil
}

// classifyFiveParts refuses a JWE clearly, and declines any other five-part
// string.
func (v *JWTValidator) classifyFiveParts(token string) *Error {
	encHeader, _, _ := strings.Cut(token, ".")
	if len(encHeader) > v.maxHeader {
		return newError(ReasonTooLarge, fmt.Sprintf("the JOSE header is longer than %d bytes", v.maxHeader))
	}
	raw, err := base64.RawURLEncoding.DecodeString(encHeader)
	if err != nil {
		return declined("the access token is not a JWS in compact serialization")
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return declined("the access token is not a JWS in compact serialization")
	}
	if _, ok := m["enc"]; ok {
		return newError(ReasonEncrypted, "encrypted tokens (JWE) are not accepted; send a signed JWT (JWS)")
	}
	return declined("the access token is not a JWS in compact serialization")
}
