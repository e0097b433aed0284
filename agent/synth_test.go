package agent

import (
	"math"
	"math/rand/v2"
	"time"
)

// speechLike is d of 16 kHz audio with speech's loudness contour:
// syllables of 80-250 ms at -26 to -14 dBFS with pauses of 30-200 ms,
// each a band-limited noise. It is what the echo guard and the VADs look
// at (the contour and the level), without a voice model.
func speechLike(seed uint64, d time.Duration) []int16 {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]int16, 0, samplesOf(d))
	var lp float64
	for len(out) < cap(out) {
		syl := samplesOf(time.Duration(80+r.IntN(170)) * time.Millisecond)
		amp := math.Pow(10, (-26+12*r.Float64())/20) * 32768 * 3 // the low-pass takes ~10 dB
		for i := 0; i < syl && len(out) < cap(out); i++ {
			// a raised-cosine envelope, so syllables rise and fall
			env := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(syl))
			lp += 0.3 * (r.NormFloat64() - lp)
			out = append(out, clip(amp*env*lp))
		}
		gap := samplesOf(time.Duration(30+r.IntN(170)) * time.Millisecond)
		for i := 0; i < gap && len(out) < cap(out); i++ {
			out = append(out, clip(3*r.NormFloat64())) // a quiet room
		}
	}
	return out
}

// echoOf is pcm as it comes back from a far speaker: gain dB quieter,
// low-passed, with noise at -50 dBFS (a codec and a room, roughly).
func echoOf(pcm []int16, gain float64, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, 7))
	g := math.Pow(10, gain/20)
	out := make([]int16, len(pcm))
	var lp float64
	for i, s := range pcm {
		lp += 0.5 * (float64(s) - lp)
		out[i] = clip(g*lp + 100*r.NormFloat64())
	}
	return out
}

// mix adds b to a (b may be shorter).
func mix(a, b []int16) []int16 {
	out := make([]int16, len(a))
	for i := range a {
		v := float64(a[i])
		if i < len(b) {
			v += float64(b[i])
		}
		out[i] = clip(v)
	}
	return out
}

// silence is d of digital silence.
func silence(d time.Duration) []int16 { return make([]int16, samplesOf(d)) }

func clip(v float64) int16 { return int16(max(-32768, min(32767, v))) }

// duplex plays sent and heard frame by frame, as time passes in a call:
// at each 20 ms the agent's frame goes out (to g) and the heard frame
// comes in (to onHeard).
func duplex(g *EchoGuard, t0 time.Time, sent, heard []int16, onHeard func(at time.Duration, frame []int16)) {
	for i := 0; i+FrameSamples <= len(heard); i += FrameSamples {
		at := time.Duration(i) * time.Second / SampleRate
		if i+FrameSamples <= len(sent) {
			g.Sent(t0.Add(at), sent[i:i+FrameSamples])
		}
		onHeard(at, heard[i:i+FrameSamples])
	}
}
