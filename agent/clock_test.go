package agent

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestMediaClockIgnoresJitter: frames held up to 60 ms and released in
// bursts map to their media times, one base apart; a lost frame keeps its
// gap.
func TestMediaClockIgnoresJitter(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	r := rand.New(rand.NewPCG(1, 2))
	var m mediaClock
	var base time.Time
	for k := range 500 {
		if k == 250 {
			continue // lost
		}
		media := time.Duration(k) * FrameDuration
		arrival := t0.Add(media + 30*time.Millisecond + time.Duration(r.IntN(60))*time.Millisecond)
		if k%10 == 0 {
			arrival = t0.Add(media + 30*time.Millisecond) // now and then one on time
		}
		got := m.at(arrival, media)
		if k == 0 {
			base = got.Add(-media)
		}
		assert.WithinDuration(t, base.Add(media), got, time.Millisecond, "frame %d", k)
		assert.False(t, got.After(arrival), "frame %d mapped after it arrived", k)
	}
}

// TestMediaClockFollowsASlowSender: a sender 0.5 % slow drifts 10 ms
// every 2 s against our clock; the mapping stays within two windows'
// drift of the arrivals over a minute (unfollowed, 300 ms off by then).
func TestMediaClockFollowsASlowSender(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	var m mediaClock
	for k := range 3000 { // 60 s
		media := time.Duration(k) * FrameDuration
		arrival := t0.Add(time.Duration(float64(media)*1.005) + 30*time.Millisecond)
		got := m.at(arrival, media)
		assert.False(t, got.After(arrival), "frame %d", k)
		assert.WithinDuration(t, arrival, got, 25*time.Millisecond, "frame %d", k)
	}
}
