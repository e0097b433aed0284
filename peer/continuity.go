package peer

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// boundTrack is what a MeteredPeer hands pion for an application track: it
// gives the track the msid stream id of its MediaStream and keeps each
// sender's RTP sequence numbers and timestamps continuous when ReplaceTrack
// swaps the track behind it. pion's sample tracks number their packets from
// a random start of their own; without this, a replacement that restarts
// lower is dropped by the receiver's SRTP replay check, as a browser never
// does to its own senders.
type boundTrack struct {
	webrtc.TrackLocal
	streamID string
	seqs     *seqRegistry
	gates    *sendGates
}

func (b *boundTrack) StreamID() string {
	if b.streamID != "" {
		return b.streamID
	}
	return b.TrackLocal.StreamID()
}

// Bind binds the inner track through a writer that rewrites its packets.
func (b *boundTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	seq := b.seqs.forWriter(ctx.WriteStream())
	w := &seqWriter{inner: ctx.WriteStream(), src: b, seq: seq, gate: b.gates.lookup(ctx.SSRC())}
	codec, err := b.TrackLocal.Bind(&seqContext{TrackLocalContext: ctx, w: w})
	if err == nil {
		seq.setClock(codec.ClockRate)
	}
	return codec, err
}

type seqContext struct {
	webrtc.TrackLocalContext
	w *seqWriter
}

func (c *seqContext) WriteStream() webrtc.TrackLocalWriter { return c.w }

type seqWriter struct {
	inner webrtc.TrackLocalWriter
	src   *boundTrack
	seq   *senderSeq
	gate  *atomic.Bool // nil: always open (see sendGates)
}

// rewrittenHeaders holds seqWriter's copies of the headers it rewrites:
// a copy per packet would escape to the heap, and the writer below is
// done with it when WriteRTP returns.
var rewrittenHeaders = sync.Pool{New: func() any { return new(rtp.Header) }}

// held reports whether the remote has yet to accept this sender's m-line;
// its packets are then dropped, as on a wire that does not exist yet.
func (w *seqWriter) held() bool { return w.gate != nil && !w.gate.Load() }

func (w *seqWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if w.held() {
		return len(payload), nil
	}
	out := rewrittenHeaders.Get().(*rtp.Header)
	*out = *h
	w.seq.rewrite(w.src, out)
	n, err := w.inner.WriteRTP(out, payload)
	*out = rtp.Header{} // keep nothing of the caller's alive in the pool
	rewrittenHeaders.Put(out)
	return n, err
}

func (w *seqWriter) Write(b []byte) (int, error) {
	if w.held() {
		return len(b), nil
	}
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil {
		return 0, err
	}
	w.seq.rewrite(w.src, &p.Header)
	out, err := p.Marshal()
	if err != nil {
		return 0, err
	}
	return w.inner.Write(out)
}

// senderSeq is the numbering one sender puts on the wire.
type senderSeq struct {
	mu       sync.Mutex
	clock    uint32
	source   *boundTrack
	seqDelta uint16
	tsDelta  uint32
	lastSeq  uint16
	lastTS   uint32
	lastAt   time.Time
	started  bool
}

func (s *senderSeq) rewrite(src *boundTrack, h *rtp.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	switch {
	case !s.started:
		s.started, s.source = true, src
	case src != s.source:
		// A new track took over this sender: continue where the last one
		// stopped, advancing the clock by the time that passed.
		s.source = src
		elapsed := uint32(now.Sub(s.lastAt).Seconds() * float64(s.clock))
		s.seqDelta = s.lastSeq + 1 - h.SequenceNumber
		s.tsDelta = s.lastTS + max(elapsed, 1) - h.Timestamp
	}
	h.SequenceNumber += s.seqDelta
	h.Timestamp += s.tsDelta
	s.lastSeq, s.lastTS, s.lastAt = h.SequenceNumber, h.Timestamp, now
}

// seqRegistry finds a sender's numbering by its pion writer, which stays the
// same across ReplaceTrack. Entries idle for a minute are forgotten.
type seqRegistry struct {
	mu       sync.Mutex
	byWriter map[webrtc.TrackLocalWriter]*senderSeq
}

func (s *senderSeq) setClock(clock uint32) {
	s.mu.Lock()
	s.clock = clock
	s.mu.Unlock()
}

func (r *seqRegistry) forWriter(w webrtc.TrackLocalWriter) *senderSeq {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byWriter == nil {
		r.byWriter = map[webrtc.TrackLocalWriter]*senderSeq{}
	}
	for k, s := range r.byWriter {
		s.mu.Lock()
		idle := s.started && time.Since(s.lastAt) > time.Minute
		s.mu.Unlock()
		if idle && k != w {
			delete(r.byWriter, k)
		}
	}
	s := r.byWriter[w]
	if s == nil {
		s = &senderSeq{clock: 90000}
		r.byWriter[w] = s
	}
	return s
}
