package agent

import "math"

// VAD tells speech from everything else, one frame at a time.
type VAD interface {
	// Speech is the probability (0 to 1) that frame, FrameSamples of
	// 16 kHz mono PCM, holds speech. Calls come in the audio's order.
	Speech(frame []int16) float64
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

	n    int          // frames seen
	mins []frameLevel // increasing levels: the window's minimum first
}

type frameLevel struct {
	n     int
	level float64
}

// NewEnergyVAD returns a VAD with the default margins.
func NewEnergyVAD() *EnergyVAD {
	return &EnergyVAD{MarginDB: 12, MinSpeechDB: -55}
}

// Speech implements VAD.
func (v *EnergyVAD) Speech(frame []int16) float64 {
	level := LevelDB(frame)
	v.n++
	// A monotonic queue: the floor is its head.
	for len(v.mins) > 0 && v.mins[len(v.mins)-1].level >= level {
		v.mins = v.mins[:len(v.mins)-1]
	}
	v.mins = append(v.mins, frameLevel{v.n, level})
	for v.mins[0].n <= v.n-floorFrames {
		v.mins = v.mins[1:]
	}
	if level < v.MinSpeechDB {
		return 0
	}
	// A logistic of the level over the floor: 0.5 at MarginDB, 0.9 six
	// decibels higher.
	over := level - v.mins[0].level
	return 1 / (1 + math.Exp(-(over-v.MarginDB)*math.Log(9)/6))
}
