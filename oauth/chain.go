package oauth

import (
	"context"
	"errors"
)

// Chain tries validators in order. The first one that recognises the token
// decides: its principal or its error is the answer. A validator declines a
// token by returning an error wrapping ErrNotRecognized; when every validator
// declines, the last refusal is returned (a ReasonMalformed *Error).
type Chain []Validator

// Validate implements Validator.
func (c Chain) Validate(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, newError(ReasonMissingToken, "no access token")
	}
	var last error = declined("no validator accepts this kind of access token")
	for _, v := range c {
		p, err := v.Validate(ctx, token)
		if err != nil && errors.Is(err, ErrNotRecognized) {
			last = err
			continue
		}
		return p, err
	}
	return nil, last
}
