package media

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpeakSynthesizesSpeech(t *testing.T) {
	t.Parallel()
	pcm, f, err := Speak(context.Background(), "The train to Leeds leaves at nine from platform two.", SpeakOptions{})
	require.NoError(t, err)
	assert.Equal(t, AudioFormat{SampleRate: 16000, Channels: 1}, f)
	d := time.Duration(len(pcm)) * time.Second / time.Duration(f.SampleRate)
	assert.Greater(t, d, 2*time.Second, "ten words take a few seconds")
	assert.Less(t, d, 8*time.Second)
	var sum float64
	for _, s := range pcm {
		sum += float64(s) * float64(s)
	}
	assert.Greater(t, 20*math.Log10(math.Sqrt(sum/float64(len(pcm)))/32768), -40.0, "speech, not silence")

	// Another voice, another rate.
	_, f, err = Speak(context.Background(), "Hello.", SpeakOptions{Voice: "kal"})
	require.NoError(t, err)
	assert.Equal(t, 8000, f.SampleRate)
}

// The same text gives the same samples however many syntheses ran before
// it in the process, one at a time or several at once (flite's noise comes
// from rand(), which a synthesis advanced for every later one).
func TestSpeakRepeatsExactly(t *testing.T) {
	t.Parallel()
	const text = "Which trains go to Leeds this afternoon? Six, please."
	first, _, err := Speak(context.Background(), text, SpeakOptions{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	again := make([][]int16, 4)
	for i := range again {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = Speak(context.Background(), "Something else first.", SpeakOptions{})
			pcm, _, err := Speak(context.Background(), text, SpeakOptions{})
			assert.NoError(t, err)
			again[i] = pcm
		}()
	}
	wg.Wait()
	for i, pcm := range again {
		assert.True(t, slices.Equal(first, pcm), "synthesis %d differs from the first", i+2)
	}
}

func TestSpeakRefusesBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct {
		text, voice, want string
	}{
		{"", "", "no text"},
		{"hi", "slt:textfile=/etc/passwd", "no voice"},
		{string([]byte{0xff, 0xfe}), "", "not UTF-8"},
		{string(make([]byte, MaxSpeakText+1)), "", "over"},
	} {
		_, _, err := Speak(ctx, c.text, SpeakOptions{Voice: c.voice})
		assert.ErrorContains(t, err, c.want, "%q", c.voice)
	}
	// Text is only ever text: quotes, colons and filter syntax are spoken.
	pcm, _, err := Speak(ctx, "it's a:b, [c]; d=e'f", SpeakOptions{})
	require.NoError(t, err)
	assert.NotEmpty(t, pcm)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = Speak(cancelled, "Too late.", SpeakOptions{})
	assert.ErrorIs(t, err, context.Canceled)
}
