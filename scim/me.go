package scim

import (
	"context"
	"net/http"
	"strings"

	"github.com/scimgate/scimgate/scim/resource"
)

// SelfResolver finds the caller's own resource, for /Me.
type SelfResolver interface {
	SelfID(ctx context.Context, t *resource.Type) (string, error)
}

// Me serves /Me (RFC 7644 §3.11) for the mapped user: GET, PUT and PATCH
// act on the caller's own User resource, with the same access checks as
// /Users/{id}. A caller that runs as the service account gets 404.
func (s *Server) Me(t *resource.Type, self SelfResolver) http.Handler {
	return s.handler(func(w http.ResponseWriter, r *http.Request) error {
		if t == nil {
			return &resource.Error{Status: http.StatusNotImplemented, Detail: "no User resource type"}
		}
		parts := splitPath(r.URL.Path)
		if len(parts) > 0 && !strings.EqualFold(parts[len(parts)-1], "Me") {
			return resource.NotFound("no such endpoint")
		}
		switch r.Method {
		case http.MethodGet, http.MethodPut, http.MethodPatch:
		default:
			return methodNotAllowed(w, http.MethodGet, http.MethodPut, http.MethodPatch)
		}
		id, err := self.SelfID(r.Context(), t)
		if err != nil {
			return err
		}
		return s.byID(w, r, t, id)
	})
}

// UserTypeIn returns the User type of a list, or nil.
func UserTypeIn(types []*resource.Type) *resource.Type {
	for _, t := range types {
		if t.ID == "User" {
			return t
		}
	}
	return nil
}
