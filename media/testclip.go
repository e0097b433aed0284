package media

import (
	"fmt"
	"math"
	"time"

	"github.com/metered-ca/realtime-go/media/internal/av"
)

// WriteTestClip writes a test clip to path (WebM): moving colour bars at
// 320x240, 30 fps, in VP8, and a 440 Hz tone in Opus, d long. It is made in
// process, for demos and tests that need media without shipping any.
func WriteTestClip(path string, d time.Duration) error {
	const w, h, fps = 320, 240, 30
	venc, err := av.NewVideoEncoder(av.VideoEncoderOptions{Codec: av.CodecVP8, Width: w, Height: h, FPS: fps, Bitrate: 500_000})
	if err != nil {
		return err
	}
	defer venc.Close()
	aenc, err := av.NewOpusEncoder(av.OpusSettings{Channels: 2, Bitrate: 64000})
	if err != nil {
		return err
	}
	defer aenc.Close()
	mux, err := av.CreateMuxer(path, "webm", []av.StreamSpec{
		{Codec: av.CodecVP8, Width: w, Height: h},
		{Codec: av.CodecOpus, SampleRate: 48000, Channels: 2, Extradata: av.OpusHead(2)},
	})
	if err != nil {
		return err
	}
	var werr error
	write := func(stream int, at time.Duration) func(av.Packet) {
		return func(p av.Packet) {
			if werr == nil {
				werr = mux.Write(stream, p.Data, at, p.Key)
			}
		}
	}
	pic := &av.Frame{Width: w, Height: h, StrideY: w, StrideU: w / 2, StrideV: w / 2,
		Y: make([]byte, w*h), U: make([]byte, w*h/4), V: make([]byte, w*h/4)}
	pcm := make([]int16, opusSamples*2)
	var phase float64
	frames := int(d.Seconds() * fps)
	packets := int(d / opusFrame)
	for v, a := 0, 0; (v < frames || a < packets) && werr == nil; {
		vAt, aAt := time.Duration(v)*time.Second/fps, time.Duration(a)*opusFrame
		if v < frames && (a >= packets || vAt <= aAt) {
			bars(pic, v)
			if err := venc.EncodeVideo(pic, int64(v)*90000/fps, v%fps == 0, write(0, vAt)); err != nil {
				werr = err
			}
			v++
			continue
		}
		for i := 0; i < opusSamples; i++ {
			s := int16(8000 * math.Sin(phase))
			phase += 2 * math.Pi * 440 / 48000
			pcm[2*i], pcm[2*i+1] = s, s
		}
		if err := aenc.EncodeAudio(pcm, int64(a)*opusSamples, write(1, aAt)); err != nil {
			werr = err
		}
		a++
	}
	if err := mux.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("media: writing the test clip: %w", werr)
	}
	return nil
}

// bars draws eight vertical colour bars shifted by the frame number.
func bars(f *av.Frame, n int) {
	yuv := [8][3]byte{{235, 128, 128}, {210, 16, 146}, {170, 166, 16}, {145, 54, 34}, {106, 202, 222}, {81, 90, 240}, {41, 240, 110}, {16, 128, 128}}
	for y := 0; y < f.Height; y++ {
		for x := 0; x < f.Width; x++ {
			c := yuv[((x+4*n)*8/f.Width)%8]
			f.Y[y*f.StrideY+x] = c[0]
			if y%2 == 0 && x%2 == 0 {
				f.U[y/2*f.StrideU+x/2], f.V[y/2*f.StrideV+x/2] = c[1], c[2]
			}
		}
	}
}
