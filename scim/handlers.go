package scim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/rs/zerolog"
	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimgate/scimgate/scim/resource"
)

const (
	listURN   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	searchURN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	patchURN  = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

func (s *Server) get(w http.ResponseWriter, r *http.Request, log *zerolog.Logger, t *resource.Type, id string) {
	p, err := projectionFromQuery(r)
	if err != nil {
		writeError(w, log, err)
		return
	}
	res, err := s.backend.Get(r.Context(), t, id, p)
	if err != nil {
		writeError(w, log, err)
		return
	}
	if inm := parseETags(r.Header.Get("If-None-Match")); len(inm) > 0 && res.Meta.Version != "" && etagMatch(inm, res.Meta.Version) {
		w.Header().Set("ETag", etag(res.Meta.Version))
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.writeResource(w, http.StatusOK, t, res, p)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, log *zerolog.Logger, t *resource.Type) {
	q, err := s.queryFromURL(r)
	if err != nil {
		writeError(w, log, err)
		return
	}
	s.runList(w, r, log, t, q)
}

// searchRequest is the body of POST .search (RFC 7644 §3.4.3).
type searchRequest struct {
	Schemas            []string `json:"schemas"`
	Filter             string   `json:"filter"`
	StartIndex         *int     `json:"startIndex"`
	Count              *int     `json:"count"`
	SortBy             string   `json:"sortBy"`
	SortOrder          string   `json:"sortOrder"`
	Attributes         []string `json:"attributes"`
	ExcludedAttributes []string `json:"excludedAttributes"`
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, log *zerolog.Logger, t *resource.Type) {
	var body searchRequest
	if err := s.decode(w, r, &body); err != nil {
		writeError(w, log, err)
		return
	}
	if !containsFold(body.Schemas, searchURN) {
		writeError(w, log, resource.InvalidValue("a search request must carry the schema %s", searchURN))
		return
	}
	q := &resource.ListQuery{StartIndex: 1, Count: -1, SortBy: body.SortBy}
	if body.StartIndex != nil {
		q.StartIndex = *body.StartIndex
	}
	if body.Count != nil {
		q.Count = max(*body.Count, 0)
	}
	var err error
	if q.SortDescending, err = sortOrder(body.SortOrder); err != nil {
		writeError(w, log, err)
		return
	}
	if q.Projection, err = newProjection(body.Attributes, body.ExcludedAttributes); err != nil {
		writeError(w, log, err)
		return
	}
	if body.Filter != "" {
		if q.Filter, err = s.parseFilter(body.Filter); err != nil {
			writeError(w, log, err)
			return
		}
	}
	s.runList(w, r, log, t, q)
}

func (s *Server) runList(w http.ResponseWriter, r *http.Request, log *zerolog.Logger, t *resource.Type, q *resource.ListQuery) {
	page, err := s.backend.List(r.Context(), t, q)
	if err != nil {
		writeError(w, log, err)
		return
	}
	items := make([]any, 0, len(page.Resources))
	pj := resource.NewProjector(t, q.Projection)
	for _, res := range page.Resources {
		items = append(items, s.render(t, res, pj))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":      []string{listURN},
		"totalResults": page.TotalResults,
		"startIndex":   page.StartIndex,
		"itemsPerPage": len(items),
		"Resources":    items,
	})
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, log *zerolog.Logger, t *resource.Type) {
	attrs, err := s.decodeResource(w, r, t, true)
	if err != nil {
		writeError(w, log, err)
		return
	}
	p, err := projectionFromQuery(r)
	if err != nil {
		writeError(w, log, err)
		return
	}
	res, err := s.backend.Create(r.Context(), t, attrs, p)
	if err != nil {
		writeError(w, log, err)
		return
	}
	w.Header().Set("Location", s.location(t, res.ID))
	s.writeResource(w, http.StatusCreated, t, res, p)
}

func (s *Server) replace(w http.ResponseWriter, r *http.Request, log *zerolog.Logger, t *resource.Type, id string) {
	attrs, err := s.decodeResource(w, r, t, false)
	if err != nil {
		writeError(w, log, err)
		return
	}
	p, err := projectionFromQuery(r)
	if err != nil {
		writeError(w, log, err)
		return
	}
	res, err := s.backend.Replace(r.Context(), t, id, attrs, conditions(r), p)
	if err != nil {
		writeError(w, log, err)
		return
	}
	s.writeResource(w, http.StatusOK, t, res, p)
}

// patchRequest is a PatchOp message (RFC 7644 §3.5.2).
type patchRequest struct {
	Schemas    []string `json:"schemas"`
	Operations []struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	} `json:"Operations"`
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request, log *zerolog.Logger, t *resource.Type, id string) {
	var body patchRequest
	if err := s.decode(w, r, &body); err != nil {
		writeError(w, log, err)
		return
	}
	if !containsFold(body.Schemas, patchURN) {
		writeError(w, log, resource.InvalidValue("a PATCH request must carry the schema %s", patchURN))
		return
	}
	if len(body.Operations) == 0 {
		writeError(w, log, resource.InvalidValue("a PATCH request needs at least one operation"))
		return
	}
	ops := make([]resource.PatchOp, 0, len(body.Operations))
	for i, o := range body.Operations {
		op := resource.PatchOp{Op: strings.ToLower(strings.TrimSpace(o.Op))}
		switch op.Op {
		case "add", "replace", "remove":
		default:
			writeError(w, log, resource.InvalidValue("operation %d: op must be add, replace or remove, not %q", i+1, o.Op))
			return
		}
		if o.Path != "" {
			p, err := resource.ParsePath(o.Path)
			if err != nil {
				writeError(w, log, err)
				return
			}
			op.Path = p
		} else if op.Op == "remove" {
			writeError(w, log, resource.NoTarget("operation %d: remove needs a path", i+1))
			return
		}
		if len(o.Value) > 0 {
			if err := json.Unmarshal(o.Value, &op.Value); err != nil {
				writeError(w, log, resource.InvalidSyntax("operation %d: value is not valid JSON", i+1))
				return
			}
		}
		if op.Path == nil && op.Op != "remove" {
			if _, ok := op.Value.(map[string]any); !ok {
				writeError(w, log, resource.InvalidValue("operation %d: without a path, value must be an object", i+1))
				return
			}
		}
		ops = append(ops, op)
	}
	p, err := projectionFromQuery(r)
	if err != nil {
		writeError(w, log, err)
		return
	}
	res, err := s.backend.Patch(r.Context(), t, id, ops, conditions(r), p)
	if err != nil {
		writeError(w, log, err)
		return
	}
	s.writeResource(w, http.StatusOK, t, res, p)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, log *zerolog.Logger, t *resource.Type, id string) {
	if err := s.backend.Delete(r.Context(), t, id, conditions(r)); err != nil {
		writeError(w, log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// writeResource renders a resource with its ETag.
func (s *Server) writeResource(w http.ResponseWriter, status int, t *resource.Type, res *resource.Resource, p resource.Projection) {
	if res.Meta.Version != "" {
		w.Header().Set("ETag", etag(res.Meta.Version))
	}
	writeJSON(w, status, s.render(t, res, resource.NewProjector(t, p)))
}

// render projects a resource and makes its locations absolute.
func (s *Server) render(t *resource.Type, res *resource.Resource, pj *resource.Projector) map[string]any {
	res.Meta.Location = s.location(t, res.ID)
	out := pj.Project(res)
	absRefs(out, s.cfg.BaseURL)
	return out
}

func (s *Server) location(t *resource.Type, id string) string {
	return s.cfg.BaseURL + t.Endpoint + "/" + id
}

// absRefs makes relative $ref values absolute.
func absRefs(v any, base string) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if ref, ok := x.(string); ok && k == "$ref" && ref != "" && !strings.Contains(ref, "://") {
				t[k] = base + "/" + strings.TrimPrefix(ref, "/")
				continue
			}
			absRefs(x, base)
		}
	case []any:
		for _, x := range t {
			absRefs(x, base)
		}
	}
}

// decode reads a JSON body within the size limit.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, into any) error {
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	dec := json.NewDecoder(body)
	if err := dec.Decode(into); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &resource.Error{Status: http.StatusRequestEntityTooLarge, Detail: "request body larger than " + strconv.FormatInt(s.cfg.MaxBodyBytes, 10) + " bytes"}
		}
		if errors.Is(err, io.EOF) {
			return resource.InvalidSyntax("request body is empty")
		}
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return resource.InvalidSyntax("%s has the wrong JSON type", ute.Field)
		}
		return resource.InvalidSyntax("request body is not valid JSON")
	}
	if dec.More() {
		return resource.InvalidSyntax("request body holds more than one JSON value")
	}
	return nil
}

// decodeResource reads and normalises a POST or PUT body.
func (s *Server) decodeResource(w http.ResponseWriter, r *http.Request, t *resource.Type, create bool) (map[string]any, error) {
	var raw map[string]any
	if err := s.decode(w, r, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, resource.InvalidSyntax("request body must be a JSON object")
	}
	return resource.Normalize(raw, t, create)
}

func (s *Server) parseFilter(f string) (filter.Expression, error) {
	if len(f) > s.cfg.MaxFilterBytes {
		return nil, resource.InvalidFilter("filter longer than %d bytes", s.cfg.MaxFilterBytes)
	}
	return resource.ParseFilter(f)
}

// queryFromURL reads the query parameters of a list request.
func (s *Server) queryFromURL(r *http.Request) (*resource.ListQuery, error) {
	v := r.URL.Query()
	q := &resource.ListQuery{StartIndex: 1, Count: -1, SortBy: v.Get("sortBy")}
	if f := v.Get("filter"); f != "" {
		fe, err := s.parseFilter(f)
		if err != nil {
			return nil, err
		}
		q.Filter = fe
	}
	if si := v.Get("startIndex"); si != "" {
		n, err := strconv.Atoi(si)
		if err != nil {
			return nil, resource.InvalidValue("startIndex must be an integer")
		}
		q.StartIndex = max(n, 1)
	}
	if c := v.Get("count"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil {
			return nil, resource.InvalidValue("count must be an integer")
		}
		q.Count = max(n, 0)
	}
	var err error
	if q.SortDescending, err = sortOrder(v.Get("sortOrder")); err != nil {
		return nil, err
	}
	if q.Projection, err = projectionFrom(v); err != nil {
		return nil, err
	}
	return q, nil
}

func sortOrder(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "", "ascending":
		return false, nil
	case "descending":
		return true, nil
	}
	return false, resource.InvalidValue("sortOrder must be ascending or descending")
}

func projectionFromQuery(r *http.Request) (resource.Projection, error) {
	return projectionFrom(r.URL.Query())
}

// projectionFrom reads attributes and excludedAttributes from query values.
func projectionFrom(v url.Values) (resource.Projection, error) {
	return newProjection(splitList(v.Get("attributes")), splitList(v.Get("excludedAttributes")))
}

// newProjection makes a projection of attributes or excludedAttributes,
// which cannot go together.
func newProjection(attrs, excluded []string) (resource.Projection, error) {
	p := resource.Projection{Attributes: attrs, ExcludedAttributes: excluded}
	if len(attrs) > 0 && len(excluded) > 0 {
		return p, resource.InvalidValue("attributes and excludedAttributes cannot be used together")
	}
	return p, nil
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// etag renders a version as a weak entity tag.
func etag(version string) string { return `W/"` + version + `"` }

// parseETags reads an If-Match or If-None-Match header into versions.
func parseETags(h string) []string {
	var out []string
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		part = strings.TrimPrefix(part, "W/")
		out = append(out, strings.Trim(part, `"`))
	}
	return out
}

func etagMatch(list []string, version string) bool {
	for _, v := range list {
		if v == "*" || v == version {
			return true
		}
	}
	return false
}

func conditions(r *http.Request) resource.Conditions {
	return resource.Conditions{IfMatch: parseETags(r.Header.Get("If-Match")), IfNoneMatch: parseETags(r.Header.Get("If-None-Match"))}
}
