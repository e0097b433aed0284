package peer

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// probeGain: a probe's result replaces the estimate only when it is at
// least this much above it (libwebrtc's probe uncertainty).
const probeGain = 1.05

// estimator is one connection's send-side bandwidth estimator: pion's GCC
// for the estimate, and a prober (bwe_prober.go) that measures what the
// path carries above it, as a browser does.
//
// pion's GCC cannot be told an estimate: its target is seeded only when it
// is made. So a probe's result replaces the GCC with a fresh one started at
// the result, which the estimator's streams are re-added to. That also
// empties GCC's memory of the rate at its last decrease, which is what
// kept it creeping (within that rate's band it grows by one packet per
// response time, never past 1.5× what it receives). docs/design.md says
// why this and not a fork.
//
// It numbers the transport-wide sequence (in place of pion's header
// interceptor) so that its own probe packets and the media share one
// sequence, and it numbers the RTX stream of each video stream, the
// NACK responder's retransmissions and its probes alike: two counters on
// one SSRC would break SRTP's replay window at the receiver.
type estimator struct {
	bw    Bandwidth
	lf    logging.LoggerFactory
	pacer *pacer // every GCC's, so that the writer handed out stays valid

	mu       sync.RWMutex // WriteRTCP holds it for reading, a replacement for writing
	gcc      *gcc.SendSideBWE
	gen      atomic.Int64 // of the current GCC; a replacement raises it
	onChange func(int)

	transportSeq atomic.Uint32
	sendMu       sync.Mutex             // numbering and sending one packet (write)
	sendAttrs    interceptor.Attributes // write's, under sendMu (see write)
	path         *pathFeedback          // the round trip and the repairs that arrived

	prober
}

// newEstimator starts a connection's estimator at bw.Initial.
func newEstimator(bw Bandwidth, lf logging.LoggerFactory) (*estimator, error) {
	e := &estimator{bw: bw, lf: lf, path: newPathFeedback(), sendAttrs: interceptor.Attributes{}}
	e.pacer = newPacer(bw.Initial, e.release)
	g, err := e.newGCC(bw.Initial, 0)
	if err != nil {
		return nil, err
	}
	e.gcc = g
	e.prober.init(e, bw)
	return e, nil
}

// newGCC makes the GCC of generation gen, started at bps.
func (e *estimator) newGCC(bps int, gen int64) (*gcc.SendSideBWE, error) {
	return gcc.NewSendSideBWE(
		gcc.SendSideBWEInitialBitrate(min(max(bps, e.bw.Min), e.bw.Max)),
		gcc.SendSideBWEMinBitrate(e.bw.Min),
		gcc.SendSideBWEMaxBitrate(e.bw.Max),
		gcc.SendSideBWEPacer(gccPacer{p: e.pacer, gen: &e.gen, own: gen}),
		gcc.WithLoggerFactory(e.lf),
	)
}

// sentStream is a local stream the estimator writes for.
type sentStream struct {
	info   *interceptor.StreamInfo
	rtx    *interceptor.StreamInfo // its RTX stream as GCC sees it; nil without one
	writer interceptor.RTPWriter   // the transport's, below every interceptor
	twccID uint8
	video  bool

	rtxSeq    atomic.Uint32 // the next RTX sequence number
	timestamp atomic.Uint32 // of the latest media packet
	started   atomic.Bool
}

// AddStream numbers what the stream sends and hands it to GCC; its media
// waits its turn in the pacer when it is video.
func (e *estimator) AddStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	s := &sentStream{info: info, writer: writer, video: isVideo(info)}
	for _, x := range info.RTPHeaderExtensions {
		if x.URI == sdp.TransportCCURI {
			s.twccID = uint8(x.ID)
		}
	}
	if info.SSRCRetransmission != 0 {
		rtx := *info
		rtx.SSRC = info.SSRCRetransmission
		s.rtx = &rtx
		s.rtxSeq.Store(rand.Uint32N(1 << 16))
	}
	// Under the lock a replacement of GCC takes: the stream is in the
	// list it re-adds and in the GCC it replaces.
	e.mu.RLock()
	e.register(e.gcc, s)
	e.addStream(s)
	e.mu.RUnlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		switch {
		case s.rtx != nil && h.SSRC == s.rtx.SSRC:
			// The NACK responder's stored copy: a copy of it is
			// numbered as it leaves.
			c := h.Clone()
			return e.write(s, &c, payload, true)
		case h.SSRC == info.SSRC:
			s.timestamp.Store(h.Timestamp)
			if s.video {
				if !s.started.Swap(true) {
					e.kick()
				}
				return e.pacer.enqueue(s, h, payload)
			}
		}
		return e.write(s, h, payload, false)
	})
}

// write numbers a packet (its RTX sequence too, for a repair) and sends it
// through GCC. Numbering and sending hold sendMu together, so that the
// numbers follow the order packets reach the wire whichever goroutine
// sends them (the pacer, the NACK responder, audio, the prober).
func (e *estimator) write(s *sentStream, h *rtp.Header, payload []byte, repair bool) (int, error) {
	e.sendMu.Lock()
	defer e.sendMu.Unlock()
	if repair {
		h.SequenceNumber = uint16(s.rtxSeq.Add(1) - 1)
	}
	seq, err := e.stamp(s, h)
	if err != nil {
		return 0, err
	}
	if repair && s.twccID != 0 && len(payload) >= 2 {
		e.path.repairSent(seq, h.SSRC, binary.BigEndian.Uint16(payload))
	}
	e.sent(seq, s.twccID != 0, packetSize(h, payload), false)
	// Below the estimator only GCC reads attributes, and it sets one of
	// its own on every packet: one map kept for that spares a map per
	// packet (the caller's are for the interceptors above).
	clear(e.sendAttrs)
	return e.pacer.write(h, payload, e.sendAttrs)
}

// release writes a packet the pacer held; a write error (the transport
// closing) is the next write's to report.
func (e *estimator) release(q *queuedPacket) {
	_, _ = e.write(q.s, &q.header, q.payload, false)
}

// register adds s (and its RTX stream) to one GCC.
func (e *estimator) register(g *gcc.SendSideBWE, s *sentStream) {
	g.AddStream(s.info, s.writer)
	if s.rtx != nil {
		g.AddStream(s.rtx, s.writer)
	}
}

// stamp writes the next transport-wide sequence number into h.
func (e *estimator) stamp(s *sentStream, h *rtp.Header) (uint16, error) {
	if s.twccID == 0 {
		return 0, nil
	}
	seq := uint16(e.transportSeq.Add(1) - 1)
	e.path.packetSent(seq, time.Now())
	ext, err := (&rtp.TransportCCExtension{TransportSequence: seq}).Marshal()
	if err != nil {
		return 0, err
	}
	return seq, h.SetExtension(s.twccID, ext)
}

// WriteRTCP reads feedback: GCC's, and the prober's results.
func (e *estimator) WriteRTCP(pkts []rtcp.Packet, a interceptor.Attributes) error {
	e.mu.RLock()
	err := e.gcc.WriteRTCP(pkts, a)
	e.mu.RUnlock()
	if errors.Is(err, gcc.ErrSendSideBWEClosed) {
		return nil // closing: nothing to estimate any more
	}
	for _, p := range pkts {
		if fb, ok := p.(*rtcp.TransportLayerCC); ok {
			e.path.feedback(fb, time.Now())
			e.feedback(fb)
		}
	}
	return err
}

// raise replaces GCC by one started at bps, when bps is enough above the
// estimate and GCC is not cutting it; it tells whether it did.
func (e *estimator) raise(bps int) bool {
	return e.replace(func(current int) bool { return float64(bps) >= probeGain*float64(current) }, bps)
}

// correct lowers an estimate that a probe result set too high to bps, when
// GCC is not cutting it already.
func (e *estimator) correct(bps int) bool {
	return e.replace(func(current int) bool { return bps < current }, bps)
}

// replace replaces GCC by one started at bps when want(estimate) holds and
// GCC is not cutting the estimate.
func (e *estimator) replace(want func(current int) bool, bps int) bool {
	e.mu.Lock()
	old := e.gcc
	if !want(old.GetTargetBitrate()) || decreasing(old) {
		e.mu.Unlock()
		return false
	}
	gen := e.gen.Load() + 1
	g, err := e.newGCC(bps, gen)
	if err != nil {
		e.mu.Unlock()
		return false
	}
	for _, s := range e.streams() {
		e.register(g, s)
	}
	e.gen.Store(gen)
	e.pacer.setRate(g.GetTargetBitrate())
	notify := e.onChange
	e.watchLocked(g)
	e.gcc = g
	e.mu.Unlock()
	_ = old.Close()
	if notify != nil {
		notify(g.GetTargetBitrate())
	}
	return true
}

// decreasing tells whether GCC is cutting its estimate for a growing
// queue. pion's delay detector calls single delay spikes overuse (a
// keyframe, a probe cluster queued at a router): a result is refused only
// while GCC acts on one.
func decreasing(g *gcc.SendSideBWE) bool { return g.GetStats()["state"] == "decrease" }

// GetTargetBitrate is the estimate, in bits per second.
func (e *estimator) GetTargetBitrate() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.gcc.GetTargetBitrate()
}

// usage reads the estimate and whether the delay detector sees overuse
// or GCC is cutting the estimate for it.
func (e *estimator) usage() (int, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	st := e.gcc.GetStats()
	return e.gcc.GetTargetBitrate(), st["usage"] == "overuse" || st["state"] == "decrease"
}

// OnTargetBitrateChange sets f to be called with each new estimate.
func (e *estimator) OnTargetBitrateChange(f func(int)) {
	e.mu.Lock()
	e.onChange = f
	e.watchLocked(e.gcc)
	e.mu.Unlock()
}

// watchLocked passes g's estimates to onChange while g is the current
// GCC: a replaced one may still call back from its last update.
func (e *estimator) watchLocked(g *gcc.SendSideBWE) {
	notify, gen := e.onChange, e.gen.Load()
	if notify == nil {
		return
	}
	g.OnTargetBitrateChange(func(bps int) {
		e.mu.RLock()
		current := e.gen.Load() == gen
		e.mu.RUnlock()
		if current {
			notify(bps)
		}
	})
}

// GetStats is GCC's.
func (e *estimator) GetStats() map[string]any {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.gcc.GetStats()
}

// Close stops the prober and the pacer, then GCC.
func (e *estimator) Close() error {
	e.prober.close()
	e.pacer.close()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.gcc.Close()
}

// estimatorInterceptor is pion's congestion-control interceptor, which
// also tells the estimator when a stream goes (pion's does not).
type estimatorInterceptor struct {
	interceptor.Interceptor
	e *estimator
}

func (i estimatorInterceptor) UnbindLocalStream(info *interceptor.StreamInfo) {
	i.Interceptor.UnbindLocalStream(info)
	i.e.removeStream(info)
}

// estimatorFactory makes, for each connection, pion's congestion-control
// interceptor around an estimator, which it records in m.
type estimatorFactory struct {
	bw Bandwidth
	lf logging.LoggerFactory
	m  *meters
}

func (f estimatorFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	var e *estimator
	inner, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		var err error
		e, err = newEstimator(f.bw, f.lf)
		return e, err
	})
	if err != nil {
		return nil, err
	}
	i, err := inner.NewInterceptor(id)
	if err != nil {
		return nil, err
	}
	f.m.mu.Lock()
	f.m.estimators[id] = e
	f.m.mu.Unlock()
	return estimatorInterceptor{Interceptor: i, e: e}, nil
}
