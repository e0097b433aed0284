package media

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// A pushes a 440 Hz tone (16 kHz mono in) through AudioSource; B decodes
// the received track with Frames and hears 440 Hz at 48 kHz.
func TestAudioSourceToFrames(t *testing.T) {
	srv := peertest.NewServer(t)
	a, b := peertest.NewPeer(t, srv, "speaker"), peertest.NewPeer(t, srv, "listener")
	ctx := peertest.Context(t, 60*time.Second)

	src, err := NewAudioSource(AudioFormat{SampleRate: 16000, Channels: 1})
	require.NoError(t, err)
	defer src.Close()
	require.NoError(t, a.AddTrack(src, nil, peer.StreamMetadata{"kind": "voice"}))

	var mu sync.Mutex
	var heard []int16
	rate, channels := 0, 0
	done := make(chan struct{})
	peer.On(b, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(tr peer.Track) {
			go func() {
				defer close(done)
				for f, err := range Frames(ctx, tr.Track) {
					if err != nil {
						return
					}
					assert.Equal(t, webrtc.RTPCodecTypeAudio, f.Kind)
					mu.Lock()
					rate, channels = f.SampleRate, f.Channels
					heard = append(heard, f.PCM...)
					full := len(heard) >= 48000*2*3
					mu.Unlock()
					if full {
						return
					}
				}
			}()
		})
	})
	require.NoError(t, a.Join(ctx, "tone"))
	require.NoError(t, b.Join(ctx, "tone"))

	var phase float64
	for i := 0; i < 250; i++ { // 5 s in 20 ms pushes, paced by backpressure
		require.NoError(t, src.Push(ctx, sine(440, 16000, 1, 20*time.Millisecond, &phase)))
	}
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("no audio decoded")
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 48000, rate)
	assert.Equal(t, 2, channels)
	// The tail of what was heard is all tone (the head may be silence).
	assert.InDelta(t, 440, toneHz(heard[len(heard)-48000*2:], 2, 48000), 8)
}

func TestAudioSourceQueueFlushWaitEnd(t *testing.T) {
	ctx := peertest.Context(t, 20*time.Second)
	_, err := NewAudioSource(AudioFormat{SampleRate: 0, Channels: 1})
	assert.ErrorIs(t, err, ErrBadFormat)

	src, err := NewAudioSource(AudioFormat{SampleRate: 48000, Channels: 2}, WithQueue(200*time.Millisecond))
	require.NoError(t, err)
	defer src.Close()
	var phase float64

	// A push larger than the bound blocks until most of it has been sent.
	start := time.Now()
	require.NoError(t, src.Push(ctx, sine(300, 48000, 2, 600*time.Millisecond, &phase)))
	assert.LessOrEqual(t, src.Queued(), 200*time.Millisecond, "never more than the bound is queued")
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "the push waited for room")

	// A cancelled context ends a blocked Push.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err = src.Push(short, sine(300, 48000, 2, time.Second, &phase))
	cancel()
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	// Flush drops the queue at once (barge-in), and Wait returns.
	dropped := src.Flush()
	assert.Greater(t, dropped, time.Duration(0))
	assert.Zero(t, src.Queued())
	require.NoError(t, src.Wait(ctx))

	// A Push under way (waiting for room) stops at the Flush: the room
	// the Flush makes is not filled with the rest of the reply it cut.
	pushed := make(chan error, 1)
	go func() { pushed <- src.Push(ctx, sine(300, 48000, 2, 2*time.Second, &phase)) }()
	require.Eventually(t, func() bool { return src.Queued() >= 150*time.Millisecond }, 5*time.Second, time.Millisecond, "the push fills the queue")
	src.Flush()
	require.NoError(t, <-pushed)
	assert.Zero(t, src.Queued(), "nothing of the cut push was queued after the flush")

	// An odd byte waits for its partner; nothing is lost.
	require.NoError(t, src.Push(ctx, []byte{1}))
	require.NoError(t, src.Push(ctx, []byte{0, 2, 0, 3}))
	src.mu.Lock()
	assert.Equal(t, []byte{3}, src.pending, "the odd byte is kept for the next push")
	src.mu.Unlock()

	// End: the queue plays out, Done closes, pushes fail.
	require.NoError(t, src.Push(ctx, sine(300, 48000, 2, 100*time.Millisecond, &phase)))
	src.End()
	require.NoError(t, src.Wait(ctx))
	select {
	case <-src.Done():
	case <-ctx.Done():
		t.Fatal("Done never closed after End")
	}
	assert.True(t, errors.Is(src.Push(ctx, []byte{0, 0}), ErrEnded))
	require.NoError(t, src.Close())
	require.NoError(t, src.Close(), "idempotent")
}

// A long push is resampled a chunk at a time: the scratch stays a chunk's
// size, and the chunks (and an odd byte between pushes) join without a
// seam.
func TestAudioSourcePushesInChunks(t *testing.T) {
	ctx := peertest.Context(t, 20*time.Second)
	src, err := NewAudioSource(AudioFormat{SampleRate: 16000, Channels: 1}, WithQueue(10*time.Second), WithStartOnBind())
	require.NoError(t, err)
	defer src.Close()
	var phase float64
	tone := sine(300, 16000, 1, 3*time.Second, &phase)
	odd := len(tone)/2 + 1
	require.NoError(t, src.Push(ctx, tone[:odd]))
	require.NoError(t, src.Push(ctx, tone[odd:]))

	src.mu.Lock()
	queue := slices.Clone(src.queue)
	src.mu.Unlock()
	src.pushMu.Lock()
	scratch := cap(src.resampled)
	src.pushMu.Unlock()
	assert.InDelta(t, 3*time.Second, src.Queued(), float64(20*time.Millisecond), "all of it queued, less the resampler's delay")
	assert.LessOrEqual(t, scratch, 2*(4800+256)*2, "the scratch holds a chunk, not the push")
	// A 300 Hz tone at 48 kHz moves at most 2π·300/48000 of its amplitude
	// a sample; a lost, doubled or misjoined sample moves it far more.
	amp := 0.0
	for _, v := range queue {
		amp = max(amp, math.Abs(float64(v)))
	}
	limit := amp * 2 * math.Pi * 300 / 48000 * 1.5
	settled := 48000 * 2 / 50 // past the resampler's start
	for i := settled; i+2 < len(queue); i += 2 {
		if d := math.Abs(float64(queue[i+2]) - float64(queue[i])); d > limit {
			t.Fatalf("a seam at sample %d: %v to %v", i/2, queue[i], queue[i+2])
		}
	}
}

// Pause holds the queue (silence goes out) and Resume goes on from the
// same sample; Played counts the pushed audio sent, exactly.
func TestAudioSourcePauseResumePlayed(t *testing.T) {
	ctx := peertest.Context(t, 20*time.Second)
	src, err := NewAudioSource(AudioFormat{SampleRate: 48000, Channels: 2}, WithQueue(500*time.Millisecond))
	require.NoError(t, err)
	defer src.Close()
	var phase float64
	assert.Zero(t, src.Played())

	require.NoError(t, src.Push(ctx, sine(300, 48000, 2, 400*time.Millisecond, &phase)))
	src.Pause()
	src.Pause() // twice is once
	held, queued := src.Played(), src.Queued()
	time.Sleep(200 * time.Millisecond) // ten packets' time
	assert.Equal(t, held, src.Played(), "nothing is played while paused")
	assert.Equal(t, queued, src.Queued(), "the queue waits")
	assert.Equal(t, 400*time.Millisecond, held+queued, "every pushed sample is played or queued")

	src.Resume()
	require.NoError(t, src.Wait(ctx))
	assert.Equal(t, 400*time.Millisecond, src.Played(), "after Resume the rest plays, from where it stopped")

	// What Flush drops was never played.
	require.NoError(t, src.Push(ctx, sine(300, 48000, 2, 300*time.Millisecond, &phase)))
	src.Pause()
	before := src.Played()
	dropped := src.Flush()
	src.Resume()
	require.NoError(t, src.Wait(ctx))
	assert.Equal(t, before, src.Played())
	assert.Equal(t, 700*time.Millisecond, src.Played()+dropped)
}

// WithPlayout hears every frame as it goes out: the pushed audio, to the
// sample and in order, with silence around it and while paused.
func TestAudioSourcePlayout(t *testing.T) {
	t.Parallel()
	ctx := peertest.Context(t, 20*time.Second)
	var mu sync.Mutex
	var out []int16
	var frames int
	src, err := NewAudioSource(AudioFormat{SampleRate: 48000, Channels: 2}, WithQueue(time.Second), WithPlayout(func(_ time.Time, pcm []int16) {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, pcm...)
		frames++
		if len(pcm) != 960*2 {
			t.Errorf("a frame of %d samples", len(pcm))
		}
	}))
	require.NoError(t, err)
	defer src.Close()
	var phase float64
	pushed := sine(440, 48000, 2, 300*time.Millisecond, &phase)
	require.NoError(t, src.Push(ctx, pushed))
	src.Pause()
	time.Sleep(100 * time.Millisecond)
	src.Resume()
	require.NoError(t, src.Wait(ctx))
	time.Sleep(60 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	want := make([]int16, len(pushed)/2)
	for i := range want {
		want[i] = int16(uint16(pushed[2*i]) | uint16(pushed[2*i+1])<<8)
	}
	// Pause sent silence in the middle: take it out where it fell.
	nonzero := func(s []int16) []int16 {
		var r []int16
		for _, v := range s {
			if v != 0 {
				r = append(r, v)
			}
		}
		return r
	}
	assert.Equal(t, nonzero(want), nonzero(out), "every pushed sample went out once, in order")
	assert.Greater(t, frames, len(want)/(960*2), "and silence went out too")
}
