package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// maxJSONDepth bounds the fast-path recursion. Deeper (or cyclic) values are
// handed to encoding/json as a whole, which reports cycles as errors.
const maxJSONDepth = 1000

// errJSONTooDeep is internal: it makes appendJSON retry with encoding/json.
var errJSONTooDeep = errors.New("scim: json value nested too deeply")

// appendJSON appends the JSON encoding of v to dst, byte for byte what
// encoding/json's Encoder with SetEscapeHTML(false) writes (without its trailing newline).
// On error dst is returned with its original length.
func appendJSON(dst []byte, v any) ([]byte, error) {
	n := len(dst)
	out, err := appendJSONValue(dst, v, 0)
	if err == errJSONTooDeep {
		return appendJSONFallback(dst[:n], v)
	}
	if err != nil {
		return dst[:n], err
	}
	return out, nil
}

// appendJSONList appends a JSON array of list's elements, each by elem
// one level deeper; a nil list is null.
func appendJSONList[T any](dst []byte, list []T, depth int, elem func([]byte, T, int) ([]byte, error)) ([]byte, error) {
	if list == nil {
		return append(dst, "null"...), nil
	}
	if depth >= maxJSONDepth {
		return dst, errJSONTooDeep
	}
	dst = append(dst, '[')
	for i, e := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = elem(dst, e, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// appendJSONValue dispatches on the dynamic type of v without reflection for
// the generic shapes the HTTP layer builds; anything else goes to encoding/json.
func appendJSONValue(dst []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendJSONString(dst, x), nil
	case bool:
		if x {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case float64:
		return appendJSONFloat(dst, x, 64)
	case float32:
		return appendJSONFloat(dst, float64(x), 32)
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case json.Number:
		s := string(x)
		if s == "" {
			s = "0" // encoding/json writes the zero Number as 0
		}
		if !isValidJSONNumber(s) {
			// Let encoding/json produce its own error.
			return appendJSONFallback(dst, v)
		}
		return append(dst, s...), nil
	case map[string]any:
		return appendJSONMap(dst, x, depth)
	case []any:
		return appendJSONList(dst, x, depth, appendJSONValue)
	case []string:
		return appendJSONList(dst, x, depth, func(dst []byte, s string, _ int) ([]byte, error) { return appendJSONString(dst, s), nil })
	case []map[string]any:
		return appendJSONList(dst, x, depth, appendJSONMap)
	case map[string]string:
		return appendJSONStringMap(dst, x), nil
	case []int:
		return appendJSONList(dst, x, depth, func(dst []byte, n int, _ int) ([]byte, error) { return strconv.AppendInt(dst, int64(n), 10), nil })
	default:
		return appendJSONFallback(dst, v)
	}
}

// appendJSONFallback encodes v with encoding/json (HTML escaping off) directly
// into dst and drops the Encoder's trailing newline.
func appendJSONFallback(dst []byte, v any) ([]byte, error) {
	n := len(dst)
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst[:n], err
	}
	out := buf.Bytes()
	if len(out) > n && out[len(out)-1] == '\n' {
		out = out[:len(out)-1]
	}
	return out, nil
}

// sortedKeys returns the keys of m in byte order, using buf when it is large enough.
func sortedKeys[V any](buf []string, m map[string]V) []string {
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func appendJSONMap(dst []byte, m map[string]any, depth int) ([]byte, error) {
	return appendJSONObject(dst, m, depth, appendJSONValue)
}

func appendJSONStringMap(dst []byte, m map[string]string) []byte {
	dst, _ = appendJSONObject(dst, m, 0, func(dst []byte, s string, _ int) ([]byte, error) { return appendJSONString(dst, s), nil })
	return dst
}

// appendJSONObject appends a JSON object of m's members, keys sorted as
// encoding/json sorts them, each value by elem one level deeper; a nil
// map is null.
func appendJSONObject[V any](dst []byte, m map[string]V, depth int, elem func([]byte, V, int) ([]byte, error)) ([]byte, error) {
	if m == nil {
		return append(dst, "null"...), nil
	}
	if depth >= maxJSONDepth {
		return dst, errJSONTooDeep
	}
	var arr [16]string
	keys := sortedKeys(arr[:], m)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		var err error
		if dst, err = elem(dst, m[k], depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendJSONFloat follows encoding/json: ES6-style 'f'/'e' choice, exponents
// without zero padding, and an error for NaN and ±Inf.
func appendJSONFloat(dst []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		if bits == 32 {
			return appendJSONFallback(dst, float32(f))
		}
		return appendJSONFallback(dst, f)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) ||
			bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// e-07 -> e-7
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

const jsonHex = "0123456789abcdef"

// appendJSONString quotes s the way encoding/json does with HTML escaping off.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', jsonHex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// isValidJSONNumber reports whether s matches the JSON number grammar
// (RFC 8259 section 6).
func isValidJSONNumber(s string) bool {
	i, n := 0, len(s)
	if i < n && s[i] == '-' {
		i++
	}
	switch {
	case i < n && s[i] == '0':
		i++
	case i < n && s[i] >= '1' && s[i] <= '9':
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < n && s[i] == '.' {
		i++
		start := i
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < n && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == n
}
