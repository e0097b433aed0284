package media

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/media/internal/av"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// EncodeAudio makes real Opus of any input format: 200 ms of an 800 Hz
// tone at 16 kHz mono decodes to 800 Hz; what is not whole samples, or an
// option no encoder takes, is refused.
func TestEncodeAudio(t *testing.T) {
	t.Parallel()
	var phase float64
	e, err := EncodeAudio(sine(800, 16000, 1, 200*time.Millisecond, &phase), AudioFormat{SampleRate: 16000, Channels: 1})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, e.Duration(), 200*time.Millisecond)
	assert.LessOrEqual(t, e.Duration(), 240*time.Millisecond)
	assert.Len(t, e.pcm, len(e.packets)*opusSamples*opusChannels)

	dec, err := av.NewDecoder(av.CodecOpus, nil)
	require.NoError(t, err)
	defer dec.Close()
	var pcm []int16
	for i, p := range e.packets {
		require.NoError(t, dec.Decode(p, int64(i*opusSamples), func(f *av.Frame) { pcm = append(pcm, f.PCM...) }))
	}
	assert.InDelta(t, 800, toneHz(pcm[len(pcm)/4:len(pcm)*3/4], 2, 48000), 8)

	_, err = EncodeAudio([]byte{1, 2, 3}, AudioFormat{SampleRate: 16000, Channels: 1})
	assert.ErrorIs(t, err, ErrBadFormat, "an odd byte")
	_, err = EncodeAudio([]byte{1, 2}, AudioFormat{SampleRate: 48000, Channels: 2})
	assert.ErrorIs(t, err, ErrBadFormat, "half a stereo sample")
	_, err = EncodeAudio(nil, AudioFormat{SampleRate: 16000, Channels: 1}, WithOpusMode(OpusMode(7)))
	assert.Error(t, err)
}

// PushEncoded sends the packets EncodeAudio made, unchanged, in their
// place in the queue and from a 20 ms boundary, and counts them as pushed
// audio: Queued, Played, Wait, the playout hook, Pause and Flush.
func TestAudioSourcePushEncoded(t *testing.T) {
	t.Parallel()
	ctx := peertest.Context(t, 20*time.Second)
	var phase float64
	e, err := EncodeAudio(sine(800, 16000, 1, 200*time.Millisecond, &phase), AudioFormat{SampleRate: 16000, Channels: 1})
	require.NoError(t, err)

	var mu sync.Mutex
	var heard []int16
	src, err := NewAudioSource(AudioFormat{SampleRate: 48000, Channels: 2}, WithStartOnBind(), WithQueue(time.Second),
		WithPlayout(func(_ time.Time, pcm []int16) {
			mu.Lock()
			heard = append(heard, pcm...)
			mu.Unlock()
		}))
	require.NoError(t, err)
	defer src.Close()
	before := sine(300, 48000, 2, 30*time.Millisecond, &phase) // a frame and a half
	after := sine(300, 48000, 2, 40*time.Millisecond, &phase)
	require.NoError(t, src.Push(ctx, before))
	require.NoError(t, src.PushEncoded(ctx, e))
	require.NoError(t, src.Push(ctx, after))
	want := 70*time.Millisecond + e.Duration()
	assert.Equal(t, want, src.Queued())

	b := &binding{codec: src.Codec(), keep: true}
	_, err = src.Bind(b)
	require.NoError(t, err)
	require.NoError(t, src.Wait(ctx))
	assert.Equal(t, want, src.Played(), "every packet counted as played")
	require.Eventually(t, func() bool { return len(b.written()) >= 2+len(e.packets)+2 }, 5*time.Second, 5*time.Millisecond)
	sent := b.written()
	assert.True(t, slices.EqualFunc(e.packets, sent[2:2+len(e.packets)], bytes.Equal),
		"the encoded packets went out unchanged after the two frames pushed before them")

	const frame = opusSamples * opusChannels
	mu.Lock()
	played := slices.Clone(heard)
	mu.Unlock()
	require.GreaterOrEqual(t, len(played), (2+len(e.packets))*frame)
	assert.Equal(t, make([]int16, frame/2), played[frame+frame/2:2*frame], "the half frame before them padded with silence")
	assert.Equal(t, e.pcm, played[2*frame:(2+len(e.packets))*frame], "the playout hook hears what they hold")

	// Paused, they wait; flushed, they are dropped and never played.
	src.Pause()
	require.NoError(t, src.PushEncoded(ctx, e))
	require.NoError(t, src.PushEncoded(ctx, e))
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, want, src.Played())
	assert.Equal(t, 2*e.Duration(), src.Flush())
	src.Resume()
	require.NoError(t, src.Wait(ctx))
	assert.Equal(t, want, src.Played())
	assert.Zero(t, src.Queued())
}
