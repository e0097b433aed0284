package agent

import "math"

// SpectralVAD is the default VAD, in the manner of WebRTC's: each 20 ms
// frame is cut into six frequency bands (80 Hz to 4 kHz, where speech
// carries its energy), and each band's level over that band's noise
// floor is scored against two Gaussian models, one of noise and one of
// speech, which keep learning from the frames they win. The noise floor
// is each band's quietest level over the last 1.6 s, so a fan that comes
// on, a steady hum or a tone stops being speech within about two seconds,
// where the EnergyVAD's five-second floor calls it speech meanwhile; and
// speech is told from noise band by band, so speech over a steady noise
// of the same loudness still counts. The EnergyVAD's absolute floor
// (MinSpeechDB) applies too: a quieter frame is never speech.
//
// It costs a 512-point FFT a frame (a few microseconds). Use
// NewSpectralVAD; it is for one stream.
type SpectralVAD struct {
	// MinSpeechDB: quieter than this is never speech (default -55 dBFS).
	MinSpeechDB float64

	floors [vadBands]minWindow
	smooth [vadBands]float64  // each band's power, smoothed over frames
	noise  [vadBands]gaussian // a band's level over its floor, in noise
	speech [vadBands]gaussian // the same, in speech
	n      int

	articulated bool // the last frame's upper bands came near its strongest

	samples []float64
	fft     []complex128
	power   []float64
}

const (
	vadBands = 6
	// floorWindow is how far back a band's floor looks: long enough to
	// take in a pause between a speaker's words, short enough to follow
	// a room that got noisier.
	floorWindow = 80 // frames: 1.6 s
	// oneBandEvidence is the log-likelihood ratio that one band alone
	// must show (the weighted mean of all six needs only to be positive):
	// steady noise, white or a fan's, gives a few such frames in ten
	// thousand, never two in a row.
	oneBandEvidence = 5
	// floorSmoothing: each frame moves a band's smoothed power this far
	// (a time constant of about three frames).
	floorSmoothing = 0.3
	// articulationDB: a frame is articulated when its 2-4 kHz bands come
	// within this much of its strongest band. flite's words, "no" and
	// "uh-huh" included, reach -24 dB or more in some frame; a hum of
	// voiced harmonics with the mouth closed stays under -50 dB.
	articulationDB = -40
)

// vadBandEdges are the bands' edges in Hz: WebRTC's six.
var vadBandEdges = [vadBands + 1]float64{80, 250, 500, 1000, 2000, 3000, 4000}

// vadBandWeights: how much each band's evidence counts; the middle bands
// carry speech's formants, the outer ones hum and hiss as much as speech.
var vadBandWeights = [vadBands]float64{0.6, 1, 1, 1, 0.8, 0.6}

// NewSpectralVAD returns a SpectralVAD with the default floor.
func NewSpectralVAD() *SpectralVAD {
	v := &SpectralVAD{
		MinSpeechDB: -55,
		samples:     make([]float64, FrameSamples),
		fft:         make([]complex128, fftSize),
		power:       make([]float64, fftSize/2+1),
	}
	for b := range v.noise {
		// A band of steady noise sits a few decibels over its own
		// quietest frame; speech, tens of decibels.
		v.noise[b] = gaussian{mean: 4, variance: 3 * 3}
		v.speech[b] = gaussian{mean: 20, variance: 9 * 9}
	}
	return v
}

// Speech implements VAD.
func (v *SpectralVAD) Speech(frame []int16) float64 {
	levels := v.bandLevels(frame)
	v.n++
	strongest := max(levels[0], levels[1], levels[2], levels[3], levels[4], levels[5])
	v.articulated = max(levels[4], levels[5]) >= strongest+articulationDB
	var over [vadBands]float64
	score, weights, best := 0.0, 0.0, math.Inf(-1)
	for b, level := range levels {
		// The floor is the least of the band's smoothed level: a
		// narrow band's level from one frame of noise varies by
		// several decibels, and its least over 80 frames would sit far
		// under the noise's mean.
		p := math.Pow(10, level/10)
		if v.n == 1 {
			v.smooth[b] = p
		}
		v.smooth[b] += floorSmoothing * (p - v.smooth[b])
		floor := v.floors[b].push(v.n, 10*math.Log10(v.smooth[b]), floorWindow)
		over[b] = level - floor
		llr := max(-8, min(12, v.speech[b].logDensity(over[b])-v.noise[b].logDensity(over[b])))
		score += vadBandWeights[b] * llr
		weights += vadBandWeights[b]
		best = max(best, llr)
	}
	// Speech is the frame's evidence over all bands, or strong evidence
	// in one: a voice's energy may sit in two bands while the others
	// hold only the room.
	p := 1 / (1 + math.Exp(-max(score/weights, best-oneBandEvidence)))
	// Each model learns from the frames it clearly wins.
	switch {
	case p < 0.3:
		for b := range over {
			// Only a band that looks like its noise: speech in one
			// band of a frame that lost would teach the noise model
			// speech, and it would win more and more of it.
			if g := v.noise[b]; over[b]-g.mean < 2.5*math.Sqrt(g.variance) {
				v.noise[b].learn(over[b], 0.05, 1.5, 3)
			}
		}
	case p > 0.7:
		for b := range over {
			if over[b] > v.noise[b].mean+3 { // a band the speech reached
				v.speech[b].learn(over[b], 0.02, 4, 12)
				v.speech[b].mean = max(v.speech[b].mean, v.noise[b].mean+8)
			}
		}
	}
	if LevelDB(frame) < v.MinSpeechDB {
		return 0
	}
	return p
}

// Articulated implements Articulation.
func (v *SpectralVAD) Articulated() bool { return v.articulated }

// bandLevels is each band's power in frame, in dB relative to a full-scale
// signal in that band.
func (v *SpectralVAD) bandLevels(frame []int16) [vadBands]float64 {
	twiddleOnce.Do(initFFT)
	n := min(len(frame), FrameSamples)
	for i := range n {
		// A Hann window keeps a loud band from leaking into its
		// neighbours' floors.
		v.samples[i] = hann[i] * float64(frame[i]) / 32768
	}
	powerSpectrum(v.power, v.samples[:n], v.fft)
	// A full-scale sine, windowed (Parseval: half the transform's power
	// is on the positive side; a Hann window keeps 3/8 of a sine's).
	fullScale := fftSize / 2 * float64(n) * 3 / 16
	var levels [vadBands]float64
	const binHz = float64(SampleRate) / fftSize
	for b := range levels {
		sum := 0.0
		for k := int(math.Ceil(vadBandEdges[b] / binHz)); float64(k)*binHz < vadBandEdges[b+1]; k++ {
			sum += v.power[k]
		}
		levels[b] = 10 * math.Log10(sum/fullScale+1e-12)
	}
	return levels
}

// gaussian is one band's model of its level over the floor.
type gaussian struct{ mean, variance float64 }

// logDensity is the log of the model's density at x.
func (g gaussian) logDensity(x float64) float64 {
	d := x - g.mean
	return -0.5*math.Log(2*math.Pi*g.variance) - d*d/(2*g.variance)
}

// learn moves the model towards x at rate, its deviation kept within
// [lo, hi] dB.
func (g *gaussian) learn(x, rate, lo, hi float64) {
	d := x - g.mean
	g.mean += rate * d
	g.variance += rate * (d*d - g.variance)
	g.variance = max(lo*lo, min(hi*hi, g.variance))
}
