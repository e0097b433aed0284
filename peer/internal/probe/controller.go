package probe

import (
	"math"
	"time"
)

// When to probe and how high (libwebrtc's probe_controller, with periodic
// probing on whenever the encoders could use more, as mediasoup does).
const (
	// Initial probes: these multiples of the start rate, when media starts.
	firstInitialScale, secondInitialScale = 3.0, 6.0
	// furtherThreshold: a result above this share of its cluster's rate
	// probes again, at furtherScale times the result.
	furtherThreshold, furtherScale = 0.7, 2.0
	// waitForResult is how long a probe's result is awaited.
	waitForResult = time.Second
	// Periodic probes, while the estimate limits the encoders: this often,
	// at periodicScale times the estimate. libwebrtc's screen-share
	// probing waits 5 s; 3 s finds a lifted cap within the 6 s a browser
	// takes, for about 1 % of the estimate (15 ms at twice it every 3 s).
	periodicInterval, periodicScale = 3 * time.Second, 2.0
	// A raise that GCC undoes (the estimate falls below dropThreshold of
	// it) within undoWindow was a cluster riding a policer's bucket, not
	// room on the path: periodic probes then go every slowedInterval
	// (libwebrtc's), until a raise holds. Each such raise is an estimate
	// far over the cap until GCC's delay detector finds the queue, about
	// 0.5–0.75 s under a 300 kb/s cap.
	undoWindow, slowedInterval = 2 * time.Second, 5 * time.Second
	// A drop below dropThreshold of the estimate is remembered for
	// dropTimeout; once the delay detector is back to normal within it,
	// one probe at recoveryScale of the rate before the drop, at most once
	// per recoveryInterval.
	dropThreshold, dropTimeout      = 0.66, 5 * time.Second
	recoveryScale, recoveryInterval = 0.85, 5 * time.Second
	// MaxBitrate is the highest any probe goes.
	MaxBitrate = 5_000_000
	// maxIgnored clusters in a row whose padding the receiver ignored
	// (it does not read the stream, or drops padding) pause probing, for
	// ignoredPause, doubling with each pause up to maxIgnoredPause: such
	// probes measure nothing and cost bytes.
	maxIgnored                    = 3
	ignoredPause, maxIgnoredPause = 30 * time.Second, 5 * time.Minute
	// minGain: a probe must aim this far above the estimate to be worth it.
	minGain = 1.1
	// capMargin: a periodic probe whose further probe failed marks the
	// estimate it started from as capped; later periodic probes go without
	// further ones until the estimate they start from is this much above
	// it. Under a policer with a small bucket the periodic cluster, small,
	// passes whole and asks for a further one twice its rate, which the
	// policer cuts: over a 60 s capped run that pair was 3.5 % of the
	// bytes sent, the periodic cluster alone about 1 %.
	capMargin = 1.5
	// confirmFor: a periodic probe that went alone (it started under the
	// capped mark) and came back past the mark either found the cap lifted
	// or rode a policer's bucket. Its raise is checked (Check, GCC), which
	// undoes a bucket's within 0.25-0.75 s under a 300 kb/s cap; a raise
	// that holds for undoWindow, the whole check, is room on the path, and
	// the further probe goes then. Without it the further probe waited for
	// the next periodic one: a lifted cap took up to 8 s to find. With 1 s
	// one 14 s capped run in three averaged 1.17× the cap.
	confirmFor = undoWindow
	// quietBeforeProbe: periodic probes wait until the delay detector has
	// seen no overuse for this long. While queueing delay is what holds
	// the estimate down the path is full; a short probe there measures
	// only how much a policer's bucket lets through at once.
	quietBeforeProbe = 3 * time.Second
	// recheckAfter: a start-up probe whose clusters disagreed
	// (DisagreeShare) goes again this much later, once, at its faster
	// cluster's rate; its result stands meanwhile. Without it the estimate
	// stayed at the low reading until the periodic probe, 3-5 s later.
	recheckAfter = 300 * time.Millisecond
)

// DisagreeShare: a later, faster cluster of a probe that read under this
// share of an earlier one measured noise (a stall in sending or in
// timestamping: under CPU load the second start-up cluster read 0.6-0.9×
// the first in a third of the runs on a 2.5 Mb/s path) or a bucket.
const DisagreeShare = 0.8

// Input is what the controller reads on each step.
type Input struct {
	// Estimate is the connection's bandwidth estimate (bits per second).
	Estimate int
	// Overusing tells whether the delay detector sees the queue growing
	// (or the estimator is cutting the estimate for it).
	Overusing bool
	// Demand is the estimate the encoders could use whole: AnyDemand when
	// they could use any, 0 when none adapts to the estimate.
	Demand int
}

// AnyDemand is the Demand of encoders that could use any estimate.
const AnyDemand = -1

// Controller decides when to probe. It is not safe for concurrent use.
type Controller struct {
	start, max int

	nextID       int
	mediaStarted bool
	ignored      int           // clusters in a row
	pausedUntil  time.Time     // after maxIgnored
	pause        time.Duration // the next pause

	// waiting for the result of a probe that may call for a further one
	waiting     bool
	waitStarted time.Time
	furtherOver int // a result above this probes further

	// periodicFrom is the estimate the periodic probe being awaited
	// started from (0: the awaited probe is not periodic), further tells
	// whether the awaited one is its further probe, and cappedBelow is
	// the estimate under which periodic probes go without further ones.
	periodicFrom int
	further      bool
	cappedBelow  int
	// alone: the awaited periodic probe went without a further one (it
	// started under cappedBelow); confirmAt: when its raise, to
	// confirmRate, may call for the further probe after all.
	alone         bool
	confirmAt     time.Time
	confirmRate   int
	confirmFrom   int  // the estimate the periodic probe started from
	confirmRaised bool // its result became the estimate

	estimate    int
	demand      int
	lastProbe   time.Time // any probe but a recovery one
	drop        time.Time // of the last large drop
	beforeDrop  int
	sawOveruse  bool // since the drop
	lastOveruse time.Time
	lastRecover time.Time

	// raisedTo is the estimate the latest probe result set, at raisedAt,
	// while it may still be undone; slowed: the last one was.
	raisedTo int
	raisedAt time.Time
	slowed   bool

	// startup: the awaited probe is a start-up one (media started, the
	// route changed), which may be checked again once, at recheckRate
	// when recheckAt comes.
	startup, rechecked bool
	recheckAt          time.Time
	recheckRate        int
}

// NewController starts a controller for a connection whose estimate starts
// at start and may not pass max (bits per second).
func NewController(start, max int) *Controller {
	return &Controller{start: start, max: max, demand: AnyDemand}
}

// MediaStarted is called when the connection sends its first media; it
// returns the initial probes.
func (c *Controller) MediaStarted(now time.Time, in Input) []Cluster {
	if c.mediaStarted {
		return nil
	}
	c.mediaStarted = true
	c.observe(now, in)
	return c.startupProbe(now, c.start)
}

// RouteChanged is called when the connection's path changes (another
// candidate pair, an ICE restart): probe as at the start, from the
// current estimate.
func (c *Controller) RouteChanged(now time.Time, in Input) []Cluster {
	c.ignored, c.pausedUntil, c.cappedBelow, c.slowed = 0, time.Time{}, 0, false
	c.observe(now, in)
	if !c.mediaStarted {
		return nil
	}
	return c.startupProbe(now, min(c.start, in.Estimate))
}

func (c *Controller) startupProbe(now time.Time, base int) []Cluster {
	out := c.probe(now, int(firstInitialScale*float64(base)), int(secondInitialScale*float64(base)))
	c.startup, c.rechecked = out != nil, false
	return out
}

// Disagreed is called when a cluster read under disagreeShare of an
// earlier cluster of the same probe. After a start-up probe it schedules
// that cluster's rate again (Step returns it); once.
func (c *Controller) Disagreed(now time.Time, r Result) {
	if !c.startup || c.rechecked {
		return
	}
	c.rechecked = true
	c.recheckAt, c.recheckRate = now.Add(recheckAfter), r.Cluster.Bitrate
}

// Step is called periodically; it returns the probes due now.
func (c *Controller) Step(now time.Time, in Input) []Cluster {
	raised := in.Demand > c.demand && c.demand >= 0
	c.observe(now, in)
	if !c.mediaStarted || now.Before(c.pausedUntil) {
		return nil
	}
	if out, ok := c.confirmed(now, in); ok {
		return out
	}
	if !c.recheckAt.IsZero() && !now.Before(c.recheckAt) {
		c.recheckAt = time.Time{}
		out := c.probe(now, c.recheckRate)
		c.startup = out != nil // its own result may not be checked again
		return out
	}
	if c.waiting {
		if now.Sub(c.waitStarted) < waitForResult {
			return nil
		}
		c.waiting = false
		c.endPeriodic(false) // no result: the cap held it
	}
	limited := in.Demand == AnyDemand || in.Estimate < in.Demand
	switch {
	case raised && limited && now.Sub(c.lastOveruse) >= quietBeforeProbe && (!c.slowed || now.Sub(c.lastProbe) >= slowedInterval):
		// The encoders can use more than before: probe for it, up to
		// twice the estimate. Under a cap that is often their own step
		// back up (a resolution restored): the same quiet and slowing as
		// periodic probes.
		return c.probe(now, min(in.Demand, 2*in.Estimate), min(2*in.Demand, 2*in.Estimate))
	case !c.drop.IsZero() && now.Sub(c.drop) < dropTimeout && c.sawOveruse && !in.Overusing &&
		now.Sub(c.lastRecover) >= recoveryInterval:
		// A recovery probe keeps the periodic one's time: one that fails
		// under a cap must not put off finding the cap lifted.
		c.lastRecover, c.drop = now, time.Time{}
		last := c.lastProbe
		out := c.probe(now, int(recoveryScale*float64(c.beforeDrop)))
		c.lastProbe = last
		return out
	case limited && now.Sub(c.lastProbe) >= c.periodicInterval() && now.Sub(c.lastOveruse) >= quietBeforeProbe:
		out := c.probe(now, int(periodicScale*float64(in.Estimate)))
		if out != nil {
			c.periodicFrom = in.Estimate
			if in.Estimate < c.cappedBelow {
				c.furtherOver = math.MaxInt // the cap held last time: no further probe yet
				c.alone = true
			}
		}
		return out
	}
	return nil
}

func (c *Controller) periodicInterval() time.Duration {
	if c.slowed {
		return slowedInterval
	}
	return periodicInterval
}

// confirmed returns the further probe of a periodic probe that went alone,
// once its raise has stood for confirmFor; a raise undone by then (the
// estimate under dropThreshold of it) was a bucket, and the mark stays.
// A step that comes long after (a test's) finds it expired.
func (c *Controller) confirmed(now time.Time, in Input) ([]Cluster, bool) {
	if c.confirmAt.IsZero() || now.Before(c.confirmAt) || c.waiting {
		return nil, false
	}
	late := now.Sub(c.confirmAt) > waitForResult
	rate, from := c.confirmRate, c.confirmFrom
	c.confirmAt = time.Time{}
	if late || !c.confirmRaised || float64(in.Estimate) < dropThreshold*float64(rate) {
		return nil, false
	}
	c.cappedBelow = 0
	out := c.probe(now, int(furtherScale*float64(rate)))
	if out != nil {
		c.periodicFrom, c.further = from, true // cut, it marks the cap again
	}
	return out, out != nil
}

// Raised is called when a result became the estimate, to bps.
func (c *Controller) Raised(now time.Time, bps int) {
	c.raisedTo, c.raisedAt = bps, now
	if !c.confirmAt.IsZero() && bps == c.confirmRate {
		c.confirmRaised = true
	}
}

// endPeriodic ends the awaited periodic probe: when it was the further
// probe and came back short (ok false), the estimate the periodic one
// started from is capped.
func (c *Controller) endPeriodic(ok bool) {
	switch {
	case c.periodicFrom == 0 || !c.further:
	case ok:
		c.cappedBelow = 0
	default:
		c.cappedBelow = int(capMargin * float64(c.periodicFrom))
	}
	c.periodicFrom, c.further = 0, false
}

// Result is called with each result; it returns a further probe when the
// result came close to what was asked.
func (c *Controller) Result(now time.Time, r Result) []Cluster {
	if !c.waiting {
		return nil
	}
	if r.Bitrate <= c.furtherOver {
		if c.alone && r.Bitrate >= c.cappedBelow {
			c.waiting = false
			c.confirmAt, c.confirmRate, c.confirmFrom, c.confirmRaised = now.Add(confirmFor), r.Bitrate, c.periodicFrom, false
			c.periodicFrom = 0
			return nil
		}
		c.endPeriodic(false)
		return nil
	}
	if c.further {
		c.endPeriodic(true) // the further probe passed: no cap there
	}
	from := c.periodicFrom
	out := c.probe(now, int(furtherScale*float64(r.Bitrate)))
	if from > 0 && out != nil {
		c.periodicFrom, c.further = from, true
	}
	return out
}

// Finished is called once a cluster's feedback is due (a second after it
// was sent), telling whether the receiver ignored its padding
// (Estimator.Ignored).
func (c *Controller) Finished(now time.Time, ignored bool) {
	if !ignored {
		c.ignored, c.pause = 0, 0
		return
	}
	if c.ignored++; c.ignored < maxIgnored {
		return
	}
	c.pause = min(max(2*c.pause, ignoredPause), maxIgnoredPause)
	c.ignored, c.pausedUntil = 0, now.Add(c.pause)
}

// Paused tells whether probing is paused because its padding was ignored.
func (c *Controller) Paused(now time.Time) bool { return now.Before(c.pausedUntil) }

// observe follows the estimate for large drops and the delay detector.
func (c *Controller) observe(now time.Time, in Input) {
	undone := false
	switch {
	case c.raisedTo == 0:
	case now.Sub(c.raisedAt) >= undoWindow:
		c.raisedTo, c.slowed = 0, false // it held
	case float64(in.Estimate) < dropThreshold*float64(c.raisedTo):
		// No recovery probe either: the rate before this drop was the
		// probe's, which the path did not carry; nor a further one.
		c.raisedTo, c.slowed, undone = 0, true, true
		c.confirmAt = time.Time{}
	}
	if !undone && c.estimate > 0 && float64(in.Estimate) < dropThreshold*float64(c.estimate) {
		c.drop, c.beforeDrop, c.sawOveruse = now, c.estimate, false
	}
	if in.Overusing {
		c.sawOveruse, c.lastOveruse = true, now
	}
	c.estimate, c.demand = in.Estimate, in.Demand
}

// probe makes clusters at the rates given, each capped, skipping any not
// worth sending; the last one's result decides whether to probe further.
func (c *Controller) probe(now time.Time, rates ...int) []Cluster {
	limit := min(c.max, MaxBitrate)
	if c.demand > 0 {
		limit = min(limit, 2*c.demand)
	}
	var out []Cluster
	last := 0
	for _, r := range rates {
		r = min(r, limit)
		if float64(r) < minGain*float64(c.estimate) || r <= last {
			continue
		}
		last = r
		c.nextID++
		out = append(out, Cluster{ID: c.nextID, Bitrate: r})
	}
	if len(out) == 0 {
		return nil
	}
	c.lastProbe = now
	c.startup = false // the callers of start-up probes say so after
	c.waiting, c.waitStarted = true, now
	c.periodicFrom, c.further, c.alone = 0, false, false // a periodic probe's callers say so after
	c.furtherOver = int(furtherThreshold * float64(last))
	if last >= limit {
		c.furtherOver = limit // nothing further: the cap is reached
	}
	return out
}
