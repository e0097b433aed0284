package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// collect runs a reply to its end.
func collect(t *testing.T, seq func(func(Delta, error) bool)) (text string, calls []ToolCall, err error) {
	t.Helper()
	for d, e := range seq {
		if e != nil {
			return text, calls, e
		}
		text += d.Text
		if d.ToolCall != nil {
			calls = append(calls, *d.ToolCall)
		}
	}
	return text, calls, nil
}

// sse writes events as an OpenAI-compatible server streams them.
func sse(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, e := range events {
		fmt.Fprintf(w, "data: %s\n\n", e)
		w.(http.Flusher).Flush()
	}
}

func TestOpenAIStreamsTextAndToolCalls(t *testing.T) {
	t.Parallel()
	var got chatRequest
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/v1/chat/completions", r.URL.Path)
		auth = r.Header.Get("Authorization")
		body, _ := io.ReadAll(r.Body)
		assert.NoError(t, json.Unmarshal(body, &got))
		sse(w,
			`{"choices":[{"delta":{"role":"assistant","content":"The train "}}]}`,
			`{"choices":[{"delta":{"content":"leaves at nine."}}]}`,
			`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"book","arguments":"{\"se"}}]}}]}`,
			`{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"at\":2}"}}]}}]}`,
			`[DONE]`)
	}))
	defer srv.Close()
	llm := &OpenAI{BaseURL: srv.URL + "/v1/", APIKey: "sk-test", Model: "small"}
	msgs := []Message{
		{Role: "system", Content: "You book trains."},
		{Role: "user", Content: "When does it leave?"},
		{Role: "assistant", ToolCalls: []ToolCall{{ID: "call_0", Name: "lookup", Arguments: "{}"}}},
		{Role: "tool", ToolCallID: "call_0", Content: "nine"},
	}
	tools := []Tool{{Name: "book", Description: "Books seats.", Parameters: json.RawMessage(`{"type":"object"}`)}}
	text, calls, err := collect(t, llm.Reply(context.Background(), msgs, tools))
	require.NoError(t, err)
	assert.Equal(t, "The train leaves at nine.", text)
	assert.Equal(t, []ToolCall{{ID: "call_1", Name: "book", Arguments: `{"seat":2}`}}, calls)
	assert.Equal(t, "Bearer sk-test", auth)
	assert.Equal(t, "small", got.Model)
	assert.True(t, got.Stream)
	require.Len(t, got.Messages, 4)
	assert.Equal(t, "lookup", got.Messages[2].ToolCalls[0].Function.Name)
	assert.Equal(t, "call_0", got.Messages[3].ToolCallID)
	require.Len(t, got.Tools, 1)
	assert.Equal(t, "book", got.Tools[0].Function.Name)
}

// A refusal is a typed error with the server's message, and the key never
// shows in it even when the server echoes it.
func TestOpenAIRefusalIsTypedAndScrubbed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"message":"Incorrect API key provided: sk-secret-123"}}`)
	}))
	defer srv.Close()
	_, _, err := collect(t, (&OpenAI{BaseURL: srv.URL, APIKey: "sk-secret-123"}).Reply(context.Background(), nil, nil))
	var le *LLMError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, http.StatusUnauthorized, le.Status)
	assert.NotContains(t, err.Error(), "sk-secret-123")
	assert.Contains(t, err.Error(), "Incorrect API key provided")
}

// A stream that is not JSON, and a server that is not there, are errors.
func TestOpenAIBadStreamAndNoServer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sse(w, `{"choices":[{"delta":{"content":"ok"}}]}`, `{not json`)
	}))
	defer srv.Close()
	text, _, err := collect(t, (&OpenAI{BaseURL: srv.URL}).Reply(context.Background(), nil, nil))
	assert.Equal(t, "ok", text)
	assert.ErrorContains(t, err, "LLM stream")
	srv.Close()
	_, _, err = collect(t, (&OpenAI{BaseURL: srv.URL, APIKey: "sk-gone"}).Reply(context.Background(), nil, nil))
	assert.ErrorContains(t, err, "LLM request")
	assert.NotContains(t, err.Error(), "sk-gone")
}

// A barge-in stops reading the reply: the request is cancelled at once,
// not left streaming to its end.
func TestOpenAIStoppingEarlyCancelsTheRequest(t *testing.T) {
	t.Parallel()
	cancelled := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sse(w, `{"choices":[{"delta":{"content":"A long "}}]}`)
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv.Close()
	for d, err := range (&OpenAI{BaseURL: srv.URL}).Reply(context.Background(), nil, nil) {
		require.NoError(t, err)
		assert.Equal(t, "A long ", d.Text)
		break
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the server went on streaming")
	}
}

func TestScriptedStreamsWordsAndCalls(t *testing.T) {
	t.Parallel()
	llm := Scripted{Script: func(msgs []Message) []Delta {
		return []Delta{{Text: "You said: " + msgs[len(msgs)-1].Content}, {ToolCall: &ToolCall{ID: "1", Name: "note"}}}
	}}
	var pieces []string
	var calls int
	for d, err := range llm.Reply(context.Background(), []Message{{Role: "user", Content: "hello  there"}}, nil) {
		require.NoError(t, err)
		if d.ToolCall != nil {
			calls++
			continue
		}
		pieces = append(pieces, d.Text)
	}
	assert.Equal(t, []string{"You ", "said: ", "hello  ", "there"}, pieces)
	assert.Equal(t, "You said: hello  there", strings.Join(pieces, ""))
	assert.Equal(t, 1, calls)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := collect(t, llm.Reply(ctx, []Message{{Role: "user", Content: "x"}}, nil))
	assert.ErrorIs(t, err, context.Canceled)
}

// bodyTransport answers every request with body, as a server would stream it.
type bodyTransport []byte

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(string(b))), Header: http.Header{}, Request: r}, nil
}

// Whatever a server streams, the reader ends without a panic, and what it
// yields is text, whole tool calls, or one error at the end.
func FuzzOpenAIStream(f *testing.F) {
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":3,\"id\":\"c\",\"function\":{\"name\":\"n\",\"arguments\":\"{\"}}]}}]}\n\n"))
	f.Add([]byte(": comment\nevent: x\ndata:\ndata: {}\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		llm := &OpenAI{BaseURL: "http://llm.invalid", Client: &http.Client{Transport: bodyTransport(body)}}
		errs := 0
		for d, err := range llm.Reply(context.Background(), nil, nil) {
			if err != nil {
				errs++
				continue
			}
			if errs > 0 {
				t.Fatal("a delta after an error")
			}
			if d.ToolCall == nil && d.Text == "" || d.ToolCall != nil && d.ToolCall.Name == "" {
				t.Fatal("an empty delta")
			}
		}
		if errs > 1 {
			t.Fatal("more than one error")
		}
	})
}
