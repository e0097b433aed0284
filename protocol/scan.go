package protocol

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
)

// maxDepth is how deeply arrays and objects may nest, as in encoding/json.
const maxDepth = 10000

// members holds a JSON object's top-level members as read by readObject:
// keys and values are sub-slices of the frame, never copies, and the
// common frame (ten members or fewer) needs no allocation. Duplicate keys
// resolve to the last one, as in JSON.parse.
type members struct {
	n     int
	fixed [10]member
	more  []member
}

// member is one key (with its quotes, escapes undecoded) and its raw value.
type member struct {
	key     []byte
	escaped bool
	val     json.RawMessage
}

func (m *members) add(x member) {
	if m.n < len(m.fixed) {
		m.fixed[m.n] = x
	} else {
		m.more = append(m.more, x)
	}
	m.n++
}

func (m *members) at(i int) *member {
	if i < len(m.fixed) {
		return &m.fixed[i]
	}
	return &m.more[i-len(m.fixed)]
}

// get returns the raw value of key; the last of duplicates wins.
func (m *members) get(key string) (json.RawMessage, bool) {
	for i := m.n - 1; i >= 0; i-- {
		x := m.at(i)
		if x.is(key) {
			return x.val, true
		}
	}
	return nil, false
}

func (x *member) is(key string) bool {
	if !x.escaped {
		return string(x.key[1:len(x.key)-1]) == key // no allocation
	}
	k, ok := x.name()
	return ok && k == key
}

// name is the key decoded: a key spelt with escapes ("\u0074ype") is
// still "type".
func (x *member) name() (string, bool) {
	if !x.escaped {
		return string(x.key[1 : len(x.key)-1]), true
	}
	var k string
	return k, json.Unmarshal(x.key, &k) == nil
}

func (m *members) String(key string) (string, bool)  { raw, _ := m.get(key); return rawString(raw) }
func (m *members) Number(key string) (float64, bool) { raw, _ := m.get(key); return rawNumber(raw) }
func (m *members) Object(key string) json.RawMessage { raw, _ := m.get(key); return rawObject(raw) }
func (m *members) IsNull(key string) bool            { raw, ok := m.get(key); return ok && string(raw) == "null" }
func (m *members) isTrue(key string) bool            { raw, _ := m.get(key); return string(raw) == "true" }
func (m *members) raw(key string) json.RawMessage    { raw, _ := m.get(key); return raw }

// readObject reads b, which must be one JSON value and nothing else, into
// m when it is a valid JSON object. It checks the whole of b as JSON.parse
// would (grammar, control characters in strings, nesting) in the same
// pass; UTF-8 is the caller's to check.
func readObject(b []byte, m *members) (isObject, valid bool) {
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return false, validJSON(b)
	}
	end, valid := scanComposite(b, i, 1, m)
	return true, valid && skipSpace(b, end) == len(b)
}

// validJSON reports whether b is one JSON value and nothing else, as
// json.Valid does (FuzzDecodeObject holds them to it), in one pass of the
// frames' scanner, several times faster.
func validJSON(b []byte) bool {
	end, ok := scanValue(b, skipSpace(b, 0), 0)
	return ok && skipSpace(b, end) == len(b)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanValue checks the JSON value starting at b[i] and returns where it
// ends.
func scanValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, ok := scanString(b, i)
		return end, ok
	case c == '{' || c == '[':
		return scanComposite(b, i, depth+1, nil)
	case c == '-' || c >= '0' && c <= '9':
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	}
	return i, false
}

// scanComposite checks the object or array starting at b[i] and returns
// where it ends; the members of an object are recorded in m when m is not
// nil.
func scanComposite(b []byte, i, depth int, m *members) (int, bool) {
	if depth > maxDepth {
		return i, false
	}
	closing := byte(']')
	isObj := b[i] == '{'
	if isObj {
		closing = '}'
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closing {
		return i + 1, true
	}
	for {
		var key []byte
		var escaped bool
		if isObj {
			if i >= len(b) || b[i] != '"' {
				return i, false
			}
			kend, esc, ok := scanString(b, i)
			if !ok {
				return i, false
			}
			key, escaped = b[i:kend], esc
			i = skipSpace(b, kend)
			if i >= len(b) || b[i] != ':' {
				return i, false
			}
			i = skipSpace(b, i+1)
		}
		end, ok := scanValue(b, i, depth)
		if !ok {
			return i, false
		}
		if isObj && m != nil {
			m.add(member{key: key, escaped: escaped, val: b[i:end:end]})
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return i, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case closing:
			return i + 1, true
		default:
			return i, false
		}
	}
}

// stringStop marks the bytes a string scan must look at: the quote, the
// backslash and the control characters JSON forbids unescaped.
var stringStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// plainRun returns how many of run's leading bytes are plain string bytes
// (no stop byte; run holds no quote, IndexByte saw to that), looking at
// eight bytes at a time while none of them is a backslash or a control
// character: a word's bytes below 0x20 and its zero bytes after XOR with
// backslashes set their high bits in the two terms (exact for "any", so a
// word that matches is looked at byte by byte).
func plainRun(run []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	j := 0
	for ; j+8 <= len(run); j += 8 {
		x := binary.LittleEndian.Uint64(run[j:])
		bs := x ^ (ones * '\\')
		if ((x-ones*0x20)&^x|(bs-ones)&^bs)&highs != 0 {
			break
		}
	}
	for j < len(run) && !stringStop[run[j]] {
		j++
	}
	return j
}

// scanString checks the string starting at b[i] (a quote) and returns the
// index after its closing quote and whether it holds escapes.
func scanString(b []byte, i int) (end int, escaped, ok bool) {
	i++
	for {
		// Runs of plain bytes are the common case: skip them fast.
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return len(b), escaped, false
		}
		run := b[i : i+q]
		j := plainRun(run)
		if j == len(run) {
			return i + q + 1, escaped, true
		}
		i += j
		if b[i] != '\\' {
			return i, escaped, false // a control character
		}
		escaped = true
		if i+1 >= len(b) {
			return i, escaped, false
		}
		switch b[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
				return i, escaped, false
			}
			i += 6
		default:
			return i, escaped, false
		}
	}
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func scanNumber(b []byte, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return i, false
		}
	}
	return i, true
}

func scanLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}
