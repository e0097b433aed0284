package media

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestDegradeRule(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var d degrader
	type pic struct {
		w, h int
		fps  float64
	}
	at := func(bps int, s time.Duration) pic {
		w, h, fps := d.choose(bps, 4_000_000, 1280, 720, 30, t0.Add(s))
		return pic{w, h, fps}
	}
	assert.Equal(t, pic{1280, 720, 30}, at(1_500_000, 0), "enough for the source")
	assert.Equal(t, pic{640, 360, 30}, at(300_000, time.Second), "down at once, as far as needed")
	assert.Equal(t, pic{320, 180, 30}, at(80_000, 2*time.Second))
	assert.Equal(t, pic{320, 180, 20}, at(46_080, 3*time.Second), "then fewer frames")
	assert.Equal(t, pic{320, 180, 10}, at(10_000, 4*time.Second), "never under 10 frames/s")
	assert.Equal(t, pic{320, 180, 10}, at(1_500_000, 7*time.Second), "up only after the hold")
	assert.Equal(t, pic{320, 180, 15}, at(1_500_000, 8*time.Second), "frames first, half again")
	assert.Equal(t, pic{320, 180, 22.5}, at(1_500_000, 12*time.Second))
	assert.Equal(t, pic{320, 180, 30}, at(1_500_000, 16*time.Second))
	assert.Equal(t, pic{480, 270, 30}, at(1_500_000, 20*time.Second), "then pixels, a step at a time")
	assert.Equal(t, pic{480, 270, 30}, at(1_500_000, 23*time.Second))
	assert.Equal(t, pic{640, 360, 30}, at(1_500_000, 24*time.Second))
	// Hysteresis: 300 kb/s holds 640×360 (it needs 276 kb/s) but does not
	// take back 960×540 (it would need 933 kb/s).
	assert.Equal(t, pic{640, 360, 30}, at(300_000, 40*time.Second))
	assert.Equal(t, pic{640, 360, 30}, at(700_000, 50*time.Second), "700 kb/s is not enough to go up to 960×540")
	assert.Equal(t, pic{960, 540, 30}, at(950_000, 60*time.Second))
}

// TestDegradeKeepsWhatWasAskedFor: 1080p asked for at 1.2 Mb/s (under the
// 2.5 Mb/s the rule would want) stays 1080p at that rate, and steps down
// from there.
func TestDegradeKeepsWhatWasAskedFor(t *testing.T) {
	t.Parallel()
	var d degrader
	now := time.Now()
	w, h, _ := d.choose(1_200_000, 1_200_000, 1920, 1080, 30, now)
	assert.Equal(t, [2]int{1920, 1080}, [2]int{w, h})
	w, h, _ = d.choose(1_000_000, 1_200_000, 1920, 1080, 30, now)
	assert.Equal(t, [2]int{1440, 810}, [2]int{w, h})
}
