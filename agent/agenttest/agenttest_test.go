package agenttest_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/metered-ca/realtime-go/agent"
	"github.com/metered-ca/realtime-go/agent/agenttest"
	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startAgent runs an agent built from the toolkit in the call: it answers
// every turn with reply, spoken offline, and stops when spoken over.
func startAgent(t testing.TB, call *agenttest.Call, reply string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var replies sync.WaitGroup
	voice, err := agent.NewVoice(agent.Flite{})
	require.NoError(t, err)
	p, err := peer.New(peer.Options{URL: call.URL, APIKey: "pk_agent"})
	require.NoError(t, err)
	wait := agent.EachAudioTrack(p, func(_ *peer.RemotePeer, track *webrtc.TrackRemote) { listen(ctx, track, voice, reply, &replies) })
	stop = sync.OnceFunc(func() {
		cancel()
		_ = p.Close("")
		wait()
		replies.Wait()
		_ = voice.Close()
	})
	t.Cleanup(stop)
	require.NoError(t, p.AddTrack(voice.Source(), nil, peer.StreamMetadata{"label": "agent"}))
	jctx, jcancel := context.WithTimeout(ctx, 10*time.Second)
	defer jcancel()
	require.NoError(t, p.Join(jctx, call.Channel))
	return stop
}

func listen(ctx context.Context, track *webrtc.TrackRemote, voice *agent.Voice, reply string, wg *sync.WaitGroup) {
	ear := agent.NewListener(voice.Source(), agent.TurnOptions{})
	voice.OnSent(ear.Sent)
	dialogue := agent.NewDialogue(agent.Scripted{Script: func([]agent.Message) []agent.Delta {
		return []agent.Delta{{Text: reply}}
	}}, "")
	committed := make(chan struct{})
	close(committed)
	var stop context.CancelFunc = func() {}
	for f, err := range media.Frames(ctx, track) {
		if err != nil {
			break
		}
		for _, ev := range ear.Hear(time.Now(), f.PCM, f.SampleRate, f.Channels) {
			switch ev.(type) {
			case agent.AgentInterrupted:
				stop()
			case agent.UserEnded:
				var rctx context.Context
				rctx, stop = context.WithCancel(ctx)
				ear.Turns.Replying()
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := dialogue.Respond(rctx, "…", agent.Turn{Committed: committed, Say: voice.Say}); err == nil {
						ear.Turns.Reply()
					}
				}()
			}
		}
	}
	stop()
}

// A spoken question gets a spoken answer: mouth (the end of the user's
// speech) to ear (the first audible sample of the answer at the user),
// through two peers, Opus both ways, the VAD, the turn engine's 500 ms
// endpointing delay and offline text to speech.
func TestAgentAnswersASpokenQuestion(t *testing.T) {
	t.Parallel()
	call := agenttest.New(t)
	startAgent(t, call, "The next train leaves at nine.")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	end, heard := ask(ctx, t, call, "When does the next train leave?")
	t.Logf("mouth to ear: %v (endpointing 500 ms included)", heard.Sub(end).Round(time.Millisecond))
}

// A question encoded once and played as a recording (PlayEncoded) is heard
// and answered like one spoken through the microphone's encoder.
func TestAgentAnswersAnEncodedQuestion(t *testing.T) {
	t.Parallel()
	call := agenttest.New(t)
	startAgent(t, call, "The next train leaves at nine.")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	speech, _, err := media.Speak(ctx, "When does the next train leave?", media.SpeakOptions{})
	require.NoError(t, err)
	question, err := media.EncodeAudio(agent.PCMBytes(speech), media.AudioFormat{SampleRate: agent.SampleRate, Channels: 1})
	require.NoError(t, err)
	require.NoError(t, call.Ready(ctx))
	for range 2 { // the same recording, twice
		_, end, err := call.PlayEncoded(ctx, question)
		require.NoError(t, err)
		heard, err := call.Heard(ctx, end)
		require.NoError(t, err, "the agent never answered")
		t.Logf("mouth to ear: %v", heard.Sub(end).Round(time.Millisecond))
		_, err = call.Quiet(ctx, heard, 500*time.Millisecond)
		require.NoError(t, err)
	}
}

// The user speaks over the agent's long answer: the agent falls silent at
// the user's end.
func TestAgentStopsWhenTheUserSpeaksOverIt(t *testing.T) {
	t.Parallel()
	call := agenttest.New(t)
	startAgent(t, call, "There are three trains to Leeds this morning. The first leaves at nine from platform two. The second leaves at ten. The third leaves at eleven and stops everywhere.")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	end, heard := ask(ctx, t, call, "Which trains go to Leeds?")
	time.Sleep(time.Second) // the answer is under way
	start, _, err := call.Tone(ctx, 300, 2*time.Second)
	require.NoError(t, err)
	quiet, err := call.Quiet(ctx, start, 500*time.Millisecond)
	require.NoError(t, err, "the agent talked on")
	t.Logf("answer heard %v after the question; silent %v after the user began to speak over it", heard.Sub(end).Round(time.Millisecond), quiet.Sub(start).Round(time.Millisecond))
}

// ask has the user ask question once the call is up, and waits for the
// answer: when the question ended, and when the answer was heard.
func ask(ctx context.Context, t testing.TB, call *agenttest.Call, question string) (end, heard time.Time) {
	t.Helper()
	require.NoError(t, call.Ready(ctx))
	_, end, err := call.Say(ctx, question)
	require.NoError(t, err)
	heard, err = call.Heard(ctx, end)
	require.NoError(t, err, "the agent never answered")
	return end, heard
}

// countingVAD is the default VAD, counting the frames it is asked about.
type countingVAD struct {
	agent.VAD
	frames atomic.Int64
}

func (v *countingVAD) Speech(frame []int16) float64 {
	v.frames.Add(1)
	return v.VAD.Speech(frame)
}

// An Agent hears through the VAD its NewVAD makes, one per peer.
func TestAgentHearsThroughItsVAD(t *testing.T) {
	t.Parallel()
	call := agenttest.New(t)
	var made []*countingVAD
	var mu sync.Mutex
	a := &agent.Agent{
		LLM:    agent.Scripted{Script: func([]agent.Message) []agent.Delta { return []agent.Delta{{Text: "Nine."}} }},
		NewSTT: func() (agent.STT, error) { return nil, nil },
		NewVAD: func() agent.VAD {
			v := &countingVAD{VAD: agent.NewSpectralVAD()}
			mu.Lock()
			made = append(made, v)
			mu.Unlock()
			return v
		},
	}
	p, err := peer.New(peer.Options{URL: call.URL, APIKey: "pk_agent"})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, a.Start(ctx, p))
	t.Cleanup(func() {
		_ = p.Close("")
		_ = a.Close()
	})
	require.NoError(t, p.Join(ctx, call.Channel))
	ask(ctx, t, call, "When does the next train leave?")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, made, 1, "one VAD for the one peer")
	assert.Positive(t, made[0].frames.Load(), "the agent asked it about the user's audio")
}
