package peer

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// ICE-restart ladder, as in the JS SDK.
const (
	ICERestartBaseDelay    = time.Second
	ICERestartMaxDelay     = 30 * time.Second
	ICERestartMaxAttempts  = 9
	ICERestartAnswerWindow = 15 * time.Second
)

// iceRestartDelay is the wait before attempt index a (0-based): immediate,
// then base, 2×base, 4×base … capped at max (1 s and 30 s by default).
func (t *timings) iceRestartDelay(a int) time.Duration {
	if a == 0 {
		return 0
	}
	d := t.iceRestartBase << (a - 1)
	if d > t.iceRestartMax || d <= 0 || a > 30 {
		return t.iceRestartMax
	}
	return d
}

// ladder is a connection's ICE-restart state; touched only on conn.ops.
type ladder struct {
	attempts  int
	inFlight  bool
	gaveUp    bool
	timer     *time.Timer
	watchdog  *time.Timer
	iceFailed bool
	// remoteGen counts applied remote descriptions: a restart scheduled
	// before one arrived is moot.
	remoteGen int
}

// candidateWait is how long ICE may check with no candidate from the
// remote before it is restarted. A browser that rolled its offer back in a
// collision sometimes never gathers again: it sent no candidate, its
// connection never left "new", and no media flowed for the whole call
// (once in 9 first contacts with Chromium, and once in 40 metadata trials).
// A restart makes it gather. Candidates come within milliseconds on a LAN
// and within a second or two through a relay.
const candidateWait = 5 * time.Second

// onICEState runs on ops for every ICE connection state change.
func (c *conn) onICEState(s webrtc.ICEConnectionState) {
	l := &c.ladder
	switch s {
	case webrtc.ICEConnectionStateChecking:
		if !c.heardCandidate && c.quietTimer == nil {
			c.armTimer(&c.quietTimer, c.env.timing.candidateWait, func() {
				st := c.pc.ICEConnectionState()
				if c.heardCandidate || st != webrtc.ICEConnectionStateChecking {
					return
				}
				c.env.log.Debug("no ICE candidate from the remote: restarting ICE", "peer", c.peerID)
				c.climbLadder()
			})
		}
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
		l.attempts, l.gaveUp, l.inFlight, l.iceFailed = 0, false, false, false
		stopTimer(&l.watchdog)
		stopTimer(&l.timer)
		stopTimer(&c.quietTimer)
	case webrtc.ICEConnectionStateFailed:
		l.iceFailed = true
		c.climbLadder()
	default:
		if l.iceFailed {
			l.iceFailed = false
			l.inFlight = false
		}
	}
}

// climbLadder schedules the next restart attempt, or gives up once.
func (c *conn) climbLadder() {
	l := &c.ladder
	if c.closed || l.inFlight || l.timer != nil || c.pendingOffer != nil {
		return
	}
	if l.attempts >= ICERestartMaxAttempts {
		if !l.gaveUp {
			l.gaveUp = true
			c.owner.emit(NegotiationError{Err: ErrICERestartExhausted})
		}
		return
	}
	delay := c.env.timing.iceRestartDelay(l.attempts)
	l.attempts++
	gen := l.remoteGen
	c.armTimer(&l.timer, delay, func() { c.restartICE(gen) })
}

// restartICE sends an ICE-restart offer and arms the answer watchdog.
func (c *conn) restartICE(gen int) {
	l := &c.ladder
	st := c.pc.ICEConnectionState()
	if c.closed || st == webrtc.ICEConnectionStateConnected || st == webrtc.ICEConnectionStateCompleted || gen != l.remoteGen {
		return
	}
	if c.pendingOffer != nil || c.pc.SignalingState() != webrtc.SignalingStateStable {
		return // the offer in flight re-enters the ladder when it settles
	}
	l.inFlight = true
	c.heardCandidate = false // the new credentials need candidates of their own
	c.assignMids(true)
	offer, err := c.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		l.inFlight = false
		c.negotiationError(err)
		c.reenterIfFailed()
		return
	}
	if c.polite {
		c.pendingOffer = &offer
		c.signalDescription(offer)
	} else if !c.applyLocal(offer, true) {
		l.inFlight = false
		c.reenterIfFailed()
		return
	}
	c.awaitAnswer(offer.SDP)
	if !c.polite {
		c.offerSDP = c.pc.LocalDescription().SDP
	}
	c.candCount, c.candWarned = 0, false
	sent := l.remoteGen
	stopTimer(&l.watchdog)
	c.armTimer(&l.watchdog, c.env.timing.iceAnswer, func() {
		st := c.pc.ICEConnectionState()
		if st == webrtc.ICEConnectionStateConnected || st == webrtc.ICEConnectionStateCompleted || l.remoteGen != sent {
			return
		}
		// No answer: the attempt failed; drop an unanswered deferred offer.
		c.pendingOffer = nil
		l.inFlight = false
		c.climbLadder()
	})
}

// afterRemote is called on ops whenever a remote description was applied.
func (c *conn) ladderAfterRemote() {
	l := &c.ladder
	l.remoteGen++
	stopTimer(&l.watchdog)
	l.inFlight = false
	c.reenterIfFailed()
}

func (c *conn) reenterIfFailed() {
	if c.ladder.iceFailed && c.pc.ICEConnectionState() == webrtc.ICEConnectionStateFailed {
		c.climbLadder()
	}
}

// armTimer sets *slot to a timer that, after d, runs fn on c.ops, unless
// *slot no longer holds it by then (stopped or replaced) or the connection
// closed; *slot is cleared before fn runs. It runs on c.ops.
func (c *conn) armTimer(slot **time.Timer, d time.Duration, fn func()) {
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		c.ops.do(func() {
			if *slot != t || c.closed {
				return
			}
			*slot = nil
			fn()
		})
	})
	*slot = t
}

func stopTimer(t **time.Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}
