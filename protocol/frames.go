package protocol

import "encoding/json"

// Frame type strings, as they appear in the "type" field.
const (
	TypeSubscribe   = "subscribe"
	TypeUnsubscribe = "unsubscribe"
	TypePublish     = "publish"
	TypeSend        = "send"
	TypePing        = "ping"

	TypeWelcome   = "welcome"
	TypeAck       = "ack"
	TypeError     = "error"
	TypeMessage   = "message"
	TypeDirect    = "direct"
	TypePresence  = "presence"
	TypeGoingAway = "going_away"
	TypePong      = "pong"
)

// ClientFrame is a frame a client sends: *Subscribe, *Unsubscribe, *Publish,
// *Send or *Ping.
type ClientFrame interface {
	// FrameType is the frame's "type" string.
	FrameType() string
	// ReqID is the frame's requestId ("" when absent).
	ReqID() string
}

// Subscribe joins a channel. Wire order: type, channel, requestId,
// includeSenderMetadata (only when true).
type Subscribe struct {
	Channel               string
	RequestID             string
	IncludeSenderMetadata bool
}

// Unsubscribe leaves a channel.
type Unsubscribe struct {
	Channel   string
	RequestID string
}

// Publish broadcasts Data to the other subscribers of Channel.
type Publish struct {
	Channel   string
	Data      json.RawMessage // any JSON value, "null" included
	RequestID string
}

// Send delivers Data to one peer.
type Send struct {
	To        string
	Data      json.RawMessage
	RequestID string
}

// Ping is the application-level keepalive; it never carries a requestId.
type Ping struct{}

func (*Subscribe) FrameType() string   { return TypeSubscribe }
func (*Unsubscribe) FrameType() string { return TypeUnsubscribe }
func (*Publish) FrameType() string     { return TypePublish }
func (*Send) FrameType() string        { return TypeSend }
func (*Ping) FrameType() string        { return TypePing }

func (f *Subscribe) ReqID() string   { return f.RequestID }
func (f *Unsubscribe) ReqID() string { return f.RequestID }
func (f *Publish) ReqID() string     { return f.RequestID }
func (f *Send) ReqID() string        { return f.RequestID }
func (*Ping) ReqID() string          { return "" }

// ServerFrame is a frame the server sends: *Welcome, *Ack, *Error, *Message,
// *Direct, *Presence, *GoingAway or *Pong.
type ServerFrame interface {
	// FrameType is the frame's "type" string.
	FrameType() string
}

// Welcome is the first frame of every accepted connection.
type Welcome struct {
	PeerID string
	// ExpiresAt is the JWT exp in Unix seconds; nil encodes as JSON null
	// (publishable keys). The key is always present on the wire.
	ExpiresAt      *float64
	ServerTime     float64
	MaxMessageSize float64
	// Metadata is the JWT metadata claim; only kept when it is a JSON object.
	Metadata json.RawMessage
}

// Ack confirms the request with the same RequestID.
type Ack struct {
	RequestID string
}

// Error rejects a request (RequestID set) or reports a connection-level
// problem (RequestID empty). Code is an open set.
type Error struct {
	Code      ErrorCode
	RequestID string
	Message   string
}

// Message is a channel broadcast.
type Message struct {
	Channel      string
	From         string
	Data         json.RawMessage
	FromMetadata json.RawMessage // a JSON object, or nil
}

// Direct is a message sent to this peer by peer id.
type Direct struct {
	From         string
	Data         json.RawMessage
	FromMetadata json.RawMessage // a JSON object, or nil
}

// PresencePeer is one entry of a presence frame.
type PresencePeer struct {
	PeerID   string
	Metadata json.RawMessage // a JSON object, or nil
}

// Presence reports peers that joined or left Channel. Both lists are always
// present on the wire, even when empty.
type Presence struct {
	Channel string
	Joined  []PresencePeer
	Left    []PresencePeer
}

// GoingAway announces a graceful shutdown; a 1001 close follows.
type GoingAway struct {
	// RetryAfterMs is advisory; parsers replace a missing, non-finite or
	// non-positive value with DefaultGoingAwayRetry.
	RetryAfterMs float64
}

// Pong answers a Ping.
type Pong struct{}

func (*Welcome) FrameType() string   { return TypeWelcome }
func (*Ack) FrameType() string       { return TypeAck }
func (*Error) FrameType() string     { return TypeError }
func (*Message) FrameType() string   { return TypeMessage }
func (*Direct) FrameType() string    { return TypeDirect }
func (*Presence) FrameType() string  { return TypePresence }
func (*GoingAway) FrameType() string { return TypeGoingAway }
func (*Pong) FrameType() string      { return TypePong }
