package agenttest_test

import (
	"context"
	"errors"
	"slices"
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

// skipWithoutRecognizer skips where FFmpeg cannot recognise speech (its
// error is media's TestRecognizerMissingModel's).
func skipWithoutRecognizer(t testing.TB) {
	t.Helper()
	r, err := media.NewRecognizer(media.RecognizerOptions{})
	if errors.Is(err, media.ErrNoSpeechRecognition) {
		t.Skip(err)
	}
	require.NoError(t, err)
	_ = r.Close()
}

// startOffline runs an Agent on the offline stack (Sphinx, a scripted
// model that echoes what it heard, flite) in the call.
func startOffline(t testing.TB, call *agenttest.Call, opts agent.TurnOptions) *events {
	t.Helper()
	skipWithoutRecognizer(t)
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

// BenchmarkOfflineTurn times a spoken question answered by the offline
// stack (pocketsphinx, a scripted model, flite) through two peers, over
// the six sentences b.N times, and splits it by stage (medians, ms):
// mouth to ear (the end of the question at the user's microphone to the
// first audible sample of the answer at the user); the endpointing wait
// (the silence the turn engine waited out); the recogniser's final text
// after the end of speech (within that wait); the model's first token,
// the answer's audio made, and its first packet sent, from the turn's
// end; the rest is the call (Opus, network, jitter buffers, both ways).
// It also counts the sentences recognised exactly.
func BenchmarkOfflineTurn(b *testing.B) {
	skipWithoutRecognizer(b)
	var ear, wait, stt, token, audio, packet, call []time.Duration
	exact, total := 0, 0
	for range b.N {
		c := agenttest.New(b)
		ev := startOffline(b, c, agent.TurnOptions{})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		if err := c.Ready(ctx); err != nil {
			b.Fatal(err)
		}
		for i, s := range sentences {
			_, end, err := c.Say(ctx, s)
			if err != nil {
				b.Fatal(err)
			}
			replies, err := ev.waitReplies(ctx, i+1)
			if err != nil {
				b.Fatal(err)
			}
			heard, err := c.Heard(ctx, end)
			if err != nil {
				b.Fatal(err)
			}
			r := replies[i]
			ev.mu.Lock()
			ended, said := ev.ended[len(ev.ended)-1], ev.said[len(ev.said)-1]
			ev.mu.Unlock()
			ear = append(ear, heard.Sub(end))
			wait = append(wait, ended.Waited)
			stt = append(stt, said.Delay)
			token = append(token, r.Times.FirstToken)
			audio = append(audio, r.Times.FirstAudio)
			packet = append(packet, r.FirstPacket)
			call = append(call, heard.Sub(end)-ended.Waited-r.FirstPacket)
			total++
			if r.Said == strings.ToLower(strings.TrimSuffix(s, ".")) {
				exact++
			}
			if _, err := c.Quiet(ctx, heard, 500*time.Millisecond); err != nil {
				b.Fatal(err)
			}
		}
		cancel()
	}
	median := func(name string, ds []time.Duration) {
		slices.Sort(ds)
		b.ReportMetric(float64(ds[len(ds)/2])/1e6, name+"-ms")
	}
	median("mouth-to-ear", ear)
	median("endpointing", wait)
	median("stt-final", stt)
	median("llm-first-token", token)
	median("tts-audio", audio)
	median("first-packet", packet)
	median("call", call)
	b.ReportMetric(float64(exact)*6/float64(total), "exact-of-6")
}
