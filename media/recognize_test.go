package media

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The offline round trip: flite's words, through the recognizer, cut where
// a VAD would cut them (End), come back as text.
func TestRecognizerRoundTrip(t *testing.T) {
	t.Parallel()
	r, err := NewRecognizer(RecognizerOptions{})
	if errors.Is(err, ErrNoSpeechRecognition) {
		require.Contains(t, err.Error(), "pocketsphinx")
		t.Skipf("%v (the error is what this FFmpeg gives)", err)
	}
	require.NoError(t, err)
	defer r.Close()
	pcm, f, err := Speak(context.Background(), "Set an alarm for seven.", SpeakOptions{})
	if errors.Is(err, ErrNoSpeechSynthesis) {
		t.Skip(err)
	}
	require.NoError(t, err)
	require.Equal(t, RecognizerRate, f.SampleRate)
	got, err := r.Write(pcm)
	require.NoError(t, err)
	assert.Empty(t, got, "no silence after the words yet: the utterance is not over")
	got, err = r.End()
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "set an alarm for seven", strings.TrimSpace(got[0]))

	require.NoError(t, r.Close())
	_, err = r.Write(pcm)
	assert.ErrorIs(t, err, ErrClosed)
	require.NoError(t, r.Close(), "twice")
}

func TestRecognizerMissingModel(t *testing.T) {
	t.Parallel()
	_, err := NewRecognizer(RecognizerOptions{Model: "/nonexistent/en-us"})
	require.ErrorIs(t, err, ErrNoSpeechRecognition)
}
