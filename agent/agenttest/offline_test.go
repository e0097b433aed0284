package agenttest_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/agent"
	"github.com/metered-ca/realtime-go/agent/agenttest"
	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
)

// sentences are what the offline round trip is measured on: short
// requests, as a user says them to an agent.
var sentences = []string{
	"What time is it.",
	"What is the weather like today.",
	"Tell me a joke.",
	"Turn on the lights.",
	"Set an alarm for seven.",
	"Where is the station.",
}

// events collects an Agent's events.
type events struct {
	mu    sync.Mutex
	ended []agent.UserEnded
	said  []agent.UserSaid
	reply []agent.Replied
	fresh chan struct{}
}

func (e *events) on(_ *peer.RemotePeer, ev agent.TurnEvent) {
	e.mu.Lock()
	switch ev := ev.(type) {
	case agent.UserEnded:
		e.ended = append(e.ended, ev)
	case agent.UserSaid:
		e.said = append(e.said, ev)
	case agent.Replied:
		e.reply = append(e.reply, ev)
	}
	e.mu.Unlock()
	select {
	case e.fresh <- struct{}{}:
	default:
	}
}

// waitReplies waits until the agent has answered n turns.
func (e *events) waitReplies(ctx context.Context, n int) ([]agent.Replied, error) {
	for {
		e.mu.Lock()
		r := append([]agent.Replied(nil), e.reply...)
		e.mu.Unlock()
		if len(r) >= n {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-e.fresh:
		}
	}
}

// startOffline runs an Agent on the offline stack (Sphinx, a scripted
// model that echoes what it heard, flite) in the call.
func startOffline(t *testing.T, call *agenttest.Call, opts agent.TurnOptions) *events {
	t.Helper()
	if _, err := media.NewRecognizer(media.RecognizerOptions{}); errors.Is(err, media.ErrNoSpeechRecognition) {
		t.Skipf("%v (media's TestRecognizerMissingModel checks the error)", err)
	}
	ev := &events{fresh: make(chan struct{}, 1)}
	a := &agent.Agent{
		LLM: agent.Scripted{Script: func(m []agent.Message) []agent.Delta {
			return []agent.Delta{{Text: "You said: " + m[len(m)-1].Content + "."}}
		}},
		Turns:  opts,
		Events: ev.on,
	}
	p, err := peer.New(peer.Options{URL: call.URL, APIKey: "pk_agent"})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	require.NoError(t, a.Start(ctx, p))
	t.Cleanup(func() {
		cancel()
		_ = p.Close("")
		require.NoError(t, a.Close())
	})
	require.NoError(t, p.Join(ctx, call.Channel))
	return ev
}

// The offline stack end to end: the user's words, through Opus, the VAD
// and pocketsphinx, reach the model as text; the answer is heard.
func TestOfflineAgentRoundTrip(t *testing.T) {
	t.Parallel()
	call := agenttest.New(t)
	ev := startOffline(t, call, agent.TurnOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, call.Ready(ctx))
	exact := 0
	for i, s := range sentences {
		_, end, err := call.Say(ctx, s)
		require.NoError(t, err)
		replies, err := ev.waitReplies(ctx, i+1)
		require.NoError(t, err, "no reply to %q", s)
		r := replies[i]
		require.NoError(t, r.Err)
		heard, err := call.Heard(ctx, end)
		require.NoError(t, err, "the answer to %q was not heard", s)
		want := strings.ToLower(strings.TrimSuffix(s, "."))
		if r.Said == want {
			exact++
		}
		t.Logf("%q → %q; mouth to ear %v; reply %+v", s, r.Said, heard.Sub(end).Round(time.Millisecond), r.Times)
		_, err = call.Quiet(ctx, heard, 500*time.Millisecond)
		require.NoError(t, err)
	}
	assert.GreaterOrEqual(t, exact, 4, "sentences recognised exactly, of %d", len(sentences))
}
