package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Effect says what running a tool twice, or running it for a turn the
// user then took back, would do.
type Effect int

const (
	// Idempotent tools (a lookup, a search) run as soon as the model
	// asks, even while the user's turn may yet go on.
	Idempotent Effect = iota
	// Irreversible tools (a booking, a payment, a message sent) run only
	// in a committed turn that nobody interrupted.
	Irreversible
)

// ToolFunc is a tool with its effect and the function that runs it.
type ToolFunc struct {
	Tool
	Effect Effect
	// Run does the work; what it returns goes back to the model.
	Run func(ctx context.Context, arguments string) (string, error)
}

// Turn is one reply of the agent's, as the turn engine sees it.
type Turn struct {
	// Committed is closed when the user's turn is over for good (the
	// engine's UserEnded with final words). A reply may start before,
	// on interim words, to save time; irreversible tools wait for it.
	Committed <-chan struct{}
	// Say speaks a piece of the reply (a sentence) and returns how long
	// its audio lasts. It is called in order, from Respond's goroutine.
	Say func(ctx context.Context, text string) (Spoken, error)
}

// ErrToolNotRun is the result the model is given for an irreversible
// tool that did not run because its turn was interrupted.
var ErrToolNotRun = errors.New("not run: the user interrupted before the turn was committed")

// Dialogue is a conversation with a model, kept as the user heard it:
// an interrupted reply keeps only its heard prefix (HeardPrefix), and a
// tool that finished keeps its result whatever happens after. It is safe
// for one Respond at a time.
type Dialogue struct {
	LLM   LLM
	Tools []ToolFunc

	mu       sync.Mutex
	messages []Message
	spoken   map[int][]Spoken // of this reply's assistant messages, by index
}

// NewDialogue starts a conversation with a system prompt.
func NewDialogue(llm LLM, system string, tools ...ToolFunc) *Dialogue {
	d := &Dialogue{LLM: llm, Tools: tools}
	if system != "" {
		d.messages = append(d.messages, Message{Role: "system", Content: system})
	}
	return d
}

// Messages is the conversation so far.
func (d *Dialogue) Messages() []Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Message(nil), d.messages...)
}

// maxToolRounds bounds how many times one reply may call tools and ask
// the model again.
const maxToolRounds = 8

// ReplyTimes is where a reply's time went, from Respond's start: what a
// slow agent is slow at. A stage that did not happen is 0.
type ReplyTimes struct {
	// FirstToken is when the model's first text or call arrived.
	FirstToken time.Duration
	// FirstSentence is when the first sentence was complete (to speak).
	FirstSentence time.Duration
	// FirstAudio is when the first sentence's audio was made (Spoken.Ready,
	// else when Say returned): the text to speech's time on top of
	// FirstSentence.
	FirstAudio time.Duration
	// Tools is the time spent running tools.
	Tools time.Duration
	// Total is Respond's whole time.
	Total time.Duration
}

// Respond answers what the user said: it streams the model's reply,
// speaking it sentence by sentence through turn.Say, runs the tools the
// model calls, and asks again with their results. Cancel ctx when the
// user interrupts, then call Interrupted with what was heard. It returns
// where the time went, also when it fails.
func (d *Dialogue) Respond(ctx context.Context, said string, turn Turn) (ReplyTimes, error) {
	start := time.Now()
	var times ReplyTimes
	since := func(at *time.Duration) {
		if *at == 0 {
			*at = max(time.Since(start), time.Nanosecond)
		}
	}
	d.append(Message{Role: "user", Content: said})
	d.mu.Lock()
	d.spoken = map[int][]Spoken{}
	d.mu.Unlock()
	say := turn.Say
	turn.Say = func(ctx context.Context, text string) (Spoken, error) {
		since(&times.FirstSentence)
		s, err := say(ctx, text)
		switch {
		case err != nil:
		case !s.Ready.IsZero() && times.FirstAudio == 0:
			times.FirstAudio = max(s.Ready.Sub(start), time.Nanosecond)
		default:
			since(&times.FirstAudio)
		}
		return s, err
	}
	for range maxToolRounds {
		calls, err := d.round(ctx, turn, func() { since(&times.FirstToken) })
		if err != nil || len(calls) == 0 {
			times.Total = time.Since(start)
			return times, err
		}
		t0 := time.Now()
		err = d.runTools(ctx, turn, calls)
		times.Tools += time.Since(t0)
		if err != nil {
			times.Total = time.Since(start)
			return times, err
		}
	}
	times.Total = time.Since(start)
	return times, fmt.Errorf("agent: the model called tools %d times in one reply", maxToolRounds)
}

// round streams one model reply; it returns the tool calls it made.
func (d *Dialogue) round(ctx context.Context, turn Turn, arrived func()) ([]ToolCall, error) {
	reply := Message{Role: "assistant"}
	var pending strings.Builder
	var spoken []Spoken
	flush := func(all bool) error {
		for {
			text := pending.String()
			cut := sentenceEnd(text)
			if cut < 0 && all && strings.TrimSpace(text) != "" {
				cut = len(text)
			}
			if cut < 0 {
				return nil
			}
			pending.Reset()
			pending.WriteString(text[cut:])
			s, err := turn.Say(ctx, text[:cut])
			if err != nil {
				return err
			}
			spoken = append(spoken, s)
		}
	}
	var err error
	for delta, e := range d.LLM.Reply(ctx, d.Messages(), d.tools()) {
		if e != nil {
			err = e
			break
		}
		arrived()
		if delta.ToolCall != nil {
			reply.ToolCalls = append(reply.ToolCalls, *delta.ToolCall)
			continue
		}
		reply.Content += delta.Text
		pending.WriteString(delta.Text)
		if err = flush(false); err != nil {
			break
		}
	}
	if err == nil {
		err = flush(true)
	}
	if err != nil {
		// What was said stays, for Interrupted to cut to what was heard;
		// calls not run are not kept (the model never learns of them).
		reply.ToolCalls = nil
	}
	if reply.Content != "" || len(reply.ToolCalls) > 0 {
		d.mu.Lock()
		d.messages = append(d.messages, reply)
		d.spoken[len(d.messages)-1] = spoken
		d.mu.Unlock()
	}
	return reply.ToolCalls, err
}

// runTools runs the calls of one reply and keeps their results.
func (d *Dialogue) runTools(ctx context.Context, turn Turn, calls []ToolCall) error {
	for _, c := range calls {
		result, err := d.runTool(ctx, turn, c)
		if err != nil {
			result = "error: " + err.Error()
		}
		// Kept whatever happens next: the tool ran (or did not) and the
		// model must know.
		d.append(Message{Role: "tool", ToolCallID: c.ID, Content: result})
		if errors.Is(err, ErrToolNotRun) {
			return ctx.Err()
		}
	}
	return ctx.Err()
}

func (d *Dialogue) runTool(ctx context.Context, turn Turn, c ToolCall) (string, error) {
	var tool *ToolFunc
	for i := range d.Tools {
		if d.Tools[i].Name == c.Name {
			tool = &d.Tools[i]
		}
	}
	if tool == nil {
		return "", fmt.Errorf("no tool named %q", c.Name)
	}
	if tool.Effect == Irreversible {
		select {
		case <-turn.Committed:
		case <-ctx.Done():
			return "", ErrToolNotRun
		}
		if ctx.Err() != nil {
			return "", ErrToolNotRun
		}
		// Once started it finishes: a half-made booking is worse than
		// one the user hears about late.
		ctx = context.WithoutCancel(ctx)
	}
	return tool.Run(ctx, c.Arguments)
}

// Interrupted cuts the last reply to what the user heard of it: heard is
// how much of its audio went out (AgentInterrupted.Heard). Tool calls and
// their results stay.
func (d *Dialogue) Interrupted(heard time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	first := len(d.messages)
	for first > 0 && d.messages[first-1].Role != "user" {
		first--
	}
	for i := first; i < len(d.messages); i++ {
		m := &d.messages[i]
		if m.Role != "assistant" || m.Content == "" {
			continue
		}
		pieces := d.spoken[i]
		var total time.Duration
		for _, p := range pieces {
			total += p.Audio
		}
		m.Content = HeardPrefix(pieces, heard)
		heard = max(heard-total, 0)
	}
}

func (d *Dialogue) append(m Message) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.messages = append(d.messages, m)
}

func (d *Dialogue) tools() []Tool {
	out := make([]Tool, len(d.Tools))
	for i, t := range d.Tools {
		out[i] = t.Tool
	}
	return out
}

// sentenceEnd is the end of the first sentence in text (after its
// punctuation and the space that follows), or -1.
func sentenceEnd(text string) int {
	for i := 0; i+1 < len(text); i++ {
		switch text[i] {
		case '.', '!', '?', ';', ':':
			if text[i+1] == ' ' {
				return i + 2
			}
		}
	}
	return -1
}
