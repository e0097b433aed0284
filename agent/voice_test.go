package agent

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/media"
)

// The offline voice speaks a Dialogue's sentences through its
// AudioSource, and the echo guard hears of each one before it goes out.
func TestVoiceSaysSentencesOffline(t *testing.T) {
	t.Parallel()
	v, err := NewVoice(Flite{})
	require.NoError(t, err)
	defer v.Close()
	var told time.Duration
	v.OnSent = func(at time.Time, pcm []int16) {
		assert.False(t, at.Before(time.Now().Add(-time.Second)))
		told += time.Duration(len(pcm)) * time.Second / SampleRate
	}
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
	assert.Equal(t, total, told)
	assert.InDelta(t, total.Seconds(), (v.Source().Played() + v.Source().Queued()).Seconds(), 0.05, "all of it pushed")
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
