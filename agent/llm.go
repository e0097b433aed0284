package agent

import (
	"context"
	"encoding/json"
	"iter"
)

// Message is one entry of a conversation, in the shape OpenAI-compatible
// chat servers take.
type Message struct {
	// Role is "system", "user", "assistant" or "tool".
	Role    string `json:"role"`
	Content string `json:"content"`
	// ToolCalls are the calls an assistant message made.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID names the call a "tool" message answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
}

// ToolCall is a model's request to run a tool.
type ToolCall struct {
	ID   string
	Name string
	// Arguments is the JSON the model wrote for the tool's parameters.
	Arguments string
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments.
	Parameters json.RawMessage
}

// Delta is a piece of a streamed reply: text, or a whole tool call.
type Delta struct {
	Text     string
	ToolCall *ToolCall
}

// LLM streams a model's reply to a conversation. The sequence ends at the
// reply's end, at the first error (which it yields), or when ctx is done;
// stopping early (a barge-in) cancels the request.
type LLM interface {
	Reply(ctx context.Context, messages []Message, tools []Tool) iter.Seq2[Delta, error]
}

// Scripted is an LLM for tests and offline runs: Script says what to
// reply to the conversation so far, and the reply streams word by word.
type Scripted struct {
	Script func(messages []Message) []Delta
}

// Reply implements LLM.
func (s Scripted) Reply(ctx context.Context, messages []Message, tools []Tool) iter.Seq2[Delta, error] {
	return func(yield func(Delta, error) bool) {
		for _, d := range s.Script(messages) {
			pieces := []Delta{d}
			if d.ToolCall == nil {
				pieces = pieces[:0]
				for _, w := range splitKeepingSpace(d.Text) {
					pieces = append(pieces, Delta{Text: w})
				}
			}
			for _, p := range pieces {
				if err := ctx.Err(); err != nil {
					yield(Delta{}, err)
					return
				}
				if !yield(p, nil) {
					return
				}
			}
		}
	}
}

// splitKeepingSpace splits s after each run of spaces, so that the pieces
// join back into s.
func splitKeepingSpace(s string) []string {
	var out []string
	start := 0
	for i := 1; i < len(s); i++ {
		if s[i-1] == ' ' && s[i] != ' ' {
			out = append(out, s[start:i])
			start = i
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
