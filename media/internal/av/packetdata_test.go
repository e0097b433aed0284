package av

import (
	"bytes"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCPointers: the pointer cPointer takes from a go-astiav codec
// context is the C struct (a go-astiav release that lays it out otherwise
// fails here, not in a user's process). TestDemuxerReadsEveryPayload reads
// a file through a format context's and a packet's.
func TestCPointers(t *testing.T) {
	enc, err := NewVideoEncoder(VideoEncoderOptions{Codec: CodecVP8, Width: 320, Height: 240, Bitrate: 300_000})
	require.NoError(t, err)
	defer enc.Close()
	assert.Equal(t, 320, codecWidth(enc.cc))
}

// TestDemuxerReadsEveryPayload: Read gives each packet's payload, time
// and keyframe flag exactly, the payload in one buffer that grows when a
// packet outgrows it (a keyframe of noise after plain pictures) and is
// reused otherwise.
func TestDemuxerReadsEveryPayload(t *testing.T) {
	t.Parallel()
	enc, err := NewVideoEncoder(VideoEncoderOptions{Codec: CodecVP8, Width: 320, Height: 240, FPS: 30, Bitrate: 2_000_000})
	require.NoError(t, err)
	defer enc.Close()
	path := filepath.Join(t.TempDir(), "payloads.webm")
	mux, err := CreateMuxer(path, "webm", []StreamSpec{{Codec: CodecVP8, Width: 320, Height: 240}})
	require.NoError(t, err)
	pic := &Frame{Width: 320, Height: 240, StrideY: 320, StrideU: 160, StrideV: 160,
		Y: make([]byte, 320*240), U: make([]byte, 160*120), V: make([]byte, 160*120)}
	rng := rand.New(rand.NewPCG(1, 2))
	var written [][]byte
	var keys []bool
	for i := range 20 {
		if i == 10 { // noise: a keyframe larger than any packet before it
			for j := range pic.Y {
				pic.Y[j] = byte(rng.Uint32())
			}
		}
		require.NoError(t, enc.EncodeVideo(pic, int64(i*3000), i == 0 || i == 10, func(p Packet) {
			written = append(written, p.Data)
			keys = append(keys, p.Key)
			require.NoError(t, mux.Write(0, p.Data, time.Duration(i)*time.Second/30, p.Key))
		}))
	}
	require.NoError(t, mux.Close())
	require.Greater(t, len(written[10]), 2*len(written[0]), "the noise keyframe outgrows the first buffer")

	in, err := OpenInput(path, InputOptions{Protocols: "file"})
	require.NoError(t, err)
	defer in.Close()
	var read int
	var prev []byte
	grew, reused := 0, 0
	for {
		p, err := in.Read()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.Less(t, read, len(written))
		require.True(t, bytes.Equal(written[read], p.Data), "packet %d", read)
		assert.Equal(t, keys[read], p.Key, "packet %d", read)
		assert.Equal(t, (time.Duration(read) * time.Second / 30).Round(time.Millisecond), in.Time(p.Stream, p.PTS), "packet %d (WebM counts milliseconds)", read)
		if prev != nil {
			if unsafe.SliceData(prev) == unsafe.SliceData(p.Data) {
				reused++
			} else {
				grew++
			}
		}
		prev = p.Data
		read++
	}
	assert.Equal(t, len(written), read)
	assert.Equal(t, 1, grew, "one new buffer, for the noise keyframe")
	assert.Equal(t, len(written)-2, reused)
}
