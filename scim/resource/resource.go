// Package resource is the contract between the SCIM HTTP layer (package
// scim) and a storage backend (package ldapbackend): resource types,
// resources as JSON-shaped maps, queries, PATCH operations, the caller,
// and typed errors that the HTTP layer turns into SCIM error responses in
// one place. It knows nothing of HTTP or LDAP.
package resource

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"
)

// Type is a SCIM resource type: its endpoint and schemas.
type Type struct {
	ID          string // "User"
	Name        string // "User"
	Endpoint    string // "/Users"
	Description string
	Schema      schema.Schema
	Extensions  []Extension
}

// Extension is a schema extension of a resource type.
type Extension struct {
	Schema   schema.Schema
	Required bool
}

// Resource is one SCIM resource. Attrs holds the core attributes under
// their schema spelling and each extension's attributes in a map under the
// extension's URN; values are JSON-shaped: string, bool, int64, float64,
// []any and map[string]any. ID, "schemas" and Meta are kept apart.
type Resource struct {
	ID    string
	Attrs map[string]any
	Meta  Meta
}

// Meta is the resource's meta attribute.
type Meta struct {
	ResourceType string
	Created      time.Time
	LastModified time.Time
	Location     string // absolute URL, filled by the HTTP layer
	Version      string // ETag value without quotes or W/, "" when unknown
}

// Projection is the attributes/excludedAttributes of a request (RFC 7644
// §3.4.2.5): at most one of the two lists is set. Names are SCIM paths as
// sent ("userName", "name.givenName", "urn:...:User:department").
type Projection struct {
	Attributes         []string
	ExcludedAttributes []string
}

// ListQuery is a search: GET on a resource endpoint or POST .search.
type ListQuery struct {
	Filter         filter.Expression // nil = every resource of the type
	StartIndex     int               // 1-based; values below 1 are read as 1
	Count          int               // page size; < 0 = the server's default
	SortBy         string            // SCIM path, "" = the server's stable order
	SortDescending bool
	Projection     Projection
	// After, for cursor paging (RFC 9865), asks for the resources whose id
	// comes after it, in id order ("" = from the first); StartIndex is then
	// 1 and SortBy empty.
	After    string
	ByCursor bool
	// From, for cursor paging, continues a walk in the directory's own
	// order (Page.Next of the page before), rather than in id order.
	From *Position
}

// Position is where a cursor walk in the directory's own order stands:
// the ids it read last, the newest last (a few, so that the walk can go on
// when the very last was deleted since), and a tag of the directory server
// that order is the order of.
type Position struct {
	IDs    []string
	Server string
}

// Page is one page of search results.
type Page struct {
	TotalResults int
	StartIndex   int
	Resources    []*Resource
	// More, for cursor paging, says resources follow the last of this page.
	More bool
	// Next, for cursor paging, is set when the page is in the directory's
	// own order: the next cursor continues from there (ListQuery.From).
	Next *Position
	// NoTotal says TotalResults is not known: a cursor walk in the
	// directory's order does not count the matches (RFC 9865 lets such a
	// response omit totalResults).
	NoTotal bool
}

// PatchOp is one PATCH operation (RFC 7644 §3.5.2), as DecodePatch
// returns it. Op is "add", "replace" or "remove" (already lowercased).
// Path is nil when the request has no path. Value is the JSON-decoded
// value, numbers as json.Number (nil for remove, or for an explicit
// null).
type PatchOp struct {
	Op    string
	Path  *filter.Path
	Value any
}

// Conditions are the request's preconditions, as ETag values without
// quotes ("*" allowed).
type Conditions struct {
	IfMatch     []string
	IfNoneMatch []string
}

// Backend stores resources. Every method gets the Caller from the context
// (WithCaller) and decides access itself; it returns *Error values for
// everything a client can cause.
type Backend interface {
	Get(ctx context.Context, t *Type, id string, p Projection) (*Resource, error)
	List(ctx context.Context, t *Type, q *ListQuery) (*Page, error)
	Create(ctx context.Context, t *Type, attrs map[string]any, p Projection) (*Resource, error)
	Replace(ctx context.Context, t *Type, id string, attrs map[string]any, c Conditions, p Projection) (*Resource, error)
	Patch(ctx context.Context, t *Type, id string, ops []PatchOp, c Conditions, p Projection) (*Resource, error)
	Delete(ctx context.Context, t *Type, id string, c Conditions) error
}

// Caller is who makes the request, as the backend needs it for access
// control and audit.
type Caller struct {
	Subject   string   // token subject
	ClientID  string   // token client id
	Scopes    []string // token scopes
	HasToken  bool
	IP        netip.Addr
	Secure    bool // TLS
	RequestID string
	// BindDN is the mapped user's DN in the mapped identity modes; "" runs
	// the request as the service account.
	BindDN string
	// Audit collects the access decisions made for the request, for the
	// request's log line. May be nil.
	Audit *Audit
}

type callerKey struct{}

// WithCaller returns a context carrying the caller.
func WithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the context's caller, if any.
func CallerFrom(ctx context.Context) (*Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(*Caller)
	return c, ok
}

// Audit records the access decisions of one request: how many checks were
// allowed and denied, the first denial and the last grant.
type Audit struct {
	mu        sync.Mutex
	Allowed   int
	Denied    int
	FirstDeny string
	LastAllow string
	// Refused says why the directory itself refused an operation the
	// ACIs allowed (its own access control, under proxied authorization).
	Refused string
}

// Refuse records that the directory refused an operation, and why.
func (a *Audit) Refuse(reason string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.Refused == "" {
		a.Refused = reason
	}
}

// Add adds a batch of decisions: how many were allowed and denied, the
// last grant and the first denial among them ("" when none).
func (a *Audit) Add(allowed, denied int, lastAllow, firstDeny string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Allowed += allowed
	a.Denied += denied
	if lastAllow != "" {
		a.LastAllow = lastAllow
	}
	if a.FirstDeny == "" && firstDeny != "" {
		a.FirstDeny = firstDeny
	}
}

// Summary is the decision to log for a request that ended with status:
// the first denial when the request was refused, else the last grant.
func (a *Audit) Summary(status int) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case (status == 403 || status == 404) && a.Refused != "":
		return a.Refused
	case (status == 403 || status == 404) && a.FirstDeny != "":
		return a.FirstDeny
	case a.LastAllow != "":
		return a.LastAllow
	case a.FirstDeny != "":
		return a.FirstDeny
	}
	return ""
}
