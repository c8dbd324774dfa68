package oauth

import (
	"context"
	"slices"

	"github.com/rs/zerolog"
)

// ClientRegistry restricts the scopes each OAuth client may use. It wraps a
// Validator: a token from a registered client keeps only the scopes listed
// for that client (dropped scopes are logged at warn with the client id);
// a token from any other client, or without a client id, is handled by the
// UnknownClients policy: reject, allow (unfiltered) or no_scopes.
//
// An empty registry filters nothing; New does not install one then.
type ClientRegistry struct {
	next    Validator
	allowed map[string][]string
	unknown string
	log     zerolog.Logger
}

// NewClientRegistry wraps next with the registry cfg.Clients and the policy
// cfg.UnknownClients (default reject when Clients is non-empty).
func NewClientRegistry(next Validator, cfg Config, logger zerolog.Logger) *ClientRegistry {
	cfg = cfg.withDefaults()
	allowed := make(map[string][]string, len(cfg.Clients))
	for id, scopes := range cfg.Clients {
		allowed[id] = slices.Clone(scopes)
	}
	return &ClientRegistry{next: next, allowed: allowed, unknown: cfg.UnknownClients, log: logger}
}

// Validate implements Validator.
func (r *ClientRegistry) Validate(ctx context.Context, token string) (*Principal, error) {
	p, err := r.next.Validate(ctx, token)
	if err != nil || len(r.allowed) == 0 {
		return p, err
	}
	allowed, known := r.allowed[p.ClientID]
	if !known {
		switch r.unknown {
		case UnknownClientsAllow:
			return p, nil
		case UnknownClientsNoScopes:
			r.logDropped(p, p.Scopes, "client not in the registry; all scopes dropped")
			q := *p
			q.Scopes = nil
			return &q, nil
		default:
			r.log.Warn().Str("client_id", p.ClientID).Str("sub", p.Subject).Str("jti", p.TokenID).
				Msg("token refused: client not in the registry")
			return nil, newError(ReasonUnknownClient, "the token's client is not registered")
		}
	}
	var kept, dropped []string
	for _, s := range p.Scopes {
		if slices.Contains(allowed, s) {
			kept = append(kept, s)
		} else {
			dropped = append(dropped, s)
		}
	}
	if len(dropped) == 0 {
		return p, nil
	}
	r.logDropped(p, dropped, "scopes beyond the client's registered scopes dropped")
	q := *p
	q.Scopes = kept
	return &q, nil
}

func (r *ClientRegistry) logDropped(p *Principal, dropped []string, msg string) {
	if len(dropped) == 0 {
		return
	}
	r.log.Warn().Str("client_id", p.ClientID).Str("sub", p.Subject).Str("jti", p.TokenID).
		Strs("dropped_scopes", dropped).Msg(msg)
}
