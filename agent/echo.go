package agent

import (
	"math"
	"slices"
	"time"
)

// EchoGuard tells the agent's own voice coming back from the user's
// speaker from the user speaking. The agent knows what it sent and when;
// an echo is that audio again, later (0 to 600 ms: the network, the
// user's playout buffer and the room) and changed (a codec, a speaker, a
// microphone, echo cancellation that left some of it). Sample values do
// not survive that, but the loudness contour does: syllables rise and
// fall at the same moments. So EchoGuard compares the contour of what it
// hears, over the last HeardWindow, with the contour of what was sent, at
// every lag up to MaxLag, 10 ms apart; a close match (a Pearson
// correlation of at least MinCorrelation) is echo. A user talking over
// the agent changes the contour and is not, but a window of contour takes
// a while to change; so a match also teaches the guard the echo's delay
// and how much quieter it comes back, and from then on each new frame
// louder than the echo it predicts by DoubleTalkDB is the user at once
// (the double-talk test an echo canceller makes, on levels), and each
// frame that is not is echo, for pathMemory after the last match.
//
// The zero value is not ready: use NewEchoGuard. It is not safe for
// concurrent use.
type EchoGuard struct {
	// MaxLag is the longest delay an echo can have (default 600 ms).
	MaxLag time.Duration
	// HeardWindow is how much heard audio is compared (default 400 ms):
	// two or three syllables.
	HeardWindow time.Duration
	// MinCorrelation makes a match (default 0.8).
	MinCorrelation float64
	// DoubleTalkDB: a frame this much louder than the echo predicted is
	// the user talking over the agent (default 6 dB).
	DoubleTalkDB float64

	sent  contour // what the agent sent, by when it went out
	heard contour // what came in, by when it arrived

	// The echo path the last match found: its delay and gain (heard minus
	// sent, dB), and when.
	lag     time.Duration
	gainDB  float64
	matched time.Time
	// talkUntil: a frame of double talk makes the frames until then the
	// user's too, and keeps the path from learning from them.
	talkUntil time.Time

	// isEcho's scratch, kept between calls: it runs for every frame heard.
	corr, window []float64
}

const (
	// pathMemory is how long a learned echo path predicts frames.
	pathMemory = 2 * time.Second
	// talkHangover: double talk lasts at least this long, as syllables
	// do; the echo under it says nothing of the path.
	talkHangover = 200 * time.Millisecond
	// learnCorrelation: the path is learnt only from matches this close.
	learnCorrelation = 0.9
	// lagSwitchMargin: a new lag's correlation must beat the known lag's
	// by this to become the path.
	lagSwitchMargin = 0.05
)

// nearLag is how many blocks either side of the path's lag a frame's
// predicted echo is taken from.
const nearLag = 4

// blockDur is the contour's resolution.
const blockDur = 10 * time.Millisecond

// maxLate: audio later than this after what came before is not late but
// after a gap (a stream that stopped).
const maxLate = 250 * time.Millisecond

// quietDB: a contour block quieter than this holds nothing to compare.
const quietDB = -60.0

// missing is the level of a block whose audio never came (frames lost):
// not silence, nothing known, left out of every comparison.
var missing = math.NaN()

// NewEchoGuard returns a guard with the default settings.
func NewEchoGuard() *EchoGuard {
	return &EchoGuard{MaxLag: 600 * time.Millisecond, HeardWindow: 400 * time.Millisecond, MinCorrelation: 0.8, DoubleTalkDB: 6}
}

// maxAhead is how much sent audio not yet heard back a guard keeps: an
// agent pushes a whole reply at once, to go out over its length.
const maxAhead = time.Minute

// Sent records agent audio that goes out from at on (16 kHz mono): a
// reply pushed to an AudioSource goes out from now plus what is queued
// before it.
func (g *EchoGuard) Sent(at time.Time, pcm []int16) {
	g.sent.add(at, pcm)
	g.sent.trimTo(g.sent.end().Add(-maxAhead))
}

// Heard records incoming audio that arrived at at and reports whether the
// last HeardWindow of it is an echo of what was sent.
func (g *EchoGuard) Heard(at time.Time, pcm []int16) bool {
	g.heard.add(at, pcm)
	end := g.heard.end()
	g.heard.trimTo(end.Add(-g.HeardWindow - time.Second))
	g.sent.trimTo(end.Add(-g.MaxLag - g.HeardWindow - time.Second))
	return g.isEcho()
}

func (g *EchoGuard) isEcho() bool {
	n := int(g.HeardWindow / blockDur)
	if len(g.heard.levels) < n || len(g.sent.levels) == 0 {
		return false
	}
	heardEnd := g.heard.end()
	if g.doubleTalk(heardEnd) {
		g.talkUntil = heardEnd.Add(talkHangover)
		return false
	}
	if heardEnd.Before(g.talkUntil) {
		return false
	}
	// A known echo path and a frame no louder than the echo it predicts:
	// echo, even where the contour matches less well (a long vowel, a
	// stretch both codecs smeared).
	pathKnown := !g.matched.IsZero() && heardEnd.Sub(g.matched) <= pathMemory
	heard := g.heard.levels[len(g.heard.levels)-n:]
	if !varied(heard) {
		return pathKnown
	}
	g.corr = slices.Grow(g.corr[:0], int(g.MaxLag/blockDur)+1)[:int(g.MaxLag/blockDur)+1]
	g.window = slices.Grow(g.window[:0], n)[:n]
	corr, sent := g.corr, g.window
	best, bestLag := -1.0, time.Duration(0)
	for i := range corr {
		lag := time.Duration(i) * blockDur
		// The sent blocks that would arrive as the heard window at lag;
		// before the first block sent (the agent's first words) the agent
		// was silent. A window all after the last is no echo.
		last := g.sent.index(heardEnd.Add(-lag)) // one past the window
		corr[i] = -1
		if last-n >= len(g.sent.levels) || last <= 0 {
			continue
		}
		g.sent.window(sent, last)
		corr[i] = correlation(heard, sent)
		if corr[i] > best {
			best, bestLag = corr[i], lag
		}
	}
	if best < g.MinCorrelation {
		return pathKnown
	}
	// Syllables alike can match at another lag for a moment (one syllable
	// against silence matches at many): the path is learnt only from a
	// match clearly better than any other lag's, and moves only for a
	// clearly better one.
	if i := int(g.lag / blockDur); !g.matched.IsZero() && i < len(corr) && corr[i] >= g.MinCorrelation && best-corr[i] < lagSwitchMargin {
		g.matched = heardEnd // the path holds
		return true
	}
	if best < learnCorrelation {
		return true
	}
	for i, c := range corr {
		if d := time.Duration(i)*blockDur - bestLag; (d > 3*blockDur || d < -3*blockDur) && best-c < lagSwitchMargin {
			return true // an echo, but of which lag is unclear
		}
	}
	g.learn(heard, heardEnd, bestLag)
	return true
}

// learn takes the echo path from a match at lag. The gain is the upper
// quartile of the level differences over the blocks where the agent was
// loud: a block or two of misalignment at each syllable's edges reads as
// a much quieter echo, and a mean of them put the gain 6–10 dB under the
// echo's true level (whose frames then read as the user talking).
func (g *EchoGuard) learn(heard []float64, heardEnd time.Time, lag time.Duration) {
	sent := make([]float64, len(heard))
	g.sent.window(sent, g.sent.index(heardEnd.Add(-lag)))
	var diffs []float64
	for i := range heard {
		if sent[i] > quietDB+20 && !math.IsNaN(heard[i]) {
			diffs = append(diffs, heard[i]-sent[i])
		}
	}
	if len(diffs) == 0 {
		return
	}
	slices.Sort(diffs)
	gain := diffs[len(diffs)*3/4]
	if d := lag - g.lag; !g.matched.IsZero() && heardEnd.Sub(g.matched) <= pathMemory && d <= 3*blockDur && d >= -3*blockDur {
		// The same path measured again: it changes slowly, and one window
		// (a sentence's first syllables against the last one's tail) can
		// read 6 dB under it, which made the echo that followed read as
		// the user talking (a 50-sentence reply, 11 s in).
		gain = (1-gainStep)*g.gainDB + gainStep*gain
	}
	g.lag, g.gainDB, g.matched = lag, gain, heardEnd
}

// gainStep is how far a new measurement of a known path's gain moves it.
const gainStep = 0.25

// doubleTalk reports whether the newest heard frame is louder than the
// echo the learned path predicts: the user is talking too.
func (g *EchoGuard) doubleTalk(heardEnd time.Time) bool {
	if g.matched.IsZero() || heardEnd.Sub(g.matched) > pathMemory {
		return false
	}
	per := int(FrameDuration / blockDur)
	for k := 1; k <= per; k++ {
		h := g.heard.levels[len(g.heard.levels)-k]
		at := g.sent.index(heardEnd.Add(-g.lag)) - k
		// The loudest sent block near the lag: a syllable's onset may sit
		// a few blocks either side of where the path puts it (the jitter
		// buffers on the way move the lag by tens of milliseconds).
		predicted := quietDB
		for i := at - nearLag; i <= at+nearLag; i++ {
			if i >= 0 && i < len(g.sent.levels) && !math.IsNaN(g.sent.levels[i]) {
				predicted = max(predicted, g.sent.levels[i])
			}
		}
		if h > quietDB+20 && h-(predicted+g.gainDB) >= g.DoubleTalkDB { // false for missing
			return true
		}
	}
	return false
}

// varied reports whether levels hold sound that rises and falls: a
// contour that is flat (silence, a steady hum) matches anything or
// nothing.
func varied(levels []float64) bool {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, l := range levels {
		if !math.IsNaN(l) {
			lo, hi = min(lo, l), max(hi, l)
		}
	}
	return hi > quietDB && hi-lo >= 6
}

// correlation is the Pearson correlation of a and b (same length) over
// the blocks known in both; 0 when either is constant there.
func correlation(a, b []float64) float64 {
	var n, ma, mb float64
	for i := range a {
		if !math.IsNaN(a[i]) && !math.IsNaN(b[i]) {
			n++
			ma += a[i]
			mb += b[i]
		}
	}
	if n == 0 {
		return 0
	}
	ma /= n
	mb /= n
	var sab, saa, sbb float64
	for i := range a {
		if math.IsNaN(a[i]) || math.IsNaN(b[i]) {
			continue
		}
		da, db := a[i]-ma, b[i]-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	if saa == 0 || sbb == 0 {
		return 0
	}
	return sab / math.Sqrt(saa*sbb)
}

// contour is a loudness contour: the level of each blockDur of audio,
// from start on, with the samples of a block not yet complete kept.
type contour struct {
	start   time.Time // of levels[0]
	levels  []float64 // dBFS, floored at quietDB; missing where audio never came
	partial []int16
}

func (c *contour) add(at time.Time, pcm []int16) {
	per := samplesOf(blockDur)
	if c.start.IsZero() {
		c.start = at
	}
	// The contour runs on the audio's clock: at is when the audio was
	// made, on a steady clock (a received track's media time: Agent maps
	// it with a mediaClock). Audio after a gap of a block or more comes
	// after missing audio (packets lost, nothing decoded for them), which
	// is unknown, not silence; after a gap over maxLate the stream had
	// stopped, which is silence. Audio before the contour expects it moves
	// the clock back.
	expected := c.end().Add(time.Duration(len(c.partial)) * time.Second / SampleRate)
	switch gap := at.Sub(expected); {
	case gap < 0:
		c.start = c.start.Add(gap)
	case gap > maxLate:
		c.skipTo(at, quietDB)
	case gap >= blockDur:
		c.skipTo(at, missing)
	}
	c.partial = append(c.partial, pcm...)
	for len(c.partial) >= per {
		c.levels = append(c.levels, max(LevelDB(c.partial[:per]), quietDB))
		c.partial = append(c.partial[:0], c.partial[per:]...)
	}
}

// skipTo fills the contour with blocks of level up to the one holding at.
func (c *contour) skipTo(at time.Time, level float64) {
	c.partial = c.partial[:0]
	for n := at.Sub(c.end()) / blockDur; n > 0; n-- {
		c.levels = append(c.levels, level)
	}
}

// window fills dst with the levels of the len(dst) blocks before index
// last, quietDB where there is none.
func (c *contour) window(dst []float64, last int) {
	for i := range dst {
		j := last - len(dst) + i
		if j >= 0 && j < len(c.levels) {
			dst[i] = c.levels[j]
		} else {
			dst[i] = quietDB
		}
	}
}

// end is the time just after the last complete block.
func (c *contour) end() time.Time { return c.start.Add(time.Duration(len(c.levels)) * blockDur) }

// index is the block at t (may be out of range).
func (c *contour) index(t time.Time) int { return int(t.Sub(c.start) / blockDur) }

// trimTo drops the blocks that end before t.
func (c *contour) trimTo(t time.Time) {
	if drop := min(c.index(t), len(c.levels)); drop > 0 {
		c.levels = append(c.levels[:0], c.levels[drop:]...)
		c.start = c.start.Add(time.Duration(drop) * blockDur)
	}
}
