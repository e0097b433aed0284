package probe

import "time"

// What a raise must show once the encoders send at it.
const (
	// CheckFor is how long after a result raised the estimate the queue
	// is watched (GCC's own detector takes 0.75–1.5 s to undo a raise
	// that a policer's bucket let through, under a 300 kb/s cap).
	CheckFor = 2 * time.Second
	// queueGrowth is how much longer than the shortest delay since the
	// raise packets must take, checkRun acknowledged packets in a row,
	// for the path to be full: a queue building, not jitter.
	queueGrowth = 50 * time.Millisecond
	checkRun    = 5
	// checkDrop is the share of that rate the estimate is set to: a
	// little under it, as for a cluster that arrived slower than sent
	// (underShortfall). The encoders spend part of the estimate, so the
	// queue drains.
	checkDrop = underShortfall
	// maxChecked bounds the packets remembered.
	maxChecked = 4096
)

// Check watches the path after a probe's result raised the estimate. A
// cluster that rode a policer's bucket reads far above the policed rate;
// once the encoders follow the raise, the queue behind the policer grows,
// which Check sees in the transport-wide feedback as packets taking longer
// and longer, and answers with the rate that arrived. GCC would see it
// too, but only once its trend filter is sure, with the estimate twice the
// path's meanwhile. It is not safe for concurrent use.
type Check struct {
	until    time.Time
	sent     map[uint16]sentPacket
	shortest time.Duration
	have     bool
	// the run of packets in a row that arrived queued: while a queue
	// drains, they leave it back to back, at the path's rate
	run              int
	runBytes         int
	runFirst, runEnd time.Duration
}

type sentPacket struct {
	at   time.Time
	size int
}

// Start watches the path from now, after a raise.
func (c *Check) Start(now time.Time) {
	*c = Check{until: now.Add(CheckFor), sent: map[uint16]sentPacket{}}
}

// Active tells whether packets sent now are watched.
func (c *Check) Active(now time.Time) bool { return c.sent != nil && now.Before(c.until) }

// Stop ends the watch.
func (c *Check) Stop() { *c = Check{} }

// Sent records a packet sent while Active.
func (c *Check) Sent(seq uint16, size int, now time.Time) {
	if c.sent == nil || len(c.sent) >= maxChecked {
		return
	}
	c.sent[seq] = sentPacket{at: now, size: size}
}

// Arrived takes one acknowledged packet; it returns the rate that
// arrived lately (bits per second) and true once the queue is seen to
// grow, after which the check is over. The rate is the run of queued
// packets' arrival rate, not the mean over a window: before the queue
// formed the path carried only what was sent.
func (c *Check) Arrived(seq uint16, at time.Duration) (int, bool) {
	p, ok := c.sent[seq]
	if !ok {
		return 0, false
	}
	delete(c.sent, seq)
	// A one-way delay up to the clocks' offset, which cancels out.
	delay := at - time.Duration(p.at.UnixNano())
	if !c.have || delay < c.shortest {
		c.shortest, c.have = delay, true
	}
	if delay-c.shortest < queueGrowth {
		c.run = 0
		return 0, false
	}
	if c.run == 0 {
		// The first of the run starts its span: its bytes arrived before.
		c.runBytes, c.runFirst, c.runEnd = 0, at, at
	} else {
		c.runBytes += p.size
		c.runFirst, c.runEnd = min(c.runFirst, at), max(c.runEnd, at)
	}
	if c.run++; c.run < checkRun {
		return 0, false
	}
	span := c.runEnd - c.runFirst
	if span < time.Millisecond {
		return 0, false // a clock too coarse to tell a rate: wait for more
	}
	bytes := c.runBytes
	c.Stop()
	return int(checkDrop * float64(bytes) * 8 / span.Seconds()), true
}
