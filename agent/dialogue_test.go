package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// script replies by round: the n-th model call in a reply gets replies[n].
func script(replies ...[]Delta) Scripted {
	return Scripted{Script: func(msgs []Message) []Delta {
		n := 0
		for i := len(msgs) - 1; i >= 0 && msgs[i].Role != "user"; i-- {
			if msgs[i].Role == "assistant" {
				n++
			}
		}
		return replies[n]
	}}
}

// speaker records what is said; each word lasts 300 ms.
type speaker struct{ said []string }

func (s *speaker) say(_ context.Context, text string) (Spoken, error) {
	s.said = append(s.said, text)
	return Spoken{Text: text, Audio: time.Duration(len(strings.Fields(text))) * 300 * time.Millisecond}, nil
}

func committed() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

func TestDialogueSpeaksSentencesAndRunsTools(t *testing.T) {
	t.Parallel()
	var looked string
	lookup := ToolFunc{Tool: Tool{Name: "lookup"}, Effect: Idempotent, Run: func(_ context.Context, args string) (string, error) {
		looked = args
		return "09:00", nil
	}}
	d := NewDialogue(script(
		[]Delta{{Text: "Let me check. "}, {ToolCall: &ToolCall{ID: "1", Name: "lookup", Arguments: `{"to":"Leeds"}`}}},
		[]Delta{{Text: "It leaves at nine. Platform two."}},
	), "You answer about trains.", lookup)
	var s speaker
	require.NoError(t, respond(context.Background(), d, "When is the Leeds train?", Turn{Committed: committed(), Say: s.say}))
	assert.Equal(t, []string{"Let me check. ", "It leaves at nine. ", "Platform two."}, s.said)
	assert.Equal(t, `{"to":"Leeds"}`, looked)
	msgs := d.Messages()
	require.Len(t, msgs, 5)
	assert.Equal(t, []string{"system", "user", "assistant", "tool", "assistant"}, roles(msgs))
	assert.Equal(t, "09:00", msgs[3].Content)
	assert.Equal(t, "1", msgs[3].ToolCallID)
}

// An irreversible tool waits for the turn to be committed.
func TestIrreversibleToolWaitsForTheCommittedTurn(t *testing.T) {
	t.Parallel()
	ran := make(chan struct{}, 1)
	book := ToolFunc{Tool: Tool{Name: "book"}, Effect: Irreversible, Run: func(context.Context, string) (string, error) {
		ran <- struct{}{}
		return "booked", nil
	}}
	d := NewDialogue(script(
		[]Delta{{ToolCall: &ToolCall{ID: "1", Name: "book"}}},
		[]Delta{{Text: "Done."}},
	), "", book)
	commit := make(chan struct{})
	var s speaker
	done := make(chan error, 1)
	go func() { done <- respond(context.Background(), d, "Book it.", Turn{Committed: commit, Say: s.say}) }()
	select {
	case <-ran:
		t.Fatal("the booking ran before the turn was committed")
	case <-time.After(100 * time.Millisecond):
	}
	close(commit)
	<-ran
	require.NoError(t, <-done)
	assert.Equal(t, "booked", d.Messages()[2].Content)
}

// The user interrupts before the turn is committed: the irreversible tool
// never runs, and the model is told so.
func TestInterruptionBeforeTheCommitStopsAnIrreversibleTool(t *testing.T) {
	t.Parallel()
	book := ToolFunc{Tool: Tool{Name: "book"}, Effect: Irreversible, Run: func(context.Context, string) (string, error) {
		t.Error("the booking ran")
		return "", nil
	}}
	d := NewDialogue(script([]Delta{{ToolCall: &ToolCall{ID: "1", Name: "book"}}}), "", book)
	ctx, cancel := context.WithCancel(context.Background())
	var s speaker
	done := make(chan error, 1)
	go func() { done <- respond(ctx, d, "Book it.", Turn{Committed: make(chan struct{}), Say: s.say}) }()
	require.Eventually(t, func() bool { return len(d.Messages()) == 2 }, 10*time.Second, time.Millisecond, "the model's call") // the tool now waits
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	msgs := d.Messages()
	require.Equal(t, []string{"user", "assistant", "tool"}, roles(msgs))
	assert.Contains(t, msgs[2].Content, ErrToolNotRun.Error())
}

// An irreversible tool that started finishes, and its result is kept,
// though the user interrupts while it runs.
func TestAStartedToolsResultSurvivesTheInterruption(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	book := ToolFunc{Tool: Tool{Name: "book"}, Effect: Irreversible, Run: func(ctx context.Context, _ string) (string, error) {
		close(started)
		<-release
		return "booked seat 12", ctx.Err()
	}}
	d := NewDialogue(script([]Delta{{ToolCall: &ToolCall{ID: "1", Name: "book"}}}, []Delta{{Text: "Booked."}}), "", book)
	ctx, cancel := context.WithCancel(context.Background())
	var s speaker
	done := make(chan error, 1)
	go func() { done <- respond(ctx, d, "Book it.", Turn{Committed: committed(), Say: s.say}) }()
	<-started
	cancel()
	close(release)
	assert.ErrorIs(t, <-done, context.Canceled)
	msgs := d.Messages()
	require.Equal(t, []string{"user", "assistant", "tool"}, roles(msgs))
	assert.Equal(t, "booked seat 12", msgs[2].Content)
}

// Cut short, the conversation keeps what the user heard of the reply, over
// its rounds, and every tool result.
func TestInterruptedKeepsWhatWasHeard(t *testing.T) {
	t.Parallel()
	lookup := ToolFunc{Tool: Tool{Name: "lookup"}, Run: func(context.Context, string) (string, error) { return "09:00", nil }}
	d := NewDialogue(script(
		[]Delta{{Text: "Let me check. "}, {ToolCall: &ToolCall{ID: "1", Name: "lookup"}}},
		[]Delta{{Text: "It leaves at nine from platform two. Change at York."}},
	), "", lookup)
	var s speaker
	require.NoError(t, respond(context.Background(), d, "When?", Turn{Committed: committed(), Say: s.say}))
	// "Let me check." is 3 words (900 ms); then 1.2 s of the next sentence.
	d.Interrupted(2100 * time.Millisecond)
	msgs := d.Messages()
	assert.Equal(t, "Let me check.", msgs[1].Content)
	assert.Equal(t, "09:00", msgs[2].Content)
	assert.Equal(t, "It leaves at nine", msgs[3].Content)
}

func roles(msgs []Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Role
	}
	return out
}

// respond is Respond without the times.
func respond(ctx context.Context, d *Dialogue, said string, turn Turn) error {
	_, err := d.Respond(ctx, said, turn)
	return err
}

// Respond says where a reply's time went: the model, the text to speech,
// the tools.
func TestRespondTimesItsStages(t *testing.T) {
	t.Parallel()
	lookup := ToolFunc{Tool: Tool{Name: "lookup"}, Run: func(context.Context, string) (string, error) {
		time.Sleep(30 * time.Millisecond)
		return "ok", nil
	}}
	d := NewDialogue(script(
		[]Delta{{ToolCall: &ToolCall{ID: "1", Name: "lookup"}}},
		[]Delta{{Text: "It is done. Goodbye."}},
	), "", lookup)
	slowTTS := func(_ context.Context, text string) (Spoken, error) {
		time.Sleep(20 * time.Millisecond)
		return Spoken{Text: text, Audio: time.Second}, nil
	}
	times, err := d.Respond(context.Background(), "Do it.", Turn{Committed: committed(), Say: slowTTS})
	require.NoError(t, err)
	assert.NotZero(t, times.FirstToken)
	assert.GreaterOrEqual(t, times.Tools, 30*time.Millisecond, "the tool's sleep")
	assert.GreaterOrEqual(t, times.FirstSentence, times.FirstToken+times.Tools, "the sentence came after the tool")
	assert.GreaterOrEqual(t, times.FirstAudio-times.FirstSentence, 20*time.Millisecond, "the text to speech's sleep")
	assert.GreaterOrEqual(t, times.Total, times.FirstAudio+20*time.Millisecond, "and the second sentence's")
}
