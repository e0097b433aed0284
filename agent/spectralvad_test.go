package agent

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/media"
)

// noise is d of steady noise at about level dBFS: white, or low-passed
// (a fan's rumble) when lowPass is set.
func noise(seed uint64, d time.Duration, level float64, lowPass bool) []int16 {
	r := rand.New(rand.NewPCG(seed, 11))
	out := make([]int16, samplesOf(d))
	amp := math.Pow(10, level/20) * 32768
	var lp float64
	for i := range out {
		v := r.NormFloat64()
		if lowPass {
			lp += 0.1 * (v - lp)
			v = lp * 3.2 // the low-pass takes ~10 dB
		}
		out[i] = clip(amp * v)
	}
	return out
}

// vadFrames runs vad over pcm and returns each frame's verdict.
func vadFrames(vad VAD, pcm []int16) []bool {
	var out []bool
	for i := 0; i+FrameSamples <= len(pcm); i += FrameSamples {
		out = append(out, vad.Speech(pcm[i:i+FrameSamples]) >= 0.5)
	}
	return out
}

// share is the part of verdicts[from:to] that is speech.
func share(verdicts []bool, from, to int) float64 {
	n := 0
	for _, v := range verdicts[from:to] {
		if v {
			n++
		}
	}
	return float64(n) / float64(to-from)
}

func frameOf(d time.Duration) int { return int(d / FrameDuration) }

// spoken is a sentence from flite, 16 kHz mono.
func spoken(t testing.TB, text string) []int16 {
	t.Helper()
	pcm, f, err := media.Speak(context.Background(), text, media.SpeakOptions{})
	require.NoError(t, err)
	require.Equal(t, SampleRate, f.SampleRate)
	return pcm
}

// Speech over a steady noise 16 dB under its loudest frame, white or a
// fan's rumble: the spectral VAD finds the loud syllables, and hardly any
// of the noise around them.
func TestSpectralVADHearsSpeechOverSteadyNoise(t *testing.T) {
	t.Parallel()
	for i, text := range []string{
		"Which trains go to Leeds this afternoon? I need one that gets there before six.",
		"Could you book a table for two at eight tonight, somewhere quiet near the station?",
		"No, not that one. The other one, with the blue cover.",
	} {
		speech := spoken(t, text)
		for _, fan := range []bool{false, true} {
			heard, falsely := vadOverNoise(speech, uint64(i), fan, NewSpectralVAD())
			eHeard, eFalsely := vadOverNoise(speech, uint64(i), fan, NewEnergyVAD())
			t.Logf("%q, fan %v: loud speech frames heard %.2f (energy VAD %.2f), noise frames called speech %.3f (%.3f)", text[:12], fan, heard, eHeard, falsely, eFalsely)
			assert.GreaterOrEqual(t, heard, 0.85, "%q, fan %v: the loud syllables are speech", text, fan)
			assert.LessOrEqual(t, falsely, 0.02, "%q, fan %v: the noise alone is not", text, fan)
		}
	}
}

// vadOverNoise plays speech over noise 16 dB under its loudest frame,
// with 3 s of noise before and 2 s after, and returns the share of its
// loud frames (within 10 dB of the loudest) vad called speech, and the
// share of the noise-only frames after the first 2 s it did.
func vadOverNoise(speech []int16, seed uint64, fan bool, vad VAD) (heard, falsely float64) {
	peak := -100.0
	for i := 0; i+FrameSamples <= len(speech); i += FrameSamples {
		peak = max(peak, LevelDB(speech[i:i+FrameSamples]))
	}
	lead := 3 * time.Second
	pcm := noise(seed, lead+time.Duration(len(speech))*time.Second/SampleRate+2*time.Second, peak-16, fan)
	copy(pcm[samplesOf(lead):], mix(pcm[samplesOf(lead):], speech))
	loud, quiet, h, f := 0, 0, 0, 0
	for i, v := range vadFrames(vad, pcm) {
		j := i - frameOf(lead)
		switch {
		case j < 0 || (j+1)*FrameSamples > len(speech):
			if i >= frameOf(2*time.Second) { // the floors have settled
				quiet++
				if v {
					f++
				}
			}
		case LevelDB(speech[j*FrameSamples:(j+1)*FrameSamples]) > peak-10:
			loud++
			if v {
				h++
			}
		}
	}
	return float64(h) / float64(max(loud, 1)), float64(f) / float64(max(quiet, 1))
}

// A fan that comes on and stays on is speech for the energy VAD until its
// five-second floor catches up; the spectral VAD lets it go within two.
func TestSpectralVADForgetsANoiseThatStays(t *testing.T) {
	t.Parallel()
	pcm := append(noise(2, 2*time.Second, -70, true), noise(3, 8*time.Second, -30, true)...)
	spectral, energy := vadFrames(NewSpectralVAD(), pcm), vadFrames(NewEnergyVAD(), pcm)
	on := frameOf(2 * time.Second)
	settled := on + frameOf(2*time.Second)
	t.Logf("after the fan came on, speech: spectral %.2f then %.2f, energy %.2f then %.2f",
		share(spectral, on, settled), share(spectral, settled, len(spectral)), share(energy, on, settled), share(energy, settled, len(energy)))
	assert.LessOrEqual(t, share(spectral, settled, len(spectral)), 0.02, "two seconds on, the fan is not speech")
	assert.GreaterOrEqual(t, share(energy, settled, settled+frameOf(2*time.Second)), 0.9, "the energy VAD's floor is slower (the test's premise)")
}

// A tone is speech from its first frame (a barge-in's onset in tests) and
// for a second at least, and stops being speech once it has stayed two.
func TestSpectralVADTone(t *testing.T) {
	t.Parallel()
	lead := noise(4, time.Second, -70, false)
	tone := make([]int16, samplesOf(5*time.Second))
	for i := range tone {
		tone[i] = clip(0.1*32768*math.Sin(2*math.Pi*300*float64(i)/SampleRate)) + lead[i%len(lead)]
	}
	verdicts := vadFrames(NewSpectralVAD(), append(lead, tone...))
	on := frameOf(time.Second)
	assert.True(t, verdicts[on], "the tone's first frame is speech")
	assert.Equal(t, 1.0, share(verdicts, on, on+frameOf(time.Second)), "its first second is")
	assert.Zero(t, share(verdicts, on+frameOf(3*time.Second), len(verdicts)), "after three seconds it is not")
}

// A stream's floor is what it starts with: a room's noise from the first
// frame is not speech, and words after a moment of silence are; digital
// silence never is.
func TestSpectralVADFromTheFirstFrame(t *testing.T) {
	t.Parallel()
	assert.Zero(t, share(vadFrames(NewSpectralVAD(), noise(6, 3*time.Second, -50, false)), 0, frameOf(3*time.Second)), "a room's noise")
	speech := spoken(t, "Hello there.")
	lead := frameOf(100 * time.Millisecond)
	verdicts := vadFrames(NewSpectralVAD(), append(append(silence(100*time.Millisecond), speech...), silence(2*time.Second)...))
	assert.Greater(t, share(verdicts, lead, lead+len(speech)/FrameSamples), 0.5, "the words are speech")
	assert.Zero(t, share(verdicts, lead+len(speech)/FrameSamples+5, len(verdicts)), "digital silence is not")
}

func BenchmarkSpectralVAD(b *testing.B) {
	pcm := noise(5, time.Second, -30, false)
	v := NewSpectralVAD()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		j := i % (len(pcm) / FrameSamples) * FrameSamples
		v.Speech(pcm[j : j+FrameSamples])
	}
}
