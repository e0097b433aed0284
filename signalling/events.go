package signalling

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"time"

	"github.com/metered-ca/realtime-go/protocol"
	"github.com/metered-ca/realtime-go/signalling/event"
)

// State is the connection state: Idle → Connecting → Connected ⇄
// Reconnecting → Closed.
type State int

// The states of a Client.
const (
	StateIdle State = iota
	StateConnecting
	StateConnected
	StateReconnecting
	StateClosed
)

// String is the state's name, or "State(n)" for a value that is none.
func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateReconnecting:
		return "reconnecting"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Connected is emitted on every welcome.
type Connected struct {
	PeerID string
	// ServerTime is the server clock exactly as sent (Unix seconds today).
	ServerTime float64
	// ExpiresAt is the token's expiry; zero for publishable keys.
	ExpiresAt      time.Time
	IsReconnect    bool
	MaxMessageSize int
	// ICEServers are the STUN/TURN servers from welcome metadata, nil when
	// absent or invalid.
	ICEServers []protocol.ICEServer
	// Metadata is the JWT metadata claim (a JSON object), nil when absent.
	Metadata json.RawMessage
}

// Disconnected is emitted on every socket close.
type Disconnected struct {
	Code          protocol.CloseCode
	Reason        string
	WillReconnect bool
}

// StateChange is emitted on every state transition.
type StateChange struct{ From, To State }

// Message is a channel broadcast from another peer.
type Message struct {
	Channel string
	From    string
	Data    json.RawMessage
	// FromMetadata is the sender's peerMetadata (a JSON object) when this
	// subscription asked for it; untrusted input.
	FromMetadata json.RawMessage
}

// Direct is a message another peer sent to this one.
type Direct struct {
	From         string
	Data         json.RawMessage
	FromMetadata json.RawMessage
}

// Presence reports peers that joined or left a channel. The first one after
// a subscribe is the snapshot of the peers already there.
type Presence struct {
	Channel string
	Joined  []protocol.PresencePeer
	Left    []protocol.PresencePeer
}

// GoingAway announces a graceful server shutdown; a reconnect follows the
// 1001 close.
type GoingAway struct{ RetryAfter time.Duration }

// ServerErrorReceived is emitted for an error frame from the server that
// answers no pending request (one that does is the request's *ServerError).
// Code is an open set (see the protocol.Code* constants); Message is human
// text only, never branch on it.
type ServerErrorReceived struct {
	Code      protocol.ErrorCode
	RequestID string
	Message   string
}

// TokenProviderFailed is emitted on every consecutive failure of the token
// provider from the TokenProviderErrorThreshold-th on, while the client
// keeps trying. Err has been scrubbed of anything that looks like a
// credential.
type TokenProviderFailed struct {
	ConsecutiveFailures int
	Err                 error
}

// SlowConsumer is emitted when the client's handlers have fallen so far
// behind (Options.MaxPendingEvents) that it starts dropping events: once
// per episode, until they catch up, and never dropped itself. Dropped is
// the client's drops so far (DroppedEvents).
type SlowConsumer struct{ Dropped uint64 }

// Event is the set of event types a Client emits.
type Event interface {
	Connected | Disconnected | StateChange | Message | Direct | Presence | ServerErrorReceived | GoingAway | TokenProviderFailed | SlowConsumer
}

// On calls fn for every event of type T until off is called. Handlers run
// one at a time, in emission order, on a goroutine of the client's (often
// its reader's, which hands reading on when a handler makes a request or
// runs long): a slow handler delays every later event of this client, and past
// Options.MaxPendingEvents new events are dropped (DroppedEvents counts
// them). Keep handlers short; hand long work to a goroutine of your own.
func On[T Event](c *Client, fn func(T)) (off func()) { return event.On(c.events, fn) }

// Once calls fn for the next event of type T only.
func Once[T Event](c *Client, fn func(T)) (off func()) { return event.Once(c.events, fn) }

// EventsOption tunes a stream returned by Events.
type EventsOption func(*EventsConfig)

// EventsConfig is what EventsOptions set.
type EventsConfig struct {
	// Buffer is how many events the stream holds before it drops the
	// oldest; 0 means unbounded.
	Buffer int
}

// WithBuffer sets how many events the stream holds before dropping the
// oldest; 0 means unbounded.
func WithBuffer(n int) EventsOption { return func(c *EventsConfig) { c.Buffer = n } }

// Events streams events of type T until ctx ends or the client is closed.
// It holds Options.EventBuffer events (4096 by default) and drops the
// oldest when the consumer falls behind: each drop counts in DroppedEvents
// and the first one logs a warning.
func Events[T Event](ctx context.Context, c *Client, opts ...EventsOption) iter.Seq[T] {
	cfg := EventsConfig{Buffer: c.cfg.eventBuffer}
	for _, o := range opts {
		o(&cfg)
	}
	return event.Events[T](ctx, c.events, cfg.Buffer)
}

// DroppedEvents is how many events this client lost to slow consumers: to
// a full handler queue (Options.MaxPendingEvents) or as the oldest of a
// full Events stream.
func (c *Client) DroppedEvents() uint64 { return c.events.Dropped() }
