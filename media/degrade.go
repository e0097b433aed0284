package media

import "time"

// The degradation rule of a transcoded video source under a low bitrate,
// as a browser's camera track: first a smaller picture, then fewer frames,
// and back up as the rate recovers (docs/guides/networks.md).
const (
	// A picture size needs at least downBitsPerPixel bits per pixel at
	// the source's frame rate (720p30 ≈ 1.1 Mb/s, 360p30 ≈ 280 kb/s); it
	// is taken back when the rate gives upBitsPerPixel for it, after the
	// last change is degradeHold old.
	downBitsPerPixel = 0.04
	upBitsPerPixel   = 0.06
	degradeHold      = 4 * time.Second
	// minDegradedFPS is the lowest frame rate the rule goes to.
	minDegradedFPS = 10
)

// scaleSteps are the picture sizes the rule chooses from, as fractions of
// the source's width and height: libwebrtc's alternating 3/4 and 2/3.
var scaleSteps = [...]struct{ num, den int }{{1, 1}, {3, 4}, {1, 2}, {3, 8}, {1, 4}}

// degrader holds one source's choice. The zero value sends the source's
// own size at its own rate.
type degrader struct {
	step    int
	fps     float64 // 0: the source's
	changed time.Time
}

// stepSize is a source size at step, rounded down to even numbers (I420).
func stepSize(w, h, step int) (int, int) {
	s := scaleSteps[step]
	return max(w*s.num/s.den&^1, 2), max(h*s.num/s.den&^1, 2)
}

// choose returns the picture size and frame rate to encode a w×h source
// of srcFPS at bps: down at once, up one step at a time after the hold. A
// size never needs more than top (the source's configured rate) gives it
// pro rata: the picture asked for is kept at the rate asked for.
func (d *degrader) choose(bps, top, w, h int, srcFPS float64, now time.Time) (int, int, float64) {
	need := func(step int, perPixel, fps float64) float64 {
		sw, sh := stepSize(w, h, step)
		area := float64(sw * sh)
		return min(perPixel*area*fps, perPixel/downBitsPerPixel*float64(top)*area/float64(w*h)*fps/srcFPS)
	}
	rate := float64(bps)
	last := len(scaleSteps) - 1
	down := false
	for d.step < last && rate < need(d.step, downBitsPerPixel, srcFPS) {
		d.step, down = d.step+1, true
	}
	fps := srcFPS
	if d.fps > 0 {
		fps = d.fps
	}
	if d.step == last && rate < need(last, downBitsPerPixel, fps) {
		// The smallest picture and still too little: fewer frames.
		d.fps, down = max(rate/need(last, downBitsPerPixel, 1), minDegradedFPS), true
	}
	if down {
		d.changed = now
	} else if now.Sub(d.changed) >= degradeHold {
		switch {
		case d.fps > 0 && rate >= need(d.step, upBitsPerPixel, d.fps*1.5):
			// Frames come back before pixels, in steps of half again.
			if d.fps *= 1.5; d.fps >= srcFPS {
				d.fps = 0
			}
			d.changed = now
		case d.fps == 0 && d.step > 0 && rate >= need(d.step-1, upBitsPerPixel, srcFPS):
			d.step--
			d.changed = now
		}
	}
	sw, sh := stepSize(w, h, d.step)
	if d.fps > 0 {
		return sw, sh, d.fps
	}
	return sw, sh, srcFPS
}
