// Package scim is scimgate's HTTP face: SCIM 2.0 (RFC 7644) routing,
// request decoding and validation, client quirks, discovery endpoints,
// ETags and the audit log line. It stores nothing itself: every resource
// operation goes to a resource.Backend, which decides access. Handlers
// return their errors, which become responses in one place (writeError);
// request bodies are decoded strictly by package resource.
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
	// MaxPageSize is announced as filter.maxResults and pagination.maxPageSize
	// (default 1000); DefaultPageSize as pagination.defaultPageSize (default 100).
	MaxPageSize, DefaultPageSize int
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
	if cfg.DefaultPageSize <= 0 {
		cfg.DefaultPageSize = min(100, cfg.MaxPageSize)
	}
	return &Server{cfg: cfg, backend: backend, types: types, log: log}
}

// ServeHTTP routes one request. The path must start with BasePath; names
// of endpoints are matched case-insensitively and a trailing slash is
// ignored.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.serve(w, r, s.dispatch)
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) error {
	rest, ok := cutPrefixFold(r.URL.Path, s.cfg.BasePath)
	if !ok {
		return resource.NotFound("no such endpoint")
	}
	return s.route(w, r, splitPath(rest))
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, parts []string) error {
	if len(parts) == 0 {
		// The base URL: a search across every resource type.
		if !allowed(r, http.MethodGet) {
			return methodNotAllowed(w, http.MethodGet)
		}
		q, cur, err := s.queryFromURL(r, nil)
		if err != nil {
			return err
		}
		return s.rootList(w, r, q, cur)
	}
	head := strings.ToLower(parts[0])
	switch head {
	case "serviceproviderconfig", "schemas", "resourcetypes":
		switch {
		case head == "serviceproviderconfig" && len(parts) != 1, len(parts) > 2:
			return resource.NotFound("no such endpoint")
		case !allowed(r, http.MethodGet):
			return methodNotAllowed(w, http.MethodGet)
		case head == "serviceproviderconfig":
			return s.serviceProviderConfig(w, r)
		case head == "schemas":
			return s.schemas(w, r, parts[1:])
		}
		return s.resourceTypes(w, r, parts[1:])
	case "me":
		if s.MeHandler != nil {
			s.MeHandler.ServeHTTP(w, r)
			return nil
		}
		return &resource.Error{Status: http.StatusNotImplemented, Detail: "/Me needs identity mapping, which is disabled: every request runs as the service account"}
	case "bulk":
		return &resource.Error{Status: http.StatusNotImplemented, Detail: "bulk operations are not supported (see /ServiceProviderConfig)"}
	case ".search":
		if len(parts) != 1 {
			return resource.NotFound("no such endpoint")
		}
		if !allowed(r, http.MethodPost) {
			return methodNotAllowed(w, http.MethodPost)
		}
		return s.search(w, r, nil)
	}
	t := s.typeFor(head)
	if t == nil {
		return resource.NotFound("no such endpoint %q", "/"+parts[0])
	}
	switch {
	case len(parts) == 1:
		switch r.Method {
		case http.MethodGet:
			return s.list(w, r, t)
		case http.MethodPost:
			return s.create(w, r, t)
		}
		return methodNotAllowed(w, http.MethodGet, http.MethodPost)
	case len(parts) == 2 && parts[1] == ".search":
		if !allowed(r, http.MethodPost) {
			return methodNotAllowed(w, http.MethodPost)
		}
		return s.search(w, r, t)
	case len(parts) == 2:
		return s.byID(w, r, t, parts[1])
	}
	return resource.NotFound("no such endpoint")
}

// byID serves a request for one resource by its method. An id that is not
// text (a NUL, invalid UTF-8) names no resource.
func (s *Server) byID(w http.ResponseWriter, r *http.Request, t *resource.Type, id string) error {
	var serve func(http.ResponseWriter, *http.Request, *resource.Type, string) error
	switch r.Method {
	case http.MethodGet:
		serve = s.get
	case http.MethodPut:
		serve = s.replace
	case http.MethodPatch:
		serve = s.patch
	case http.MethodDelete:
		serve = s.delete
	default:
		return methodNotAllowed(w, http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete)
	}
	if resource.CheckText("id", id) != nil {
		return resource.NotFound("no %s with this id", t.Name)
	}
	return serve(w, r, t, id)
}

func (s *Server) typeFor(endpoint string) *resource.Type {
	for _, t := range s.types {
		if strings.EqualFold(strings.TrimPrefix(t.Endpoint, "/"), endpoint) {
			return t
		}
	}
	return nil
}

// allowed reports whether the method is one of methods (HEAD counts as
// GET).
func allowed(r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m || m == http.MethodGet && r.Method == http.MethodHead {
			return true
		}
	}
	return false
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
