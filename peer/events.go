package peer

import (
	"context"
	"encoding/json"
	"iter"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/signalling/event"
)

// MeteredPeer events.
type (
	// Joined is emitted once, after the first successful Join.
	Joined struct{ PeerID, Channel string }
	// Left is emitted when the MeteredPeer reaches closed after joining.
	Left struct{ PeerID, Channel, Reason string }
	// StateChange is emitted on every MeteredPeer state transition.
	StateChange struct{ From, To State }
	// PeerJoined is emitted for a new member; its connection already carries
	// every local track.
	PeerJoined struct{ Peer *RemotePeer }
	// PeerLeft is emitted when a member leaves (or on local teardown).
	PeerLeft struct{ Peer *RemotePeer }
	// Data is an application payload from a member: never an RTC signal or
	// a track-metadata message.
	Data struct {
		SenderPeerID string
		Data         json.RawMessage
		Kind         DataKind
		// SenderMetadata is the sender's peerMetadata when the server
		// stamped it; untrusted input.
		SenderMetadata json.RawMessage
	}
	// FatalError reports a failure the MeteredPeer cannot recover from by
	// itself: a fatal close code (*CloseError), a fatal server error
	// (*signalling.ServerError), a failing token provider
	// (*signalling.TokenProviderError) or ErrReconcileTimeout.
	FatalError struct{ Err error }
)

// SlowConsumer is emitted by a MeteredPeer when the handlers of one of its
// sources (itself, or a RemotePeer) have fallen so far behind
// (Options.MaxPendingEvents) that the source drops events: once per
// episode, until they catch up, and never dropped itself. Source says
// which ("MeteredPeer", or "RemotePeer " and the peer's id); Dropped is
// that source's drops so far.
type SlowConsumer struct {
	Source  string
	Dropped uint64
}

// Decode unmarshals the payload into v.
func (d Data) Decode(v any) error { return json.Unmarshal(d.Data, v) }

// RemotePeer events.
type (
	// PeerStateChange is emitted on every RemotePeer state transition.
	PeerStateChange struct{ From, To PeerState }
	// Track is emitted for every inbound track (again when it re-fires).
	Track struct {
		// Track is pion's remote track: ReadRTP, or hand it to media.Frames
		// or a media.Recorder.
		Track *webrtc.TrackRemote
		// Receiver is the pion receiver behind the track: its RTCP (ReadRTCP)
		// and its transceiver's parameters. Ask for a keyframe with
		// RequestKeyframe(Track).
		Receiver *webrtc.RTPReceiver
		// StreamID is the msid stream id ("" when the track has no stream).
		StreamID string
		// Metadata is what the sender announced for this track, if anything.
		Metadata StreamMetadata
	}
	// StreamAdded is emitted for the first track of a stream id.
	StreamAdded struct {
		Stream   *RemoteStream
		Metadata StreamMetadata
	}
	// StreamRemoved is emitted when the last live track of a stream is gone.
	StreamRemoved struct{ Stream *RemoteStream }
	// DataChannelOpened is emitted when the remote peer opens a data channel
	// (on arrival, before it is open, as in JS). Wrap it with WrapDataChannel
	// in the handler: the channel's messages wait for the handlers (up to
	// 5 s), so none is missed.
	DataChannelOpened struct{ Channel *webrtc.DataChannel }
	// NegotiationError reports a failed offer/answer step (usually
	// transient) or, with errors.Is(Err, ErrICERestartExhausted), a
	// connection that gave up. Err is scrubbed of credentials.
	NegotiationError struct{ Err error }
	// ICECandidateError reports a remote candidate that could not be added.
	ICECandidateError struct{ Err error }
	// ConnectionReset is emitted after a reconnect swapped the peer
	// connection: PC() now returns the new one; re-create data channels.
	ConnectionReset struct{}
)

// DataChannel events.
type (
	// ChannelOpen is emitted when the data channel opens.
	ChannelOpen struct{}
	// ChannelSlowConsumer is emitted when the channel's handlers have
	// fallen so far behind (DataChannelOptions.MaxPendingEvents) that it
	// drops events: once per episode, never dropped itself. Dropped is
	// the channel's drops so far.
	ChannelSlowConsumer struct{ Dropped uint64 }
	// ChannelClose is emitted when the data channel closes.
	ChannelClose struct{}
	// ChannelMessage is one message received on the data channel.
	ChannelMessage struct {
		Data     []byte
		IsString bool
	}
	// ChannelError reports an error from the data channel.
	ChannelError struct{ Err error }
)

// Source is any of the package's event sources.
type Source interface {
	*MeteredPeer | *RemotePeer | *DataChannel
}

// EventOf is the set of event types that source S emits; On, Once and
// Events use it so that asking a source for an event it never emits fails
// to compile.
type EventOf[S Source] interface {
	emittedBy(S)
}

func (Joined) emittedBy(*MeteredPeer)      {}
func (Left) emittedBy(*MeteredPeer)        {}
func (StateChange) emittedBy(*MeteredPeer) {}
func (PeerJoined) emittedBy(*MeteredPeer)  {}
func (PeerLeft) emittedBy(*MeteredPeer)    {}
func (Data) emittedBy(*MeteredPeer)        {}
func (FatalError) emittedBy(*MeteredPeer)  {}

func (SlowConsumer) emittedBy(*MeteredPeer) {}

func (PeerStateChange) emittedBy(*RemotePeer)   {}
func (Track) emittedBy(*RemotePeer)             {}
func (StreamAdded) emittedBy(*RemotePeer)       {}
func (StreamRemoved) emittedBy(*RemotePeer)     {}
func (DataChannelOpened) emittedBy(*RemotePeer) {}
func (NegotiationError) emittedBy(*RemotePeer)  {}
func (ICECandidateError) emittedBy(*RemotePeer) {}
func (ConnectionReset) emittedBy(*RemotePeer)   {}

func (ChannelOpen) emittedBy(*DataChannel)         {}
func (ChannelSlowConsumer) emittedBy(*DataChannel) {}
func (ChannelClose) emittedBy(*DataChannel)        {}
func (ChannelMessage) emittedBy(*DataChannel)      {}
func (ChannelError) emittedBy(*DataChannel)        {}

func emitterOf[S Source](s S) (*event.Emitter, int) {
	switch s := any(s).(type) {
	case *MeteredPeer:
		return s.events, s.env.eventBuffer
	case *RemotePeer:
		return s.events, s.env.eventBuffer
	case *DataChannel:
		return s.events, event.DefaultBuffer
	}
	panic("unreachable")
}

// On calls fn for every event of type T from s until off is called.
// Handlers of one source run one at a time, in emission order, on that
// source's dispatch goroutine; a panicking handler is logged and skipped.
// A slow handler delays the later events of the same source (never of
// another): keep handlers short and hand long work to a goroutine of your
// own; past Options.MaxPendingEvents new events are dropped and counted.
func On[T EventOf[S], S Source](s S, fn func(T)) (off func()) {
	e, _ := emitterOf(s)
	return event.On(e, fn)
}

// Once calls fn for the next event of type T from s only.
func Once[T EventOf[S], S Source](s S, fn func(T)) (off func()) {
	e, _ := emitterOf(s)
	return event.Once(e, fn)
}

// EventsOption tunes a stream returned by Events (the signalling package's
// options, so one set serves both packages).
type EventsOption = signalling.EventsOption

// WithBuffer sets how many events a stream holds before it drops the oldest;
// 0 means unbounded.
func WithBuffer(n int) EventsOption { return signalling.WithBuffer(n) }

// Events streams the events of type T from s until ctx ends or s closes. It
// holds Options.EventBuffer events (4096 by default) and drops the oldest
// when the consumer falls behind; drops count in the source's
// DroppedEvents and the first one logs a warning.
//
//	for ev := range peer.Events[peer.Data](ctx, p) { … }
func Events[T EventOf[S], S Source](ctx context.Context, s S, opts ...EventsOption) iter.Seq[T] {
	e, n := emitterOf(s)
	cfg := signalling.EventsConfig{Buffer: n}
	for _, o := range opts {
		o(&cfg)
	}
	return event.Events[T](ctx, e, cfg.Buffer)
}
