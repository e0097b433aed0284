// Package agenttest tests a voice agent the way a person would, on this
// machine alone: a local server, and a user peer that speaks (offline
// synthesized phrases, or tones) and listens to what the agent says,
// timing it. The agent under test joins Call.URL and Call.Channel like
// any peer.
package agenttest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/agent"
	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/testserver"
)

// AudibleDB is the level (dBFS) above which a 20 ms frame of the agent's
// audio counts as heard.
const AudibleDB = -45

// Call is a test call: a local server and a user in a channel.
type Call struct {
	// URL and Channel are where the agent joins.
	URL, Channel string

	srv  *testserver.Server
	user *peer.MeteredPeer
	mic  *media.AudioSource

	mu     sync.Mutex
	frames []heardFrame // what the user heard of the agent, in order
	heard  chan struct{}
	echo   *echoPath // nil: the user wears headphones
	close  func()
}

// echoPath is the agent's voice coming back into the user's microphone.
type echoPath struct {
	gain  float64
	delay time.Duration
	fresh bool // the delay is not yet in the microphone's queue
}

// Close ends the call (the test's cleanup does too). The agent should be
// stopped first.
func (c *Call) Close() { c.close() }

type heardFrame struct {
	at      time.Time
	audible bool
}

// New starts a call; the test's cleanup ends it.
func New(t testing.TB) *Call {
	t.Helper()
	srv, err := testserver.New(testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}})
	if err != nil {
		t.Fatalf("agenttest: server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c := &Call{URL: srv.URL(), Channel: "agenttest", srv: srv, heard: make(chan struct{}, 1)}
	c.user, err = peer.New(peer.Options{URL: srv.URL(), APIKey: "pk_agenttest"})
	if err != nil {
		t.Fatalf("agenttest: user: %v", err)
	}
	c.mic, err = media.NewAudioSource(media.AudioFormat{SampleRate: 16000, Channels: 1})
	if err != nil {
		t.Fatalf("agenttest: microphone: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wait := agent.EachAudioTrack(c.user, func(_ *peer.RemotePeer, track *webrtc.TrackRemote) { c.listen(ctx, track) })
	c.close = sync.OnceFunc(func() {
		cancel()
		_ = c.user.Close("")
		_ = c.mic.Close()
		wait()
		_ = srv.Close()
	})
	t.Cleanup(c.close)
	if err := c.user.AddTrack(c.mic, nil, peer.StreamMetadata{"label": "user"}); err != nil {
		t.Fatalf("agenttest: %v", err)
	}
	jctx, jcancel := context.WithTimeout(ctx, 10*time.Second)
	defer jcancel()
	if err := c.user.Join(jctx, c.Channel); err != nil {
		t.Fatalf("agenttest: join: %v", err)
	}
	return c
}

// listen records, frame by frame, whether the agent was audible.
func (c *Call) listen(ctx context.Context, track *webrtc.TrackRemote) {
	var back []int16 // the echo's samples, reused frame after frame
	for f, err := range media.Frames(ctx, track, media.WithMonoAudio()) {
		if err != nil {
			return
		}
		c.mu.Lock()
		c.frames = append(c.frames, heardFrame{at: time.Now(), audible: agent.LevelDB(f.PCM) > AudibleDB})
		echo := c.echo
		var lead time.Duration
		if echo != nil && echo.fresh {
			echo.fresh, lead = false, echo.delay
		}
		c.mu.Unlock()
		if echo != nil {
			back = agent.ToFrames(back[:0], f.PCM, f.SampleRate, f.Channels)
			for i, v := range back {
				back[i] = int16(max(-32768, min(32767, echo.gain*float64(v))))
			}
			pcm := back
			if lead > 0 {
				pcm = append(make([]int16, int(lead.Seconds()*16000)), back...)
			}
			_ = c.mic.Push(ctx, agent.PCMBytes(pcm))
		}
		select {
		case c.heard <- struct{}{}:
		default:
		}
	}
}

// Say has the user say text (synthesized offline with media.Speak) and
// returns when the speech starts and ends, on this machine's clock, as it
// leaves the user's microphone.
func (c *Call) Say(ctx context.Context, text string) (start, end time.Time, err error) {
	pcm, f, err := media.Speak(ctx, text, media.SpeakOptions{})
	if err != nil {
		return start, end, err
	}
	if f.SampleRate != 16000 {
		return start, end, fmt.Errorf("agenttest: speech at %d Hz", f.SampleRate)
	}
	return c.push(ctx, pcm)
}

// Tone has the user make a sine tone of hz for d (a deterministic
// utterance).
func (c *Call) Tone(ctx context.Context, hz float64, d time.Duration) (start, end time.Time, err error) {
	pcm := make([]int16, int(d.Seconds()*16000))
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/16000))
	}
	return c.push(ctx, pcm)
}

// Hum is "mm-hm" as people say it with the mouth closed, 16 kHz mono: two
// voiced syllables at pitch (Hz), the second a little higher, each a
// fundamental and five harmonics falling off as their square, and no
// energy above them. Speech recognisers hear words in it (pocketsphinx:
// "for for", "the wall"); a backchannel, not a turn.
func Hum(pitch float64) []int16 {
	var out []int16
	for s, d := range []float64{0.25, 0.3} {
		n := int(d * agent.SampleRate)
		f := pitch * (1 + 0.1*float64(s))
		for i := range n {
			env := math.Sin(math.Pi * float64(i) / float64(n))
			v := 0.0
			for h := 1.0; h <= 6; h++ {
				v += math.Sin(2*math.Pi*f*h*float64(i)/agent.SampleRate) / (h * h)
			}
			out = append(out, int16(6000*env*v))
		}
		out = append(out, make([]int16, agent.SampleRate/10)...)
	}
	return out
}

// Play has the user's microphone send pcm (16 kHz mono): any sound, a
// hum or a recording.
func (c *Call) Play(ctx context.Context, pcm []int16) (start, end time.Time, err error) {
	return c.push(ctx, pcm)
}

// PlayEncoded has the user's microphone send audio encoded once
// (media.EncodeAudio of 16 kHz mono, say), as a browser playing a
// recording would: a phrase asked in many calls at once costs no encoding
// per call, so a test of many sessions measures the agents, not their
// callers.
func (c *Call) PlayEncoded(ctx context.Context, e *media.EncodedAudio) (start, end time.Time, err error) {
	start = time.Now().Add(c.mic.Queued())
	return start, start.Add(e.Duration()), c.mic.PushEncoded(ctx, e)
}

func (c *Call) push(ctx context.Context, pcm []int16) (start, end time.Time, err error) {
	start = time.Now().Add(c.mic.Queued())
	end = start.Add(time.Duration(len(pcm)) * time.Second / 16000)
	return start, end, c.mic.Push(ctx, agent.PCMBytes(pcm))
}

// Echo puts the user on a speakerphone: what they hear of the agent comes
// back into their microphone gainDB louder (negative: quieter) and about
// delay later, on top of the call's own latency; Headphones stops it. Say
// and Tone meanwhile queue behind the echo.
func (c *Call) Echo(gainDB float64, delay time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.echo = &echoPath{gain: math.Pow(10, gainDB/20), delay: delay, fresh: true}
}

// Headphones ends Echo.
func (c *Call) Headphones() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.echo = nil
}

// LongestGap is the longest time between two frames of the agent's audio
// reaching the user between from and to: an audio hole, where the usual
// is 20 ms.
func (c *Call) LongestGap(from, to time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var longest time.Duration
	var last time.Time
	for _, f := range c.frames {
		if f.at.Before(from) || f.at.After(to) {
			continue
		}
		if !last.IsZero() {
			longest = max(longest, f.at.Sub(last))
		}
		last = f.at
	}
	return longest
}

// Ready waits until the user receives the agent's audio (silence
// included): the agent has joined and both ways are connected.
func (c *Call) Ready(ctx context.Context) error {
	_, err := c.wait(ctx, func(fs []heardFrame) (time.Time, bool) {
		if len(fs) == 0 {
			return time.Time{}, false
		}
		return fs[0].at, true
	})
	return err
}

// Heard waits for the agent to be audible to the user after after, and
// returns when that was.
func (c *Call) Heard(ctx context.Context, after time.Time) (time.Time, error) {
	return c.wait(ctx, func(fs []heardFrame) (time.Time, bool) {
		for _, f := range fs {
			if f.audible && f.at.After(after) {
				return f.at, true
			}
		}
		return time.Time{}, false
	})
}

// Quiet waits for the agent to fall silent, after after, for d in a row,
// and returns when the silence began.
func (c *Call) Quiet(ctx context.Context, after time.Time, d time.Duration) (time.Time, error) {
	return c.wait(ctx, func(fs []heardFrame) (time.Time, bool) {
		var since time.Time
		for _, f := range fs {
			switch {
			case !f.at.After(after):
			case f.audible:
				since = time.Time{}
			case since.IsZero():
				since = f.at
			case f.at.Sub(since) >= d:
				return since, true
			}
		}
		return time.Time{}, false
	})
}

func (c *Call) wait(ctx context.Context, found func([]heardFrame) (time.Time, bool)) (time.Time, error) {
	for {
		c.mu.Lock()
		at, ok := found(c.frames)
		c.mu.Unlock()
		if ok {
			return at, nil
		}
		select {
		case <-c.heard:
		case <-ctx.Done():
			return time.Time{}, errors.Join(errors.New("agenttest: not heard"), ctx.Err())
		}
	}
}
