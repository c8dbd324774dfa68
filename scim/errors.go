package scim

import (
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/scimgate/scimgate/scim/resource"
)

const (
	contentType = "application/scim+json"
	errorURN    = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// handlerFunc is a handler that returns its failure instead of writing
// it: it writes a response only when it returns nil.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// serve runs h and renders the error it returns.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, h handlerFunc) {
	if err := h(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

// handler adapts h to an http.Handler.
func (s *Server) handler(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, h) })
}

// writeError is the one place errors become HTTP responses, and the one
// place they are logged. Typed resource errors keep their status,
// scimType and detail; anything else is a 500 with a generic detail, and
// the cause goes to the log only. Headers the handler set before it
// failed (Allow, WWW-Authenticate) are kept.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var se *resource.Error
	if !errors.As(err, &se) {
		se = resource.Internal(err)
	}
	if se.Status >= 500 || se.Err != nil {
		log := s.requestLog(r)
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
}

// methodNotAllowed is 405 with the Allow header.
func methodNotAllowed(w http.ResponseWriter, methods ...string) error {
	w.Header().Set("Allow", strings.Join(methods, ", "))
	return &resource.Error{Status: http.StatusMethodNotAllowed, Detail: "method not allowed; allowed: " + strings.Join(methods, ", ")}
}

// checkMediaType accepts a request body declared as application/scim+json
// or application/json (RFC 7644 §3.1), in UTF-8 if a charset is named,
// or declared as nothing at all; anything else is 415.
func checkMediaType(h http.Header) error {
	values := h.Values("Content-Type")
	if len(values) == 0 || len(values) == 1 && strings.TrimSpace(values[0]) == "" {
		return nil
	}
	unsupported := func(why string) error {
		return &resource.Error{Status: http.StatusUnsupportedMediaType,
			Detail: "request body " + why + "; send application/scim+json (or application/json) in UTF-8"}
	}
	if len(values) > 1 {
		return unsupported("has more than one Content-Type")
	}
	mt, params, err := mime.ParseMediaType(values[0])
	if err != nil {
		return unsupported("has an unreadable Content-Type " + strconv.Quote(values[0]))
	}
	if mt != contentType && mt != "application/json" {
		return unsupported("is " + strconv.Quote(mt))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return unsupported("is in " + strconv.Quote(cs))
	}
	return nil
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
