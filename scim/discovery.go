package scim

import (
	"net/http"
	"strings"

	"github.com/elimity-com/scim/schema"

	"github.com/scimgate/scimgate/scim/resource"
)

// serviceProviderConfig tells what this server really does (RFC 7643 §5).
func (s *Server) serviceProviderConfig(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"documentationUri": "https://github.com/scimgate/scimgate#readme",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": s.cfg.MaxPageSize},
		"changePassword":   map[string]any{"supported": true},
		"sort":             map[string]any{"supported": true},
		// RFC 9865: both index and cursor paging; index when the request
		// names neither, as RFC 7644 clients expect.
		"pagination": map[string]any{"cursor": true, "index": true, "defaultPaginationMethod": "index",
			"defaultPageSize": s.cfg.DefaultPageSize, "maxPageSize": s.cfg.MaxPageSize, "cursorTimeout": int(cursorTimeout.Seconds())},
		"etag": map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token",
			"description": "Authentication with an OAuth 2.0 bearer token (RFC 6750)",
			"specUri":     "https://www.rfc-editor.org/rfc/rfc6750", "primary": true,
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": s.cfg.BaseURL + "/ServiceProviderConfig"},
	})
	return nil
}

// allSchemas lists each resource type's schema and extensions once.
func (s *Server) allSchemas() []schema.Schema {
	var out []schema.Schema
	seen := map[string]bool{}
	add := func(sc schema.Schema) {
		if !seen[sc.ID] {
			seen[sc.ID] = true
			out = append(out, sc)
		}
	}
	for _, t := range s.types {
		add(t.Schema)
		for _, e := range t.Extensions {
			add(e.Schema)
		}
	}
	return out
}

func (s *Server) schemaJSON(sc schema.Schema) map[string]any {
	m := sc.ToMap()
	m["meta"] = map[string]any{"resourceType": "Schema", "location": s.cfg.BaseURL + "/Schemas/" + sc.ID}
	return m
}

func (s *Server) schemas(w http.ResponseWriter, r *http.Request, rest []string) error {
	all := s.allSchemas()
	if len(rest) == 1 {
		for _, sc := range all {
			if strings.EqualFold(sc.ID, rest[0]) {
				writeJSON(w, http.StatusOK, s.schemaJSON(sc))
				return nil
			}
		}
		return resource.NotFound("no schema %q", rest[0])
	}
	items := make([]any, 0, len(all))
	for _, sc := range all {
		items = append(items, s.schemaJSON(sc))
	}
	writeJSON(w, http.StatusOK, listResponse(items))
	return nil
}

func (s *Server) resourceTypeJSON(t *resource.Type) map[string]any {
	ext := []any{}
	for _, e := range t.Extensions {
		ext = append(ext, map[string]any{"schema": e.Schema.ID, "required": e.Required})
	}
	return map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"},
		"id":               t.ID,
		"name":             t.Name,
		"endpoint":         t.Endpoint,
		"description":      t.Description,
		"schema":           t.Schema.ID,
		"schemaExtensions": ext,
		"meta":             map[string]any{"resourceType": "ResourceType", "location": s.cfg.BaseURL + "/ResourceTypes/" + t.ID},
	}
}

func (s *Server) resourceTypes(w http.ResponseWriter, r *http.Request, rest []string) error {
	if len(rest) == 1 {
		for _, t := range s.types {
			if strings.EqualFold(t.ID, rest[0]) {
				writeJSON(w, http.StatusOK, s.resourceTypeJSON(t))
				return nil
			}
		}
		return resource.NotFound("no resource type %q", rest[0])
	}
	items := make([]any, 0, len(s.types))
	for _, t := range s.types {
		items = append(items, s.resourceTypeJSON(t))
	}
	writeJSON(w, http.StatusOK, listResponse(items))
	return nil
}

func listResponse(items []any) map[string]any {
	return map[string]any{"schemas": []string{listURN}, "totalResults": len(items), "startIndex": 1, "itemsPerPage": len(items), "Resources": items}
}
