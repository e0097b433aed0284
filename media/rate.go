package media

import (
	"sync"
	"time"

	"github.com/metered-ca/realtime-go/media/internal/av"
	"github.com/metered-ca/realtime-go/peer"
)

// The constants of Track.FollowBitrate's rule.
const (
	rateHeadroom    = 0.1 // of a connection's estimate: packet overhead, RTCP, repairs
	audioPart       = 0.1
	rateCheckEvery  = 250 * time.Millisecond
	rateMargin      = 0.1
	rateRaiseAfter  = time.Second
	minVideoDefault = 100_000
	minAudioDefault = 16_000
)

// A share is the part of a connection's estimate one encoder takes, given
// what else the connection sends; others is nil when that is not known (a
// caller of FollowBitrate rather than FollowSharedBitrate).
type share func(others *peer.OtherTracks) float64

// videoShare leaves the headroom and each audio track's part, and splits
// the rest evenly between the connection's video tracks: 90 % for a video
// track alone, 80 % beside one audio track. Not knowing what else is sent,
// it assumes one audio track, the usual call.
func videoShare(others *peer.OtherTracks) float64 {
	if others == nil {
		others = &peer.OtherTracks{Audio: 1}
	}
	s := (1 - rateHeadroom - audioPart*float64(others.Audio)) / float64(1+others.Video)
	return max(s, audioPart)
}

// audioShare is the same whatever else is sent: it gives way only on thin
// links.
func audioShare(*peer.OtherTracks) float64 { return audioPart }

// following is one connection an encoder follows.
type following struct {
	estimate func() int
	others   func() peer.OtherTracks // nil: not known
}

// share is f's part of its connection's estimate, by rule.
func (f following) share(rule share) float64 {
	if f.others == nil {
		return rule(nil)
	}
	o := f.others()
	return rule(&o)
}

// rateControl chooses one encoder's bitrate.
type rateControl struct {
	lo, hi int   // the caller's range
	share  share // of each connection's estimate

	mu      sync.Mutex
	next    int
	follows map[int]following
	current int
	changed time.Time // of the last change that holds a raise back
	checked time.Time
	guessed bool // the rate was set once: to the first estimate's share
}

func newRateControl(lo, hi int, rule share) *rateControl {
	lo = min(lo, hi)
	return &rateControl{lo: lo, hi: hi, share: rule, current: hi, follows: map[int]following{}}
}

// follow adds a connection's estimate, and what else the connection sends
// when others is not nil; stop removes it.
func (r *rateControl) follow(estimate func() int, others func() peer.OtherTracks) (stop func()) {
	r.mu.Lock()
	id := r.next
	r.next++
	r.follows[id] = following{estimate: estimate, others: others}
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		delete(r.follows, id)
		r.mu.Unlock()
	}
}

// followed lists the connections followed now.
func (r *rateControl) followed() []following {
	r.mu.Lock()
	defer r.mu.Unlock()
	fs := make([]following, 0, len(r.follows))
	for _, f := range r.follows {
		fs = append(fs, f)
	}
	return fs
}

// shares reads every connection's estimate and takes its share of it,
// outside the lock: they are calls into the connections.
func (r *rateControl) shares() []int {
	fs := r.followed()
	out := make([]int, len(fs))
	for i, f := range fs {
		out[i] = int(float64(f.estimate()) * f.share(r.share))
	}
	return out
}

// target is the rate the rule gives for the connections' shares; with
// none (nobody watching through an estimator) the top of the range.
func (r *rateControl) target(shares []int) int {
	best, any := 0, false
	for _, share := range shares {
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
	t := r.target(r.shares())
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

// usableEstimate is the estimate whose share is the top of the range, on
// the connection where the share is least.
func (r *rateControl) usableEstimate() int {
	if r == nil {
		return 0
	}
	least := r.share(nil)
	if fs := r.followed(); len(fs) > 0 {
		least = 1
		for _, f := range fs {
			least = min(least, f.share(r.share))
		}
	}
	return int(float64(r.hi) / least)
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
