package scim

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/scimgate/scimgate/scim/resource"
)

// memBackend is a resource.Backend in memory that behaves as the LDAP
// backend does where the HTTP layer can tell (404 for unknown ids, 409
// for a taken name, 412 for a failed precondition, ApplyPatch for PATCH)
// and counts its writes, so that a test can tell whether a refused
// request left one behind. Like a directory, it fails with a 500 when it
// is handed what the HTTP layer should have refused: text that is not
// text, values Normalize would not produce, operations CheckPatch would
// not pass.
type memBackend struct {
	mu     sync.Mutex
	next   int
	data   map[string]map[string]*memEntry // type ID → id → entry
	writes int
}

type memEntry struct {
	attrs   map[string]any
	version int
}

func newMemBackend() *memBackend {
	return &memBackend{data: map[string]map[string]*memEntry{}}
}

// seed stores attrs (as a client would send them) under id, with no write
// counted.
func (b *memBackend) seed(t *resource.Type, id, body string) {
	var raw map[string]any
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		panic(err)
	}
	attrs, err := resource.Normalize(raw, t, true)
	if err != nil {
		panic(err)
	}
	b.entries(t)[id] = &memEntry{attrs: attrs, version: 1}
}

// Writes returns how many writes the backend made.
func (b *memBackend) Writes() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.writes
}

func (b *memBackend) entries(t *resource.Type) map[string]*memEntry {
	m := b.data[t.ID]
	if m == nil {
		m = map[string]*memEntry{}
		b.data[t.ID] = m
	}
	return m
}

func (b *memBackend) resource(t *resource.Type, id string, e *memEntry) *resource.Resource {
	attrs, _ := deepCopyJSON(e.attrs).(map[string]any)
	return &resource.Resource{ID: id, Attrs: attrs, Meta: resource.Meta{ResourceType: t.Name, Version: "v" + strconv.Itoa(e.version)}}
}

func (b *memBackend) Get(_ context.Context, t *resource.Type, id string, _ resource.Projection) (*resource.Resource, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := checkClean("id", id, false); err != nil {
		return nil, err
	}
	e := b.entries(t)[id]
	if e == nil {
		return nil, resource.NotFound("no such %s", t.Name)
	}
	return b.resource(t, id, e), nil
}

func (b *memBackend) List(_ context.Context, t *resource.Type, q *resource.ListQuery) (*resource.Page, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range append(append([]string{q.SortBy}, q.Projection.Attributes...), q.Projection.ExcludedAttributes...) {
		if err := checkClean("list query", s, false); err != nil {
			return nil, err
		}
	}
	if q.Filter != nil {
		if err := checkClean("filter", fmt.Sprint(q.Filter), false); err != nil {
			return nil, err
		}
	}
	ids := slices.Sorted(maps.Keys(b.entries(t)))
	page := &resource.Page{TotalResults: len(ids), StartIndex: max(q.StartIndex, 1)}
	for i := page.StartIndex - 1; i < len(ids) && (q.Count < 0 || len(page.Resources) < q.Count); i++ {
		page.Resources = append(page.Resources, b.resource(t, ids[i], b.entries(t)[ids[i]]))
	}
	return page, nil
}

func (b *memBackend) Create(_ context.Context, t *resource.Type, attrs map[string]any, _ resource.Projection) (*resource.Resource, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := checkNormalized(t, attrs, true); err != nil {
		return nil, err
	}
	if err := b.unique(t, "", attrs); err != nil {
		return nil, err
	}
	b.next++
	id := "m" + strconv.Itoa(b.next)
	e := &memEntry{attrs: attrs, version: 1}
	b.entries(t)[id] = e
	b.writes++
	return b.resource(t, id, e), nil
}

func (b *memBackend) Replace(_ context.Context, t *resource.Type, id string, attrs map[string]any, c resource.Conditions, _ resource.Projection) (*resource.Resource, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, err := b.writable(t, id, c)
	if err != nil {
		return nil, err
	}
	if err := checkNormalized(t, attrs, false); err != nil {
		return nil, err
	}
	next := deepCopyJSON(attrs).(map[string]any)
	for k, v := range next {
		if v == nil {
			delete(next, k)
		}
	}
	return b.store(t, id, e, next)
}

func (b *memBackend) Patch(_ context.Context, t *resource.Type, id string, ops []resource.PatchOp, c resource.Conditions, _ resource.Projection) (*resource.Resource, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, err := b.writable(t, id, c)
	if err != nil {
		return nil, err
	}
	if err := resource.CheckPatch(ops, t); err != nil {
		return nil, resource.Internal(fmt.Errorf("the HTTP layer passed operations CheckPatch refuses: %w", err))
	}
	for _, op := range ops {
		if err := checkClean("PATCH value", op.Value, true); err != nil {
			return nil, err
		}
	}
	next, err := resource.ApplyPatch(e.attrs, ops, t)
	if err != nil {
		return nil, err
	}
	return b.store(t, id, e, next)
}

func (b *memBackend) Delete(_ context.Context, t *resource.Type, id string, c resource.Conditions) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.writable(t, id, c); err != nil {
		return err
	}
	delete(b.entries(t), id)
	b.writes++
	return nil
}

// writable finds the entry to write and checks the preconditions.
func (b *memBackend) writable(t *resource.Type, id string, c resource.Conditions) (*memEntry, error) {
	if err := checkClean("id", id, false); err != nil {
		return nil, err
	}
	e := b.entries(t)[id]
	if e == nil {
		return nil, resource.NotFound("no such %s", t.Name)
	}
	version := "v" + strconv.Itoa(e.version)
	if len(c.IfMatch) > 0 && !slices.Contains(c.IfMatch, "*") && !slices.Contains(c.IfMatch, version) {
		return nil, resource.PreconditionFailed("the %s changed", t.Name)
	}
	if slices.Contains(c.IfNoneMatch, "*") || slices.Contains(c.IfNoneMatch, version) {
		return nil, resource.PreconditionFailed("the %s exists", t.Name)
	}
	return e, nil
}

func (b *memBackend) store(t *resource.Type, id string, e *memEntry, next map[string]any) (*resource.Resource, error) {
	if err := checkClean("stored value", next, false); err != nil {
		return nil, err
	}
	if err := b.unique(t, id, next); err != nil {
		return nil, err
	}
	e.attrs = next
	e.version++
	b.writes++
	return b.resource(t, id, e), nil
}

// unique refuses a second resource of t with the same name, as the
// directory's RDN does.
func (b *memBackend) unique(t *resource.Type, self string, attrs map[string]any) error {
	key := map[string]string{"User": "userName", "Group": "displayName"}[t.ID]
	if key == "" {
		key = "name"
	}
	name, _ := attrs[key].(string)
	for id, e := range b.entries(t) {
		if other, _ := e.attrs[key].(string); id != self && name != "" && strings.EqualFold(other, name) {
			return resource.Uniqueness("a %s named %q exists", t.Name, name)
		}
	}
	return nil
}

// checkNormalized fails with a 500 unless attrs is what Normalize returns
// for itself: canonical shapes, no json.Number, text only.
func checkNormalized(t *resource.Type, attrs map[string]any, forCreate bool) error {
	if err := checkClean("attributes", attrs, false); err != nil {
		return err
	}
	again, err := resource.Normalize(attrs, t, forCreate)
	if err != nil {
		return resource.Internal(fmt.Errorf("the HTTP layer passed attributes Normalize refuses: %w", err))
	}
	a, _ := json.Marshal(attrs)
	b, _ := json.Marshal(again)
	if string(a) != string(b) {
		return resource.Internal(fmt.Errorf("the HTTP layer passed attributes that are not normalised: %s, normalised %s", a, b))
	}
	return nil
}

// checkClean fails with a 500, as a directory would, when v holds a
// string that is not text (invalid UTF-8, a control character other than
// tab and line breaks) or a value of a type JSON does not have.
// numbers allows json.Number (in PATCH values).
func checkClean(what string, v any, numbers bool) error {
	var bad error
	var walk func(v any)
	walk = func(v any) {
		if bad != nil {
			return
		}
		switch x := v.(type) {
		case nil, bool, int64, float64:
		case json.Number:
			if !numbers {
				bad = fmt.Errorf("%s: a json.Number %s", what, x)
			}
		case string:
			if !utf8.ValidString(x) {
				bad = fmt.Errorf("%s: invalid UTF-8 in %q", what, x)
				return
			}
			for _, r := range x {
				if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
					bad = fmt.Errorf("%s: control character in %q", what, x)
					return
				}
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for k, e := range x {
				walk(k)
				walk(e)
			}
		default:
			bad = fmt.Errorf("%s: a %T", what, v)
		}
	}
	walk(v)
	if bad != nil {
		return resource.Internal(bad)
	}
	return nil
}

func deepCopyJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopyJSON(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopyJSON(e)
		}
		return l
	}
	return v
}
