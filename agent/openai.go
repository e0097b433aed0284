package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strings"
)

// OpenAI is an LLM served over the OpenAI chat completions API, which
// most servers speak (OpenAI, vLLM, llama.cpp's server, Ollama, LiteLLM):
// POST BaseURL + "/chat/completions" with "stream": true, read as
// server-sent events.
type OpenAI struct {
	// BaseURL is the API root, e.g. "https://api.openai.com/v1" or
	// "http://127.0.0.1:8080/v1".
	BaseURL string
	// APIKey goes in the Authorization header; it never appears in an
	// error. Empty for servers that take none.
	APIKey string
	// Model names the model.
	Model string
	// Client makes the requests (default http.DefaultClient).
	Client *http.Client
}

// LLMError is a reply the server refused, with its status and message.
type LLMError struct {
	Status  int
	Message string
}

func (e *LLMError) Error() string {
	return fmt.Sprintf("agent: LLM server answered %d: %s", e.Status, e.Message)
}

// maxErrorBody bounds what is read of a refusal.
const maxErrorBody = 4 << 10

// maxEventBytes bounds one server-sent event line.
const maxEventBytes = 1 << 20

// Reply implements LLM.
func (o *OpenAI) Reply(ctx context.Context, messages []Message, tools []Tool) iter.Seq2[Delta, error] {
	return func(yield func(Delta, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel() // a caller that stops early ends the request
		resp, err := o.post(ctx, messages, tools)
		if err != nil {
			yield(Delta{}, err)
			return
		}
		defer resp.Body.Close()
		calls := map[int]*ToolCall{} // by the stream's index, as they build up
		var order []int
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), maxEventBytes)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data:")
			if !ok {
				continue // comments, event names, blank separators
			}
			data = strings.TrimSpace(data)
			if data == "[DONE]" {
				break
			}
			var chunk streamChunk
			if err := json.Unmarshal([]byte(data), &chunk); err != nil {
				yield(Delta{}, fmt.Errorf("agent: LLM stream: %w", err))
				return
			}
			for _, c := range chunk.Choices {
				if c.Delta.Content != "" && !yield(Delta{Text: c.Delta.Content}, nil) {
					return
				}
				for _, tc := range c.Delta.ToolCalls {
					call, seen := calls[tc.Index]
					if !seen {
						call = &ToolCall{}
						calls[tc.Index] = call
						order = append(order, tc.Index)
					}
					if tc.ID != "" {
						call.ID = tc.ID
					}
					call.Name += tc.Function.Name
					call.Arguments += tc.Function.Arguments
				}
			}
		}
		if err := sc.Err(); err != nil {
			yield(Delta{}, fmt.Errorf("agent: LLM stream: %w", err))
			return
		}
		if err := ctx.Err(); err != nil {
			yield(Delta{}, err)
			return
		}
		for _, i := range order {
			if calls[i].Name == "" {
				yield(Delta{}, fmt.Errorf("agent: LLM stream: tool call %d has no name", i))
				return
			}
			if !yield(Delta{ToolCall: calls[i]}, nil) {
				return
			}
		}
	}
}

func (o *OpenAI) post(ctx context.Context, messages []Message, tools []Tool) (*http.Response, error) {
	body, err := json.Marshal(chatRequest{Model: o.Model, Messages: toWire(messages), Tools: toolsWire(tools), Stream: true})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(o.BaseURL, "/")+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("agent: LLM URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if o.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+o.APIKey)
	}
	client := o.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap() // *url.Error repeats the URL; keep the cause
		}
		return nil, fmt.Errorf("agent: LLM request: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		text := strings.TrimSpace(string(msg))
		if json.Unmarshal(msg, &e) == nil && e.Error.Message != "" {
			text = e.Error.Message
		}
		if o.APIKey != "" {
			text = strings.ReplaceAll(text, o.APIKey, "***")
		}
		return nil, &LLMError{Status: resp.StatusCode, Message: text}
	}
	return resp, nil
}

// The wire shapes of the chat completions API.

type chatRequest struct {
	Model    string        `json:"model"`
	Messages []wireMessage `json:"messages"`
	Tools    []wireTool    `json:"tools,omitempty"`
	Stream   bool          `json:"stream"`
}

type wireMessage struct {
	Role       string         `json:"role"`
	Content    string         `json:"content"`
	ToolCalls  []wireToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

type wireToolCall struct {
	Index    int    `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments,omitempty"`
	} `json:"function"`
}

type wireTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
	} `json:"function"`
}

type streamChunk struct {
	Choices []struct {
		Delta struct {
			Content   string         `json:"content"`
			ToolCalls []wireToolCall `json:"tool_calls"`
		} `json:"delta"`
	} `json:"choices"`
}

func toWire(messages []Message) []wireMessage {
	out := make([]wireMessage, len(messages))
	for i, m := range messages {
		out[i] = wireMessage{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID}
		for _, c := range m.ToolCalls {
			w := wireToolCall{ID: c.ID, Type: "function"}
			w.Function.Name, w.Function.Arguments = c.Name, c.Arguments
			out[i].ToolCalls = append(out[i].ToolCalls, w)
		}
	}
	return out
}

func toolsWire(tools []Tool) []wireTool {
	var out []wireTool
	for _, t := range tools {
		w := wireTool{Type: "function"}
		w.Function.Name, w.Function.Description, w.Function.Parameters = t.Name, t.Description, t.Parameters
		out = append(out, w)
	}
	return out
}
