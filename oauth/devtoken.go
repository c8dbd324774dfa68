package oauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// The demo issuer and audience: what SignDevToken uses by default and what the
// demo configuration trusts, with testdata/oauth/demo-jwks.json as its keys.
// The demo signing key is public; never trust it outside a demo.
const (
	DemoIssuer   = "https://scimgate.demo/issuer"
	DemoAudience = "scimgate"
)

// DefaultDevTokenTTL is the lifetime of a development token when DevClaims.TTL is zero.
const DefaultDevTokenTTL = time.Hour

// DevClaims describes a development token.
type DevClaims struct {
	// Issuer defaults to DemoIssuer.
	Issuer string
	// Audience defaults to DemoAudience.
	Audience string
	// Subject is required.
	Subject string
	// ClientID becomes the client_id claim when set.
	ClientID string
	// Scopes become the space-separated scope claim; none means no claim.
	Scopes []string
	// TTL defaults to DefaultDevTokenTTL; it must not be negative.
	TTL time.Duration
}

// LoadSigningKey reads a private JWK (such as testdata/oauth/demo-signing-key.jwk)
// for SignDevToken. Only asymmetric private keys are accepted.
func LoadSigningKey(path string) (jwk.Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := jwk.ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not a JWK: %w", path, err)
	}
	private, err := jwk.IsPrivateKey(key)
	if err != nil || !private {
		return nil, fmt.Errorf("%s: not an asymmetric private key", path)
	}
	if _, err := signingAlgorithm(key); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// SignDevToken signs a development access token with key and returns it in
// compact form. It sets iss, aud, sub, iat, nbf, exp, a random jti, and
// client_id and scope when given. The algorithm is the key's alg, or the one
// its type implies (ES256 for P-256, EdDSA for Ed25519, RS256 for RSA).
func SignDevToken(key jwk.Key, c DevClaims) (string, error) {
	if key == nil {
		return "", errors.New("no signing key")
	}
	if c.Subject == "" {
		return "", errors.New("a subject is required")
	}
	if c.TTL < 0 {
		return "", errors.New("the TTL must not be negative")
	}
	for _, s := range c.Scopes {
		if !validScopeToken(s) {
			return "", fmt.Errorf("invalid scope %q", s)
		}
	}
	alg, err := signingAlgorithm(key)
	if err != nil {
		return "", err
	}
	if c.Issuer == "" {
		c.Issuer = DemoIssuer
	}
	if c.Audience == "" {
		c.Audience = DemoAudience
	}
	if c.TTL == 0 {
		c.TTL = DefaultDevTokenTTL
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	now := time.Now().Truncate(time.Second)
	b := jwt.NewBuilder().
		Issuer(c.Issuer).
		Audience([]string{c.Audience}).
		Subject(c.Subject).
		IssuedAt(now).
		NotBefore(now).
		Expiration(now.Add(c.TTL)).
		JwtID(hex.EncodeToString(jti[:]))
	if c.ClientID != "" {
		b = b.Claim("client_id", c.ClientID)
	}
	if scopes := dedupe(c.Scopes); len(scopes) > 0 {
		b = b.Claim("scope", strings.Join(scopes, " "))
	}
	tok, err := b.Build()
	if err != nil {
		return "", err
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, key))
	if err != nil {
		return "", fmt.Errorf("signing: %w", err)
	}
	return string(signed), nil
}

// signingAlgorithm picks the JWS algorithm for a private key.
func signingAlgorithm(key jwk.Key) (jwa.SignatureAlgorithm, error) {
	var raw any
	if err := key.Raw(&raw); err != nil {
		return "", err
	}
	var alg string
	switch k := raw.(type) {
	case *rsa.PrivateKey:
		alg = "RS256"
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			alg = "ES256"
		case elliptic.P384():
			alg = "ES384"
		case elliptic.P521():
			alg = "ES512"
		}
	case ed25519.PrivateKey:
		alg = "EdDSA"
	}
	if a := key.Algorithm(); a != nil && a.String() != "" {
		alg = a.String()
	}
	pub, err := jwk.PublicRawKeyOf(raw)
	if err != nil {
		return "", errors.New("not a supported asymmetric signing key")
	}
	vk, err := newVerifyKey("", "", pub)
	if err != nil || alg == "" || !vk.fits(alg) {
		return "", errors.New("not a supported asymmetric signing key")
	}
	return jwa.SignatureAlgorithm(alg), nil
}
