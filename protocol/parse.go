package protocol

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// MalformedError reports a frame that breaks the protocol's shape rules. The
// JS SDK logs such a frame and drops it; so does package signalling.
type MalformedError struct {
	Reason string
}

func (e *MalformedError) Error() string { return "protocol: malformed frame: " + e.Reason }

// FrameError is what the server answers for a bad client frame: Code is the
// error code to send and RequestID the id to echo ("" when none could be
// read).
type FrameError struct {
	Code      ErrorCode
	RequestID string
	Reason    string
}

func (e *FrameError) Error() string { return "protocol: " + string(e.Code) + ": " + e.Reason }

// JSONObject is a decoded JSON object with its members kept raw. Key
// matching is exact (encoding/json's struct decoding would fold case, JS
// does not); duplicate keys resolve to the last one, as in JSON.parse. Its
// getters answer the questions JS code asks with typeof.
type JSONObject map[string]json.RawMessage

// DecodeObject decodes b when it holds a JSON object.
func DecodeObject(b []byte) (JSONObject, bool) {
	var m members
	if isObj, valid := readObject(b, &m); !isObj || !valid {
		return nil, false
	}
	o := make(JSONObject, m.n)
	for i := range m.n {
		x := m.at(i)
		k, ok := x.name()
		if !ok {
			return nil, false
		}
		o[k] = x.val
	}
	return o, true
}

func firstByte(b []byte) byte {
	if i := skipSpace(b, 0); i < len(b) {
		return b[i]
	}
	return 0
}

// String returns the member when it is a JSON string.
func (o JSONObject) String(key string) (string, bool) { return rawString(o[key]) }

// Number returns the member when it is a finite JSON number.
func (o JSONObject) Number(key string) (float64, bool) { return rawNumber(o[key]) }

// Object returns the member when it is a JSON object, else nil.
func (o JSONObject) Object(key string) json.RawMessage { return rawObject(o[key]) }

// IsNull reports whether the member is present and null.
func (o JSONObject) IsNull(key string) bool {
	raw, ok := o[key]
	return ok && string(raw) == "null"
}

// rawString decodes raw when it is a JSON string; one without escapes is
// a plain copy.
func rawString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	end, escaped, ok := scanString(raw, 0)
	if !ok || end != len(raw) {
		return "", false
	}
	if !escaped {
		return string(raw[1 : end-1]), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// rawNumber decodes raw when it is a finite JSON number.
func rawNumber(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	if end, ok := scanNumber(raw, 0); !ok || end != len(raw) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// rawObject returns raw when it is a JSON object, else nil.
func rawObject(raw json.RawMessage) json.RawMessage {
	if !IsObject(raw) {
		return nil
	}
	return raw
}

// ParseServer parses one server text frame with the JS SDK's strictness: a
// frame that the JS client would drop as malformed (wrong shape, missing
// required key, unknown type) returns a *MalformedError. It never panics.
func ParseServer(b []byte) (ServerFrame, error) {
	var o members
	isObj, valid := readObject(b, &o)
	if !valid {
		return nil, &MalformedError{"invalid JSON"}
	}
	if !isObj {
		return nil, &MalformedError{"envelope must be an object"}
	}
	typ, ok := o.String("type")
	if !ok {
		return nil, &MalformedError{"missing or non-string type"}
	}
	switch typ {
	case TypeWelcome:
		w := &Welcome{}
		if w.PeerID, ok = o.String("peerId"); !ok {
			return nil, &MalformedError{"welcome.peerId missing or not a string"}
		}
		if !o.IsNull("expiresAt") {
			exp, ok := o.Number("expiresAt")
			if !ok {
				return nil, &MalformedError{"welcome.expiresAt must be number or null"}
			}
			w.ExpiresAt = &exp
		}
		if w.ServerTime, ok = o.Number("serverTime"); !ok {
			return nil, &MalformedError{"welcome.serverTime missing or not a number"}
		}
		if w.MaxMessageSize, ok = o.Number("maxMessageSize"); !ok {
			return nil, &MalformedError{"welcome.maxMessageSize missing or not a number"}
		}
		w.Metadata = o.Object("metadata")
		return w, nil
	case TypeAck:
		id, ok := o.String("requestId")
		if !ok {
			return nil, &MalformedError{"ack.requestId missing or not a string"}
		}
		return &Ack{RequestID: id}, nil
	case TypeError:
		code, ok := o.String("code")
		if !ok || code == "" {
			return nil, &MalformedError{"error.code missing, empty or not a string"}
		}
		e := &Error{Code: ErrorCode(code)}
		e.RequestID, _ = o.String("requestId")
		e.Message, _ = o.String("message")
		return e, nil
	case TypeMessage:
		m := &Message{}
		if m.Channel, ok = o.String("channel"); !ok {
			return nil, &MalformedError{"message.channel missing or not a string"}
		}
		if m.From, ok = o.String("from"); !ok {
			return nil, &MalformedError{"message.from missing or not a string"}
		}
		if m.Data, ok = o.get("data"); !ok {
			return nil, &MalformedError{"message.data missing"}
		}
		m.FromMetadata = o.Object("fromMetadata")
		return m, nil
	case TypeDirect:
		d := &Direct{}
		if d.From, ok = o.String("from"); !ok {
			return nil, &MalformedError{"direct.from missing or not a string"}
		}
		if d.Data, ok = o.get("data"); !ok {
			return nil, &MalformedError{"direct.data missing"}
		}
		d.FromMetadata = o.Object("fromMetadata")
		return d, nil
	case TypePresence:
		p := &Presence{}
		if p.Channel, ok = o.String("channel"); !ok {
			return nil, &MalformedError{"presence.channel missing or not a string"}
		}
		if p.Joined, ok = parsePresencePeers(o.raw("joined")); !ok {
			return nil, &MalformedError{"presence.joined invalid"}
		}
		if p.Left, ok = parsePresencePeers(o.raw("left")); !ok {
			return nil, &MalformedError{"presence.left invalid"}
		}
		return p, nil
	case TypeGoingAway:
		retry, ok := o.Number("retryAfterMs")
		if !ok || retry <= 0 {
			retry = DefaultGoingAwayRetry
		}
		return &GoingAway{RetryAfterMs: retry}, nil
	case TypePong:
		return &Pong{}, nil
	}
	return nil, &MalformedError{"unknown type: " + truncate(typ, 64)}
}

func parsePresencePeers(raw json.RawMessage) ([]PresencePeer, bool) {
	if firstByte(raw) != '[' {
		return nil, false
	}
	var entries []json.RawMessage
	if json.Unmarshal(raw, &entries) != nil {
		return nil, false
	}
	out := make([]PresencePeer, 0, len(entries))
	for _, e := range entries {
		o, ok := DecodeObject(e)
		if !ok {
			return nil, false
		}
		id, ok := o.String("peerId")
		if !ok {
			return nil, false
		}
		out = append(out, PresencePeer{PeerID: id, Metadata: o.Object("metadata")})
	}
	return out, true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ParseClient parses one client text frame as the server does, applying the
// server's documented validation. Failures return a *FrameError carrying the
// error code to answer with and the requestId to echo, if one was readable.
func ParseClient(b []byte) (ClientFrame, error) {
	// A WebSocket server closes a text frame that is not UTF-8 (1007);
	// a caller that reads frames some other way gets the same refusal
	// here, not a string that re-encodes as something else.
	if !utf8.Valid(b) {
		return nil, &FrameError{Code: CodeMalformedMessage, Reason: "frame is not valid UTF-8"}
	}
	var o members
	if isObj, valid := readObject(b, &o); !isObj || !valid {
		return nil, &FrameError{Code: CodeMalformedMessage, Reason: "frame is not a JSON object"}
	}
	typ, ok := o.String("type")
	if !ok {
		return nil, &FrameError{Code: CodeMalformedMessage, Reason: "missing or non-string type"}
	}
	var reqID string
	if _, present := o.get("requestId"); present {
		reqID, ok = o.String("requestId")
		if !ok || reqID == "" || len(reqID) > MaxRequestIDLength {
			return nil, &FrameError{Code: CodeMalformedMessage, Reason: "requestId must be a 1-128 byte string"}
		}
	}
	fail := func(code ErrorCode, reason string) (ClientFrame, error) {
		return nil, &FrameError{Code: code, RequestID: reqID, Reason: reason}
	}
	channel := func() (string, error) {
		ch, ok := o.String("channel")
		if !ok {
			return "", &FrameError{Code: CodeInvalidChannel, RequestID: reqID, Reason: "channel must be a string"}
		}
		if err := ValidateChannelServer(ch); err != nil {
			ve := err.(*ValidationError)
			return "", &FrameError{Code: ve.Code, RequestID: reqID, Reason: ve.Reason}
		}
		return ch, nil
	}
	switch typ {
	case TypeSubscribe:
		ch, err := channel()
		if err != nil {
			return nil, err
		}
		return &Subscribe{Channel: ch, RequestID: reqID, IncludeSenderMetadata: o.isTrue("includeSenderMetadata")}, nil
	case TypeUnsubscribe:
		ch, err := channel()
		if err != nil {
			return nil, err
		}
		return &Unsubscribe{Channel: ch, RequestID: reqID}, nil
	case TypePublish:
		ch, err := channel()
		if err != nil {
			return nil, err
		}
		data, ok := o.get("data")
		if !ok {
			return fail(CodeMissingData, "publish without data")
		}
		return &Publish{Channel: ch, Data: data, RequestID: reqID}, nil
	case TypeSend:
		to, ok := o.String("to")
		if !ok || ValidatePeerIDServer(to) != nil {
			return fail(CodeInvalidPeerID, "to must be 1-128 bytes of printable ASCII")
		}
		data, ok := o.get("data")
		if !ok {
			return fail(CodeMissingData, "send without data")
		}
		return &Send{To: to, Data: data, RequestID: reqID}, nil
	case TypePing:
		return &Ping{}, nil
	}
	return fail(CodeUnknownType, "unknown type: "+truncate(typ, 64))
}
