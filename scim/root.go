package scim

import (
	"errors"
	"net/http"

	"github.com/scimgate/scimgate/scim/resource"
)

// rootList answers a search across every resource type (RFC 7644
// §3.4.2.1: GET on the base URL, §3.4.3: POST /.search). The types are
// taken in the order the server lists them (/ResourceTypes); startIndex and
// count page through their concatenation, and totalResults is the sum.
// Each resource is decided by the ACIs as on its own endpoint. A filter
// naming an attribute a type does not have matches nothing of that type;
// one no type can take is 400 invalidFilter. Sorting and cursors are per
// resource type: sortBy or a cursor here is 400 invalidValue.
//
// The totals are counted first, then the pages read: a resource created
// or deleted in between can shift the page by that much.
func (s *Server) rootList(w http.ResponseWriter, r *http.Request, q *resource.ListQuery, cur *cursorState) error {
	if cur != nil {
		return resource.InvalidValue("cursor paging is per resource type: search /Users, /Groups, ... with a cursor")
	}
	if q.SortBy != "" {
		return resource.InvalidValue("sortBy is per resource type: resource types do not share their attributes")
	}
	ctx := r.Context()
	totals := make([]int, len(s.types))
	var filterErr error
	usable := 0
	for i, t := range s.types {
		cq := *q
		cq.StartIndex, cq.Count = 1, 0
		page, err := s.backend.List(ctx, t, &cq)
		var se *resource.Error
		switch {
		case err == nil:
			totals[i] = page.TotalResults
			usable++
		case errors.As(err, &se) && se.ScimType == resource.ScimInvalidFilter:
			totals[i] = -1 // the filter names what this type does not have
			if filterErr == nil {
				filterErr = err
			}
		default:
			return err
		}
	}
	if usable == 0 && filterErr != nil {
		return filterErr
	}
	count := q.Count
	if count < 0 {
		count = s.cfg.DefaultPageSize
	}
	count = min(count, s.cfg.MaxPageSize)
	start := max(q.StartIndex, 1)
	total := 0
	for _, n := range totals {
		total += max(n, 0)
	}
	items := []any{}
	offset := start - 1
	for i, t := range s.types {
		if len(items) >= count || totals[i] <= 0 {
			continue
		}
		if offset >= totals[i] {
			offset -= totals[i]
			continue
		}
		cq := *q
		cq.StartIndex, cq.Count = offset+1, count-len(items)
		offset = 0
		page, err := s.backend.List(ctx, t, &cq)
		if err != nil {
			return err
		}
		pj := resource.NewProjector(t, q.Projection)
		for _, res := range page.Resources {
			items = append(items, s.render(t, res, pj))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":      []string{listURN},
		"totalResults": total,
		"startIndex":   start,
		"itemsPerPage": len(items),
		"Resources":    items,
	})
	return nil
}
