package agent

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeOutput plays pushed audio in real time as the test's clock moves.
type fakeOutput struct {
	queued, played time.Duration
	paused         bool
	flushed        time.Duration
}

func (f *fakeOutput) Pause()                { f.paused = true }
func (f *fakeOutput) Resume()               { f.paused = false }
func (f *fakeOutput) Played() time.Duration { return f.played }
func (f *fakeOutput) Queued() time.Duration { return f.queued }
func (f *fakeOutput) Flush() time.Duration {
	d := f.queued
	f.flushed += d
	f.queued = 0
	return d
}

func (f *fakeOutput) advance(d time.Duration) {
	if !f.paused {
		n := min(d, f.queued)
		f.played += n
		f.queued -= n
	}
}

// call is a conversation on a test clock, one frame at a time.
type call struct {
	t      *testing.T
	now    time.Time
	out    *fakeOutput
	turns  *Turns
	events []TurnEvent
}

func newCall(t *testing.T, opts TurnOptions) *call {
	out := &fakeOutput{}
	return &call{t: t, now: time.Unix(1000, 0), out: out, turns: NewTurns(out, opts)}
}

// reply has the agent start saying d of audio.
func (c *call) reply(d time.Duration) {
	c.out.queued += d
	c.turns.Reply()
}

// frames runs d of frames with the user speaking or not.
func (c *call) frames(d time.Duration, speech bool) {
	for range int(d / FrameDuration) {
		c.now = c.now.Add(FrameDuration)
		c.out.advance(FrameDuration)
		c.events = append(c.events, c.turns.Frame(c.now, speech)...)
	}
}

func (c *call) words(n int, final bool) {
	c.events = append(c.events, c.turns.Words(c.now, n, final)...)
}

// take returns the events so far and forgets them.
func (c *call) take() []TurnEvent {
	ev := c.events
	c.events = nil
	return ev
}

func kinds(evs []TurnEvent) []string {
	var out []string
	for _, e := range evs {
		switch e.(type) {
		case UserStarted:
			out = append(out, "user started")
		case UserEnded:
			out = append(out, "user ended")
		case AgentPaused:
			out = append(out, "agent paused")
		case AgentResumed:
			out = append(out, "agent resumed")
		case UserSaid:
			out = append(out, "said")
		case STTFailed:
			out = append(out, "stt failed")
		case AgentInterrupted:
			out = append(out, "agent interrupted")
		}
	}
	return out
}

func TestTurnEndsAfterTheEndpointingDelay(t *testing.T) {
	t.Parallel()
	c := newCall(t, TurnOptions{})
	c.frames(time.Second, false)
	c.frames(600*time.Millisecond, true)
	spoke := c.now
	c.words(4, true)
	c.frames(480*time.Millisecond, false)
	assert.Equal(t, []string{"user started"}, kinds(c.take()), "480 ms of silence is within the turn")
	c.frames(40*time.Millisecond, false)
	evs := c.take()
	require.Equal(t, []string{"user ended"}, kinds(evs))
	assert.Equal(t, 500*time.Millisecond, evs[0].(UserEnded).At.Sub(spoke))
	assert.Equal(t, 500*time.Millisecond, evs[0].(UserEnded).Waited)
	assert.Equal(t, 4, evs[0].(UserEnded).Words)
}

// Interim words that are not final hold the turn open up to the maximum
// delay: the recogniser has not finished with what was said.
func TestUnfinishedWordsHoldTheTurn(t *testing.T) {
	t.Parallel()
	c := newCall(t, TurnOptions{MaxEndpointingDelay: 2 * time.Second})
	c.frames(500*time.Millisecond, true)
	c.words(3, false)
	c.frames(1900*time.Millisecond, false)
	assert.Equal(t, []string{"user started"}, kinds(c.take()))
	c.frames(200*time.Millisecond, false)
	assert.Equal(t, []string{"user ended"}, kinds(c.take()))
}

// The user talks over the agent: the agent pauses after
// MinInterruptionDuration of speech, and the words that follow flush its
// reply, keeping how much of it went out.
func TestBargeInPausesThenFlushesOnWords(t *testing.T) {
	t.Parallel()
	c := newCall(t, TurnOptions{MinInterruptionWords: 2})
	c.reply(5 * time.Second)
	c.frames(time.Second, false)
	c.frames(160*time.Millisecond, true)
	evs := c.take()
	require.Equal(t, []string{"user started", "agent paused"}, kinds(evs))
	assert.True(t, c.out.paused)
	played := c.out.played
	c.frames(300*time.Millisecond, true)
	assert.Equal(t, played, c.out.played, "nothing goes out while paused")
	c.words(1, false)
	assert.Empty(t, c.take(), "one word does not confirm")
	c.words(2, false)
	evs = c.take()
	require.Equal(t, []string{"agent interrupted"}, kinds(evs))
	assert.Equal(t, played, evs[0].(AgentInterrupted).Heard)
	assert.Zero(t, c.out.queued, "the reply is flushed")
	assert.False(t, c.turns.Speaking())
	c.words(5, true)
	c.frames(600*time.Millisecond, false)
	assert.Equal(t, []string{"user ended"}, kinds(c.take()), "the interrupter's turn ends as any")
}

// "mm-hm" over the agent: it pauses, no second word comes, and it goes on
// from the same sample; the user's backchannel is not a turn.
func TestBackchannelResumesTheAgent(t *testing.T) {
	t.Parallel()
	c := newCall(t, TurnOptions{MinInterruptionWords: 2})
	c.reply(5 * time.Second)
	c.frames(time.Second, false)
	c.frames(300*time.Millisecond, true)
	c.words(1, true)
	played := c.out.played
	c.frames(980*time.Millisecond, false)
	assert.Equal(t, []string{"user started", "agent paused"}, kinds(c.take()))
	assert.True(t, c.out.paused)
	assert.Equal(t, played, c.out.played)
	c.frames(20*time.Millisecond, false)
	assert.Equal(t, []string{"agent resumed"}, kinds(c.take()), "a second after the last speech")
	assert.False(t, c.out.paused)
	c.frames(time.Second, false)
	assert.Equal(t, played+time.Second, c.out.played, "the reply goes on where it stopped")
	assert.Zero(t, c.out.flushed)
	c.frames(4*time.Second, false)
	assert.Empty(t, c.take(), "no turn, no interruption")
}

// Without a words requirement, the speech alone interrupts.
func TestSpeechAloneInterruptsWithoutAWordsRequirement(t *testing.T) {
	t.Parallel()
	c := newCall(t, TurnOptions{})
	c.reply(3 * time.Second)
	c.frames(500*time.Millisecond, false)
	c.frames(200*time.Millisecond, true)
	assert.Equal(t, []string{"user started", "agent paused", "agent interrupted"}, kinds(c.take()))
}

// A click shorter than MinInterruptionDuration over the agent changes
// nothing, and is not a turn when the agent is done.
func TestShortSoundOverTheAgentIsNothing(t *testing.T) {
	t.Parallel()
	c := newCall(t, TurnOptions{})
	c.reply(time.Second)
	c.frames(200*time.Millisecond, false)
	c.frames(100*time.Millisecond, true)
	c.frames(2*time.Second, false)
	assert.Equal(t, []string{"user started"}, kinds(c.take()))
	assert.Equal(t, time.Second, c.out.played)
}

// With AdaptEndpointing, a user who pauses 400 ms between phrases gets a
// 600 ms delay: a 550 ms pause no longer ends the turn.
func TestEndpointingAdaptsToTheUsersPauses(t *testing.T) {
	t.Parallel()
	c := newCall(t, TurnOptions{AdaptEndpointing: true})
	for range 4 {
		c.frames(700*time.Millisecond, true)
		c.frames(400*time.Millisecond, false)
	}
	c.frames(700*time.Millisecond, true)
	c.frames(560*time.Millisecond, false)
	assert.Equal(t, []string{"user started"}, kinds(c.take()))
	c.frames(60*time.Millisecond, false)
	assert.Equal(t, []string{"user ended"}, kinds(c.take()))
}

// A reply made sentence by sentence: the Output running dry between two
// sentences does not end it, and speech in the gap still interrupts it.
func TestReplyingSpansTheGapsBetweenSentences(t *testing.T) {
	t.Parallel()
	c := newCall(t, TurnOptions{})
	c.turns.Replying()
	c.out.queued += time.Second
	c.frames(1500*time.Millisecond, false) // the first sentence has gone out; the next is being made
	assert.True(t, c.turns.Speaking())
	c.frames(200*time.Millisecond, true)
	assert.Equal(t, []string{"user started", "agent paused", "agent interrupted"}, kinds(c.take()))
	assert.False(t, c.turns.Speaking())

	c.frames(time.Second, false)
	c.take()
	c.turns.Replying()
	c.out.queued += 500 * time.Millisecond
	c.turns.Reply() // the last sentence is queued
	c.frames(400*time.Millisecond, false)
	assert.True(t, c.turns.Speaking())
	c.frames(200*time.Millisecond, false)
	assert.False(t, c.turns.Speaking(), "over once the Output has sent it")
}
