package agent

// ToFrames turns decoded audio (interleaved channels at rate) into the
// toolkit's audio, 16 kHz mono, appending to dst: channels are averaged
// and the rate converted by linear interpolation, which is enough for
// levels and contours (a recogniser wants its own resampler).
func ToFrames(dst, pcm []int16, rate, channels int) []int16 {
	if rate <= 0 || channels <= 0 {
		return dst
	}
	n := len(pcm) / channels
	mono := func(i int) float64 {
		var sum int
		for c := range channels {
			sum += int(pcm[i*channels+c])
		}
		return float64(sum) / float64(channels)
	}
	if rate == SampleRate {
		for i := range n {
			dst = append(dst, int16(mono(i)))
		}
		return dst
	}
	step := float64(rate) / SampleRate
	for x := 0.0; int(x) < n; x += step {
		i := int(x)
		v := mono(i)
		if i+1 < n {
			v += (mono(i+1) - v) * (x - float64(i))
		}
		dst = append(dst, int16(v))
	}
	return dst
}
