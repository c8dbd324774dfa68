package resource

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Message schema URNs of RFC 7644 §3.
const (
	PatchOpURN       = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SearchRequestURN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
)

// The request decoders turn the body of a POST or PUT (DecodeResource), a
// PATCH (DecodePatch) or a POST .search (DecodeSearch) into what the
// backend takes, or refuse it whole. Their errors follow RFC 7644 §3.12:
//
//   - invalidSyntax: the body is not one JSON value (empty, unparsable,
//     or followed by more text), or the message is not shaped as its
//     schema says: not an object, or a member of a PatchOp or a
//     SearchRequest of the wrong JSON type;
//   - invalidValue: text that is not valid UTF-8, holds a control
//     character other than tab and line breaks, or escapes a lone
//     surrogate ("\ud800"); a schemas member that is not a list of the
//     right URNs; an unknown op, a missing value; and every resource
//     attribute value of the wrong type or shape (see Normalize);
//   - invalidPath, noTarget, mutability and invalidFilter as their names
//     say.
//
// Member names of messages match case-insensitively, as encoding/json
// matched them before: clients write "operations" and "Op".

// decodeBody decodes a body that must hold exactly one JSON value, whose
// strings are valid text. Numbers are json.Number, so that no integer
// loses digits on its way to Normalize.
func decodeBody(body []byte) (any, error) {
	if len(bytes.TrimLeft(body, " \t\r\n")) == 0 {
		return nil, InvalidSyntax("request body is empty")
	}
	if !utf8.Valid(body) {
		at := 0
		for at < len(body) {
			r, w := utf8.DecodeRune(body[at:])
			if r == utf8.RuneError && w <= 1 {
				break
			}
			at += w
		}
		return nil, InvalidValue("request body is not valid UTF-8: byte 0x%02X at %s", body[at], lineCol(body, at))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return nil, InvalidSyntax("request body is not valid JSON: %s at %s", strings.TrimPrefix(se.Error(), "json: "), lineCol(body, int(se.Offset)-1))
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, InvalidSyntax("request body is not valid JSON: it ends inside a value")
		}
		return nil, InvalidSyntax("request body is not valid JSON")
	}
	end := int(dec.InputOffset())
	if rest := bytes.TrimLeft(body[end:], " \t\r\n"); len(rest) > 0 {
		at := len(body) - len(rest)
		return nil, InvalidSyntax("request body holds more than one JSON value: %q follows the first at %s", clip(rest, 16), lineCol(body, at))
	}
	if err := checkStrings(body[:end]); err != nil {
		return nil, err
	}
	return v, nil
}

// checkStrings applies the text rules to the strings of valid JSON as
// written, escapes included: decoding replaces a lone surrogate by U+FFFD,
// so it must be caught before.
func checkStrings(b []byte) error {
	bad := func(at int, format string, args ...any) error {
		return InvalidValue("request body: "+format+" at %s; strings must be UTF-8 text without control characters other than tab and line breaks", append(args, lineCol(b, at))...)
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		// Valid JSON: the string ends at the next unescaped quote, and
		// holds no raw control character.
		for i++; b[i] != '"'; i++ {
			if b[i] != '\\' {
				continue
			}
			esc := i
			i++
			switch b[i] {
			case 'b', 'f':
				return bad(esc, "the escape \\%c (a control character)", b[i])
			case 'u':
				r := hex4(b[i+1 : i+5])
				i += 4
				switch {
				case isBadControl(r):
					return bad(esc, "the control character U+%04X", r)
				case utf16.IsSurrogate(r):
					if r < 0xDC00 && i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
						if r2 := hex4(b[i+3 : i+7]); r2 >= 0xDC00 && r2 <= 0xDFFF {
							i += 6
							continue
						}
					}
					return bad(esc, "a lone surrogate \\u%04x", r)
				}
			}
		}
	}
	return nil
}

// hex4 reads four hex digits that valid JSON guarantees.
func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b), 16, 16)
	return rune(n)
}

// lineCol renders a byte offset of body as "line L, column C", counting
// columns in characters.
func lineCol(body []byte, at int) string {
	at = max(0, min(at, len(body)))
	line, start := 1, 0
	for i := 0; i < at; i++ {
		if body[i] == '\n' {
			line, start = line+1, i+1
		}
	}
	return "line " + strconv.Itoa(line) + ", column " + strconv.Itoa(utf8.RuneCount(body[start:at])+1)
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// decodeObject decodes a body that must be one JSON object.
func decodeObject(body []byte) (map[string]any, error) {
	v, err := decodeBody(body)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, InvalidSyntax("request body must be a JSON object, not %s", describeValue(v))
	}
	return m, nil
}

// DecodeResource decodes the body of a POST (forCreate) or PUT of a
// resource of type t: one JSON object whose schemas member lists t's core
// schema and nothing but t's schemas (CheckSchemas), normalised by
// Normalize.
func DecodeResource(body []byte, t *Type, forCreate bool) (map[string]any, error) {
	m, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	_, schemas, has := lookupKey(m, "schemas")
	if err := CheckSchemas(schemas, has, t); err != nil {
		return nil, err
	}
	return Normalize(m, t, forCreate)
}

// foreignSchemaPrefixes are schema URIs that clients list beside the core
// schema and that are accepted and ignored: Microsoft Entra ID lists its
// legacy ADSCIM schema on every group it creates.
var foreignSchemaPrefixes = []string{"http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/"}

// CheckSchemas checks the schemas member of a resource of type t (has is
// false when the member is absent): a non-empty list of strings, holding
// t's core schema, each one t's core schema or one of its extensions
// (or a tolerated foreign URI, see foreignSchemaPrefixes). URNs compare
// case-insensitively. Anything else is 400 invalidValue.
func CheckSchemas(v any, has bool, t *Type) error {
	list, err := schemaList(v, has)
	if err != nil {
		return err
	}
	core := false
	for i, s := range list {
		switch {
		case strings.EqualFold(s, t.Schema.ID):
			core = true
		case t.hasExtension(s) || hasFoldPrefix(s, foreignSchemaPrefixes):
		default:
			return InvalidValue("schemas[%d]: %q is not a schema of %s resources; they take %s", i, s, t.Name, strings.Join(t.schemaIDs(), ", "))
		}
	}
	if !core {
		return InvalidValue("schemas must hold the core schema %q of %s resources", t.Schema.ID, t.Name)
	}
	return nil
}

// checkMessageSchemas checks the schemas member of a SCIM message: a
// non-empty list that holds urn and nothing else.
func checkMessageSchemas(v any, has bool, urn, what string) error {
	list, err := schemaList(v, has)
	if err != nil {
		return err
	}
	for i, s := range list {
		if !strings.EqualFold(s, urn) {
			return InvalidValue("schemas[%d]: a %s carries the schema %s only, not %q", i, what, urn, s)
		}
	}
	return nil
}

// schemaList reads a schemas member as a non-empty list of strings.
func schemaList(v any, has bool) ([]string, error) {
	if !has || v == nil {
		return nil, InvalidValue("schemas is required: a list of schema URNs")
	}
	l, ok := v.([]any)
	if !ok {
		return nil, InvalidValue("schemas must be a list of schema URNs, not %s", describeValue(v))
	}
	if len(l) == 0 {
		return nil, InvalidValue("schemas must not be empty")
	}
	out := make([]string, len(l))
	for i, e := range l {
		s, ok := e.(string)
		if !ok {
			return nil, InvalidValue("schemas[%d] must be a string, not %s", i, describeValue(e))
		}
		out[i] = s
	}
	return out, nil
}

func hasFoldPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return true
		}
	}
	return false
}

// served reports whether a body's key is one of t's schemas to define:
// an unqualified name, or one under the URN of t's core schema or of one
// of its extensions.
func (t *Type) served(key string) bool {
	if !strings.Contains(key, ":") {
		return true
	}
	for _, id := range append([]string{t.Schema.ID}, t.extensionIDs()...) {
		if id != "" && (strings.EqualFold(key, id) || hasFoldPrefix(key, []string{id + ":"})) {
			return true
		}
	}
	return false
}

func (t *Type) extensionIDs() []string {
	out := make([]string, len(t.Extensions))
	for i, e := range t.Extensions {
		out[i] = e.Schema.ID
	}
	return out
}

func (t *Type) hasExtension(urn string) bool {
	for _, e := range t.Extensions {
		if strings.EqualFold(e.Schema.ID, urn) {
			return true
		}
	}
	return false
}

func (t *Type) schemaIDs() []string {
	out := []string{strconv.Quote(t.Schema.ID)}
	for _, e := range t.Extensions {
		out = append(out, strconv.Quote(e.Schema.ID))
	}
	return out
}

// DecodePatch decodes a PatchOp message (RFC 7644 §3.5.2) for a resource
// of type t: schemas, then at least one operation, each an object with an
// op (add, replace or remove, in any case), an optional path (a string,
// parsed by ParsePath; null or "" mean none) and a value, which add and
// replace must have (null is a value: it clears) and which must be an
// object when there is no path; remove needs a path (noTarget). Then
// CheckPatch checks each operation's target and value against t, so that
// what reaches the backend fails, if at all, only for the resource's
// state. Errors name the operation by its index, Operations[i].
func DecodePatch(body []byte, t *Type) ([]PatchOp, error) {
	m, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	_, schemas, has := lookupKey(m, "schemas")
	if err := checkMessageSchemas(schemas, has, PatchOpURN, "PATCH request"); err != nil {
		return nil, err
	}
	_, raw, _ := lookupKey(m, "Operations")
	list, ok := raw.([]any)
	if raw != nil && !ok {
		return nil, InvalidSyntax("Operations must be a list of operations, not %s", describeValue(raw))
	}
	if len(list) == 0 {
		return nil, InvalidValue("a PATCH request needs at least one operation")
	}
	ops := make([]PatchOp, 0, len(list))
	for i, e := range list {
		op, err := decodeOp(e)
		if err != nil {
			return nil, atOperation(i, err)
		}
		ops = append(ops, op)
	}
	if err := CheckPatch(ops, t); err != nil {
		return nil, err
	}
	return ops, nil
}

func decodeOp(raw any) (PatchOp, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return PatchOp{}, InvalidSyntax("an operation must be an object, not %s", describeValue(raw))
	}
	_, ov, _ := lookupKey(m, "op")
	name, ok := ov.(string)
	if ov != nil && !ok {
		return PatchOp{}, InvalidSyntax("op must be a string, not %s", describeValue(ov))
	}
	op := PatchOp{Op: strings.ToLower(strings.TrimSpace(name))}
	switch op.Op {
	case "add", "replace", "remove":
	default:
		return PatchOp{}, InvalidValue("op must be add, replace or remove, not %q", name)
	}
	_, pv, _ := lookupKey(m, "path")
	switch p := pv.(type) {
	case nil:
	case string:
		if p != "" {
			path, err := ParsePath(p)
			if err != nil {
				return PatchOp{}, err
			}
			op.Path = path
		}
	default:
		return PatchOp{}, InvalidSyntax("path must be a string, not %s", describeValue(pv))
	}
	_, v, hasValue := lookupKey(m, "value")
	op.Value = v
	switch {
	case op.Op == "remove" && op.Path == nil:
		return PatchOp{}, NoTarget("remove needs a path")
	case op.Op != "remove" && !hasValue:
		return PatchOp{}, InvalidValue("%s needs a value", op.Op)
	case op.Op != "remove" && op.Path == nil:
		if _, ok := v.(map[string]any); !ok {
			return PatchOp{}, InvalidValue("%s without a path needs an object value, not %s", op.Op, describeValue(v))
		}
	}
	return op, nil
}

// atOperation prefixes the detail of a client error with the operation's
// index.
func atOperation(i int, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	c.Detail = "Operations[" + strconv.Itoa(i) + "]: " + e.Detail
	return &c
}

// SearchRequest is the body of POST .search (RFC 7644 §3.4.3). StartIndex
// and Count are nil when absent.
type SearchRequest struct {
	Filter             string
	Cursor             *string // RFC 9865; "" asks for the first page
	StartIndex         *int
	Count              *int
	SortBy             string
	SortOrder          string
	Attributes         []string
	ExcludedAttributes []string
}

// DecodeSearch decodes a SearchRequest: schemas, then filter, sortBy and
// sortOrder strings, startIndex and count integers within LDAP's maxInt
// (RFC 4511; a directory refuses larger offsets), attributes and
// excludedAttributes lists of strings; null is the same as absent, and
// unknown members are ignored. The filter is not parsed here.
func DecodeSearch(body []byte) (*SearchRequest, error) {
	m, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	_, schemas, has := lookupKey(m, "schemas")
	if err := checkMessageSchemas(schemas, has, SearchRequestURN, "search request"); err != nil {
		return nil, err
	}
	q := &SearchRequest{}
	for _, f := range []struct {
		name string
		into *string
	}{{"filter", &q.Filter}, {"sortBy", &q.SortBy}, {"sortOrder", &q.SortOrder}} {
		_, v, _ := lookupKey(m, f.name)
		if v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, InvalidSyntax("%s must be a string, not %s", f.name, describeValue(v))
		}
		*f.into = s
	}
	if _, v, _ := lookupKey(m, "cursor"); v != nil {
		s, ok := v.(string)
		if !ok {
			return nil, InvalidSyntax("cursor must be a string, not %s", describeValue(v))
		}
		q.Cursor = &s
	}
	for _, f := range []struct {
		name string
		into **int
	}{{"startIndex", &q.StartIndex}, {"count", &q.Count}} {
		_, v, _ := lookupKey(m, f.name)
		if v == nil {
			continue
		}
		num, ok := v.(json.Number)
		if !ok {
			return nil, InvalidSyntax("%s must be a number, not %s", f.name, describeValue(v))
		}
		n, ok := integer(num)
		if !ok || n > math.MaxInt32 || n < math.MinInt32 {
			return nil, InvalidValue("%s must be an integer from -2147483648 to 2147483647, not %s", f.name, num)
		}
		i := int(n)
		*f.into = &i
	}
	for _, f := range []struct {
		name string
		into *[]string
	}{{"attributes", &q.Attributes}, {"excludedAttributes", &q.ExcludedAttributes}} {
		_, v, _ := lookupKey(m, f.name)
		if v == nil {
			continue
		}
		l, ok := v.([]any)
		if !ok {
			return nil, InvalidSyntax("%s must be a list of strings, not %s", f.name, describeValue(v))
		}
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, InvalidSyntax("%s[%d] must be a string, not %s", f.name, i, describeValue(e))
			}
			*f.into = append(*f.into, s)
		}
	}
	return q, nil
}

// integer reads a JSON number that is an integer: digits, or a fraction
// or exponent that leaves no fraction (3.0, 1e3) within float64's exact
// range.
func integer(n json.Number) (int64, bool) {
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}
