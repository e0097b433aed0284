package peer

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/protocol"
)

// trackedTrack is one local track the MeteredPeer sends to every member.
type trackedTrack struct {
	track  webrtc.TrackLocal // as the application gave it
	bound  webrtc.TrackLocal // what pion binds: the stream's id as msid
	stream *MediaStream
	meta   StreamMetadata
	raw    json.RawMessage // meta as JSON

	mu      sync.Mutex
	senders map[*conn]*webrtc.RTPSender
}

// bind wraps an application track for pion (see boundTrack).
func (p *MeteredPeer) bind(t webrtc.TrackLocal, stream *MediaStream) webrtc.TrackLocal {
	b := &boundTrack{TrackLocal: t, seqs: &p.seqs, gates: &p.gates}
	if stream != nil {
		b.streamID = stream.ID()
	}
	return b
}

func (t *trackedTrack) metaSet() trackMetaSignal {
	return trackMetaSignal{Meta: trackMetaBody{TrackID: t.track.ID(), Metadata: t.raw}}
}

func (t *trackedTrack) metaClear() trackMetaSignal {
	return trackMetaSignal{Meta: trackMetaBody{TrackID: t.track.ID()}}
}

// attach adds the track to c on a transceiver of its own; it runs on c.ops.
//
// Of its own: pion's AddTrack would reuse a transceiver the remote's offer
// made for the remote's track, and a browser receiving our track on its own
// m-line reports a track id of its making, so its metadata lookup misses.
// sendrecv, not sendonly: a browser's addTrack reuses the transceiver our
// offer made and sends back on our m-line, which sendonly would refuse
// (pion cannot widen a direction later).
func (t *trackedTrack) attach(c *conn) {
	if c.closed {
		return
	}
	c.addReceiveSlots(t.bound.Kind())
	tr, err := c.pc.AddTransceiverFromTrack(t.bound, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		c.negotiationError(err)
		return
	}
	sender := tr.Sender()
	c.env.gates.hold(ssrcs(sender))
	t.mu.Lock()
	if t.senders == nil {
		t.senders = map[*conn]*webrtc.RTPSender{}
	}
	t.senders[c] = sender
	t.mu.Unlock()
	t.follow(c)
}

// detach removes the track from c; it runs on c.ops.
func (t *trackedTrack) detach(c *conn) {
	t.mu.Lock()
	sender := t.senders[c]
	delete(t.senders, c)
	t.mu.Unlock()
	if sender == nil {
		return
	}
	c.unfollow(t)
	c.env.gates.forget(ssrcs(sender))
	if c.closed {
		return
	}
	if err := c.pc.RemoveTrack(sender); err != nil {
		c.negotiationError(err)
	}
}

func (t *trackedTrack) sender(c *conn) *webrtc.RTPSender {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.senders[c]
}

func (p *MeteredPeer) findTrackLocked(track webrtc.TrackLocal) (int, *trackedTrack) {
	for i, t := range p.tracks {
		if t.track == track {
			return i, t
		}
	}
	return -1, nil
}

// conns returns every member with its current connection.
func (p *MeteredPeer) connsLocked() map[*RemotePeer]*conn {
	out := make(map[*RemotePeer]*conn, len(p.order))
	for _, rp := range p.order {
		rp.mu.Lock()
		if rp.conn != nil && !rp.closed {
			out[rp] = rp.conn
		}
		rp.mu.Unlock()
	}
	return out
}

// AddStream sends every track of stream to every member, each with a copy
// of meta.
func (p *MeteredPeer) AddStream(stream *MediaStream, meta StreamMetadata) error {
	if stream == nil {
		return &ArgumentError{Method: "AddStream", Err: wrapArgs(ErrInvalidArgs, errNoStream)}
	}
	for _, t := range stream.Tracks() {
		if err := p.addTrack("AddStream", t, stream, meta.clone()); err != nil {
			return err
		}
	}
	return nil
}

// AddTrack sends track (in stream, which may be nil) to every member, and to
// every member that joins later, with a copy of meta announced first (later
// changes to the caller's map change nothing). A nil track, or a nil
// pointer inside the interface, is an *ArgumentError. Adding the same
// track with the same stream again does nothing; with another stream it is
// a *StateError (track_already_attached). Before Join, or while
// reconnecting, the track is only recorded and goes out with the next
// connections.
func (p *MeteredPeer) AddTrack(track webrtc.TrackLocal, stream *MediaStream, meta StreamMetadata) error {
	return p.addTrack("AddTrack", track, stream, meta.clone())
}

// addTrack tracks track with meta, which it owns (callers pass a copy).
func (p *MeteredPeer) addTrack(method string, track webrtc.TrackLocal, stream *MediaStream, meta StreamMetadata) error {
	if isNilTrack(track) {
		return &ArgumentError{Method: method, Err: wrapArgs(ErrInvalidArgs, errNoTrack)}
	}
	t := &trackedTrack{track: track, bound: p.bind(track, stream), stream: stream, meta: meta}
	if meta != nil {
		raw, err := protocol.MarshalData(map[string]any(meta))
		if err != nil {
			return &ArgumentError{Method: method, Err: wrapArgs(ErrInvalidArgs, fmt.Errorf("metadata is not JSON-encodable: %w", err))}
		}
		t.raw = raw
		payload, _ := protocol.MarshalData(t.metaSet())
		if limit := p.client.MaxMessageSize(); len(payload) > limit {
			return &OversizedError{Size: len(payload), Cap: limit}
		}
	}
	p.mu.Lock()
	if p.state == StateLeaving || p.state == StateClosed {
		st := p.state
		p.mu.Unlock()
		return &StateError{Method: method, State: st, Err: ErrInvalidState}
	}
	if _, old := p.findTrackLocked(track); old != nil {
		st := p.state
		p.mu.Unlock()
		if old.stream == stream {
			return nil
		}
		return &StateError{Method: method, State: st, Err: ErrTrackAlreadyAttached}
	}
	p.tracks = append(p.tracks, t)
	var targets map[*RemotePeer]*conn
	if p.state == StateJoined {
		targets = p.connsLocked()
	}
	p.mu.Unlock()
	for rp, c := range targets {
		if t.raw != nil {
			rp.signal(t.metaSet())
		}
		c.ops.do(func() { t.attach(c) })
	}
	return nil
}

// RemoveStream stops sending every track of stream.
func (p *MeteredPeer) RemoveStream(stream *MediaStream) error {
	if stream == nil {
		return &ArgumentError{Method: "RemoveStream", Err: wrapArgs(ErrInvalidArgs, errNoStream)}
	}
	for _, t := range stream.Tracks() {
		if err := p.removeTrack("RemoveStream", t); err != nil {
			return err
		}
	}
	return nil
}

// RemoveTrack stops sending track (its metadata is cleared at every
// member). An unknown track is a no-op. The track itself is not stopped.
func (p *MeteredPeer) RemoveTrack(track webrtc.TrackLocal) error {
	return p.removeTrack("RemoveTrack", track)
}

func (p *MeteredPeer) removeTrack(method string, track webrtc.TrackLocal) error {
	p.mu.Lock()
	if p.state == StateLeaving || p.state == StateClosed {
		st := p.state
		p.mu.Unlock()
		return &StateError{Method: method, State: st, Err: ErrInvalidState}
	}
	i, t := p.findTrackLocked(track)
	if t == nil {
		p.mu.Unlock()
		return nil
	}
	p.tracks = append(p.tracks[:i:i], p.tracks[i+1:]...)
	var targets map[*RemotePeer]*conn
	if p.state == StateJoined {
		targets = p.connsLocked()
	}
	p.mu.Unlock()
	for rp, c := range targets {
		if t.raw != nil {
			rp.signal(t.metaClear())
		}
		c.ops.do(func() { t.detach(c) })
	}
	return nil
}

// ReplaceTrack swaps the media of old for next on every member's sender,
// without renegotiation when the codecs match; next == nil (or a nil
// pointer) stops sending. Members that fail are reported in
// *ReplaceTrackError; the tracking moves to next when at least one member
// succeeded (or there are none).
//
// When ctx ends first ReplaceTrack returns ctx's error at once; the
// replacement it started still completes (a sender cannot be left half
// replaced), its tracking is updated as if ReplaceTrack had waited, and
// Close waits for it.
func (p *MeteredPeer) ReplaceTrack(ctx context.Context, old, next webrtc.TrackLocal) error {
	if isNilTrack(old) {
		return &ArgumentError{Method: "ReplaceTrack", Err: wrapArgs(ErrInvalidArgs, errNoTrack)}
	}
	if isNilTrack(next) {
		next = nil
	}
	p.mu.Lock()
	if p.state != StateIdle && p.state != StateJoining && p.state != StateJoined {
		st := p.state
		p.mu.Unlock()
		return &StateError{Method: "ReplaceTrack", State: st, Err: ErrInvalidState}
	}
	i, t := p.findTrackLocked(old)
	targets := p.connsLocked()
	p.mu.Unlock()

	var bound webrtc.TrackLocal
	if next != nil {
		stream := (*MediaStream)(nil)
		if t != nil {
			stream = t.stream
		}
		bound = p.bind(next, stream)
	}
	done := make(chan error, 1)
	if !p.tasks.do(func(context.Context) { done <- p.replaceOn(targets, t, i, next, bound) }) {
		return &StateError{Method: "ReplaceTrack", State: StateLeaving, Err: ErrInvalidState}
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// replaceOn replaces t's media by bound (next as bound to the peer) on
// every target connection, waiting for each, and moves the tracking.
func (p *MeteredPeer) replaceOn(targets map[*RemotePeer]*conn, t *trackedTrack, i int, next, bound webrtc.TrackLocal) error {
	type result struct {
		rp  *RemotePeer
		err error
	}
	results := make(chan result, len(targets))
	for rp, c := range targets {
		go func() {
			var err error
			if t != nil {
				if s := t.sender(c); s != nil {
					err = s.ReplaceTrack(bound)
				}
			}
			results <- result{rp, err}
		}()
	}
	var ok []*RemotePeer
	rerr := &ReplaceTrackError{}
	for range targets {
		r := <-results
		if r.err != nil {
			rerr.Failed = append(rerr.Failed, ReplaceTrackFailure{PeerID: r.rp.id, Err: protocol.ScrubError(r.err)})
		} else {
			ok = append(ok, r.rp)
			rerr.Succeeded = append(rerr.Succeeded, r.rp.id)
		}
	}
	if t != nil && (len(ok) > 0 || len(targets) == 0) {
		p.mu.Lock()
		if i < len(p.tracks) && p.tracks[i] == t {
			if next == nil {
				p.tracks = append(p.tracks[:i:i], p.tracks[i+1:]...)
			} else {
				nt := &trackedTrack{track: next, bound: bound, stream: t.stream, meta: t.meta, raw: t.raw, senders: map[*conn]*webrtc.RTPSender{}}
				t.mu.Lock()
				for c, s := range t.senders {
					nt.senders[c] = s
				}
				t.mu.Unlock()
				p.tracks[i] = nt
				for c := range nt.senders {
					c.unfollow(t)
					nt.follow(c)
				}
				defer func() {
					for _, rp := range ok {
						if nt.raw != nil {
							rp.signal(t.metaClear())
							rp.signal(nt.metaSet())
						}
					}
				}()
			}
		}
		p.mu.Unlock()
		if next == nil {
			for _, c := range targets {
				c.unfollow(t)
			}
		}
		if next == nil && t.raw != nil {
			for _, rp := range ok {
				rp.signal(t.metaClear())
			}
		}
	}
	if len(rerr.Failed) > 0 {
		return rerr
	}
	return nil
}

// TrackMetadata returns the metadata track was added with.
func (p *MeteredPeer) TrackMetadata(track webrtc.TrackLocal) (StreamMetadata, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, t := p.findTrackLocked(track); t != nil && t.meta != nil {
		return t.meta.clone(), true
	}
	return nil, false
}

// StreamMetadata returns the metadata of the first tracked track of stream.
func (p *MeteredPeer) StreamMetadata(stream *MediaStream) (StreamMetadata, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.tracks {
		if t.stream == stream && t.meta != nil {
			return t.meta.clone(), true
		}
	}
	return nil, false
}

// isNilTrack reports whether t is nil, or a nil pointer inside the
// interface: a nil *media.Track passes a plain nil check and would panic
// later in pion.
func isNilTrack(t webrtc.TrackLocal) bool {
	if t == nil {
		return true
	}
	v := reflect.ValueOf(t)
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return v.IsNil()
	}
	return false
}
