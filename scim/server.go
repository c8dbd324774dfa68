// Package scim is scimgate's HTTP face: SCIM 2.0 (RFC 7644) routing,
// request decoding and validation, client quirks, discovery endpoints,
// ETags and the audit log line. It stores nothing itself: every resource
// operation goes to a resource.Backend, which decides access. Errors become
// responses in one place (writeError).
package scim

import (
	"net/http"
	"strings"

	"github.com/rs/zerolog"

	"github.com/scimgate/scimgate/scim/resource"
)

// Config configures the HTTP layer.
type Config struct {
	// BaseURL is the absolute URL of the SCIM base as clients see it, e.g.
	// https://scim.example.com/scim/v2; it makes meta.location absolute.
	BaseURL string
	// BasePath is where SCIM is mounted (default /scim/v2).
	BasePath string
	// MaxBodyBytes caps request bodies (default 1 MiB); more is 413.
	MaxBodyBytes int64
	// MaxFilterBytes caps the filter parameter (default 4 KiB).
	MaxFilterBytes int
	// MaxPageSize is announced as filter.maxResults (default 1000).
	MaxPageSize int
	// Mode is logged on every request: disabled, optional or required.
	Mode string
}

// Server routes SCIM requests to a backend. Authentication happens before
// it (oauth.Middleware); it reads the caller from the request context.
type Server struct {
	cfg     Config
	backend resource.Backend
	types   []*resource.Type
	log     zerolog.Logger
	// MeHandler serves /Me; nil answers 501 (identity mapping disabled).
	MeHandler http.Handler
}

// New builds a server for the given resource types.
func New(cfg Config, backend resource.Backend, types []*resource.Type, log zerolog.Logger) *Server {
	if cfg.BasePath == "" {
		cfg.BasePath = "/scim/v2"
	}
	cfg.BasePath = "/" + strings.Trim(cfg.BasePath, "/")
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxFilterBytes <= 0 {
		cfg.MaxFilterBytes = 4096
	}
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = 1000
	}
	return &Server{cfg: cfg, backend: backend, types: types, log: log}
}

// ServeHTTP routes one request. The path must start with BasePath; names
// of endpoints are matched case-insensitively and a trailing slash is
// ignored.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := cutPrefixFold(r.URL.Path, s.cfg.BasePath)
	if !ok {
		writeError(w, &s.log, resource.NotFound("no such endpoint"))
		return
	}
	s.route(w, r, splitPath(rest))
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, parts []string) {
	log := s.requestLog(r)
	if len(parts) == 0 {
		writeError(w, log, resource.NotFound("no such endpoint; see /ServiceProviderConfig and /ResourceTypes"))
		return
	}
	head := strings.ToLower(parts[0])
	switch head {
	case "serviceproviderconfig", "schemas", "resourcetypes":
		switch {
		case head == "serviceproviderconfig" && len(parts) != 1, len(parts) > 2:
			writeError(w, log, resource.NotFound("no such endpoint"))
		case !allow(w, r, log, http.MethodGet):
		case head == "serviceproviderconfig":
			s.serviceProviderConfig(w, r)
		case head == "schemas":
			s.schemas(w, r, log, parts[1:])
		default:
			s.resourceTypes(w, r, log, parts[1:])
		}
		return
	case "me":
		if s.MeHandler != nil {
			s.MeHandler.ServeHTTP(w, r)
			return
		}
		writeError(w, log, &resource.Error{Status: http.StatusNotImplemented, Detail: "/Me needs identity mapping, which is disabled: every request runs as the service account"})
		return
	case "bulk":
		writeError(w, log, &resource.Error{Status: http.StatusNotImplemented, Detail: "bulk operations are not supported (see /ServiceProviderConfig)"})
		return
	case ".search":
		writeError(w, log, &resource.Error{Status: http.StatusNotImplemented, Detail: "searching across resource types is not supported; POST to /Users/.search or /Groups/.search"})
		return
	}
	t := s.typeFor(head)
	if t == nil {
		writeError(w, log, resource.NotFound("no such endpoint %q", "/"+parts[0]))
		return
	}
	switch {
	case len(parts) == 1:
		switch r.Method {
		case http.MethodGet:
			s.list(w, r, log, t)
		case http.MethodPost:
			s.create(w, r, log, t)
		default:
			methodNotAllowed(w, log, http.MethodGet, http.MethodPost)
		}
	case len(parts) == 2 && parts[1] == ".search":
		if allow(w, r, log, http.MethodPost) {
			s.search(w, r, log, t)
		}
	case len(parts) == 2:
		s.byID(w, r, log, t, parts[1])
	default:
		writeError(w, log, resource.NotFound("no such endpoint"))
	}
}

// byID serves a request for one resource by its method.
func (s *Server) byID(w http.ResponseWriter, r *http.Request, log *zerolog.Logger, t *resource.Type, id string) {
	switch r.Method {
	case http.MethodGet:
		s.get(w, r, log, t, id)
	case http.MethodPut:
		s.replace(w, r, log, t, id)
	case http.MethodPatch:
		s.patch(w, r, log, t, id)
	case http.MethodDelete:
		s.delete(w, r, log, t, id)
	default:
		methodNotAllowed(w, log, http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete)
	}
}

func (s *Server) typeFor(endpoint string) *resource.Type {
	for _, t := range s.types {
		if strings.EqualFold(strings.TrimPrefix(t.Endpoint, "/"), endpoint) {
			return t
		}
	}
	return nil
}

// allow answers 405 unless the method is one of methods (HEAD counts as GET).
func allow(w http.ResponseWriter, r *http.Request, log *zerolog.Logger, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m || m == http.MethodGet && r.Method == http.MethodHead {
			return true
		}
	}
	methodNotAllowed(w, log, methods...)
	return false
}

func methodNotAllowed(w http.ResponseWriter, log *zerolog.Logger, methods ...string) {
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, log, &resource.Error{Status: http.StatusMethodNotAllowed, Detail: "method not allowed; allowed: " + strings.Join(methods, ", ")})
}

func cutPrefixFold(p, prefix string) (string, bool) {
	if len(p) < len(prefix) || !strings.EqualFold(p[:len(prefix)], prefix) {
		return "", false
	}
	rest := p[len(prefix):]
	if rest != "" && rest[0] != '/' {
		return "", false
	}
	return rest, true
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// statusWriter remembers the status for the audit line.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (s *Server) requestLog(r *http.Request) *zerolog.Logger {
	l := zerolog.Ctx(r.Context())
	if l.GetLevel() == zerolog.Disabled {
		return &s.log
	}
	return l
}
