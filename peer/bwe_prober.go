package peer

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/metered-ca/realtime-go/peer/internal/probe"
)

const (
	// probeStep is how often the prober looks at the estimate and the
	// encoders' demand.
	probeStep = 100 * time.Millisecond
	// maxClusterTime ends a cluster the machine cannot keep up with.
	maxClusterTime = 100 * time.Millisecond
	// correctWithin: a later cluster's lower result corrects the estimate
	// an earlier result set within this time (the clusters of one probe).
	correctWithin = time.Second
)

// prober sends an estimator's probe clusters: padding-only packets on the
// RTX stream of a video stream (receivers count them in their transport-wide
// feedback and drop them; padding on the media stream would read as lost
// media to pion's sample builder), paced to the cluster's rate, and only
// the deficit over the media sent meanwhile. They go straight to the
// transport, past GCC: a probe lost on a capped link is no media loss.
type prober struct {
	e   *estimator
	log logging.LeveledLogger

	mu       sync.Mutex
	list     []*sentStream
	ctrl     *probe.Controller
	est      probe.Estimator
	check    probe.Check             // the path after a raise
	records  map[uint16]probe.Packet // transport sequence → packet sent during a cluster
	awaiting []awaited
	queue    []probe.Cluster
	rerouted bool
	demand   func() int
	counts   ProbingStats
	raised   raisedBy
	started  bool
	closed   bool
	onRTX    func(ssrc uint32, on bool) // bwe_rtx.go

	active   atomic.Pointer[activeCluster]
	checking atomic.Bool // check is on: sent records every packet
	// heard: the remote has reported a packet of ours received. Probes
	// wait for it: until the remote's SRTP is up (it finishes DTLS after
	// us), it drops what we send unseen, and a probe it never sees gives
	// no result and spends the start-up probes.
	heard atomic.Bool
	kicks chan struct{}
	done  chan struct{}
	wg    sync.WaitGroup
}

// activeCluster is the cluster being sent; its counts are guarded by
// prober.mu.
type activeCluster struct {
	cluster        probe.Cluster
	packets, bytes int
}

// awaited is a sent cluster whose feedback is due by a time.
type awaited struct {
	id  int
	due time.Time
}

func (p *prober) init(e *estimator, bw Bandwidth) {
	p.e, p.log = e, e.lf.NewLogger("probe")
	p.ctrl = probe.NewController(bw.Initial, bw.Max)
	p.records = map[uint16]probe.Packet{}
	p.kicks = make(chan struct{}, 1)
	p.done = make(chan struct{})
}

// setDemand tells the prober how to read what the connection's encoders
// could use (conn.demand).
func (p *prober) setDemand(f func() int) {
	p.mu.Lock()
	p.demand = f
	p.mu.Unlock()
}

// routeChanged probes again, as at the start, on the next step.
func (p *prober) routeChanged() {
	p.mu.Lock()
	p.rerouted = true
	p.mu.Unlock()
	p.kick()
}

func (p *prober) kick() {
	select {
	case p.kicks <- struct{}{}:
	default:
	}
}

// addStream records s; the first video stream that can carry probes starts
// the prober.
func (p *prober) addStream(s *sentStream) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, s)
	if p.heard.Load() {
		p.announceRTX(s, true)
	}
	if p.started || p.closed || !canProbe(s) {
		return
	}
	p.started = true
	p.wg.Add(1)
	go p.run()
}

func canProbe(s *sentStream) bool { return s.video && s.rtx != nil && s.twccID != 0 }

func (p *prober) removeStream(info *interceptor.StreamInfo) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, s := range p.list {
		if s.info.SSRC == info.SSRC {
			p.list = append(p.list[:i], p.list[i+1:]...)
			if p.heard.Load() {
				p.announceRTX(s, false)
			}
			return
		}
	}
}

func (p *prober) streams() []*sentStream {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*sentStream(nil), p.list...)
}

// probeStream is the stream probes go out on: the first video stream with
// RTX that has sent media. Called with p.mu held.
func (p *prober) probeStream() *sentStream {
	for _, s := range p.list {
		if canProbe(s) && s.started.Load() {
			return s
		}
	}
	return nil
}

func (p *prober) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.done)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *prober) run() {
	defer p.wg.Done()
	tick := time.NewTicker(probeStep)
	defer tick.Stop()
	pause := time.NewTimer(time.Hour)
	defer pause.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-tick.C:
		case <-p.kicks:
		}
		s, clusters := p.due(time.Now())
		for _, c := range clusters {
			if p.send(s, c, pause) == proberClosed {
				return
			}
		}
	}
}

// due returns the clusters to send now, and the stream to send them on.
func (p *prober) due(now time.Time) (*sentStream, []probe.Cluster) {
	p.mu.Lock()
	demand := p.demand
	p.mu.Unlock()
	in := probe.Input{Demand: probe.AnyDemand}
	in.Estimate, in.Overusing = p.e.usage()
	if demand != nil {
		in.Demand = demand()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finish(now)
	s := p.probeStream()
	if s == nil || !p.heard.Load() {
		return nil, nil
	}
	out := p.ctrl.MediaStarted(now, in)
	if p.rerouted {
		p.rerouted = false
		out = append(out, p.ctrl.RouteChanged(now, in)...)
	}
	out = append(out, p.queue...)
	p.queue = nil
	out = append(out, p.ctrl.Step(now, in)...)
	p.counts.Clusters += len(out)
	return s, out
}

// probingStats counts what the prober did.
func (p *prober) probingStats() ProbingStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.counts
	st.Paused = p.ctrl.Paused(time.Now())
	return st
}

// finish tells the controller about clusters whose feedback is overdue,
// and forgets the packets whose feedback the estimator no longer waits
// for. Those were forgotten with their cluster's due time (a second) once,
// and a cluster whose feedback came later, as it does behind a relay's
// full queue, measured nothing and its packets counted unacknowledged.
// Called with p.mu held.
func (p *prober) finish(now time.Time) {
	kept := p.awaiting[:0]
	for _, a := range p.awaiting {
		if now.Before(a.due) {
			kept = append(kept, a)
			continue
		}
		// A receiver that acknowledged padding once reads it: a cluster
		// whose padding is all lost now was lost at a full queue.
		p.ctrl.Finished(now, p.est.Ignored(a.id) && p.counts.PacketsReceived == 0)
	}
	p.awaiting = kept
	for seq, r := range p.records {
		if now.Sub(r.Sent) > probe.KeepClusters {
			delete(p.records, seq)
		}
	}
}

// sendOutcome is what became of a cluster.
type sendOutcome int

const (
	clusterSent  sendOutcome = iota
	clusterCut               // the machine fell behind (maxClusterTime) or the stream went
	proberClosed             // the prober is closing
)

// send sends one cluster on s, paced to its rate.
func (p *prober) send(s *sentStream, c probe.Cluster, pause *time.Timer) sendOutcome {
	start := time.Now()
	a := &activeCluster{cluster: c}
	p.mu.Lock()
	p.est.Start(c, start)
	p.active.Store(a)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.active.Store(nil)
		p.awaiting = append(p.awaiting, awaited{id: c.ID, due: time.Now().Add(time.Second)})
		p.log.Debugf("cluster %d at %d b/s: %d packets, %d bytes in %v", c.ID, c.Bitrate, a.packets, a.bytes, time.Since(start))
		p.mu.Unlock()
	}()
	for {
		elapsed := time.Since(start)
		p.mu.Lock()
		need, complete := c.Due(elapsed)-a.bytes, c.Complete(a.packets, a.bytes)
		p.mu.Unlock()
		switch {
		case complete:
			return clusterSent
		case elapsed > maxClusterTime:
			return clusterCut
		}
		for need > 0 {
			n, err := p.pad(s)
			if err != nil {
				return clusterCut // the stream is gone; the cluster goes unanswered
			}
			need -= n
		}
		pause.Reset(time.Millisecond)
		select {
		case <-p.done:
			return proberClosed
		case <-pause.C:
		}
	}
}

// pad sends one padding-only packet on s's RTX stream.
func (p *prober) pad(s *sentStream) (int, error) {
	p.e.sendMu.Lock()
	defer p.e.sendMu.Unlock()
	h := &rtp.Header{
		Version:        2,
		Padding:        true,
		PaddingSize:    probe.PaddingSize,
		PayloadType:    s.info.PayloadTypeRetransmission,
		SequenceNumber: uint16(s.rtxSeq.Add(1) - 1),
		Timestamp:      s.timestamp.Load(),
		SSRC:           s.rtx.SSRC,
	}
	seq, err := p.e.stamp(s, h)
	if err != nil {
		return 0, err
	}
	size := packetSize(h, nil)
	p.sent(seq, true, size, true)
	if _, err := s.writer.Write(h, nil, interceptor.Attributes{}); err != nil {
		return 0, err
	}
	return size, nil
}

// sent records a packet with a transport sequence number while a cluster
// is being sent: the media sent meanwhile counts towards the cluster.
func (p *prober) sent(seq uint16, numbered bool, size int, padding bool) {
	a := p.active.Load()
	if !numbered || a == nil && !p.checking.Load() {
		return
	}
	now := time.Now()
	p.mu.Lock()
	if p.checking.Load() {
		if p.check.Active(now) {
			p.check.Sent(seq, size, now)
		} else {
			p.check.Stop()
			p.checking.Store(false)
		}
	}
	if a != nil && p.active.Load() == a {
		p.records[seq] = probe.Packet{Cluster: a.cluster.ID, Size: size, Padding: padding, Sent: now}
		a.packets++
		a.bytes += size
		if padding {
			p.counts.PacketsSent++
			p.counts.BytesSent += uint64(size)
		}
	}
	p.mu.Unlock()
}

// feedback matches transport-wide feedback with the clusters' packets;
// a result raises the estimate and may call for a further probe.
func (p *prober) feedback(fb *rtcp.TransportLayerCC) {
	if !p.heard.Load() && fb.PacketStatusCount > 0 {
		heard := false
		probe.Arrivals(fb, func(_ uint16, _ time.Duration, received bool) { heard = heard || received })
		if heard {
			p.mu.Lock()
			if !p.heard.Swap(true) {
				for _, s := range p.list {
					p.announceRTX(s, true)
				}
			}
			p.mu.Unlock()
			p.kick() // the start-up probes need not wait for the next step
		}
	}
	p.mu.Lock()
	if len(p.records) == 0 && !p.checking.Load() {
		p.mu.Unlock()
		return
	}
	full, arrivedBps := false, 0
	probe.Arrivals(fb, func(seq uint16, at time.Duration, received bool) {
		if received && p.checking.Load() {
			if bps, ok := p.check.Arrived(seq, at); ok {
				full, arrivedBps = true, bps
				p.checking.Store(false)
			}
		}
		r, ok := p.records[seq]
		if !ok || !received {
			return
		}
		if r.Padding {
			p.counts.PacketsReceived++
		}
		delete(p.records, seq)
		r.Arrived = at
		p.est.Received(r)
	})
	results := p.est.Results()
	p.mu.Unlock()
	if full {
		// The raise filled the path: what arrives is what it carries.
		if p.e.correct(arrivedBps) {
			p.log.Debugf("the queue grew after a raise: estimate %d b/s, what arrived", arrivedBps)
		}
	}
	p.take(results, time.Now())
}

// take applies the results of one feedback: the estimate, and a further
// probe when one is called for.
func (p *prober) take(results []probe.Result, now time.Time) {
	if len(results) == 0 {
		return
	}
	p.mu.Lock()
	// The latest cluster's result is the measurement, as in libwebrtc: an
	// earlier, lower-rate one that read higher rode a router's bucket.
	r := results[len(results)-1]
	for _, r := range results {
		p.log.Debugf("cluster %d measured %d b/s", r.Cluster.ID, r.Bitrate)
	}
	p.counts.Results += len(results)
	p.counts.LastResult = r.Bitrate
	p.queue = append(p.queue, p.ctrl.Result(now, r)...)
	further := len(p.queue) > 0
	last := p.raised
	// An earlier cluster of the same probe that read much more: the
	// later one met noise or the path's limit; a start-up probe looks again.
	earlier := 0
	for _, e := range results[:len(results)-1] {
		earlier = max(earlier, e.Bitrate)
	}
	if last.cluster != 0 && r.Cluster.ID > last.cluster && now.Sub(last.at) < correctWithin {
		earlier = max(earlier, last.to)
	}
	if float64(r.Bitrate) < probe.DisagreeShare*float64(earlier) {
		p.ctrl.Disagreed(now, r)
	}
	p.mu.Unlock()
	before := p.e.GetTargetBitrate()
	switch {
	case p.e.raise(r.Bitrate):
		p.mu.Lock()
		p.raised = raisedBy{cluster: r.Cluster.ID, before: before, to: r.Bitrate, at: now}
		p.ctrl.Raised(now, r.Bitrate)
		p.check.Start(now)
		p.checking.Store(true)
		p.mu.Unlock()
	case last.cluster != 0 && r.Cluster.ID > last.cluster && r.Bitrate < last.to && now.Sub(last.at) < correctWithin:
		// A later cluster of the same probe read less than the one that
		// set the estimate: it met the path's limit, which the earlier
		// one only seemed to pass.
		p.e.correct(max(r.Bitrate, last.before))
		p.mu.Lock()
		p.raised = raisedBy{}
		p.mu.Unlock()
	}
	if further {
		p.kick()
	}
}

// raisedBy is the probe result that last set the estimate.
type raisedBy struct {
	cluster    int
	before, to int // the estimate before, and the result
	at         time.Time
}
