package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/rs/zerolog"
)

const (
	maxJWKSBytes      = 1 << 20 // a JWKS response larger than this is refused
	maxJWKSKeys       = 100     // keys beyond this are ignored
	maxKeyCandidates  = 8       // keys tried for one token without a matching kid
	minRSAModulusBits = 2048
)

// verifyKey is a trusted public key: *rsa.PublicKey, *ecdsa.PublicKey or
// ed25519.PublicKey, never a symmetric secret.
type verifyKey struct {
	kid string
	alg string // the JWK's "alg", "" when absent
	pub any
}

// fits reports whether k may verify a signature made with alg: the key type
// (and curve) must match the algorithm, and the JWK's own alg, if any, must be
// the same.
func (k *verifyKey) fits(alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		_, ok := k.pub.(*rsa.PublicKey)
		return ok
	case "ES256":
		return isCurve(k.pub, elliptic.P256())
	case "ES384":
		return isCurve(k.pub, elliptic.P384())
	case "ES512":
		return isCurve(k.pub, elliptic.P521())
	case "EdDSA":
		_, ok := k.pub.(ed25519.PublicKey)
		return ok
	}
	return false
}

func isCurve(pub any, c elliptic.Curve) bool {
	ec, ok := pub.(*ecdsa.PublicKey)
	return ok && ec.Curve == c
}

// keySet is an immutable set of verification keys.
type keySet struct {
	keys []*verifyKey
}

// candidates returns the keys to try for a token with kid and alg. Keys with
// that kid come first; keys without a kid (a PEM key, a kid-less JWKS entry)
// match any kid. kidKnown reports that a key with this kid exists, even if it
// does not fit alg.
func (s *keySet) candidates(kid, alg string) (out []*verifyKey, kidKnown bool) {
	if s == nil {
		return nil, false
	}
	for _, k := range s.keys {
		if kid != "" && k.kid == kid {
			kidKnown = true
			if k.fits(alg) {
				out = append(out, k)
			}
		}
	}
	if len(out) > 0 || kidKnown {
		return out, kidKnown
	}
	for _, k := range s.keys {
		if (kid == "" || k.kid == "") && k.fits(alg) && len(out) < maxKeyCandidates {
			out = append(out, k)
		}
	}
	return out, false
}

func (s *keySet) kids() []string {
	out := make([]string, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, k.kid)
	}
	return out
}

// toVerifyKey turns a parsed JWK into a verification key, or says why it is
// unusable. Private keys are reduced to their public half; symmetric keys are
// never accepted.
func toVerifyKey(k jwk.Key) (*verifyKey, error) {
	if k.KeyType() == jwa.OctetSeq {
		return nil, errors.New("symmetric (oct) keys are never accepted")
	}
	if u := k.KeyUsage(); u != "" && u != "sig" {
		return nil, fmt.Errorf("use is %q, not sig", u)
	}
	if ops := k.KeyOps(); len(ops) > 0 && !slices.Contains(ops, jwk.KeyOpVerify) {
		return nil, errors.New("key_ops does not include verify")
	}
	alg := ""
	if a := k.Algorithm(); a != nil {
		alg = a.String()
	}
	if alg != "" && !slices.Contains(supportedAlgorithms, alg) {
		return nil, fmt.Errorf("alg %q is not a supported signature algorithm", alg)
	}
	raw, err := jwk.PublicRawKeyOf(k)
	if err != nil {
		return nil, fmt.Errorf("no public key: %w", err)
	}
	return newVerifyKey(k.KeyID(), alg, raw)
}

func newVerifyKey(kid, alg string, raw any) (*verifyKey, error) {
	switch pub := raw.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSAModulusBits {
			return nil, fmt.Errorf("RSA key of %d bits is too small (minimum %d)", pub.N.BitLen(), minRSAModulusBits)
		}
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return nil, errors.New("unsupported elliptic curve")
		}
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 key size")
		}
	default:
		return nil, fmt.Errorf("unsupported key type %T", raw)
	}
	return &verifyKey{kid: kid, alg: alg, pub: raw}, nil
}

// parseJWKS parses a JWK Set document. Unusable keys are skipped and logged;
// a set without a single usable key is an error.
func parseJWKS(data []byte, log zerolog.Logger) (*keySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	set := &keySet{}
	for i, raw := range doc.Keys {
		if i >= maxJWKSKeys {
			log.Warn().Int("keys", len(doc.Keys)).Int("max", maxJWKSKeys).Msg("JWKS has too many keys; the rest are ignored")
			break
		}
		k, err := jwk.ParseKey(raw)
		if err != nil {
			log.Warn().Int("index", i).Err(err).Msg("JWKS key ignored: cannot parse")
			continue
		}
		vk, err := toVerifyKey(k)
		if err != nil {
			log.Warn().Int("index", i).Str("kid", k.KeyID()).Err(err).Msg("JWKS key ignored")
			continue
		}
		set.keys = append(set.keys, vk)
	}
	if len(set.keys) == 0 {
		return nil, errors.New("JWK Set holds no usable signature verification key")
	}
	return set, nil
}

// keySource supplies verification keys to the JWT validator.
type keySource interface {
	// current returns the keys in use; nil if none were ever loaded.
	current() *keySet
	// refreshEarly refetches the keys if the source is remote and the rate
	// limit allows; it reports whether a fetch was made.
	refreshEarly(ctx context.Context) bool
}

// staticKeys is a key source read once from a file.
type staticKeys struct{ set *keySet }

func (s staticKeys) current() *keySet                  { return s.set }
func (s staticKeys) refreshEarly(context.Context) bool { return false }

// loadJWKSFile reads a local JWK Set.
func loadJWKSFile(path string, log zerolog.Logger) (staticKeys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return staticKeys{}, fmt.Errorf("oauth.jwks_file: %w", err)
	}
	set, err := parseJWKS(data, log)
	if err != nil {
		return staticKeys{}, fmt.Errorf("oauth.jwks_file %s: %w", path, err)
	}
	return staticKeys{set: set}, nil
}

// loadPublicKeyFile reads one PEM public key (PKIX, PKCS#1 RSA, or a
// certificate). It has no kid and so matches tokens with any kid.
func loadPublicKeyFile(path string) (staticKeys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return staticKeys{}, fmt.Errorf("oauth.public_key_file: %w", err)
	}
	raw, _, err := jwk.DecodePEM(data)
	if err != nil {
		return staticKeys{}, fmt.Errorf("oauth.public_key_file %s: %w", path, err)
	}
	pub, err := jwk.PublicRawKeyOf(raw)
	if err != nil {
		return staticKeys{}, fmt.Errorf("oauth.public_key_file %s: %w", path, err)
	}
	vk, err := newVerifyKey("", "", pub)
	if err != nil {
		return staticKeys{}, fmt.Errorf("oauth.public_key_file %s: %w", path, err)
	}
	return staticKeys{set: &keySet{keys: []*verifyKey{vk}}}, nil
}

// remoteJWKS is a JWK Set fetched from a URL, refreshed in the background and
// early when an unknown kid shows up, never more than once per minInterval.
type remoteJWKS struct {
	url         string
	client      *http.Client
	interval    time.Duration
	minInterval time.Duration
	now         func() time.Time
	log         zerolog.Logger

	set  atomic.Pointer[keySet]
	sem  chan struct{} // held while fetching: one fetch at a time
	mu   sync.Mutex
	last time.Time // start of the last fetch attempt, under mu
}

func newRemoteJWKS(ctx context.Context, cfg Config, log zerolog.Logger) *remoteJWKS {
	r := &remoteJWKS{
		url:         cfg.JWKSURL,
		client:      &http.Client{Timeout: cfg.JWKSTimeout},
		interval:    cfg.JWKSRefreshInterval,
		minInterval: cfg.JWKSMinRefreshInterval,
		now:         cfg.now,
		log:         log.With().Str("jwks_url", cfg.JWKSURL).Logger(),
		sem:         make(chan struct{}, 1),
	}
	if err := r.fetch(ctx); err != nil {
		// Not fatal: the issuer may start after us. Tokens fail with
		// ReasonUnavailable until a fetch succeeds.
		r.log.Error().Err(err).Msg("initial JWKS fetch failed; retrying in the background")
	}
	go r.run(ctx)
	return r
}

func (r *remoteJWKS) current() *keySet { return r.set.Load() }

// run refreshes the keys every interval until ctx is done; after a failure
// it retries sooner, backing off from minInterval.
func (r *remoteJWKS) run(ctx context.Context) {
	delay := r.interval
	if r.set.Load() == nil {
		delay = r.minInterval
	}
	failures := 0
	for {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := r.acquireAndFetch(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			delay = min(r.interval, r.minInterval<<min(failures, 10))
			r.log.Warn().Err(err).Dur("retry_in", delay).Msg("JWKS refresh failed; keeping the previous keys")
			continue
		}
		failures = 0
		delay = r.interval
	}
}

// refreshEarly fetches now unless a fetch started less than minInterval ago.
func (r *remoteJWKS) refreshEarly(ctx context.Context) bool {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	defer func() { <-r.sem }()
	r.mu.Lock()
	allowed := r.last.IsZero() || r.now().Sub(r.last) >= r.minInterval
	r.mu.Unlock()
	if !allowed {
		return false
	}
	if err := r.fetch(ctx); err != nil {
		r.log.Warn().Err(err).Msg("early JWKS refresh failed")
	}
	return true
}

func (r *remoteJWKS) acquireAndFetch(ctx context.Context) error {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.sem }()
	return r.fetch(ctx)
}

// fetch downloads and installs the key set; on failure the old set stays.
func (r *remoteJWKS) fetch(ctx context.Context) error {
	r.mu.Lock()
	r.last = r.now()
	r.mu.Unlock()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("JWKS endpoint answered %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return err
	}
	if len(data) > maxJWKSBytes {
		return fmt.Errorf("JWKS larger than %d bytes", maxJWKSBytes)
	}
	set, err := parseJWKS(data, r.log)
	if err != nil {
		return err
	}
	r.set.Store(set)
	r.log.Info().Strs("kids", set.kids()).Msg("JWKS loaded")
	return nil
}
