package peer

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtp"
)

// How a connection's video is paced (libwebrtc's pacing rules).
const (
	// pacingFactor: video leaves at this multiple of the estimate, so an
	// encoder's burst (a keyframe is ten or more times a frame's share)
	// reaches the path spread out instead of all at once, where it would
	// overflow a router's queue and read as congestion.
	pacingFactor = 2.5
	// maxQueueDelay bounds the time a packet waits: the queue drains
	// faster when its oldest packet would wait longer, so a source that
	// cannot slow down (a passthrough file on a thin link) raises the
	// pacing rate instead of building a queue that grows without bound.
	maxQueueDelay = 250 * time.Millisecond
	// pacingBurst: what the pacer may send at once after it was idle, in
	// time at the pacing rate (libwebrtc's pacer runs every 5 ms).
	pacingBurst = 5 * time.Millisecond
)

// pacer holds a connection's video packets and lets them go at
// pacingFactor times the estimate. Audio and retransmissions do not wait:
// they are small and late ones are worthless. A packet is numbered in the
// transport-wide sequence when it leaves, so that the sequence follows the
// order packets reach the wire, which the delay detector assumes.
//
// It also holds the writers GCC hands it, one per SSRC (each records the
// packet in GCC's history), and sends packets of SSRCs it was not given:
// the NACK responder's RTX retransmissions go out on an SSRC of their own,
// which pion's pacers drop as an unknown stream. Every stream's writer ends
// at the same transport, so any of them will do.
type pacer struct {
	send func(q *queuedPacket) // numbers and writes one packet (estimator.release)

	rate atomic.Int64 // the estimate, bits per second

	mu      sync.Mutex
	writers map[uint32]interceptor.RTPWriter
	last    interceptor.RTPWriter
	queue   []*queuedPacket
	bytes   int // queued
	running bool
	closed  bool

	wake chan struct{}
	done chan struct{}
	wg   sync.WaitGroup
}

// queuedPacket is a packet held by the pacer: copies of the caller's, who
// may reuse them once Write returns.
type queuedPacket struct {
	s       *sentStream
	header  rtp.Header
	payload []byte
	at      time.Time // queued
	bytes   int       // as queued, before the transport-wide number
}

func (q *queuedPacket) size() int { return q.header.MarshalSize() + len(q.payload) }

func newPacer(initial int, send func(*queuedPacket)) *pacer {
	p := &pacer{
		send:    send,
		writers: map[uint32]interceptor.RTPWriter{},
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	p.rate.Store(int64(initial))
	return p
}

// setRate sets the estimate the pacing rate follows.
func (p *pacer) setRate(bps int) { p.rate.Store(int64(bps)) }

// addWriter records GCC's writer for ssrc.
func (p *pacer) addWriter(ssrc uint32, w interceptor.RTPWriter) {
	p.mu.Lock()
	p.writers[ssrc], p.last = w, w
	p.mu.Unlock()
}

// write sends a packet now, through GCC's writer for its SSRC.
func (p *pacer) write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	p.mu.Lock()
	w, ok := p.writers[h.SSRC]
	if !ok {
		w = p.last
	}
	p.mu.Unlock()
	if w == nil {
		return 0, gcc.ErrUnknownStream
	}
	return w.Write(h, payload, a)
}

// enqueue holds a copy of a packet for its turn, starting the pacer's
// goroutine on the first one.
func (p *pacer) enqueue(s *sentStream, h *rtp.Header, payload []byte) (int, error) {
	q := &queuedPacket{s: s, header: h.Clone(), payload: append([]byte(nil), payload...), at: time.Now()}
	size := q.size() // before the pacer may number it
	q.bytes = size
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, io.ErrClosedPipe
	}
	p.queue = append(p.queue, q)
	p.bytes += size
	if !p.running {
		p.running = true
		p.wg.Add(1)
		go p.run()
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return size, nil
}

// pacingRate is what the queue may drain at, in bytes per second: the
// pacing factor over the estimate, or what empties the queue by the time
// its oldest packet has waited maxQueueDelay. Called with p.mu held.
func (p *pacer) pacingRate(now time.Time) float64 {
	rate := max(pacingFactor*float64(p.rate.Load())/8, 1)
	if len(p.queue) == 0 {
		return rate
	}
	left := max(maxQueueDelay-now.Sub(p.queue[0].at), time.Millisecond)
	return max(rate, float64(p.bytes)/left.Seconds())
}

func (p *pacer) run() {
	defer p.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var budget float64     // bytes that may leave now
	var refilled time.Time // zero: the first packets find a full burst
	for {
		p.mu.Lock()
		now := time.Now()
		rate := p.pacingRate(now)
		budget = min(budget+rate*now.Sub(refilled).Seconds(), max(rate*pacingBurst.Seconds(), 1))
		refilled = now
		var out []*queuedPacket
		for len(p.queue) > 0 && budget > 0 {
			q := p.queue[0]
			p.queue[0] = nil
			p.queue = p.queue[1:]
			p.bytes -= q.bytes
			budget -= float64(q.bytes)
			out = append(out, q)
		}
		idle := len(p.queue) == 0
		p.mu.Unlock()
		for _, q := range out {
			p.send(q)
		}
		if idle {
			select {
			case <-p.done:
				return
			case <-p.wake:
			}
			continue
		}
		timer.Reset(max(time.Duration(-budget/rate*float64(time.Second)), 500*time.Microsecond))
		select {
		case <-p.done:
			return
		case <-timer.C:
		}
	}
}

// close stops the pacer; what it still holds is dropped.
func (p *pacer) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.done)
	}
	p.queue, p.bytes = nil, 0
	p.mu.Unlock()
	p.wg.Wait()
}

// gccPacer is the pacer as one GCC sees it. GCC's estimate sets the
// pacing rate only while that GCC is the estimator's current one, and its
// Close (when a probe result replaces it) leaves the shared pacer running.
type gccPacer struct {
	p   *pacer
	gen *atomic.Int64 // the estimator's current generation
	own int64         // this GCC's
}

func (g gccPacer) AddStream(ssrc uint32, w interceptor.RTPWriter) { g.p.addWriter(ssrc, w) }

func (g gccPacer) Write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	return g.p.write(h, payload, a)
}

func (g gccPacer) SetTargetBitrate(bps int) {
	if g.gen.Load() == g.own {
		g.p.setRate(bps)
	}
}

func (gccPacer) Close() error { return nil }
