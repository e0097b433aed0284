package media

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/testserver"
)

// binding is a pion TrackLocalContext of our own: Bind a track to it and
// every packet the track sends lands in WriteRTP, which fails with fail.
type binding struct {
	codec  webrtc.RTPCodecCapability
	fail   error
	writes atomic.Int64
	celt   atomic.Int64 // Opus packets in CELT-only mode (TOC 16-31)

	keep     bool // keep what is written, in payloads and headers
	mu       sync.Mutex
	payloads [][]byte
	headers  []rtp.Header
}

// written returns copies of the payloads kept so far.
func (b *binding) written() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.payloads)
}

func (b *binding) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{{RTPCodecCapability: b.codec, PayloadType: 100}}
}
func (b *binding) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }
func (b *binding) SSRC() webrtc.SSRC                                      { return 1234 }
func (b *binding) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (b *binding) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (b *binding) WriteStream() webrtc.TrackLocalWriter                   { return b }
func (b *binding) ID() string                                             { return "test-binding" }
func (b *binding) RTCPReader() interceptor.RTCPReader                     { return nil }
func (b *binding) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	b.writes.Add(1)
	if len(payload) > 0 && payload[0]>>3 >= 16 {
		b.celt.Add(1)
	}
	if b.keep {
		b.mu.Lock()
		b.payloads = append(b.payloads, bytes.Clone(payload))
		b.headers = append(b.headers, h.Clone())
		b.mu.Unlock()
	}
	return 0, b.fail
}
func (b *binding) Write([]byte) (int, error) { b.writes.Add(1); return 0, b.fail }

// Audio and video bitrates are separate: a video bitrate far over Opus's
// ceiling no longer breaks files whose audio must be transcoded, and an
// audio bitrate Opus cannot take is refused up front, with the limits.
func TestBitratesAreSeparate(t *testing.T) {
	file := testMedia(t, "h264-aac.mp4", "1")
	p, err := FromFile(file, WithVideoBitrate(2_000_000))
	require.NoError(t, err, "an AAC file with a 2 Mb/s video bitrate")
	require.NoError(t, p.Close())

	_, err = FromFile(file, WithAudioBitrate(600_000))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "6000 to 510000")
	_, err = NewAudioSource(AudioFormat{SampleRate: 48000, Channels: 2}, WithAudioBitrate(1_000))
	require.Error(t, err)
	src, err := NewAudioSource(AudioFormat{SampleRate: 48000, Channels: 2}, WithAudioBitrate(128_000))
	require.NoError(t, err)
	require.NoError(t, src.Close())
}

// The default video bitrate follows the picture, not one floor for all.
func TestDefaultVideoBitrateScales(t *testing.T) {
	small := defaultVideoBitrate(320, 240, 30)
	hd := defaultVideoBitrate(1280, 720, 30)
	full := defaultVideoBitrate(1920, 1080, 30)
	assert.Equal(t, 115_200, small)
	assert.Greater(t, hd, 10*small)
	assert.Greater(t, full, hd)
	assert.Equal(t, 100_000, defaultVideoBitrate(64, 64, 30), "floor")
	assert.Equal(t, 4_000_000, defaultVideoBitrate(3840, 2160, 60), "ceiling")
}

// A failing write to a peer connection is reported by Err, once, and
// playing goes on.
func TestPlayerReportsWriteErrors(t *testing.T) {
	file := testMedia(t, "vp8-opus.webm", "1")
	p, err := FromFile(file)
	require.NoError(t, err)
	defer p.Close()
	p.speed = 8
	b := &binding{codec: p.Video.Codec(), fail: errors.New("transport gone")}
	_, err = p.Video.Bind(b)
	require.NoError(t, err)
	require.NoError(t, p.Start())
	<-p.Done()
	require.Error(t, p.Err())
	assert.Contains(t, p.Err().Error(), "transport gone")
	assert.Contains(t, p.Err().Error(), "sending video")
	assert.Greater(t, b.writes.Load(), int64(10), "playing went on after the first failure")
}

// AudioSource reports its first send failure too.
func TestAudioSourceReportsWriteErrors(t *testing.T) {
	src, err := NewAudioSource(AudioFormat{SampleRate: 48000, Channels: 2})
	require.NoError(t, err)
	defer src.Close()
	b := &binding{codec: src.Codec(), fail: errors.New("transport gone")}
	_, err = src.Bind(b)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return src.Err() != nil }, 5*time.Second, 10*time.Millisecond)
	assert.Contains(t, src.Err().Error(), "transport gone")
}

// Sources are tracks by delegation: nothing outside the source can write
// samples past its pacing.
func TestSourcesExportNoWriteSample(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[*Track](), reflect.TypeFor[*AudioSource]()} {
		_, ok := typ.MethodByName("WriteSample")
		assert.False(t, ok, "%s exports WriteSample", typ)
		_, ok = typ.MethodByName("WriteRTP")
		assert.False(t, ok, "%s exports WriteRTP", typ)
		assert.True(t, typ.Implements(reflect.TypeFor[webrtc.TrackLocal]()))
	}
}

// With WithStartOnBind, audio pushed before any peer binds the source
// waits for the binding instead of playing to nobody.
func TestAudioSourceStartOnBind(t *testing.T) {
	src, err := NewAudioSource(AudioFormat{SampleRate: 48000, Channels: 2}, WithStartOnBind())
	require.NoError(t, err)
	defer src.Close()
	ctx := peertest.Context(t, 10*time.Second)
	var phase float64
	require.NoError(t, src.Push(ctx, sine(440, 48000, 2, 200*time.Millisecond, &phase)))
	time.Sleep(300 * time.Millisecond)
	assert.Equal(t, 200*time.Millisecond, src.Queued(), "nothing was sent before a binding")
	b := &binding{codec: src.Codec()}
	_, err = src.Bind(b)
	require.NoError(t, err)
	<-src.Bound()
	require.NoError(t, src.Wait(ctx)) // the queue is empty: its last frame is being encoded
	require.Eventually(t, func() bool { return b.writes.Load() >= 10 }, 5*time.Second, 5*time.Millisecond,
		"the 200 ms queued before the binding went to it")

	// Without the option the clock runs from construction.
	free, err := NewAudioSource(AudioFormat{SampleRate: 48000, Channels: 2})
	require.NoError(t, err)
	defer free.Close()
	require.NoError(t, free.Push(ctx, sine(440, 48000, 2, 100*time.Millisecond, &phase)))
	require.NoError(t, free.Wait(ctx), "sent to nobody")
}

// FromRTSP gives up opening when ctx ends: a camera that accepts the TCP
// connection and never answers cannot pin the caller.
func TestFromRTSPHonoursContext(t *testing.T) {
	t.Parallel()
	hole, err := testserver.NewBlackHole()
	require.NoError(t, err)
	defer hole.Close()
	// FFmpeg's network reads look at the interrupt every 100 ms (its
	// POLLING_TIME): the call ends within that of its context, so the
	// check allows twice it.
	const wait, ffmpegPoll = 300 * time.Millisecond, 100 * time.Millisecond
	const promptly = 2 * ffmpegPoll
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	start := time.Now()
	_, err = FromRTSP(ctx, "rtsp://"+hole.Addr().String()+"/silent", WithReconnect())
	took := time.Since(start)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Positive(t, hole.Accepted(), "the camera was reached")
	assert.Less(t, took, wait+promptly, "returned %v after its context ended", took-wait)
}

// WithOpusMode reaches AudioSource's encoder: in OpusLowDelay every packet
// is CELT; in the default VoIP mode speech-rate audio is coded with SILK.
// A mode that is neither is refused.
func TestAudioSourceOpusMode(t *testing.T) {
	t.Parallel()
	ctx := peertest.Context(t, 10*time.Second)
	for _, mode := range []OpusMode{OpusVoIP, OpusLowDelay} {
		src, err := NewAudioSource(AudioFormat{SampleRate: 16000, Channels: 1}, WithOpusMode(mode), WithAudioBitrate(16000), WithStartOnBind())
		require.NoError(t, err)
		b := &binding{codec: src.Codec()}
		_, err = src.Bind(b)
		require.NoError(t, err)
		var phase float64
		require.NoError(t, src.Push(ctx, sine(300, 16000, 1, 400*time.Millisecond, &phase)))
		require.NoError(t, src.Wait(ctx))
		src.Close()
		require.GreaterOrEqual(t, b.writes.Load(), int64(10))
		if mode == OpusLowDelay {
			assert.Equal(t, b.writes.Load(), b.celt.Load(), "low delay: CELT only")
		} else {
			assert.Less(t, b.celt.Load(), b.writes.Load(), "VoIP: SILK at 16 kb/s")
		}
	}
	_, err := NewAudioSource(AudioFormat{SampleRate: 16000, Channels: 1}, WithOpusMode(OpusMode(7)))
	assert.ErrorContains(t, err, "Opus mode 7")
}
