package scim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/scimgate/scimgate/scim/resource"
)

// cursorTimeout is how long a cursor stays good (RFC 9865's
// cursorTimeout, announced in /ServiceProviderConfig). A cursor holds no
// state on the server: it names the last id of a page (in id order), or
// the last ids read and the directory server (in the directory's own
// order), so any gateway can serve the next one, and a walk neither
// repeats an entry nor skips one that was there throughout, whatever is
// added or removed meanwhile.
const cursorTimeout = time.Hour

// cursorState is what a cursor carries: the last id served, the query it
// belongs to (a digest), the total at the walk's first page, and when it
// was issued; for a walk in the directory's order, the last ids read and
// the server's tag instead of the total.
type cursorState struct {
	After  string   `json:"a"`
	Query  string   `json:"q"`
	Total  int      `json:"n,omitempty"`
	Issued int64    `json:"t"`
	IDs    []string `json:"p,omitempty"`
	Server string   `json:"s,omitempty"`
}

// cursorQuery digests what a cursor is bound to: the resource type, the
// filter's text and the sort order. RFC 9865 asks clients to repeat the
// query unchanged but for the cursor; one that does not gets invalidCursor.
func cursorQuery(t *resource.Type, filter, sortOrder string) string {
	id := "" // the base URL's search across types
	if t != nil {
		id = t.ID
	}
	h := sha256.Sum256([]byte(id + "\x00" + filter + "\x00" + sortOrder))
	return hex.EncodeToString(h[:8])
}

// encodeCursor renders a cursor in characters RFC 3986 leaves unreserved.
func encodeCursor(c cursorState) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor of the query, or answers 400 invalidCursor
// (not one of ours, or another query's) or expiredCursor.
func decodeCursor(s, query string, now time.Time) (cursorState, error) {
	var c cursorState
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) > 4096 || json.Unmarshal(raw, &c) != nil || c.Query != query || c.After == "" ||
		len(c.IDs) > 0 && c.IDs[len(c.IDs)-1] != c.After {
		return c, &resource.Error{Status: http.StatusBadRequest, ScimType: "invalidCursor",
			Detail: "the cursor is not one this server gave for this query: start again with an empty cursor"}
	}
	if now.Sub(time.Unix(c.Issued, 0)) > cursorTimeout {
		return c, &resource.Error{Status: http.StatusBadRequest, ScimType: "expiredCursor",
			Detail: "the cursor is older than the cursorTimeout of /ServiceProviderConfig: start again with an empty cursor"}
	}
	return c, nil
}
