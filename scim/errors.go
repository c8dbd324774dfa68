package scim

import (
	"errors"
	"net/http"
	"strconv"
	"sync"

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

// writeJSON writes body as the response, with its length. The encoding
// is built in a pooled buffer first, so that a value JSON cannot hold
// (a bug) becomes a whole 500 rather than a cut-off 200.
func writeJSON(w http.ResponseWriter, status int, body any) {
	bp := jsonBufs.Get().(*[]byte)
	buf, err := appendJSON((*bp)[:0], body)
	if err != nil {
		status = http.StatusInternalServerError
		buf = append(buf[:0], `{"schemas":["`+errorURN+`"],"status":"500","detail":"the response could not be encoded"}`...)
	}
	buf = append(buf, '\n')
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(buf)))
	w.WriteHeader(status)
	_, _ = w.Write(buf)
	if cap(buf) <= maxPooledJSON {
		*bp = buf
		jsonBufs.Put(bp)
	}
}

// jsonBufs holds response buffers for reuse; one larger than
// maxPooledJSON (a big page) is left to the garbage collector.
var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledJSON = 1 << 20
