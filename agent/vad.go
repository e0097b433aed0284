package agent

import "math"

// VAD tells speech from everything else, one frame at a time.
type VAD interface {
	// Speech is the probability (0 to 1) that frame, FrameSamples of
	// 16 kHz mono PCM, holds speech. Calls come in the audio's order.
	Speech(frame []int16) float64
}

// Articulation is what a VAD may also tell about the last frame it judged:
// whether it was articulated, with the energy above 2 kHz that
// consonants and open vowels carry, which a hum with the mouth closed
// ("mm-hm") lacks. A Listener whose VAD implements it ignores the words a
// recogniser hears in an utterance without one articulated frame:
// pocketsphinx hears "for for" or "the wall" in a hum, which with
// MinInterruptionWords 2 would cut the agent off. SpectralVAD implements
// it.
type Articulation interface {
	Articulated() bool
}

// floorFrames is the window the noise floor is the quietest frame of:
// 5 s. Speech has pauses between words and phrases well within it, so
// the floor stays the room's while someone talks, and follows a room that
// gets noisier within the window.
const floorFrames = 250

// EnergyVAD is the floor VAD: a frame is speech by how far its level
// stands above the noise floor, the quietest frame of the last 5 s. It
// needs no model and costs well under a microsecond a frame; it cannot
// tell speech from a door slamming, which is what a model-based VAD is
// for. Use NewEnergyVAD.
type EnergyVAD struct {
	// MarginDB above the floor is even odds of speech (default 12 dB).
	MarginDB float64
	// MinSpeechDB: quieter than this is never speech (default -55 dBFS).
	MinSpeechDB float64

	n     int // frames seen
	floor minWindow
}

// NewEnergyVAD returns a VAD with the default margins.
func NewEnergyVAD() *EnergyVAD {
	return &EnergyVAD{MarginDB: 12, MinSpeechDB: -55}
}

// Speech implements VAD.
func (v *EnergyVAD) Speech(frame []int16) float64 {
	level := LevelDB(frame)
	v.n++
	floor := v.floor.push(v.n, level, floorFrames)
	if level < v.MinSpeechDB {
		return 0
	}
	// A logistic of the level over the floor: 0.5 at MarginDB, 0.9 six
	// decibels higher.
	over := level - floor
	return 1 / (1 + math.Exp(-(over-v.MarginDB)*math.Log(9)/6))
}

// minWindow is the least of the levels pushed over the last few pushes: a
// monotonic queue, its head the least.
type minWindow struct{ q []frameLevel }

type frameLevel struct {
	n     int
	level float64
}

// push adds the n-th level and returns the least of the last size.
func (w *minWindow) push(n int, level float64, size int) float64 {
	for len(w.q) > 0 && w.q[len(w.q)-1].level >= level {
		w.q = w.q[:len(w.q)-1]
	}
	w.q = append(w.q, frameLevel{n, level})
	for w.q[0].n <= n-size {
		w.q = w.q[1:]
	}
	return w.q[0].level
}
