package av

import (
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer/peertest"
)

func tone(freq float64, rate, channels, frames int, phase *float64) []int16 {
	out := make([]int16, frames*channels)
	for i := 0; i < frames; i++ {
		v := int16(12000 * math.Sin(*phase))
		*phase += 2 * math.Pi * freq / float64(rate)
		for c := 0; c < channels; c++ {
			out[i*channels+c] = v
		}
	}
	return out
}

// TestOpusRoundTripKeepsTheTone, decoded to stereo and, mixed down, to
// mono.
func TestOpusRoundTripKeepsTheTone(t *testing.T) {
	enc, err := NewOpusEncoder(OpusSettings{Channels: 2, Bitrate: 64000})
	require.NoError(t, err)
	defer enc.Close()
	require.Equal(t, 960, enc.FrameSize())
	stereo, err := NewDecoder(CodecOpus, nil)
	require.NoError(t, err)
	defer stereo.Close()
	mono, err := NewMonoDecoder(CodecOpus)
	require.NoError(t, err)
	defer mono.Close()
	var phase float64
	decoded := map[int][]int16{}
	for i := 0; i < 50; i++ {
		require.NoError(t, enc.EncodeAudio(tone(440, 48000, 2, 960, &phase), int64(i*960), func(p Packet) {
			for channels, dec := range map[int]*Decoder{2: stereo, 1: mono} {
				require.NoError(t, dec.Decode(p.Data, p.PTS, func(f *Frame) {
					assert.Equal(t, 48000, f.SampleRate)
					assert.Equal(t, channels, f.Channels)
					decoded[channels] = append(decoded[channels], f.PCM...)
				}))
			}
		}))
	}
	for channels, pcm := range decoded {
		require.Greater(t, len(pcm), 24000*channels)
		assert.InDelta(t, 440, peertest.ToneHz(pcm[4800*channels:], channels, 48000), 10, "%d channels", channels)
	}
}

// TestBorrowedAudioReusesItsBuffer: DecodeBorrowed hands every audio frame
// in one buffer (it was a third of what 50 agent sessions allocated);
// Decode copies each out, and the tone survives both.
func TestBorrowedAudioReusesItsBuffer(t *testing.T) {
	enc, err := NewOpusEncoder(OpusSettings{Channels: 2, Bitrate: 64000})
	require.NoError(t, err)
	defer enc.Close()
	var phase float64
	var packets []Packet
	for i := range 20 {
		require.NoError(t, enc.EncodeAudio(tone(440, 48000, 2, 960, &phase), int64(i*960), func(p Packet) {
			p.Data = append([]byte(nil), p.Data...)
			packets = append(packets, p)
		}))
	}
	for _, borrow := range []bool{true, false} {
		dec, err := NewDecoder(CodecOpus, nil)
		require.NoError(t, err)
		buffers := map[*int16]bool{}
		var decoded []int16
		emit := func(f *Frame) {
			buffers[&f.PCM[0]] = true
			decoded = append(decoded, f.PCM...)
		}
		for _, p := range packets {
			if borrow {
				require.NoError(t, dec.DecodeBorrowed(p.Data, p.PTS, emit))
			} else {
				require.NoError(t, dec.Decode(p.Data, p.PTS, emit))
			}
		}
		dec.Close()
		if borrow {
			assert.Len(t, buffers, 1, "one buffer for every borrowed frame")
		} else {
			assert.Len(t, buffers, len(packets), "a copy each")
		}
		assert.InDelta(t, 440, peertest.ToneHz(decoded[9600:], 2, 48000), 10)
	}
}

func TestResamplerKeepsTheTone(t *testing.T) {
	r, err := NewResampler(16000, 1, 48000, 2)
	require.NoError(t, err)
	defer r.Close()
	var phase float64
	var out []int16
	for i := 0; i < 50; i++ {
		out, err = r.Convert(out, tone(300, 16000, 1, 320, &phase))
		require.NoError(t, err)
	}
	out, err = r.Convert(out, nil)
	require.NoError(t, err)
	assert.InDelta(t, 50*320*3*2, len(out), 2*200)
	assert.InDelta(t, 300, peertest.ToneHz(out[2000:], 2, 48000), 6)
	_, err = NewResampler(0, 1, 48000, 2)
	assert.Error(t, err)
}

func TestVideoRoundTrip(t *testing.T) {
	for _, c := range []Codec{CodecVP8, CodecH264} {
		t.Run(c.String(), func(t *testing.T) {
			enc, err := NewVideoEncoder(VideoEncoderOptions{Codec: c, Width: 160, Height: 120, FPS: 30})
			require.NoError(t, err)
			defer enc.Close()
			dec, err := NewDecoder(c, nil)
			require.NoError(t, err)
			defer dec.Close()
			pic := &Frame{Width: 160, Height: 120, StrideY: 160, StrideU: 80, StrideV: 80,
				Y: make([]byte, 160*120), U: make([]byte, 80*60), V: make([]byte, 80*60)}
			for i := range pic.Y {
				pic.Y[i] = byte(i % 160)
			}
			frames, keys := 0, 0
			for i := 0; i < 10; i++ {
				require.NoError(t, enc.EncodeVideo(pic, int64(i*3000), i == 0, func(p Packet) {
					if p.Key {
						keys++
					}
					require.NoError(t, dec.Decode(p.Data, p.PTS, func(f *Frame) {
						frames++
						assert.Equal(t, 160, f.Width)
						assert.Equal(t, 120, f.Height)
						assert.InDelta(t, 80, int(f.Y[80]), 12, "luma survives the round trip")
					}))
				}))
			}
			assert.GreaterOrEqual(t, keys, 1)
			assert.GreaterOrEqual(t, frames, 8)
		})
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && Live() != 0 {
		println(Live(), "FFmpeg objects left open")
		code = 1
	}
	os.Exit(code)
}

func TestFFmpegLogsMaskCredentials(t *testing.T) {
	var buf strings.Builder
	SetLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	defer SetLogger(nil)
	_, err := OpenInput("rtsp://admin:hunter2@127.0.0.1:1/cam", InputOptions{Format: "rtsp", Protocols: "rtsp,tcp", Options: map[string]string{"rtsp_transport": "tcp"}})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
	assert.NotContains(t, buf.String(), "hunter2", "FFmpeg's log: %s", buf.String())
	assert.Contains(t, buf.String(), "ffmpeg")
}

// SetBitrate re-opens the encoder at the new rate: the output follows it,
// and the first picture after is a keyframe.
// TestSetBitrateFollows: a video encoder takes a new rate in place, libvpx
// and libx264 alike: its output follows the rate, and no keyframe marks
// the change.
func TestSetBitrateFollows(t *testing.T) {
	for _, codec := range []Codec{CodecVP8, CodecH264} {
		const w, h = 640, 360
		enc, err := NewVideoEncoder(VideoEncoderOptions{Codec: codec, Width: w, Height: h, FPS: 30, Bitrate: 1_500_000})
		require.NoError(t, err)
		f := &Frame{Width: w, Height: h, Y: make([]byte, w*h), U: make([]byte, w*h/4), V: make([]byte, w*h/4), StrideY: w, StrideU: w / 2, StrideV: w / 2}
		// rate encodes n noisy pictures from picture from on; it counts the
		// keyframes among the first 30 (the GOP is 60 pictures).
		rate := func(from, n int) (kbps int, keys int) {
			bytes := 0
			for i := from; i < from+n; i++ {
				for y := 0; y < h; y++ {
					for x := 0; x < w; x++ {
						f.Y[y*w+x] = byte(x/3+y/2+i*4) ^ byte((x*y+i)%7)
					}
				}
				require.NoError(t, enc.EncodeVideo(f, int64(i*3000), false, func(p Packet) {
					if p.Key && i < from+30 {
						keys++
					}
					bytes += len(p.Data)
				}))
			}
			return bytes * 8 * 30 / n / 1000, keys
		}
		high, _ := rate(1, 89)
		require.NoError(t, enc.SetBitrate(300_000))
		assert.Equal(t, 300_000, enc.Bitrate())
		assert.True(t, enc.InPlace(), "%v: in place", codec)
		low, keys := rate(90, 90)
		t.Logf("%v: %d kb/s at 1.5 Mb/s, %d kb/s at 300 kb/s", codec, high, low)
		assert.Zero(t, keys, "%v: no keyframe for the change", codec)
		assert.InDelta(t, 1500, high, 400, "%v", codec)
		assert.InDelta(t, 300, low, 120, "%v", codec)
		enc.Close()
	}
}

// TestScalerHalvesAPicture: a decoded picture scaled to half size keeps
// its content, and the scaled picture encodes at its new size.
func TestScalerHalvesAPicture(t *testing.T) {
	enc, err := NewVideoEncoder(VideoEncoderOptions{Codec: CodecVP8, Width: 160, Height: 120, FPS: 30})
	require.NoError(t, err)
	defer enc.Close()
	small, err := NewVideoEncoder(VideoEncoderOptions{Codec: CodecVP8, Width: 80, Height: 60, FPS: 30})
	require.NoError(t, err)
	defer small.Close()
	dec, err := NewDecoder(CodecVP8, nil)
	require.NoError(t, err)
	defer dec.Close()
	back, err := NewDecoder(CodecVP8, nil)
	require.NoError(t, err)
	defer back.Close()
	sc := NewScaler()
	defer sc.Close()
	pic := &Frame{Width: 160, Height: 120, StrideY: 160, StrideU: 80, StrideV: 80,
		Y: make([]byte, 160*120), U: make([]byte, 80*60), V: make([]byte, 80*60)}
	for i := range pic.Y {
		pic.Y[i] = byte(i % 160) // a ramp across each row
	}
	_, err = sc.Scale(pic, 80, 60)
	assert.Error(t, err, "a picture of Go's own is not scaled")
	scaled := 0
	for i := range 5 {
		require.NoError(t, enc.EncodeVideo(pic, int64(i*3000), i == 0, func(p Packet) {
			require.NoError(t, dec.DecodeBorrowed(p.Data, p.PTS, func(f *Frame) {
				half, err := sc.Scale(f, 80, 60)
				require.NoError(t, err)
				require.NoError(t, small.EncodeVideo(half, f.PTS, scaled == 0, func(p Packet) {
					require.NoError(t, back.Decode(p.Data, p.PTS, func(g *Frame) {
						scaled++
						assert.Equal(t, 80, g.Width)
						assert.Equal(t, 60, g.Height)
						assert.InDelta(t, 80, int(g.Y[40]), 14, "the ramp's middle is still in the middle")
					}))
				}))
			}))
		}))
	}
	assert.GreaterOrEqual(t, scaled, 3)
}

// TestResizeKeepsTheRate: a resized encoder takes pictures of the new size
// at the rate it ran at, starting with a keyframe.
func TestResizeKeepsTheRate(t *testing.T) {
	enc, err := NewVideoEncoder(VideoEncoderOptions{Codec: CodecVP8, Width: 160, Height: 120, FPS: 30, Bitrate: 400_000})
	require.NoError(t, err)
	defer enc.Close()
	require.NoError(t, enc.SetBitrate(300_000))
	require.NoError(t, enc.Resize(80, 60))
	w, h := enc.Size()
	assert.Equal(t, [2]int{80, 60}, [2]int{w, h})
	assert.Equal(t, 300_000, enc.Bitrate())
	small := &Frame{Width: 80, Height: 60, StrideY: 80, StrideU: 40, StrideV: 40, Y: make([]byte, 80*60), U: make([]byte, 40*30), V: make([]byte, 40*30)}
	first := true
	require.NoError(t, enc.EncodeVideo(small, 0, false, func(p Packet) {
		if first {
			assert.True(t, p.Key, "a new stream starts with a keyframe")
			first = false
		}
	}))
	assert.False(t, first, "the resized encoder encodes")
}

// TestFloatToS16: FFmpeg's Opus decoder gives floats; they are scaled by
// 32767, clamped and rounded half up.
func TestFloatToS16(t *testing.T) {
	for _, c := range []struct {
		in   float32
		want int16
	}{
		{0, 0}, {1, 32767}, {-1, -32767}, {2, 32767}, {-2, -32768},
		{0.5 / 32767, 1}, {-0.5 / 32767, 0}, {-0.6 / 32767, -1}, {0.4 / 32767, 0}, {-0.4 / 32767, 0},
		{100.6 / 32767, 101}, {-100.6 / 32767, -101},
		{float32(math.Inf(1)), 32767}, {float32(math.Inf(-1)), -32768}, {float32(math.NaN()), 0},
	} {
		assert.Equal(t, c.want, floatToS16(c.in), "%g", c.in)
	}
}

// TestOpusLowDelayIsCELTOnly: every packet of the low-delay mode is a CELT
// one (TOC configurations 16-31, RFC 6716 3.1), where the VoIP mode at a
// speech rate uses SILK; both keep the tone.
func TestOpusLowDelayIsCELTOnly(t *testing.T) {
	for _, lowDelay := range []bool{false, true} {
		enc, err := NewOpusEncoder(OpusSettings{Channels: 2, Bitrate: 16000, LowDelay: lowDelay})
		require.NoError(t, err)
		dec, err := NewDecoder(CodecOpus, nil)
		require.NoError(t, err)
		var phase float64
		var decoded []int16
		celt, packets := 0, 0
		for i := range 50 {
			require.NoError(t, enc.EncodeAudio(tone(300, 48000, 2, 960, &phase), int64(i*960), func(p Packet) {
				packets++
				if p.Data[0]>>3 >= 16 {
					celt++
				}
				require.NoError(t, dec.Decode(p.Data, p.PTS, func(f *Frame) { decoded = append(decoded, f.PCM...) }))
			}))
		}
		enc.Close()
		dec.Close()
		if lowDelay {
			assert.Equal(t, packets, celt, "low delay: every packet CELT")
		} else {
			assert.Less(t, celt, packets, "VoIP: SILK or hybrid packets")
		}
		assert.InDelta(t, 300, peertest.ToneHz(decoded[9600:], 2, 48000), 10)
	}
}

// TestVP8FirstKeyframeGetsItsBudget: libvpx is told how long each frame
// of a 90 kHz stream lasts. Told one tick (FFmpeg's default), it took the
// first frame for one of 90,000 a second and gave a detailed first
// picture a few hundred bytes (then a second keyframe's worth to mend it),
// and spent a third more CPU on a whole file for a worse picture.
func TestVP8FirstKeyframeGetsItsBudget(t *testing.T) {
	t.Parallel()
	for _, fps := range []int{30, 15} {
		const bitrate = 1_000_000
		enc, err := NewVideoEncoder(VideoEncoderOptions{Codec: CodecVP8, Width: 320, Height: 240, FPS: fps, Bitrate: bitrate})
		require.NoError(t, err)
		rng := rand.New(rand.NewPCG(1, 2))
		pic := &Frame{Width: 320, Height: 240, StrideY: 320, StrideU: 160, StrideV: 160,
			Y: make([]byte, 320*240), U: make([]byte, 160*120), V: make([]byte, 160*120)}
		for i := range pic.Y { // detail: noise over a ramp
			pic.Y[i] = byte(rng.IntN(64) + i%320/2)
		}
		var first int
		require.NoError(t, enc.EncodeVideo(pic, 0, true, func(p Packet) {
			if first == 0 {
				first = len(p.Data)
			}
		}))
		enc.Close()
		// A frame's share of the rate; the keyframe may take up to nine
		// (max-intra-rate 900), and took 40 KB here where one tick gave 275 bytes.
		assert.Greater(t, first, bitrate/8/fps, "at %d fps", fps)
	}
}
