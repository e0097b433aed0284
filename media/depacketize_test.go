package media

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/media/internal/av"
)

// TestH264KeyframeAfterACutFrame: a frame cut short inside a fragmented
// unit (the WHIP bridge's replay to a late viewer began so, now and then)
// does not spoil the keyframe after it: the keyframe's units come out of
// the jitter buffer as the encoder made them, and it and the frames after
// it decode. pion's depacketizer alone put the cut unit's fragments in
// front of the keyframe's slice, and a viewer starting there decoded
// nothing until the keyframe after.
func TestH264KeyframeAfterACutFrame(t *testing.T) {
	t.Parallel()
	// What OBS sends: x264's baseline, one slice a picture, a delimiter
	// before each access unit.
	clip := filepath.Join(t.TempDir(), "cut.h264")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-frames:v", "10",
		"-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-x264-params", "aud=1:keyint=5:min-keyint=5:scenecut=0",
		"-f", "h264", clip).CombinedOutput()
	require.NoError(t, err, "%s", out)
	data, err := os.ReadFile(clip)
	require.NoError(t, err)
	units := accessUnits(data)
	require.Len(t, units, 10)
	require.True(t, isKeyframe(av.CodecH264, units[5]))

	// A viewer's stream: frame 4 without its last packet (the end of a
	// fragmented unit), then the keyframe and the frames after it, then one
	// packet that closes the last.
	payloader := &codecs.H264Payloader{}
	jb := newJitterBuffer(webrtc.RTPCodecTypeVideo, 256, &h264Depacketizer{}, 90000, nil)
	var seq uint16 = 65000
	push := func(ts uint32, payloads ...[]byte) {
		for i, p := range payloads {
			jb.Push(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts, Marker: i == len(payloads)-1}, Payload: p})
			seq++
		}
	}
	cut := payloader.Payload(500, units[4])
	last := cut[len(cut)-1]
	require.True(t, len(cut) > 2 && last[0]&0x1f == 28 && last[1]&0x40 != 0, "frame 4 ends in a fragmented unit")
	push(4*3000, cut[:len(cut)-1]...)
	for i := 5; i < 10; i++ {
		push(uint32(i)*3000, payloader.Payload(500, units[i])...)
	}
	push(10*3000, []byte{0x09, 0xf0}) // a delimiter: frame 9 is over

	dec, err := av.NewDecoder(av.CodecH264, nil)
	require.NoError(t, err)
	defer dec.Close()
	pictures := 0
	for s := jb.Pop(); s != nil; s = jb.Pop() {
		i := int(s.PacketTimestamp / 3000)
		if i < 5 {
			continue // a viewer starts at a keyframe
		}
		if i == 5 {
			want := slices.DeleteFunc(nalUnits(units[5]), func(nal []byte) bool { return nal[0]&0x1f == 9 }) // pion's payloader leaves delimiters out
			got := nalUnits(s.Data)
			assert.True(t, slices.EqualFunc(want, got, bytes.Equal), "the keyframe's units as the encoder made them: %v bytes, got %v",
				unitSizes(want), unitSizes(got))
		}
		_ = dec.Decode(s.Data, int64(i), func(f *av.Frame) {
			pictures++
			assert.Equal(t, 320, f.Width)
		})
	}
	assert.Equal(t, 5, pictures, "the keyframe and the four frames after it decode")
}

// accessUnits splits an Annex B stream with access unit delimiters into
// its access units, each in Annex B with its delimiter.
func accessUnits(b []byte) [][]byte {
	var out [][]byte
	h264NALs(b, func(nal []byte) {
		if len(nal) == 0 {
			return
		}
		if nal[0]&0x1f == 9 || len(out) == 0 {
			out = append(out, nil)
		}
		out[len(out)-1] = append(append(out[len(out)-1], 0, 0, 0, 1), nal...)
	})
	return out
}

// nalUnits lists an Annex B buffer's units without their start codes.
func nalUnits(b []byte) [][]byte {
	var out [][]byte
	h264NALs(b, func(nal []byte) { out = append(out, nal) })
	return out
}

func unitSizes(units [][]byte) []int {
	n := make([]int, len(units))
	for i, u := range units {
		n[i] = len(u)
	}
	return n
}
