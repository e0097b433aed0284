package protocol

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// appendJSString appends s as JSON.stringify would write it: only '"', '\\'
// and C0 controls are escaped; '<', '>', '&', U+2028 and U+2029 stay raw.
// Invalid UTF-8 (which a JS string cannot hold) becomes U+FFFD.
func appendJSString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSNumber appends f as JSON.stringify writes a finite number for the
// values the protocol uses (integers print without a fraction).
func appendJSNumber(b []byte, f float64) []byte {
	if f == float64(int64(f)) && f < 1e21 && f > -1e21 {
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// MarshalData encodes a payload the way the JS SDK would put it on the wire:
// JSON without HTML escaping and without insignificant whitespace. A
// json.RawMessage is compacted and validated, not re-encoded; it must be
// valid UTF-8, since a text frame that is not makes a browser drop its
// socket. A nil value encodes as JSON null, as JSON.stringify(null) does.
func MarshalData(v any) (json.RawMessage, error) {
	switch raw := v.(type) {
	case json.RawMessage:
		if !utf8.Valid(raw) {
			return nil, errInvalidUTF8
		}
		return compactJSON(raw)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := buf.Bytes()
	return out[:len(out)-1], nil // Encode adds a newline
}

func compactJSON(raw []byte) (json.RawMessage, error) {
	if len(raw) == 0 {
		return nil, errEmptyJSON
	}
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
