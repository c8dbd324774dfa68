package scim

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimgate/scimgate/scim/resource"
)

const listURN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

func (s *Server) get(w http.ResponseWriter, r *http.Request, t *resource.Type, id string) error {
	p, err := projectionFromQuery(r)
	if err != nil {
		return err
	}
	res, err := s.backend.Get(r.Context(), t, id, p)
	if err != nil {
		return err
	}
	if inm := parseETags(r.Header.Get("If-None-Match")); len(inm) > 0 && res.Meta.Version != "" && etagMatch(inm, res.Meta.Version) {
		w.Header().Set("ETag", etag(res.Meta.Version))
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	s.writeResource(w, http.StatusOK, t, res, p)
	return nil
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, t *resource.Type) error {
	q, cur, err := s.queryFromURL(r, t)
	if err != nil {
		return err
	}
	return s.runList(w, r, t, q, cur)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, t *resource.Type) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	sr, err := resource.DecodeSearch(body)
	if err != nil {
		return err
	}
	q := &resource.ListQuery{StartIndex: 1, Count: -1, SortBy: sr.SortBy}
	if sr.StartIndex != nil {
		q.StartIndex = *sr.StartIndex
	}
	if sr.Count != nil {
		q.Count = max(*sr.Count, 0)
	}
	if q.SortDescending, err = sortOrder(sr.SortOrder); err != nil {
		return err
	}
	var cur *cursorState
	if sr.Cursor != nil {
		if cur, err = s.cursorMode(q, t, sr.Filter, sr.SortOrder, *sr.Cursor, sr.StartIndex != nil); err != nil {
			return err
		}
	}
	if q.Projection, err = newProjection(sr.Attributes, sr.ExcludedAttributes); err != nil {
		return err
	}
	if sr.Filter != "" {
		if q.Filter, err = s.parseFilter(sr.Filter); err != nil {
			return err
		}
	}
	if t == nil {
		return s.rootList(w, r, q, cur)
	}
	return s.runList(w, r, t, q, cur)
}

// runList answers a list request; cur is the cursor state of a cursor-paged
// one (RFC 9865), else nil.
func (s *Server) runList(w http.ResponseWriter, r *http.Request, t *resource.Type, q *resource.ListQuery, cur *cursorState) error {
	page, err := s.backend.List(r.Context(), t, q)
	if err != nil {
		return err
	}
	items := make([]any, 0, len(page.Resources))
	pj := resource.NewProjector(t, q.Projection)
	for _, res := range page.Resources {
		items = append(items, s.render(t, res, pj))
	}
	out := map[string]any{
		"schemas":      []string{listURN},
		"totalResults": page.TotalResults,
		"startIndex":   page.StartIndex,
		"itemsPerPage": len(items),
		"Resources":    items,
	}
	if cur != nil {
		// RFC 9865: no startIndex. In id order, totalResults is the total
		// the walk started with (the backend counts what follows the
		// cursor). In the directory's order the matches are not counted
		// (that would read them all), and totalResults is left out
		// (RFC 9865 §2), unless the first page is the whole walk.
		delete(out, "startIndex")
		c := *cur
		switch {
		case page.Next != nil:
			delete(out, "totalResults")
			if !page.NoTotal {
				out["totalResults"] = page.TotalResults
			}
			if ids := page.Next.IDs; page.More && len(ids) > 0 {
				c.After, c.IDs, c.Server, c.Total, c.Issued = ids[len(ids)-1], ids, page.Next.Server, 0, time.Now().Unix()
				out["nextCursor"] = encodeCursor(c)
			}
		default:
			if c.After == "" {
				c.Total = page.TotalResults
			}
			out["totalResults"] = c.Total
			if page.More && len(page.Resources) > 0 {
				c.After, c.IDs, c.Server, c.Issued = page.Resources[len(page.Resources)-1].ID, nil, "", time.Now().Unix()
				out["nextCursor"] = encodeCursor(c)
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// cursorMode sets up q for cursor paging (RFC 9865): cursor is the value
// the client sent ("" for the first page). Cursor pages are in the
// directory's own order or in id order, so sortBy and startIndex do not
// combine with a cursor.
func (s *Server) cursorMode(q *resource.ListQuery, t *resource.Type, filter, sortOrder, cursor string, hasStart bool) (*cursorState, error) {
	if hasStart {
		return nil, resource.InvalidValue("startIndex and cursor cannot be combined: choose index or cursor paging")
	}
	if q.SortBy != "" || q.SortDescending {
		return nil, resource.InvalidValue("cursor paging has its own order: sortBy and sortOrder cannot be combined with a cursor")
	}
	if err := resource.CheckText("cursor", cursor); err != nil {
		return nil, err
	}
	c := cursorState{Query: cursorQuery(t, filter, sortOrder)}
	if cursor != "" {
		var err error
		if c, err = decodeCursor(cursor, c.Query, time.Now()); err != nil {
			return nil, err
		}
	}
	q.ByCursor, q.After = true, c.After
	if len(c.IDs) > 0 {
		q.From = &resource.Position{IDs: c.IDs, Server: c.Server}
	}
	return &c, nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, t *resource.Type) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	attrs, err := resource.DecodeResource(body, t, true)
	if err != nil {
		return err
	}
	p, err := projectionFromQuery(r)
	if err != nil {
		return err
	}
	res, err := s.backend.Create(r.Context(), t, attrs, p)
	if err != nil {
		return err
	}
	w.Header().Set("Location", s.location(t, res.ID))
	s.writeResource(w, http.StatusCreated, t, res, p)
	return nil
}

func (s *Server) replace(w http.ResponseWriter, r *http.Request, t *resource.Type, id string) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	attrs, err := resource.DecodeResource(body, t, false)
	if err != nil {
		return err
	}
	p, err := projectionFromQuery(r)
	if err != nil {
		return err
	}
	res, err := s.backend.Replace(r.Context(), t, id, attrs, conditions(r), p)
	if err != nil {
		return err
	}
	s.writeResource(w, http.StatusOK, t, res, p)
	return nil
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request, t *resource.Type, id string) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	ops, err := resource.DecodePatch(body, t)
	if err != nil {
		return err
	}
	p, err := projectionFromQuery(r)
	if err != nil {
		return err
	}
	res, err := s.backend.Patch(r.Context(), t, id, ops, conditions(r), p)
	if err != nil {
		return err
	}
	s.writeResource(w, http.StatusOK, t, res, p)
	return nil
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, t *resource.Type, id string) error {
	if err := s.backend.Delete(r.Context(), t, id, conditions(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
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

// readBody reads a request body of a JSON media type (checkMediaType)
// within the size limit; package resource decodes it.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if err := checkMediaType(r.Header); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &resource.Error{Status: http.StatusRequestEntityTooLarge, Detail: "request body larger than " + strconv.FormatInt(s.cfg.MaxBodyBytes, 10) + " bytes"}
		}
		return nil, resource.InvalidSyntax("request body could not be read")
	}
	return body, nil
}

func (s *Server) parseFilter(f string) (filter.Expression, error) {
	if len(f) > s.cfg.MaxFilterBytes {
		return nil, resource.InvalidFilter("filter longer than %d bytes", s.cfg.MaxFilterBytes)
	}
	return resource.ParseFilter(f)
}

// queryFromURL reads the query parameters of a list request.
func (s *Server) queryFromURL(r *http.Request, t *resource.Type) (*resource.ListQuery, *cursorState, error) {
	v := r.URL.Query()
	q := &resource.ListQuery{StartIndex: 1, Count: -1, SortBy: v.Get("sortBy")}
	if err := resource.CheckText("sortBy", q.SortBy); err != nil {
		return nil, nil, err
	}
	if f := v.Get("filter"); f != "" {
		fe, err := s.parseFilter(f)
		if err != nil {
			return nil, nil, err
		}
		q.Filter = fe
	}
	if si := v.Get("startIndex"); si != "" {
		n, err := queryInt("startIndex", si)
		if err != nil {
			return nil, nil, err
		}
		q.StartIndex = max(n, 1)
	}
	if c := v.Get("count"); c != "" {
		n, err := queryInt("count", c)
		if err != nil {
			return nil, nil, err
		}
		q.Count = max(n, 0)
	}
	var err error
	if q.SortDescending, err = sortOrder(v.Get("sortOrder")); err != nil {
		return nil, nil, err
	}
	if q.Projection, err = projectionFrom(v); err != nil {
		return nil, nil, err
	}
	var cur *cursorState
	if v.Has("cursor") {
		if cur, err = s.cursorMode(q, t, v.Get("filter"), v.Get("sortOrder"), v.Get("cursor"), v.Has("startIndex")); err != nil {
			return nil, nil, err
		}
	}
	return q, cur, nil
}

// queryInt reads startIndex or count: an integer within LDAP's maxInt
// (RFC 4511), as in a SearchRequest (resource.DecodeSearch).
func queryInt(name, s string) (int, error) {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, resource.InvalidValue("%s must be an integer from -2147483648 to 2147483647", name)
	}
	return int(n), nil
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
	for _, list := range []struct {
		name  string
		names []string
	}{{"attributes", attrs}, {"excludedAttributes", excluded}} {
		for _, n := range list.names {
			if err := resource.CheckText(list.name, n); err != nil {
				return p, err
			}
		}
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
