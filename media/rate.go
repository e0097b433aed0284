package media

import (
	"sync"
	"time"

	"github.com/metered-ca/realtime-go/media/internal/av"
)

// The constants of Track.FollowBitrate's rule.
const (
	videoShare      = 0.8
	audioShare      = 0.1
	rateCheckEvery  = 250 * time.Millisecond
	rateMargin      = 0.1
	rateRaiseAfter  = time.Second
	minVideoDefault = 100_000
	minAudioDefault = 16_000
)

// rateControl chooses one encoder's bitrate.
type rateControl struct {
	lo, hi int     // the caller's range
	share  float64 // of each connection's estimate

	mu      sync.Mutex
	next    int
	follows map[int]func() int
	current int
	changed time.Time // of the last change that holds a raise back
	checked time.Time
	guessed bool // the rate was set once: to the first estimate's share
}

func newRateControl(lo, hi int, share float64) *rateControl {
	lo = min(lo, hi)
	return &rateControl{lo: lo, hi: hi, share: share, current: hi, follows: map[int]func() int{}}
}

// follow adds a connection's estimate; stop removes it.
func (r *rateControl) follow(estimate func() int) (stop func()) {
	r.mu.Lock()
	id := r.next
	r.next++
	r.follows[id] = estimate
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		delete(r.follows, id)
		r.mu.Unlock()
	}
}

// estimates reads every connection's estimate, outside the lock: they are
// calls into the connections' estimators.
func (r *rateControl) estimates() []int {
	r.mu.Lock()
	fs := make([]func() int, 0, len(r.follows))
	for _, f := range r.follows {
		fs = append(fs, f)
	}
	r.mu.Unlock()
	out := make([]int, len(fs))
	for i, f := range fs {
		out[i] = f()
	}
	return out
}

// target is the rate the rule gives for estimates; with none (nobody
// watching through an estimator) the top of the range.
func (r *rateControl) target(estimates []int) int {
	best, any := 0, false
	for _, est := range estimates {
		share := int(float64(est) * r.share)
		if share <= 0 {
			continue
		}
		any = true
		if share >= r.lo && (best == 0 || share < best) {
			best = share
		}
	}
	switch {
	case !any:
		return r.hi
	case best == 0:
		return r.lo
	}
	return min(max(best, r.lo), r.hi)
}

// poll returns the rate to set the encoder to, when it is time to
// change; the caller reports back with set.
func (r *rateControl) poll(now time.Time) (int, bool) {
	if r == nil {
		return 0, false
	}
	r.mu.Lock()
	due := now.Sub(r.checked) >= rateCheckEvery
	if due {
		r.checked = now
	}
	r.mu.Unlock()
	if !due {
		return 0, false
	}
	t := r.target(r.estimates())
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := float64(r.current)
	switch {
	case float64(t) < cur*(1-rateMargin):
		return t, true
	case float64(t) > cur*(1+rateMargin) && now.Sub(r.changed) >= rateRaiseAfter:
		return t, true
	case t == r.hi && r.current != r.hi && now.Sub(r.changed) >= rateRaiseAfter:
		return t, true // the last step up to the top
	}
	return 0, false
}

// adapt sets enc to the rate the estimates now call for, when it is time
// to change; it reports whether it did.
func (r *rateControl) adapt(enc *av.Encoder) (bool, error) {
	now := time.Now()
	bps, change := r.poll(now)
	if !change {
		return false, nil
	}
	if err := enc.SetBitrate(bps); err != nil {
		return false, err
	}
	r.set(bps, now)
	return true, nil
}

// set records the rate the encoder now runs at. The first setting holds
// no raise back: it follows a connection's starting estimate, a guess that
// start-up probes replace within a feedback interval, and holding the
// encoder under their result left the path's delay unmeasured at the rate
// it was about to carry (the start-up figure in docs/guides/networks.md).
func (r *rateControl) set(bps int, now time.Time) {
	r.mu.Lock()
	r.current = bps
	if r.guessed {
		r.changed = now
	}
	r.guessed = true
	r.mu.Unlock()
}

// top is the highest rate of the range.
func (r *rateControl) top() int {
	if r == nil {
		return 0
	}
	return r.hi
}

// usableEstimate is the estimate whose share is the top of the range.
func (r *rateControl) usableEstimate() int {
	if r == nil {
		return 0
	}
	return int(float64(r.hi) / r.share)
}

func (r *rateControl) rate() int {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current
}

// meter measures what a track actually sends, over whole seconds.
type meter struct {
	mu             sync.Mutex
	start          time.Time
	bytes, frames  int
	bitrate        int
	fps            float64
	width, height  int
	lastSampleTime time.Time
}

func (m *meter) add(n int, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.start.IsZero() {
		m.start = now
	}
	m.bytes += n
	m.frames++
	if d := now.Sub(m.start); d >= time.Second {
		m.bitrate = int(float64(m.bytes*8) / d.Seconds())
		m.fps = float64(m.frames) / d.Seconds()
		m.start, m.bytes, m.frames = now, 0, 0
	}
	m.lastSampleTime = now
}

func (m *meter) picture(w, h int) {
	m.mu.Lock()
	m.width, m.height = w, h
	m.mu.Unlock()
}

// Sending is what a track's source is sending now.
type Sending struct {
	// MimeType is the track's codec.
	MimeType string
	// Adaptive tells whether the source encodes, and so follows the
	// connections' bandwidth estimates; a passthrough source sends the
	// input's own rate whatever the link (a viewer on a thinner link loses
	// packets and waits for keyframes).
	Adaptive bool
	// TargetBitrate is the rate the encoder runs at (0 for passthrough).
	TargetBitrate int
	// Bitrate and FrameRate are measured over the last whole second of
	// samples written (frames per second; audio: Opus packets).
	Bitrate   int
	FrameRate float64
	// Width and Height of the latest picture (video that is encoded here).
	Width, Height int
}
