package probe

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func rates(cs []Cluster) []int {
	out := []int{}
	for _, c := range cs {
		out = append(out, c.Bitrate)
	}
	return out
}

func TestInitialProbesAndFurther(t *testing.T) {
	t.Parallel()
	c := NewController(300_000, 20_000_000)
	in := Input{Estimate: 300_000, Demand: AnyDemand}
	assert.Empty(t, c.Step(t0, in), "nothing before media")
	first := c.MediaStarted(t0, in)
	assert.Equal(t, []int{900_000, 1_800_000}, rates(first), "3× and 6× the start")
	assert.Nil(t, c.MediaStarted(t0, in), "once")
	assert.Empty(t, c.Step(t0.Add(100*time.Millisecond), in), "waiting for results")

	// A result above 0.7× the last cluster probes at twice the result.
	further := c.Result(t0.Add(200*time.Millisecond), Result{Cluster: first[1], Bitrate: 1_700_000})
	assert.Equal(t, []int{3_400_000}, rates(further))
	// One below 0.7× of that does not.
	assert.Empty(t, c.Result(t0.Add(400*time.Millisecond), Result{Cluster: further[0], Bitrate: 2_000_000}))

	// Twice the result, within the cap; at the cap nothing further.
	c = NewController(600_000, 20_000_000)
	first = c.MediaStarted(t0, Input{Estimate: 600_000, Demand: AnyDemand})
	require.Equal(t, []int{1_800_000, 3_600_000}, rates(first))
	further = c.Result(t0.Add(200*time.Millisecond), Result{Cluster: first[1], Bitrate: 3_400_000})
	assert.Equal(t, []int{MaxBitrate}, rates(further), "twice the result, within the cap")
	// One below 0.7× of that does not.
	assert.Empty(t, c.Result(t0.Add(400*time.Millisecond), Result{Cluster: further[0], Bitrate: 3_000_000}))
}

func TestProbesAreCapped(t *testing.T) {
	t.Parallel()
	// By MaxBitrate, by the configured maximum, and by twice the demand.
	c := NewController(1_000_000, 20_000_000)
	assert.Equal(t, []int{3_000_000, MaxBitrate}, rates(c.MediaStarted(t0, Input{Estimate: 1_000_000, Demand: AnyDemand})))
	c = NewController(1_000_000, 2_500_000)
	assert.Equal(t, []int{2_500_000}, rates(c.MediaStarted(t0, Input{Estimate: 1_000_000, Demand: AnyDemand})), "one cluster at the cap, not two")
	c = NewController(1_000_000, 20_000_000)
	cs := c.MediaStarted(t0, Input{Estimate: 1_000_000, Demand: 900_000})
	assert.Equal(t, []int{1_800_000}, rates(cs))
	assert.Empty(t, c.Result(t0.Add(100*time.Millisecond), Result{Cluster: cs[0], Bitrate: 1_800_000}), "nothing further past the cap")
}

func TestPeriodicProbesWhileLimited(t *testing.T) {
	t.Parallel()
	c := NewController(1_000_000, 20_000_000)
	in := Input{Estimate: 400_000, Demand: 2_000_000}
	require.NotEmpty(t, c.MediaStarted(t0, in))
	now := t0.Add(2 * time.Second) // the initial wait is over
	assert.Empty(t, c.Step(now, in), "not before the interval")
	now = t0.Add(periodicInterval)
	assert.Equal(t, []int{800_000}, rates(c.Step(now, in)), "twice the estimate every interval")
	assert.Empty(t, c.Step(now.Add(periodicInterval-time.Second), in))
	assert.Equal(t, []int{800_000}, rates(c.Step(now.Add(periodicInterval), in)), "a failed probe does not slow the next: a lifted cap is found within the interval")

	// Not while the delay detector sees overuse or saw it lately, nor
	// when the encoders have what they can use.
	c = NewController(1_000_000, 20_000_000)
	c.MediaStarted(t0, in)
	assert.Empty(t, c.Step(t0.Add(6*time.Second), Input{Estimate: 400_000, Demand: 2_000_000, Overusing: true}))
	assert.Empty(t, c.Step(t0.Add(7*time.Second), in), "quiet for a second only")
	assert.NotEmpty(t, c.Step(t0.Add(6*time.Second+quietBeforeProbe), in))
	c = NewController(1_000_000, 20_000_000)
	c.MediaStarted(t0, in)
	assert.Empty(t, c.Step(t0.Add(7*time.Second), Input{Estimate: 2_500_000, Demand: 2_000_000}))
	assert.Empty(t, c.Step(t0.Add(8*time.Second), Input{Estimate: 400_000, Demand: 0}), "no encoder adapts")
}

func TestDemandRiseProbes(t *testing.T) {
	t.Parallel()
	c := NewController(1_000_000, 20_000_000)
	c.MediaStarted(t0, Input{Estimate: 1_000_000, Demand: 500_000})
	now := t0.Add(2 * time.Second)
	assert.Empty(t, c.Step(now, Input{Estimate: 1_000_000, Demand: 500_000}))
	assert.Equal(t, []int{1_500_000, 2_000_000}, rates(c.Step(now.Add(time.Second), Input{Estimate: 1_000_000, Demand: 1_500_000})),
		"the new demand, then twice it, within twice the estimate")
}

func TestRecoveryProbeAfterDrop(t *testing.T) {
	t.Parallel()
	c := NewController(1_000_000, 20_000_000)
	in := Input{Estimate: 2_000_000, Demand: AnyDemand}
	c.MediaStarted(t0, in)
	now := t0.Add(1500 * time.Millisecond)
	c.Step(now, in) // the initial wait ends
	c.Step(now.Add(100*time.Millisecond), Input{Estimate: 1_000_000, Overusing: true, Demand: AnyDemand})
	got := c.Step(now.Add(300*time.Millisecond), Input{Estimate: 1_000_000, Demand: AnyDemand})
	assert.Equal(t, []int{1_700_000}, rates(got), "0.85× the rate before the drop, once the detector is back to normal")
	c.Result(now.Add(400*time.Millisecond), Result{Cluster: got[0], Bitrate: 1_000_000}) // failed: at the estimate
	assert.Equal(t, []int{2_000_000}, rates(c.Step(now.Add(100*time.Millisecond+quietBeforeProbe), Input{Estimate: 1_000_000, Demand: AnyDemand})),
		"the periodic probe keeps its time (due since t0+3 s, once the detector is quiet)")
}

func TestRouteChangeProbesAgain(t *testing.T) {
	t.Parallel()
	c := NewController(1_000_000, 20_000_000)
	in := Input{Estimate: 600_000, Demand: AnyDemand}
	assert.Nil(t, c.RouteChanged(t0, in), "before media: the start probes come with it")
	c.MediaStarted(t0, in)
	assert.Equal(t, []int{1_800_000, 3_600_000}, rates(c.RouteChanged(t0.Add(3*time.Second), in)))
}

func TestIgnoredPaddingPausesProbing(t *testing.T) {
	t.Parallel()
	c := NewController(1_000_000, 20_000_000)
	in := Input{Estimate: 400_000, Demand: AnyDemand}
	c.MediaStarted(t0, in)
	now := t0
	for range maxIgnored {
		now = now.Add(time.Second)
		c.Finished(now, true)
	}
	assert.True(t, c.Paused(now))
	assert.Empty(t, c.Step(now.Add(10*time.Second), in))
	assert.NotEmpty(t, c.Step(now.Add(ignoredPause), in), "tried again after the pause")
	for range maxIgnored {
		c.Finished(now, true)
	}
	assert.True(t, c.Paused(now.Add(2*ignoredPause-time.Second)), "the next pause is twice as long")
	c.Finished(now, false)
	c.Finished(now, true)
	assert.True(t, c.Paused(now), "an answered cluster resets the count, not a pause under way")

	// Padding lost with its media (congestion) is no sign of a receiver
	// that ignores it: the estimator tells the two apart.
	var e Estimator
	cl := Cluster{ID: 1, Bitrate: 1_000_000}
	e.Start(cl, t0)
	assert.False(t, e.Ignored(1), "nothing came back: no verdict")
	e.Received(Packet{Cluster: 1, Size: 1000, Sent: t0, Arrived: time.Millisecond})
	assert.True(t, e.Ignored(1), "media arrived, padding did not")
	e.Received(Packet{Cluster: 1, Size: 250, Padding: true, Sent: t0, Arrived: 2 * time.Millisecond})
	assert.False(t, e.Ignored(1))
}

// Under a policer with a small bucket the periodic cluster passes whole and
// its further probe is cut: after that, periodic probes go alone until the
// estimate they start from has risen past the cap's mark.
func TestPeriodicProbesUnderACap(t *testing.T) {
	t.Parallel()
	c := NewController(300_000, 20_000_000)
	in := Input{Estimate: 300_000, Demand: 2_000_000}
	require.NotEmpty(t, c.MediaStarted(t0, in))
	now := t0.Add(periodicInterval)
	p := c.Step(now, in)
	require.Equal(t, []int{600_000}, rates(p))
	further := c.Result(now.Add(100*time.Millisecond), Result{Cluster: p[0], Bitrate: 600_000})
	require.Equal(t, []int{1_200_000}, rates(further), "the bucket let it through: probe further")
	assert.Empty(t, c.Result(now.Add(200*time.Millisecond), Result{Cluster: further[0], Bitrate: 350_000}), "cut by the policer")

	now = now.Add(periodicInterval + 200*time.Millisecond) // the interval runs from the further probe
	in.Estimate = 320_000
	p = c.Step(now, in)
	require.Equal(t, []int{640_000}, rates(p), "periodic probes go on: a lifted cap is found within the interval")
	assert.Empty(t, c.Result(now.Add(100*time.Millisecond), Result{Cluster: p[0], Bitrate: 640_000}), "but no further probe while the estimate stays near the cap")

	now = now.Add(periodicInterval)
	in.Estimate = 500_000 // past 1.5× the estimate the cut probe started from
	p = c.Step(now, in)
	require.Equal(t, []int{1_000_000}, rates(p))
	assert.Equal(t, []int{2_000_000}, rates(c.Result(now.Add(100*time.Millisecond), Result{Cluster: p[0], Bitrate: 1_000_000})), "the cap is gone: further again")

	// A further probe that never hears back counts as cut too.
	c = NewController(300_000, 20_000_000)
	in.Estimate = 300_000
	c.MediaStarted(t0, in)
	now = t0.Add(periodicInterval)
	p = c.Step(now, in)
	require.NotEmpty(t, c.Result(now, Result{Cluster: p[0], Bitrate: 600_000}))
	assert.Empty(t, c.Step(now.Add(waitForResult+100*time.Millisecond), in))
	now = now.Add(periodicInterval)
	p = c.Step(now, in)
	require.Equal(t, []int{600_000}, rates(p))
	assert.Empty(t, c.Result(now, Result{Cluster: p[0], Bitrate: 600_000}))
}

// A periodic result that rode a policer's bucket becomes the estimate, and
// GCC undoes it within a second: no recovery probe from that "drop", and
// periodic probes slow to slowedInterval until a raise holds.
func TestUndoneRaiseSlowsPeriodicProbes(t *testing.T) {
	t.Parallel()
	c := NewController(300_000, 20_000_000)
	in := Input{Estimate: 300_000, Demand: 2_000_000}
	require.NotEmpty(t, c.MediaStarted(t0, in))
	now := t0.Add(periodicInterval)
	p := c.Step(now, in)
	require.Equal(t, []int{600_000}, rates(p))
	c.Result(now.Add(100*time.Millisecond), Result{Cluster: p[0], Bitrate: 600_000})
	c.Raised(now.Add(100*time.Millisecond), 600_000)
	now = now.Add(200 * time.Millisecond)
	assert.Empty(t, c.Step(now, Input{Estimate: 600_000, Demand: 2_000_000}))
	now = now.Add(500 * time.Millisecond)
	assert.Empty(t, c.Step(now, Input{Estimate: 260_000, Demand: 2_000_000, Overusing: true}), "GCC undoes it")
	in.Estimate = 260_000
	for step := now.Add(probeStepForTest); step.Before(now.Add(slowedInterval - time.Second)); step = step.Add(probeStepForTest) {
		require.Empty(t, c.Step(step, in), "no recovery probe to the undone rate, and no periodic one before %v (at %v)", slowedInterval, step.Sub(now))
	}
	// The interval runs from the last probe (its further one, 100 ms after it).
	last := t0.Add(periodicInterval + 100*time.Millisecond)
	assert.Empty(t, c.Step(last.Add(slowedInterval-probeStepForTest), in))
	p = c.Step(last.Add(slowedInterval), in)
	require.Equal(t, []int{520_000}, rates(p), "slowed, not stopped: a lifted cap is still found")

	// A raise that holds past undoWindow ends the slowing.
	now = last.Add(slowedInterval)
	c.Result(now.Add(100*time.Millisecond), Result{Cluster: p[0], Bitrate: 520_000})
	c.Raised(now.Add(100*time.Millisecond), 520_000)
	in.Estimate = 520_000
	held := now.Add(100*time.Millisecond + undoWindow)
	assert.Empty(t, c.Step(held.Add(-probeStepForTest), in))
	p = c.Step(held, in)
	require.Equal(t, []int{1_040_000}, rates(p), "past the capped mark and held: the cap is gone, probe further")
	further := c.Result(held.Add(100*time.Millisecond), Result{Cluster: p[0], Bitrate: 900_000})
	require.Equal(t, []int{1_800_000}, rates(further), "and on")
	c.Raised(held.Add(100*time.Millisecond), 900_000)
	in.Estimate = 900_000
	c.Step(held.Add(100*time.Millisecond+undoWindow), in)
	in.Estimate = 1_000_000 // no cap: the further probe is not awaited any more
	assert.Equal(t, []int{2_000_000}, rates(c.Step(held.Add(100*time.Millisecond+periodicInterval), in)), "back to every %v", periodicInterval)
}

const probeStepForTest = 100 * time.Millisecond

// Under a cap, the encoders' demand rises when they step their own
// resolution back up: that probe waits for the detector's quiet and for
// the slowing, as a periodic one does.
func TestDemandRiseWaitsLikePeriodic(t *testing.T) {
	t.Parallel()
	c := NewController(1_000_000, 20_000_000)
	c.MediaStarted(t0, Input{Estimate: 300_000, Demand: 500_000})
	now := t0.Add(2 * time.Second)
	c.Step(now, Input{Estimate: 300_000, Demand: 500_000, Overusing: true})
	assert.Empty(t, c.Step(now.Add(time.Second), Input{Estimate: 300_000, Demand: 800_000}), "overuse a second ago")
	assert.NotEmpty(t, c.Step(now.Add(quietBeforeProbe), Input{Estimate: 300_000, Demand: 1_000_000}), "quiet again")
}

// TestStartupProbeLooksAgainWhenItsClustersDisagree: the faster start-up
// cluster reading far less than the slower one is checked once more,
// recheckAfter later, at its rate; a periodic probe's clusters are not.
func TestStartupProbeLooksAgainWhenItsClustersDisagree(t *testing.T) {
	t.Parallel()
	c := NewController(1_000_000, 20_000_000)
	in := Input{Estimate: 1_000_000, Demand: AnyDemand}
	first := c.MediaStarted(t0, in)
	require.Equal(t, []int{3_000_000, MaxBitrate}, rates(first))
	at := t0.Add(70 * time.Millisecond)
	low := Result{Cluster: first[1], Bitrate: 1_500_000} // the first read 2.9 Mb/s
	assert.Empty(t, c.Result(at, low))
	c.Disagreed(at, low)
	in.Estimate = 1_500_000
	assert.Empty(t, c.Step(at.Add(recheckAfter/2), in), "not at once: the path may still hold the clusters")
	again := c.Step(at.Add(recheckAfter), in)
	assert.Equal(t, []int{MaxBitrate}, rates(again), "the faster cluster again")
	c.Disagreed(at.Add(recheckAfter+70*time.Millisecond), Result{Cluster: again[0], Bitrate: 1_400_000})
	assert.Empty(t, c.Step(at.Add(3*recheckAfter), in), "once")

	// A periodic probe's further cluster reading less is the path's
	// limit (a policer's bucket let the periodic one through): no recheck.
	c = NewController(1_000_000, 20_000_000)
	in = Input{Estimate: 1_000_000, Demand: AnyDemand}
	first = c.MediaStarted(t0, in)
	assert.Empty(t, c.Result(t0.Add(70*time.Millisecond), Result{Cluster: first[1], Bitrate: 900_000}))
	now := t0.Add(periodicInterval + quietBeforeProbe)
	periodic := c.Step(now, in)
	require.Equal(t, []int{2_000_000}, rates(periodic))
	further := c.Result(now.Add(70*time.Millisecond), Result{Cluster: periodic[0], Bitrate: 1_900_000})
	require.Equal(t, []int{3_800_000}, rates(further))
	c.Disagreed(now.Add(140*time.Millisecond), Result{Cluster: further[0], Bitrate: 1_000_000})
	for d := time.Duration(0); d < time.Second; d += 50 * time.Millisecond {
		assert.Empty(t, c.Step(now.Add(140*time.Millisecond+d), in), "no recheck at +%v", d)
	}
}

// Under the capped mark a periodic probe goes alone. When it comes back
// past the mark and the raise it made stands for confirmFor, the further
// probe goes then, not a periodic interval later; a raise undone
// meanwhile (a policer's bucket) calls for none, and the mark stays.
func TestAStandingRaiseProbesFurther(t *testing.T) {
	t.Parallel()
	capped := func() (*Controller, time.Time) {
		c := NewController(300_000, 20_000_000)
		in := Input{Estimate: 300_000, Demand: 2_000_000}
		require.NotEmpty(t, c.MediaStarted(t0, in))
		now := t0.Add(periodicInterval)
		p := c.Step(now, in)
		further := c.Result(now.Add(100*time.Millisecond), Result{Cluster: p[0], Bitrate: 600_000})
		require.Equal(t, []int{1_200_000}, rates(further))
		require.Empty(t, c.Result(now.Add(200*time.Millisecond), Result{Cluster: further[0], Bitrate: 350_000}), "cut: the mark is 450 kb/s")
		now = now.Add(periodicInterval + 200*time.Millisecond)
		p = c.Step(now, Input{Estimate: 320_000, Demand: 2_000_000})
		require.Equal(t, []int{640_000}, rates(p))
		require.Empty(t, c.Result(now.Add(100*time.Millisecond), Result{Cluster: p[0], Bitrate: 640_000}), "alone: nothing further at once")
		c.Raised(now.Add(100*time.Millisecond), 640_000)
		return c, now.Add(100 * time.Millisecond)
	}

	c, raised := capped()
	in := Input{Estimate: 640_000, Demand: 2_000_000}
	for step := raised.Add(probeStepForTest); step.Before(raised.Add(confirmFor)); step = step.Add(probeStepForTest) {
		require.Empty(t, c.Step(step, in), "not before the raise has stood %v (at %v)", confirmFor, step.Sub(raised))
	}
	p := c.Step(raised.Add(confirmFor), in)
	require.Equal(t, []int{1_280_000}, rates(p), "the raise stood: the cap is gone, probe further")
	assert.Equal(t, []int{2_560_000}, rates(c.Result(raised.Add(confirmFor+100*time.Millisecond), Result{Cluster: p[0], Bitrate: 1_280_000})), "and on")

	c, raised = capped()
	in.Estimate = 300_000 // the check found the queue: the raise rode a bucket
	assert.Empty(t, c.Step(raised.Add(500*time.Millisecond), in))
	assert.Empty(t, c.Step(raised.Add(confirmFor), in), "undone: nothing further")
	in.Estimate = 320_000
	next := raised.Add(-100 * time.Millisecond).Add(slowedInterval)
	p = c.Step(next, in)
	require.Equal(t, []int{640_000}, rates(p), "periodic probes go on, slowed")
	assert.Empty(t, c.Result(next.Add(100*time.Millisecond), Result{Cluster: p[0], Bitrate: 400_000}), "and alone while under the mark")
}
