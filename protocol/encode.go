package protocol

import (
	"encoding/json"
	"fmt"
)

// MarshalClient validates f with the JS SDK's builder rules and encodes it
// byte for byte as the JS SDK does (key order, no whitespace, optional keys
// left out). Data must already be JSON; see MarshalData.
func MarshalClient(f ClientFrame) ([]byte, error) {
	return AppendClient(nil, f)
}

// AppendClient is MarshalClient appending to b.
func AppendClient(b []byte, f ClientFrame) ([]byte, error) {
	if err := ValidateRequestID(f.ReqID()); err != nil {
		return nil, err
	}
	switch f := f.(type) {
	case *Subscribe:
		if err := ValidateChannel(f.Channel); err != nil {
			return nil, err
		}
		b = append(b, `{"type":"subscribe","channel":`...)
		b = appendJSString(b, f.Channel)
		b = appendRequestID(b, f.RequestID)
		if f.IncludeSenderMetadata {
			b = append(b, `,"includeSenderMetadata":true`...)
		}
	case *Unsubscribe:
		if err := ValidateChannel(f.Channel); err != nil {
			return nil, err
		}
		b = append(b, `{"type":"unsubscribe","channel":`...)
		b = appendJSString(b, f.Channel)
		b = appendRequestID(b, f.RequestID)
	case *Publish:
		if err := ValidateChannel(f.Channel); err != nil {
			return nil, err
		}
		if err := validData(f.Data); err != nil {
			return nil, err
		}
		b = append(b, `{"type":"publish","channel":`...)
		b = appendJSString(b, f.Channel)
		b = append(b, `,"data":`...)
		b = append(b, f.Data...)
		b = appendRequestID(b, f.RequestID)
	case *Send:
		if err := ValidatePeerID(f.To); err != nil {
			return nil, err
		}
		if err := validData(f.Data); err != nil {
			return nil, err
		}
		b = append(b, `{"type":"send","to":`...)
		b = appendJSString(b, f.To)
		b = append(b, `,"data":`...)
		b = append(b, f.Data...)
		b = appendRequestID(b, f.RequestID)
	case *Ping:
		return append(b, `{"type":"ping"}`...), nil
	default:
		return nil, fmt.Errorf("protocol: unknown client frame %T", f)
	}
	return append(b, '}'), nil
}

func appendRequestID(b []byte, id string) []byte {
	if id == "" {
		return b
	}
	b = append(b, `,"requestId":`...)
	return appendJSString(b, id)
}

func validData(d json.RawMessage) error {
	if len(d) == 0 {
		return &ValidationError{"data", CodeMissingData, "must not be undefined"}
	}
	if !validJSON(d) {
		return &ValidationError{"data", CodeMissingData, "is not valid JSON"}
	}
	return nil
}

// MarshalServer encodes a server frame. Field order follows the documented
// examples; optional fields are left out when empty; presence lists are
// always written, as "[]" when empty.
func MarshalServer(f ServerFrame) []byte {
	return AppendServer(nil, f)
}

// AppendServer is MarshalServer appending to b.
func AppendServer(b []byte, f ServerFrame) []byte {
	switch f := f.(type) {
	case *Welcome:
		b = append(b, `{"type":"welcome","peerId":`...)
		b = appendJSString(b, f.PeerID)
		b = append(b, `,"expiresAt":`...)
		if f.ExpiresAt == nil {
			b = append(b, "null"...)
		} else {
			b = appendJSNumber(b, *f.ExpiresAt)
		}
		b = append(b, `,"serverTime":`...)
		b = appendJSNumber(b, f.ServerTime)
		b = append(b, `,"maxMessageSize":`...)
		b = appendJSNumber(b, f.MaxMessageSize)
		b = appendRawField(b, "metadata", f.Metadata)
	case *Ack:
		b = append(b, `{"type":"ack","requestId":`...)
		b = appendJSString(b, f.RequestID)
	case *Error:
		b = append(b, `{"type":"error"`...)
		if f.RequestID != "" {
			b = append(b, `,"requestId":`...)
			b = appendJSString(b, f.RequestID)
		}
		b = append(b, `,"code":`...)
		b = appendJSString(b, string(f.Code))
		if f.Message != "" {
			b = append(b, `,"message":`...)
			b = appendJSString(b, f.Message)
		}
	case *Message:
		b = append(b, `{"type":"message","channel":`...)
		b = appendJSString(b, f.Channel)
		b = append(b, `,"from":`...)
		b = appendJSString(b, f.From)
		b = appendData(b, f.Data)
		b = appendRawField(b, "fromMetadata", f.FromMetadata)
	case *Direct:
		b = append(b, `{"type":"direct","from":`...)
		b = appendJSString(b, f.From)
		b = appendData(b, f.Data)
		b = appendRawField(b, "fromMetadata", f.FromMetadata)
	case *Presence:
		b = append(b, `{"type":"presence","channel":`...)
		b = appendJSString(b, f.Channel)
		b = append(b, `,"joined":`...)
		b = appendPresencePeers(b, f.Joined)
		b = append(b, `,"left":`...)
		b = appendPresencePeers(b, f.Left)
	case *GoingAway:
		b = append(b, `{"type":"going_away","retryAfterMs":`...)
		b = appendJSNumber(b, f.RetryAfterMs)
	case *Pong:
		return append(b, `{"type":"pong"}`...)
	default:
		panic(fmt.Sprintf("protocol: unknown server frame %T", f))
	}
	return append(b, '}')
}

func appendData(b []byte, d json.RawMessage) []byte {
	b = append(b, `,"data":`...)
	if len(d) == 0 {
		return append(b, "null"...)
	}
	return append(b, d...)
}

func appendRawField(b []byte, name string, v json.RawMessage) []byte {
	if len(v) == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return append(b, v...)
}

func appendPresencePeers(b []byte, peers []PresencePeer) []byte {
	b = append(b, '[')
	for i, p := range peers {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"peerId":`...)
		b = appendJSString(b, p.PeerID)
		b = appendRawField(b, "metadata", p.Metadata)
		b = append(b, '}')
	}
	return append(b, ']')
}
