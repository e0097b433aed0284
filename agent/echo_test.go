package agent

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runMeter measures what a turn engine would take for the user: speech
// frames add up, and 200 ms without one starts over.
type runMeter struct {
	run, quiet, longest time.Duration
}

func (m *runMeter) add(user bool) {
	if user {
		m.run += FrameDuration
		m.quiet = 0
		m.longest = max(m.longest, m.run)
		return
	}
	if m.quiet += FrameDuration; m.quiet >= 200*time.Millisecond {
		m.run = 0
	}
}

// The agent's own voice returned at -6 dB with 120 ms delay, 50 times,
// each a different 4 s reply: no 100 ms of it may pass for the user
// (the turn engine's default minimum interruption is 150 ms).
func TestEchoGuardKnowsTheAgentsVoice(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	worst := time.Duration(0)
	for seed := range uint64(50) {
		g, vad := NewEchoGuard(), NewEnergyVAD()
		reply := append(silence(time.Second), speechLike(seed, 4*time.Second)...)
		back := echoOf(append(silence(120*time.Millisecond), reply...), -6, seed)
		var m runMeter
		duplex(g, t0, reply, back, func(at time.Duration, f []int16) {
			echo := g.Heard(t0.Add(at), f)
			m.add(vad.Speech(f) >= 0.5 && !echo)
		})
		worst = max(worst, m.longest)
	}
	assert.Less(t, worst, 100*time.Millisecond, "the longest stretch of the agent's echo taken for the user, over 50 replies")
}

// The user speaks while the agent is silent, and then over the agent
// (with its echo at -6 dB): 40 times, the user alone is heard within
// 300 ms of the first syllable, and over the agent within 150 ms at the
// median and a second always. (A first syllable no louder than the echo
// under it is taken for echo, so the slowest wait for the second: 360 ms
// at the 95th percentile here. Issue 24's 300 ms p95 is end to end, with
// real speech, for the benchmark to come.)
func TestEchoGuardLetsTheUserThrough(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	var overs []time.Duration
	for seed := range uint64(40) {
		g, vad := NewEchoGuard(), NewEnergyVAD()
		// 1 s of quiet, the user alone for 2 s; then the agent speaks
		// from 3 s and the user joins in at 5 s.
		reply := append(silence(3*time.Second), speechLike(seed, 5*time.Second)...)
		user := append(silence(time.Second), speechLike(seed+1000, 2*time.Second)...)
		user = append(user, silence(2*time.Second)...)
		user = append(user, speechLike(seed+2000, 3*time.Second)...)
		back := echoOf(append(silence(120*time.Millisecond), reply...), -6, seed)
		heard := mix(back, user)
		var alone, over runMeter
		firstAlone, firstOver := time.Duration(-1), time.Duration(-1)
		duplex(g, t0, reply, heard, func(at time.Duration, f []int16) {
			echo := g.Heard(t0.Add(at), f)
			user := vad.Speech(f) >= 0.5 && !echo
			switch {
			case at >= time.Second && at < 3*time.Second:
				alone.add(user)
				if firstAlone < 0 && alone.run >= 100*time.Millisecond {
					firstAlone = at - time.Second
				}
			case at >= 5*time.Second:
				over.add(user)
				if firstOver < 0 && over.run >= 100*time.Millisecond {
					firstOver = at - 5*time.Second
				}
			}
		})
		require.GreaterOrEqual(t, firstAlone, time.Duration(0), "seed %d: the user alone was never heard", seed)
		assert.Less(t, firstAlone, 300*time.Millisecond, "seed %d: the user alone", seed)
		require.GreaterOrEqual(t, firstOver, time.Duration(0), "seed %d: the user over the agent was never heard", seed)
		assert.Less(t, firstOver, time.Second, "seed %d: the user over the agent", seed)
		overs = append(overs, firstOver)
	}
	slices.Sort(overs)
	assert.Less(t, overs[len(overs)/2], 150*time.Millisecond, "the user over the agent, median of %v", overs)
	t.Logf("the user over the agent: median %v, p95 %v, max %v", overs[len(overs)/2], overs[len(overs)*95/100], overs[len(overs)-1])
}

// An agent pushes a whole reply at once, to go out over its length: the
// guard is told so once, ahead of time.
func TestEchoGuardTakesAWholeReplyAtOnce(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	for seed := range uint64(10) {
		g, vad := NewEchoGuard(), NewEnergyVAD()
		reply := append(silence(500*time.Millisecond), speechLike(seed, 4*time.Second)...)
		back := echoOf(append(silence(120*time.Millisecond), reply...), -6, seed)
		g.Sent(t0, reply)
		var m runMeter
		duplex(g, t0, nil, back, func(at time.Duration, f []int16) {
			echo := g.Heard(t0.Add(at), f)
			m.add(vad.Speech(f) >= 0.5 && !echo)
		})
		assert.Less(t, m.longest, 100*time.Millisecond, "seed %d", seed)
	}
}

// drifting is pcm played by a clock rate× as fast as the one that made it
// (nearest sample): an echo whose delay grows or shrinks as it goes.
func drifting(pcm []int16, rate float64) []int16 {
	out := make([]int16, int(float64(len(pcm))/rate))
	for i := range out {
		out[i] = pcm[min(int(float64(i)*rate), len(pcm)-1)]
	}
	return out
}

// The echo path drifts: the user's side plays and sends on a clock 0.5 %
// slower than the agent's (a sound card's, a pacer's), so over a 20 s
// reply the echo's delay grows from 120 to 220 ms. The guard follows it:
// no 100 ms of the echo passes for the user, 20 replies.
func TestEchoGuardFollowsADriftingPath(t *testing.T) {
	t.Parallel()
	worst, at := longestEchoForUser(func(reply []int16) []int16 { return drifting(reply, 0.995) }, nil)
	assert.Less(t, worst, 100*time.Millisecond, "the longest stretch of the agent's echo taken for the user, over 20 drifting replies (at %v into one)", at)
}

// Heard audio with frames missing (packets lost or too late for the
// jitter buffer: nothing decoded for them): the frames after each arrive
// when they would have, not 20 ms earlier. 2 % lost, 20 replies of 20 s.
func TestEchoGuardHoldsThroughLostFrames(t *testing.T) {
	t.Parallel()
	worst, at := longestEchoForUser(func(reply []int16) []int16 { return reply }, func(r *rand.Rand) bool { return r.IntN(50) == 0 })
	assert.Less(t, worst, 100*time.Millisecond, "the longest stretch of the agent's echo taken for the user, over 20 replies with 2 %% of frames lost (at %v into one)", at)
}

// longestEchoForUser plays 20 replies of 20 s, each echoed back at -6 dB
// 120 ms later as path makes it, leaving out the heard frames lost picks
// (nil: none), and returns the longest stretch of echo taken for the user
// and how far into its reply it ended.
func longestEchoForUser(path func([]int16) []int16, lost func(*rand.Rand) bool) (worst, at time.Duration) {
	t0 := time.Unix(1000, 0)
	for seed := range uint64(20) {
		g, vad := NewEchoGuard(), NewEnergyVAD()
		reply := append(silence(time.Second), speechLike(seed, 20*time.Second)...)
		back := echoOf(append(silence(120*time.Millisecond), path(reply)...), -6, seed)
		r := rand.New(rand.NewPCG(seed, 3))
		var m runMeter
		duplex(g, t0, reply, back, func(now time.Duration, f []int16) {
			if lost != nil && lost(r) {
				return
			}
			echo := g.Heard(t0.Add(now), f)
			m.add(vad.Speech(f) >= 0.5 && !echo)
			if m.run > worst {
				worst, at = m.run, now
			}
		})
	}
	return worst, at
}

// One window's reading of a known path's gain (a sentence's first
// syllables against the tail of the last) moves it a quarter of the way,
// not all of it; a path at another lag is taken as measured.
func TestEchoGuardLearnsTheGainSlowly(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	g := NewEchoGuard()
	n := int(g.HeardWindow / blockDur)
	for range 2 * n {
		g.sent.levels = append(g.sent.levels, -15)
	}
	g.sent.start = t0
	heard := make([]float64, n)
	for i := range heard {
		heard[i] = -31 // 16 dB under what was sent
	}
	end := t0.Add(time.Duration(2*n) * blockDur)
	g.lag, g.gainDB, g.matched = 120*time.Millisecond, -6, end.Add(-time.Second)
	g.learn(heard, end, 140*time.Millisecond)
	assert.InDelta(t, -8.5, g.gainDB, 0.01, "a quarter of the way from -6 to -16")
	g.learn(heard, end, 400*time.Millisecond)
	assert.InDelta(t, -16, g.gainDB, 0.01, "another lag: another path")
}
