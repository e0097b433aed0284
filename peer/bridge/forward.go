package bridge

import (
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

const (
	// maxGOPBytes bounds the video kept since the last keyframe: a 2 s
	// group of pictures at 8 Mb/s. A longer one is not kept (a late
	// joiner waits for the next keyframe, as without the cache).
	maxGOPBytes = 2 << 20
	// keyframeEvery is the most often a keyframe is asked of a publisher,
	// and the most often one viewer gets the kept pictures again.
	keyframeEvery = time.Second
)

// forwardTrack sends one published track to every connection it is bound
// to, packet for packet: no decoding, each connection's SSRC and payload
// type, the publisher's header extensions dropped (their ids mean nothing
// on the viewer's connection).
//
// A viewer can start only at a keyframe, and some publishers (OBS) never
// answer a keyframe request. So video keeps the packets since the last
// keyframe, and a viewer whose path is up (its first RTCP) or who asks for a
// keyframe gets them at once (after the frame it is in the middle of),
// renumbered to follow what it already has and stamped one tick apart, so
// that it shows the latest picture rather than replaying the group at its
// pace behind live. The request also goes to the publisher (at most once a
// second), for those that answer it.
type forwardTrack struct {
	id, streamID string
	codec        webrtc.RTPCodecCapability
	isKey        func([]byte) bool // nil: audio, nothing kept
	askKeyframe  func()            // to the publisher; called outside the lock
	log          *slog.Logger      // nil: none; debug lines on keyframes and replays

	mu       sync.Mutex
	bindings map[string]*binding
	gop      []*rtp.Packet // since the last keyframe (or the current frame's, until one)
	gopBytes int
	gopValid bool   // gop starts at a keyframe
	skipped  uint16 // padding-only packets not forwarded: later sequence numbers close the gap
	lastTS   uint32 // of the last packet forwarded, as published
	lastAsk  time.Time
	closed   bool
	keyed    bool // a keyframe has been kept
}

// binding is one connection the track is sent on.
type binding struct {
	ssrc    uint32
	pt      uint8
	w       webrtc.TrackLocalWriter
	seqOff  uint16
	tsOff   uint32
	lastSeq uint16 // as sent
	lastTS  uint32
	sent    bool
	// midFrame: the last packet sent did not end its frame (no marker).
	midFrame bool
	// replayDue: the kept pictures go to this viewer when the frame it is
	// in the middle of ends.
	replayDue bool
	// lastReplay: the kept pictures went to this viewer then.
	lastReplay time.Time
}

func newForwardTrack(id, streamID string, codec webrtc.RTPCodecCapability, askKeyframe func()) *forwardTrack {
	return &forwardTrack{
		id: id, streamID: streamID, codec: codec,
		isKey:       keyframeStart(codec.MimeType),
		askKeyframe: askKeyframe,
		bindings:    map[string]*binding{},
	}
}

// ID is the track id viewers see.
func (t *forwardTrack) ID() string { return t.id }

// RID is "": one layer.
func (t *forwardTrack) RID() string { return "" }

// StreamID is the msid stream id: one per publisher.
func (t *forwardTrack) StreamID() string { return t.streamID }

// Kind is audio or video.
func (t *forwardTrack) Kind() webrtc.RTPCodecType {
	if strings.HasPrefix(strings.ToLower(t.codec.MimeType), "audio/") {
		return webrtc.RTPCodecTypeAudio
	}
	return webrtc.RTPCodecTypeVideo
}

// Bind is called by pion when a connection starts sending the track; it
// reads the connection's RTCP for keyframe requests until Unbind.
func (t *forwardTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, ok := matchCodec(t.codec, ctx.CodecParameters())
	if !ok {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	t.mu.Lock()
	t.bindings[ctx.ID()] = &binding{ssrc: uint32(ctx.SSRC()), pt: uint8(codec.PayloadType), w: ctx.WriteStream()}
	t.mu.Unlock()
	if r := ctx.RTCPReader(); r != nil && t.isKey != nil {
		go t.readRTCP(ctx.ID(), r)
	}
	return codec, nil
}

// readRTCP serves one viewer's keyframe requests; its first RTCP says its
// path works both ways, which is when what it was sent before is known
// lost and the kept pictures can reach it.
func (t *forwardTrack) readRTCP(id string, r interceptor.RTCPReader) {
	buf := make([]byte, 1500)
	for first := true; ; first = false {
		n, _, err := r.Read(buf, nil)
		if err != nil {
			return
		}
		want := first
		if pkts, err := rtcp.Unmarshal(buf[:n]); err == nil {
			for _, p := range pkts {
				switch p.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					want = true
				}
			}
		}
		if want {
			t.keyframeWanted(id)
		}
	}
}

// keyframeWanted sends viewer id the kept pictures (at most once a second)
// and asks the publisher for a keyframe (at most once a second in all).
func (t *forwardTrack) keyframeWanted(id string) {
	now := time.Now()
	t.mu.Lock()
	replayed, packets, bytes := false, len(t.gop), t.gopBytes
	if b := t.bindings[id]; b != nil && t.gopValid && now.Sub(b.lastReplay) >= keyframeEvery {
		b.lastReplay, replayed = now, true
		if b.sent && b.midFrame {
			// A frame cut short spoils the next one at a depacketizer
			// that keeps a unit's fragments until its last (pion's
			// H.264 one did): wait for this frame's end.
			b.replayDue = true
		} else {
			t.replayLocked(b)
		}
	}
	ask := now.Sub(t.lastAsk) >= keyframeEvery
	if ask {
		t.lastAsk = now
	}
	t.mu.Unlock()
	if replayed && t.log != nil {
		t.log.Debug("bridge: kept pictures sent to a viewer", "track", t.id, "packets", packets, "bytes", bytes)
	}
	if ask && t.askKeyframe != nil {
		t.askKeyframe()
	}
}

// Unbind is called by pion when a connection stops sending the track.
func (t *forwardTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	t.mu.Lock()
	delete(t.bindings, ctx.ID())
	t.mu.Unlock()
	return nil
}

// write forwards one published packet to every viewer; p is not kept
// (the caller may reuse its buffers). The writes happen under mu, against
// the house rule of no I/O under a lock, because a binding's numbers must
// follow the order its packets leave in and a replay must not interleave
// with live packets; pion's writes return quickly (a UDP send, or a place
// in MeteredPeer's pacer queue).
func (t *forwardTrack) write(p *rtp.Packet) {
	if len(p.Payload) == 0 {
		// Padding only (a publisher's probe): nothing to forward, and
		// the sequence closes over it.
		t.mu.Lock()
		t.skipped++
		t.mu.Unlock()
		return
	}
	c := &rtp.Packet{Header: p.Header.Clone(), Payload: append([]byte(nil), p.Payload...)}
	c.Extension, c.Extensions, c.ExtensionProfile = false, nil, 0
	c.Padding, c.PaddingSize = false, 0
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	c.SequenceNumber -= t.skipped
	if c.Timestamp != t.lastTS {
		// The frame before has ended, marker or not.
		t.replayDueLocked(false)
	}
	t.lastTS = c.Timestamp
	firstKey := t.isKey != nil && t.keep(c)
	for _, b := range t.bindings {
		t.sendLocked(b, c)
	}
	t.replayDueLocked(true)
	t.mu.Unlock()
	if firstKey && t.log != nil {
		t.log.Debug("bridge: first keyframe kept", "track", t.id, "seq", c.SequenceNumber)
	}
}

// keep adds c to the pictures since the last keyframe; it tells whether c
// began the track's first kept keyframe.
func (t *forwardTrack) keep(c *rtp.Packet) (firstKey bool) {
	if t.isKey(c.Payload) && (!t.gopValid || len(t.gop) == 0 || t.gop[0].Timestamp != c.Timestamp) {
		// A new group: from this frame's first packet kept (an SEI or
		// parameter set may have come before the keyframe's own).
		i := len(t.gop)
		for i > 0 && t.gop[i-1].Timestamp == c.Timestamp {
			i--
		}
		t.gop = append(t.gop[:0], t.gop[i:]...)
		t.gopBytes, t.gopValid = 0, true
		firstKey = !t.keyed
		t.keyed = true
		for _, k := range t.gop {
			t.gopBytes += len(k.Payload)
		}
	} else if !t.gopValid && len(t.gop) > 0 && t.gop[len(t.gop)-1].Timestamp != c.Timestamp {
		// No keyframe yet: only the current frame is worth keeping.
		t.gop, t.gopBytes = t.gop[:0], 0
	}
	t.gop = append(t.gop, c)
	t.gopBytes += len(c.Payload)
	if t.gopBytes > maxGOPBytes {
		t.gop, t.gopBytes, t.gopValid = nil, 0, false
	}
	return firstKey
}

// replayDueLocked sends the kept pictures to the viewers waiting for a
// frame's end; onlyEnded: only to those whose last packet ended one.
func (t *forwardTrack) replayDueLocked(onlyEnded bool) {
	for _, b := range t.bindings {
		if !b.replayDue || (onlyEnded && b.midFrame) {
			continue
		}
		b.replayDue = false
		if t.gopValid {
			t.replayLocked(b)
		}
	}
}

// sendLocked writes c to b, renumbered and restamped for b.
func (t *forwardTrack) sendLocked(b *binding, c *rtp.Packet) {
	h := c.Header // a copy: every viewer has its own numbers
	h.SSRC, h.PayloadType = b.ssrc, b.pt
	h.SequenceNumber += b.seqOff
	h.Timestamp += b.tsOff
	b.lastSeq, b.lastTS, b.sent, b.midFrame = h.SequenceNumber, h.Timestamp, true, !h.Marker
	// A viewer whose connection is closing fails the write; pion's
	// Unbind follows.
	_, _ = b.w.WriteRTP(&h, c.Payload)
}

// replayLocked sends b the kept pictures, continuing b's numbering, each
// frame one timestamp tick after the last, and moves b's offsets so that
// what comes next follows them.
func (t *forwardTrack) replayLocked(b *binding) {
	first := t.gop[0]
	if b.sent {
		b.seqOff = b.lastSeq + 1 - first.SequenceNumber
	} else {
		b.seqOff = 0
	}
	base := first.Timestamp
	if b.sent {
		base = b.lastTS + 1
	}
	frames := uint32(0)
	prev := first.Timestamp
	for i, k := range t.gop {
		if i > 0 && k.Timestamp != prev {
			frames++
			prev = k.Timestamp
		}
		b.tsOff = base + frames - k.Timestamp
		t.sendLocked(b, k)
	}
}

// close drops every kept packet; pion unbinds the viewers.
func (t *forwardTrack) close() {
	t.mu.Lock()
	t.gop, t.gopBytes, t.gopValid, t.closed = nil, 0, false, true
	t.mu.Unlock()
}
