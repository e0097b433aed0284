package agent

import (
	"math"
	"math/cmplx"
	"sync"
)

// fftSize is the transform the spectral VAD takes of a 20 ms frame
// (320 samples, zero-padded): 31.25 Hz a bin at 16 kHz.
const fftSize = 512

var (
	twiddleOnce sync.Once
	twiddles    []complex128 // e^(-2πik/fftSize), k < fftSize/2
	bitReversed []int        // the input order of an in-place transform
	hann        []float64    // a Hann window over one frame
)

func initFFT() {
	twiddles = make([]complex128, fftSize/2)
	for k := range twiddles {
		twiddles[k] = cmplx.Exp(complex(0, -2*math.Pi*float64(k)/fftSize))
	}
	bits := 0
	for 1<<bits < fftSize {
		bits++
	}
	hann = make([]float64, FrameSamples)
	for i := range hann {
		hann[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(FrameSamples-1))
	}
	bitReversed = make([]int, fftSize)
	for i := range bitReversed {
		r := 0
		for b := range bits {
			r |= (i >> b & 1) << (bits - 1 - b)
		}
		bitReversed[i] = r
	}
}

// powerSpectrum writes into power the power of each bin from 0 to
// fftSize/2 of x (at most fftSize samples, zero-padded), using buf
// (fftSize long) for the transform.
func powerSpectrum(power []float64, x []float64, buf []complex128) {
	twiddleOnce.Do(initFFT)
	for i := range buf {
		buf[i] = 0
	}
	for i, v := range x {
		buf[bitReversed[i]] = complex(v, 0)
	}
	// Iterative radix-2 decimation in time.
	for size := 2; size <= fftSize; size <<= 1 {
		half, step := size/2, fftSize/size
		for start := 0; start < fftSize; start += size {
			for k := range half {
				t := twiddles[k*step] * buf[start+k+half]
				u := buf[start+k]
				buf[start+k], buf[start+k+half] = u+t, u-t
			}
		}
	}
	for k := range power {
		re, im := real(buf[k]), imag(buf[k])
		power[k] = re*re + im*im
	}
}
