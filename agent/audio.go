package agent

import (
	"math"
	"slices"
	"time"
)

// The audio the toolkit reads: 16 kHz mono, 20 ms frames.
const (
	SampleRate    = 16000
	FrameDuration = 20 * time.Millisecond
	FrameSamples  = SampleRate / 50
)

// silenceDB is the level of digital silence, and the floor of levelDB.
const silenceDB = -100.0

// LevelDB is the RMS level of pcm in dB relative to full scale; -100 for
// digital silence.
func LevelDB(pcm []int16) float64 {
	if len(pcm) == 0 {
		return silenceDB
	}
	var sum float64
	for _, s := range pcm {
		v := float64(s) / 32768
		sum += v * v
	}
	ms := sum / float64(len(pcm))
	if ms <= 1e-10 {
		return silenceDB
	}
	return 10 * math.Log10(ms)
}

// samplesOf is how many samples at SampleRate last d.
func samplesOf(d time.Duration) int { return int(d * SampleRate / time.Second) }

// PCMBytes is pcm as little-endian bytes, as media.AudioSource.Push takes
// it.
func PCMBytes(pcm []int16) []byte { return appendPCMBytes(make([]byte, 0, 2*len(pcm)), pcm) }

// appendPCMBytes appends pcm to b as s16le.
func appendPCMBytes(b []byte, pcm []int16) []byte {
	n := len(b)
	b = slices.Grow(b, 2*len(pcm))[:n+2*len(pcm)]
	for i, s := range pcm {
		b[n+2*i], b[n+2*i+1] = byte(s), byte(uint16(s)>>8)
	}
	return b
}
