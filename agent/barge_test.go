package agent

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// listener runs what an agent runs on the audio it hears: the VAD, the
// echo guard (fed what the agent sent) and the turn engine.
type listener struct {
	vad   *EnergyVAD
	guard *EchoGuard
	c     *call
}

func newListener(t *testing.T, opts TurnOptions) *listener {
	return &listener{vad: NewEnergyVAD(), guard: NewEchoGuard(), c: newCall(t, opts)}
}

// run plays sent (the agent's reply, also queued on its Output) and heard
// (what the agent's microphone side receives) together.
func (l *listener) run(sent, heard []int16) {
	l.c.reply(time.Duration(len(sent)) * time.Second / SampleRate)
	duplex(l.guard, l.c.now, sent, heard, func(at time.Duration, f []int16) {
		l.c.now = l.c.now.Add(FrameDuration)
		l.c.out.advance(FrameDuration)
		echo := l.guard.Heard(l.c.now, f)
		l.c.events = append(l.c.events, l.c.turns.Frame(l.c.now, l.vad.Speech(f) >= 0.5 && !echo)...)
	})
}

// Issue 24's first barge-in target at the turn level: the agent's own
// voice returned at -6 dB with 120 ms delay never pauses it, in 50 replies.
func TestEchoNeverPausesTheAgent(t *testing.T) {
	t.Parallel()
	paused := 0
	for seed := range uint64(50) {
		l := newListener(t, TurnOptions{})
		reply := append(silence(500*time.Millisecond), speechLike(seed, 4*time.Second)...)
		back := echoOf(append(silence(120*time.Millisecond), reply...), -6, seed)
		l.run(reply, back)
		for _, e := range l.c.take() {
			if _, ok := e.(AgentPaused); ok {
				paused++
			}
		}
	}
	assert.Zero(t, paused, "false barge-ins in 50 replies")
}

// The user talking over the agent (its echo under them) pauses it, and
// at the median within 300 ms of their first syllable.
func TestUserOverTheEchoPausesTheAgent(t *testing.T) {
	t.Parallel()
	var waits []time.Duration
	for seed := range uint64(20) {
		l := newListener(t, TurnOptions{})
		start := l.c.now
		reply := append(silence(500*time.Millisecond), speechLike(seed, 5*time.Second)...)
		back := echoOf(append(silence(120*time.Millisecond), reply...), -6, seed)
		user := append(silence(2500*time.Millisecond), speechLike(seed+500, 2*time.Second)...)
		l.run(reply, mix(back, user))
		wait := time.Duration(-1)
		for _, e := range l.c.take() {
			if p, ok := e.(AgentPaused); ok && wait < 0 {
				wait = p.At.Sub(start) - 2500*time.Millisecond
			}
		}
		assert.GreaterOrEqual(t, wait, time.Duration(0), "seed %d: the agent never paused", seed)
		waits = append(waits, wait)
	}
	assert.Less(t, median(waits), 300*time.Millisecond, "waits %v", waits)
	slices.Sort(waits)
	t.Logf("the agent paused after the user's onset: median %v, p95 %v, max %v", median(waits), waits[len(waits)*95/100], waits[len(waits)-1])
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
