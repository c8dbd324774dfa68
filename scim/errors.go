package scim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/scimgate/scimgate/scim/resource"
)

const (
	contentType = "application/scim+json"
	errorURN    = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// writeError is the one place errors become HTTP responses. Typed
// resource errors keep their status, scimType and detail; anything else is
// a 500 with a generic detail, and the cause goes to the log only.
func writeError(w http.ResponseWriter, log *zerolog.Logger, err error) int {
	var se *resource.Error
	if !errors.As(err, &se) {
		se = resource.Internal(err)
	}
	if se.Status >= 500 || se.Err != nil {
		ev := log.Error()
		if se.Status < 500 {
			ev = log.Debug()
		}
		ev.Err(se.Err).Int("status", se.Status).Str("detail", se.Detail).Msg("request failed")
	}
	body := map[string]any{"schemas": []string{errorURN}, "status": strconv.Itoa(se.Status), "detail": se.Detail}
	if se.ScimType != "" {
		body["scimType"] = se.ScimType
	}
	writeJSON(w, se.Status, body)
	return se.Status
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
}
