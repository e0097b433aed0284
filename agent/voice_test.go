package agent

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/media"
)

// The offline voice speaks a Dialogue's sentences through its
// AudioSource, and OnSent hears each 20 ms as it goes out: the sentences,
// whole, among silence.
func TestVoiceSaysSentencesOffline(t *testing.T) {
	t.Parallel()
	v, err := NewVoice(Flite{})
	require.NoError(t, err)
	defer v.Close()
	var mu sync.Mutex
	var loud time.Duration
	var last time.Time
	v.OnSent(func(at time.Time, pcm []int16) {
		mu.Lock()
		defer mu.Unlock()
		assert.Len(t, pcm, FrameSamples)
		assert.True(t, at.After(last), "in order")
		last = at
		if LevelDB(pcm) > -50 {
			loud += FrameDuration
		}
	})
	d := NewDialogue(Scripted{Script: func([]Message) []Delta {
		return []Delta{{Text: "The train leaves at nine. It is on time."}}
	}}, "")
	var spoken []Spoken
	say := func(ctx context.Context, text string) (Spoken, error) {
		s, err := v.Say(ctx, text)
		spoken = append(spoken, s)
		return s, err
	}
	require.NoError(t, respond(context.Background(), d, "When?", Turn{Committed: committed(), Say: say}))
	require.Len(t, spoken, 2)
	var total time.Duration
	for _, s := range spoken {
		assert.Greater(t, s.Audio, 500*time.Millisecond, "%q", s.Text)
		total += s.Audio
	}
	require.NoError(t, v.Source().Wait(context.Background()))
	assert.InDelta(t, total.Seconds(), v.Source().Played().Seconds(), 0.05, "all of it went out")
	mu.Lock()
	defer mu.Unlock()
	assert.Greater(t, loud, total/2, "OnSent heard it go out (speech has its pauses)")
	assert.LessOrEqual(t, loud, total+FrameDuration)
}

// A TTS that fails says so through Say, and Respond stops.
func TestVoiceSurfacesTTSFailures(t *testing.T) {
	t.Parallel()
	v, err := NewVoice(failingTTS{})
	require.NoError(t, err)
	defer v.Close()
	_, err = v.Say(context.Background(), "Hello.")
	assert.ErrorIs(t, err, errTTSDown)
}

var errTTSDown = errors.New("the TTS is down")

type failingTTS struct{}

func (failingTTS) Speak(context.Context, string) ([]int16, media.AudioFormat, error) {
	return nil, media.AudioFormat{}, errTTSDown
}
