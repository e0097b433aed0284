package av

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// speech synthesizes text with flite at 16 kHz mono.
func speech(t *testing.T, text string) []int16 {
	t.Helper()
	f := filepath.Join(t.TempDir(), "text.txt")
	require.NoError(t, os.WriteFile(f, []byte(text), 0o644))
	pcm, rate, err := Synthesize(f, "slt", nil)
	if errors.Is(err, ErrNoFlite) {
		t.Skip("no flite in this FFmpeg") // FFmpeg 7 lane without libflite; TestRecognizerNeedsASR covers the error
	}
	require.NoError(t, err)
	if rate != RecognizerRate {
		rs, err := NewResampler(rate, 1, RecognizerRate, 1)
		require.NoError(t, err)
		defer rs.Close()
		out, err := rs.Convert(nil, pcm)
		require.NoError(t, err)
		pcm, err = rs.Convert(out, nil)
		require.NoError(t, err)
	}
	return pcm
}

func TestRecognizerHearsASentence(t *testing.T) {
	r, err := NewRecognizer(RecognizerOptions{})
	if errors.Is(err, ErrNoASR) {
		t.Skipf("%v: TestRecognizerNeedsASR checks the error", err)
	}
	require.NoError(t, err)
	defer r.Close()
	pcm := speech(t, "What time is it.")
	var texts []string
	// In 20 ms frames, as a call delivers it, then a second of silence for
	// pocketsphinx's endpointer.
	pcm = append(pcm, make([]int16, RecognizerRate)...)
	for len(pcm) > 0 {
		n := min(len(pcm), 320)
		got, err := r.Push(pcm[:n])
		require.NoError(t, err)
		texts = append(texts, got...)
		pcm = pcm[n:]
	}
	require.Len(t, texts, 1, "one utterance")
	assert.Equal(t, "what time is it", strings.TrimSpace(texts[0]))

	// Silence alone ends no utterance.
	got, err := r.Push(make([]int16, 2*RecognizerRate))
	require.NoError(t, err)
	assert.Empty(t, got)
}

// Where FFmpeg has no asr filter (Debian 13's FFmpeg 7.1), or the model is
// missing, the error says which.
func TestRecognizerNeedsASR(t *testing.T) {
	_, err := NewRecognizer(RecognizerOptions{HMM: "/nonexistent/en-us"})
	require.ErrorIs(t, err, ErrNoASR)
	if strings.Contains(err.Error(), "model") {
		assert.Contains(t, err.Error(), "pocketsphinx-en-us", "it names the package to install")
	}
	_, err = NewRecognizer(RecognizerOptions{Dict: "/tmp/a b.dict"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "started", "a path that needs escaping never reaches the filter")
}
