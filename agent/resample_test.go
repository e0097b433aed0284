package agent

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestToFramesKeepsLevelAndLength(t *testing.T) {
	t.Parallel()
	// 100 ms of a 440 Hz tone at 48 kHz stereo, -12 dBFS.
	var in []int16
	for i := range 4800 {
		v := int16(0.25 * 32767 * math.Sin(2*math.Pi*440*float64(i)/48000))
		in = append(in, v, v)
	}
	out := ToFrames(nil, in, 48000, 2)
	assert.Len(t, out, 1600)
	assert.InDelta(t, LevelDB(in), LevelDB(out), 0.2)
	// At 16 kHz mono it is a copy.
	assert.Equal(t, out, ToFrames(nil, out, SampleRate, 1))
	assert.Empty(t, ToFrames(nil, in, 0, 2))
}
