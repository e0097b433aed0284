package peer

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/signalling/event"
)

// RemotePeer is another member of the channel and the WebRTC connection to
// it. It survives signalling reconnects: the connection underneath may be
// replaced (ConnectionReset), the RemotePeer stays the same object.
type RemotePeer struct {
	id     string
	env    *env
	events *event.Emitter

	mu       sync.Mutex
	metadata json.RawMessage
	state    PeerState
	conn     *conn
	cache    metaCache
	inbound  map[*webrtc.TrackRemote]string // live track → stream id
	streams  map[string]*RemoteStream
	closed   bool
}

func newRemotePeer(e *env, id string, metadata json.RawMessage) *RemotePeer {
	r := &RemotePeer{
		id: id, env: e, metadata: metadata,
		events:  event.New(e.log, e.maxPending),
		inbound: map[*webrtc.TrackRemote]string{},
		streams: map[string]*RemoteStream{},
	}
	r.events.OnOverload(func(n uint64) any {
		if e.slow != nil {
			e.slow("RemotePeer "+id, n)
		}
		return nil
	})
	return r
}

// ID is the remote peer's id.
func (r *RemotePeer) ID() string { return r.id }

// Metadata is the peer's presence metadata (its token's peerMetadata, a
// JSON object, or nil); untrusted input. A reconnect may refresh it.
func (r *RemotePeer) Metadata() json.RawMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.metadata
}

// State is the peer's connection state.
func (r *RemotePeer) State() PeerState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// Polite reports whether this side yields in an offer collision.
func (r *RemotePeer) Polite() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conn != nil && r.conn.polite
}

// PC is the current pion PeerConnection. A reconnect replaces it (see
// ConnectionReset): read it again rather than keeping it.
func (r *RemotePeer) PC() *webrtc.PeerConnection {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return nil
	}
	return r.conn.pc
}

// Send delivers data to this peer through the server (MeteredPeer.SendTo).
func (r *RemotePeer) Send(ctx context.Context, data any) error {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return ErrPeerClosed
	}
	return r.env.sendTo(ctx, r.id, data)
}

// DroppedEvents is how many of this peer's events were lost to slow
// consumers (see Options.MaxPendingEvents).
func (r *RemotePeer) DroppedEvents() uint64 { return r.events.Dropped() }

// CreateDataChannel opens a data channel to this peer; the first one on a
// connection starts negotiation. Data channels die with the connection:
// open them on PeerJoined and again on ConnectionReset.
func (r *RemotePeer) CreateDataChannel(label string, opts DataChannelOptions) (*DataChannel, error) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	pc := r.PC()
	if pc == nil || closed {
		return nil, ErrPeerClosed
	}
	raw, err := pc.CreateDataChannel(label, opts.Init)
	if err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = r.env.log
	}
	return WrapDataChannel(raw, opts), nil
}

func (r *RemotePeer) emit(ev any) { r.events.Emit(ev) }

// signal sends a control payload to the remote peer, in order, without
// waiting; a failure is only logged, as in JS.
func (r *RemotePeer) signal(payload any) error {
	return r.env.signal(r.id, payload)
}

func (r *RemotePeer) current(c *conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conn == c && !r.closed
}

func (r *RemotePeer) setStateLocked(to PeerState) {
	if r.state == to {
		return
	}
	from := r.state
	r.state = to
	r.events.Emit(PeerStateChange{From: from, To: to})
}

func (r *RemotePeer) onConnectionState(c *conn, s webrtc.PeerConnectionState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn != c || r.closed {
		return
	}
	switch s {
	case webrtc.PeerConnectionStateNew, webrtc.PeerConnectionStateConnecting:
		if r.state != PeerReconnecting {
			r.setStateLocked(PeerConnecting)
		}
	case webrtc.PeerConnectionStateConnected:
		r.setStateLocked(PeerConnected)
	case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed:
		r.setStateLocked(PeerReconnecting)
	case webrtc.PeerConnectionStateClosed:
		r.setStateLocked(PeerClosed)
	}
}

func (r *RemotePeer) onTrack(c *conn, t *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	r.mu.Lock()
	if r.conn != c || r.closed {
		r.mu.Unlock()
		return
	}
	meta := r.cache.lookup(t.ID(), c.ownsMidOf(recv))
	streamID := t.StreamID()
	if streamID == "-" {
		streamID = ""
	}
	r.events.Emit(Track{Track: t, Receiver: recv, StreamID: streamID, Metadata: meta})
	if streamID != "" {
		st, known := r.streams[streamID]
		if !known {
			st = &RemoteStream{id: streamID}
			r.streams[streamID] = st
		}
		if _, live := r.inbound[t]; !live {
			r.inbound[t] = streamID
			st.mu.Lock()
			st.tracks = append(st.tracks, t)
			st.mu.Unlock()
		}
		if !known {
			r.events.Emit(StreamAdded{Stream: st, Metadata: meta})
		}
	}
	r.mu.Unlock()
}

// afterRemoteDescription drops the inbound tracks the remote no longer
// sends: pion has no removetrack event, so the remote description's
// direction for each mid is read after every renegotiation.
func (r *RemotePeer) afterRemoteDescription(c *conn) {
	sending := remoteSections(c.pc.RemoteDescription())
	c.openAccepted(sending)
	receiving := map[*webrtc.TrackRemote]bool{}
	for _, t := range c.pc.GetTransceivers() {
		if t.Receiver() == nil || !sending[t.Mid()] {
			continue
		}
		if tr := t.Receiver().Track(); tr != nil {
			receiving[tr] = true
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn != c {
		return
	}
	for t := range r.inbound {
		if !receiving[t] {
			r.dropTrackLocked(t)
		}
	}
}

// remoteSections maps the mid of every media section the remote accepts
// (not rejected) to whether the remote sends in it (sendrecv or sendonly).
func remoteSections(d *webrtc.SessionDescription) map[string]bool {
	out := map[string]bool{}
	if d == nil {
		return out
	}
	for _, m := range mediaSections(*d) {
		if !m.rejected {
			out[m.mid] = m.direction == webrtc.RTPTransceiverDirectionSendrecv || m.direction == webrtc.RTPTransceiverDirectionSendonly
		}
	}
	return out
}

// mediaSection is what a description says of one m-line.
type mediaSection struct {
	mid       string
	kind      webrtc.RTPCodecType
	direction webrtc.RTPTransceiverDirection // the sender's: no attribute is sendrecv
	rejected  bool                           // port 0
}

// mediaSections reads d's m-lines in order; none when d does not parse.
func mediaSections(d webrtc.SessionDescription) []mediaSection {
	own := webrtc.SessionDescription{Type: d.Type, SDP: d.SDP} // Unmarshal caches into the struct pion shares
	parsed, err := own.Unmarshal()
	if err != nil {
		return nil
	}
	out := make([]mediaSection, 0, len(parsed.MediaDescriptions))
	for _, m := range parsed.MediaDescriptions {
		s := mediaSection{kind: webrtc.NewRTPCodecType(m.MediaName.Media), direction: webrtc.RTPTransceiverDirectionSendrecv, rejected: m.MediaName.Port.Value == 0}
		s.mid, _ = m.Attribute("mid")
		for _, dir := range []webrtc.RTPTransceiverDirection{webrtc.RTPTransceiverDirectionSendonly, webrtc.RTPTransceiverDirectionRecvonly, webrtc.RTPTransceiverDirectionInactive} {
			if _, ok := m.Attribute(dir.String()); ok {
				s.direction = dir
			}
		}
		out = append(out, s)
	}
	return out
}

func (r *RemotePeer) dropTrackLocked(t *webrtc.TrackRemote) {
	sid, ok := r.inbound[t]
	if !ok {
		return
	}
	delete(r.inbound, t)
	st := r.streams[sid]
	if st == nil {
		return
	}
	st.mu.Lock()
	for i, x := range st.tracks {
		if x == t {
			st.tracks = append(st.tracks[:i:i], st.tracks[i+1:]...)
			break
		}
	}
	empty := len(st.tracks) == 0
	st.mu.Unlock()
	if empty {
		delete(r.streams, sid)
		r.events.Emit(StreamRemoved{Stream: st})
	}
}

// onDataChannel runs in pion's callback, which holds the channel's first
// messages until it returns: it waits (a few seconds at most) for the
// DataChannelOpened handlers, so one that wraps the channel there misses
// nothing, as with the JS SDK's synchronous event.
func (r *RemotePeer) onDataChannel(c *conn, d *webrtc.DataChannel) {
	if !r.current(c) {
		return
	}
	r.events.Emit(DataChannelOpened{Channel: d})
	ctx, cancel := context.WithTimeout(r.env.tasks.life, r.env.timing.handlerWait)
	defer cancel()
	_ = r.events.Wait(ctx)
}

func (r *RemotePeer) setTrackMetadata(trackID string, meta json.RawMessage) {
	r.mu.Lock()
	r.cache.set(trackID, meta)
	cn := r.conn
	r.mu.Unlock()
	if cn != nil {
		// The JS SDK sends a track's metadata just before adding the
		// track: its offer follows (first.go).
		cn.ops.do(cn.remoteAnnounced)
	}
}

// route hands a classified signal to the current connection, in order.
func (r *RemotePeer) route(c classified) {
	if c.kind == directTrackMeta {
		r.setTrackMetadata(c.trackID, c.metadata)
		return
	}
	r.mu.Lock()
	cn := r.conn
	closed := r.closed
	r.mu.Unlock()
	if cn == nil || closed {
		return
	}
	switch c.kind {
	case directDescription:
		cn.ops.do(func() { cn.handleDescription(c.description) })
	case directICE:
		cn.ops.do(func() { cn.handleCandidate(c.candidate, c.candidateErr) })
	}
}

// swap installs a fresh connection after a reconnect: stream accounting is
// cleared first so the old tracks' end causes no StreamRemoved; the
// metadata cache is kept.
func (r *RemotePeer) swap(next *conn) {
	r.mu.Lock()
	old := r.conn
	r.conn = next
	r.inbound = map[*webrtc.TrackRemote]string{}
	r.streams = map[string]*RemoteStream{}
	r.cache.newConnection()
	if r.state != PeerIdle && !r.closed {
		// A fresh connection, even if the old one had already closed.
		r.setStateLocked(PeerReconnecting)
	}
	r.mu.Unlock()
	if old != nil {
		old.close()
	}
	r.events.Emit(ConnectionReset{})
}

// forceReconnecting marks a negotiated peer as reconnecting while the
// signalling link is down.
func (r *RemotePeer) forceReconnecting() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != PeerIdle && r.state != PeerClosed && r.state != PeerReconnecting {
		r.setStateLocked(PeerReconnecting)
	}
}

// close ends the peer: state closed, connection closed, streams end.
func (r *RemotePeer) close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	cn := r.conn
	r.setStateLocked(PeerClosed)
	r.mu.Unlock()
	if cn != nil {
		cn.close()
	}
	r.events.EndStreams()
}
