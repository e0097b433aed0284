package agent_test

import (
	"fmt"
	"time"

	"github.com/metered-ca/realtime-go/agent"
)

// queue stands in for a media.AudioSource: it plays what is pushed as
// the clock moves.
type queue struct {
	queued, played time.Duration
	paused         bool
}

func (q *queue) Pause()                { q.paused = true }
func (q *queue) Resume()               { q.paused = false }
func (q *queue) Played() time.Duration { return q.played }
func (q *queue) Queued() time.Duration { return q.queued }
func (q *queue) Flush() time.Duration  { d := q.queued; q.queued = 0; return d }

// The user talks over the agent: it pauses at once, and two words from
// the recogniser confirm the interruption; the conversation keeps what
// the user heard of the reply.
func ExampleTurns() {
	out := &queue{}
	turns := agent.NewTurns(out, agent.TurnOptions{MinInterruptionWords: 2})
	reply := []agent.Spoken{
		{Text: "Your order ships on Monday.", Audio: 1500 * time.Millisecond},
		{Text: "It should arrive by Thursday afternoon.", Audio: 2 * time.Second},
	}
	out.queued = 3500 * time.Millisecond
	turns.Reply()

	now := time.Unix(0, 0)
	step := func(speech bool) {
		now = now.Add(agent.FrameDuration)
		if !out.paused {
			d := min(agent.FrameDuration, out.queued)
			out.played += d
			out.queued -= d
		}
		for _, e := range turns.Frame(now, speech) {
			fmt.Printf("%T\n", e)
		}
	}
	for range 100 { // 2 s of the agent alone
		step(false)
	}
	for range 10 { // the user speaks
		step(true)
	}
	for _, e := range turns.Words(now, 2, false) {
		if i, ok := e.(agent.AgentInterrupted); ok {
			fmt.Printf("interrupted; heard: %q\n", agent.HeardPrefix(reply, i.Heard))
		}
	}
	// Output:
	// agent.UserStarted
	// agent.AgentPaused
	// interrupted; heard: "Your order ships on Monday. It"
}
