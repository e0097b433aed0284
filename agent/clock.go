package agent

import "time"

// mediaClock maps a received track's media time (media.Frame.Timestamp)
// to a steady time for the echo guard: media time plus the least delay
// seen, so that jitter (frames a jitter buffer held and then released
// together) moves no audio, and a lost packet leaves its gap. The least
// delay is taken afresh each clockWindow, so that a sender whose clock
// runs slow or fast against ours is followed.
type mediaClock struct {
	base  time.Time // arrival minus media time: the least of the last window
	least time.Time // the least of the window under way
	since time.Time // when that window began
}

// clockWindow is how long the least delay is looked for.
const clockWindow = 2 * time.Second

// at is when the audio at media time media, which arrived at arrival, was
// made, on the steady clock.
func (m *mediaClock) at(arrival time.Time, media time.Duration) time.Time {
	b := arrival.Add(-media)
	if m.base.IsZero() || b.Before(m.base) {
		m.base = b
	}
	if m.least.IsZero() || b.Before(m.least) {
		m.least = b
	}
	if m.since.IsZero() {
		m.since = arrival
	}
	if arrival.Sub(m.since) >= clockWindow {
		m.base, m.least, m.since = m.least, time.Time{}, arrival
	}
	return m.base.Add(media)
}
