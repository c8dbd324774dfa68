package scim

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// stdJSON is the reference: encoding/json's Encoder with HTML escaping off,
// minus the trailing newline.
func stdJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func checkAppendJSON(t testing.TB, v any) {
	t.Helper()
	want, wantErr := stdJSON(v)
	prefix := []byte("prefix:")
	got, gotErr := appendJSON(append([]byte(nil), prefix...), v)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("error mismatch for %#v: got %v, want %v", v, gotErr, wantErr)
	}
	if wantErr != nil {
		if gotErr.Error() != wantErr.Error() {
			t.Fatalf("error text mismatch for %#v:\n got  %v\n want %v", v, gotErr, wantErr)
		}
		if string(got) != string(prefix) {
			t.Fatalf("dst changed on error: %q", got)
		}
		return
	}
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("prefix lost: %q", got)
	}
	if got := got[len(prefix):]; !bytes.Equal(got, want) {
		t.Fatalf("output mismatch for %#v:\n got  %s\n want %s", v, got, want)
	}
}

type jsonTestStruct struct {
	A string            `json:"a"`
	B int               `json:"b,omitempty"`
	C map[string]any    `json:"c"`
	D *jsonTestStruct   `json:"d,omitempty"`
	E map[string]string `json:"e,omitempty"`
}

type jsonTestMarshaler struct{ s string }

func (m jsonTestMarshaler) MarshalJSON() ([]byte, error) { return []byte(m.s), nil }

type jsonNamedMap map[string]any

func TestAppendJSONTable(t *testing.T) {
	var allControl strings.Builder
	for c := 0; c < 0x20; c++ {
		allControl.WriteByte(byte(c))
	}
	allControl.WriteString("\"\\/<>&\x7f")

	selfMap := map[string]any{}
	selfMap["self"] = selfMap
	selfSlice := make([]any, 1)
	selfSlice[0] = selfSlice

	deep := any("leaf")
	for range 1500 {
		deep = []any{map[string]any{"x": deep}}
	}

	cases := map[string]any{
		"nil":           nil,
		"true":          true,
		"false":         false,
		"empty string":  "",
		"control chars": allControl.String(),
		"bf":            "a\bb\fc",
		"del and 1f":    "\x1f\x7f",
		"invalid utf8":  "a\xffb\xc3(c\xe2\x82d\xed\xa0\x80e",
		"line seps":     "x\u2028y\u2029z\u2027",
		"unicode":       "héllo wörld ✓ 🎉",
		"html":          "<script>&amp;</script>",
		"ints": []any{0, -1, math.MaxInt64, math.MinInt64, int8(-128), int16(32767),
			int32(-5), int64(7), uint(9), uint8(255), uint16(65535), uint32(1 << 31), uint64(math.MaxUint64)},
		"floats": []any{0.0, math.Copysign(0, -1), 1.0, -1.5, 1e20, 1e21, 123456789e13, 1e-6, 1e-7,
			9.999999e-7, 5e-324, math.MaxFloat64, -math.MaxFloat64, 0.1, 1.0 / 3, 100, 1e100, -1e-100},
		"float32s": []any{float32(0), float32(math.Copysign(0, -1)), float32(1e21), float32(9.99e20),
			float32(1e-6), float32(1e-7), float32(0.1), float32(math.MaxFloat32), float32(1.0 / 3)},
		"NaN":              math.NaN(),
		"+Inf":             math.Inf(1),
		"-Inf float32":     float32(math.Inf(-1)),
		"nested NaN":       map[string]any{"a": 1, "b": []any{math.NaN()}},
		"number":           json.Number("12.5e-3"),
		"number empty":     json.Number(""),
		"number invalid":   json.Number("12a"),
		"number bad frac":  json.Number("1."),
		"number bad exp":   json.Number("1e+"),
		"number lead zero": json.Number("01"),
		"nil map":          map[string]any(nil),
		"empty map":        map[string]any{},
		"nil slice":        []any(nil),
		"empty slice":      []any{},
		"nil []string":     []string(nil),
		"empty []string":   []string{},
		"nil []map":        []map[string]any(nil),
		"nil map[s]s":      map[string]string(nil),
		"nil []int":        []int(nil),
		"[]int":            []int{1, -2, 3},
		"sorted keys": map[string]any{"b": 1, "a": 2, "B": 3, "": 4, "aa": 5, "\u00e9": 6, "a\x00": 7,
			"z\u2028": 8, "k\xff": 9, "1": 10, "10": 11, "2": 12, "x": nil, "y": []any(nil), "w": map[string]any(nil)},
		"many keys": func() map[string]any {
			m := map[string]any{}
			for i := range 50 {
				m[strings.Repeat("k", i%7)+string(rune('a'+i%26))+string(rune('0'+i/26))] = i
			}
			return m
		}(),
		"nested": map[string]any{
			"list":  []any{[]any{}, map[string]any{}, []string{"a", "\"b\""}, []map[string]any{{"x": 1}, nil}},
			"smap":  map[string]string{"z": "1", "a": "\n"},
			"inner": map[string]any{"deeper": map[string]any{"v": []int{}}},
		},
		"struct":             jsonTestStruct{A: "<a>", C: map[string]any{"k": []any{1, "x"}}, D: &jsonTestStruct{A: "d"}},
		"struct ptr":         &jsonTestStruct{A: "p", E: map[string]string{"b": "c"}},
		"nil struct ptr":     (*jsonTestStruct)(nil),
		"struct in map":      map[string]any{"s": jsonTestStruct{A: "x\u2028"}},
		"time":               time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600)),
		"time in map":        map[string]any{"created": time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		"raw message":        json.RawMessage(`{ "b" : [1, 2 ,"<&>"] , "a":null }`),
		"raw nil":            json.RawMessage(nil),
		"raw in map":         map[string]any{"r": json.RawMessage(` "x\u2028" `)},
		"raw invalid":        json.RawMessage(`{`),
		"marshaler":          jsonTestMarshaler{`[ 1 , "<>" ]`},
		"marshaler bad":      map[string]any{"m": jsonTestMarshaler{`nope`}},
		"named map":          jsonNamedMap{"b": 1, "a": jsonNamedMap{}},
		"map any keys":       map[int]any{2: "b", 1: "a"},
		"bytes":              []byte("hello"),
		"uintptr":            uintptr(42),
		"channel":            make(chan int),
		"channel in map":     map[string]any{"ok": 1, "c": make(chan int)},
		"func":               func() {},
		"complex":            complex(1, 2),
		"pointer to string":  func() *string { s := "p\x01"; return &s }(),
		"self map":           selfMap,
		"self slice":         selfSlice,
		"deep":               deep,
		"slice of nil maps":  []map[string]any{nil, {}},
		"any in string list": []any{"a", nil, true, 1.5, json.Number("3")},
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) { checkAppendJSON(t, v) })
	}
}

func TestAppendJSONStringBytes(t *testing.T) {
	// Every single byte and every pair of bytes from an interesting set.
	for c := range 256 {
		checkAppendJSON(t, string([]byte{byte(c)}))
	}
	set := []byte{0, 0x08, 0x0c, 0x1f, ' ', '"', '\\', 'a', 0x7f, 0x80, 0xbf, 0xc2, 0xe2, 0xed, 0xf0, 0xf4, 0xff}
	for _, a := range set {
		for _, b := range set {
			checkAppendJSON(t, string([]byte{a, b, 0x80, 0xa8}))
		}
	}
}

func TestAppendJSONNumberValidity(t *testing.T) {
	for _, s := range []string{"0", "-0", "-", "00", "1.", ".1", "1.0", "1e", "1e5", "1E+5", "1e-05", "-1.5e+10",
		"1.e5", "1e5.0", "+1", " 1", "1 ", "0x10", "NaN", "1_000", "1e+-5", "01.5", "-01"} {
		checkAppendJSON(t, json.Number(s))
		checkAppendJSON(t, []any{json.Number(s)})
	}
}

// jsonFuzzBuilder turns fuzz input into a nested value.
type jsonFuzzBuilder struct {
	ops  []byte
	strs []string
	f    float64
}

func (b *jsonFuzzBuilder) next() byte {
	if len(b.ops) == 0 {
		return 0
	}
	c := b.ops[0]
	b.ops = b.ops[1:]
	return c
}

func (b *jsonFuzzBuilder) str() string {
	if len(b.strs) == 0 {
		return ""
	}
	i := int(b.next()) % len(b.strs)
	return b.strs[i]
}

func (b *jsonFuzzBuilder) u64() uint64 {
	var tmp [8]byte
	for i := range tmp {
		tmp[i] = b.next()
	}
	return binary.LittleEndian.Uint64(tmp[:])
}

func (b *jsonFuzzBuilder) value(depth int) any {
	op := b.next()
	if depth > 8 {
		op %= 12 // scalars only
	}
	switch op % 26 {
	case 0:
		return nil
	case 1:
		return op&0x80 != 0
	case 2, 3:
		return b.str()
	case 4:
		return b.f
	case 5:
		return math.Float64frombits(b.u64())
	case 6:
		return float32(b.f)
	case 7:
		return math.Float32frombits(uint32(b.u64()))
	case 8:
		return int64(b.u64())
	case 9:
		switch b.next() % 8 {
		case 0:
			return int(int64(b.u64()))
		case 1:
			return int8(b.next())
		case 2:
			return int16(b.u64())
		case 3:
			return int32(b.u64())
		case 4:
			return uint(b.u64())
		case 5:
			return uint8(b.next())
		case 6:
			return uint16(b.u64())
		default:
			return uint32(b.u64())
		}
	case 10:
		return b.u64()
	case 11:
		return json.Number(b.str())
	case 12, 13:
		n := int(b.next() % 6)
		if n == 5 {
			return map[string]any(nil)
		}
		m := make(map[string]any, n)
		for range n {
			m[b.str()] = b.value(depth + 1)
		}
		return m
	case 14, 15:
		n := int(b.next() % 6)
		if n == 5 {
			return []any(nil)
		}
		s := make([]any, n)
		for i := range s {
			s[i] = b.value(depth + 1)
		}
		return s
	case 16:
		n := int(b.next() % 5)
		if n == 4 {
			return []string(nil)
		}
		s := make([]string, n)
		for i := range s {
			s[i] = b.str()
		}
		return s
	case 17:
		n := int(b.next() % 4)
		if n == 3 {
			return []map[string]any(nil)
		}
		s := make([]map[string]any, n)
		for i := range s {
			if m, ok := b.value(depth + 1).(map[string]any); ok {
				s[i] = m
			}
		}
		return s
	case 18:
		n := int(b.next() % 5)
		if n == 4 {
			return map[string]string(nil)
		}
		m := make(map[string]string, n)
		for range n {
			m[b.str()] = b.str()
		}
		return m
	case 19:
		n := int(b.next() % 5)
		if n == 4 {
			return []int(nil)
		}
		s := make([]int, n)
		for i := range s {
			s[i] = int(int64(b.u64()))
		}
		return s
	case 20:
		return json.RawMessage(b.str())
	case 21:
		return jsonTestStruct{A: b.str(), B: int(b.next()), C: map[string]any{b.str(): b.value(depth + 1)}}
	case 22:
		return time.Unix(int64(b.u64()%(1<<40)), int64(b.next())).UTC()
	case 23:
		return jsonTestMarshaler{b.str()}
	case 24:
		return jsonNamedMap{b.str(): b.value(depth + 1)}
	default:
		s := b.str()
		return &s
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add([]byte{12, 3, 2, 0, 14, 4, 5, 1, 2, 3, 4, 5, 6, 7, 8}, "key", "val\u2028\xff", "\x00\"\\<>", 1.5)
	f.Add([]byte{14, 5, 4, 5, 6, 7, 11, 0, 16, 3, 0, 1, 2, 17, 2, 12, 1, 0, 2, 1}, "12.5", "a", "1e-7", 1e-7)
	f.Add([]byte{12, 4, 0, 12, 1, 1, 13, 2, 2, 3, 3, 18, 2, 0, 1, 2, 0}, "b", "a", "", 1e21)
	f.Add([]byte{20, 0, 21, 1, 2, 3, 22, 9, 9, 9, 9, 9, 9, 9, 9, 9, 23, 0, 24, 1, 4}, `{"a" : [1]}`, "x", "\t", math.Copysign(0, -1))
	f.Add([]byte{19, 3, 255, 255, 255, 255, 255, 255, 255, 255, 6, 7, 0, 0, 192, 127, 25, 1}, "\u2029", "\b\f", "é", 3.4e38)
	f.Fuzz(func(t *testing.T, ops []byte, s1, s2, s3 string, fl float64) {
		b := &jsonFuzzBuilder{ops: ops, strs: []string{s1, s2, s3, s1 + s2}, f: fl}
		for len(b.ops) > 0 {
			checkAppendJSON(t, b.value(0))
		}
		// Plain strings and floats directly.
		checkAppendJSON(t, s1)
		checkAppendJSON(t, map[string]any{s1: s2, s2: fl, s3: []any{s3, float32(fl)}})
		checkAppendJSON(t, json.Number(s3))
	})
}

func benchSCIMUser() map[string]any {
	return map[string]any{
		"schemas": []string{
			"urn:ietf:params:scim:schemas:core:2.0:User",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
		},
		"id":       "2819c223-7f76-453a-919d-413861904646",
		"userName": "bjensen@example.com",
		"name": map[string]any{
			"givenName":  "Barbara",
			"familyName": "Jensen",
			"formatted":  "Ms. Barbara J Jensen, III",
		},
		"emails": []any{
			map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true},
			map[string]any{"value": "babs@jensen.org", "type": "home", "primary": false},
		},
		"active": true,
		"groups": []any{
			map[string]any{
				"value":   "e9e30dba-f08f-4109-8486-d5c6a331660a",
				"$ref":    "https://example.com/v2/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a",
				"display": "Tour Guides",
			},
			map[string]any{
				"value":   "fc348aa8-3835-40eb-a20b-c726e15c55b5",
				"$ref":    "https://example.com/v2/Groups/fc348aa8-3835-40eb-a20b-c726e15c55b5",
				"display": "Employees",
			},
		},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{
			"employeeNumber": "701984",
			"department":     "Tour Operations",
			"manager": map[string]any{
				"value":       "26118915-6090-4610-87e4-49d8ca9f808d",
				"$ref":        "https://example.com/v2/Users/26118915-6090-4610-87e4-49d8ca9f808d",
				"displayName": "John Smith",
			},
		},
		"meta": map[string]any{
			"resourceType": "User",
			"created":      "2010-01-23T04:56:22Z",
			"lastModified": "2011-05-13T04:42:34Z",
			"location":     "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
			"version":      `W/"f250dd84f0671c3"`,
		},
	}
}

func TestAppendJSONBenchUser(t *testing.T) {
	checkAppendJSON(t, benchSCIMUser())
}

func BenchmarkAppendJSON(b *testing.B) {
	user := benchSCIMUser()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = appendJSON(buf[:0], user)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkEncodingJSON(b *testing.B) {
	user := benchSCIMUser()
	var buf bytes.Buffer
	buf.Grow(4096)
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(user); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
