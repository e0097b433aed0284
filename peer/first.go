package peer

import (
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// The impolite side's first offer waits for the remote's.
//
// At first contact both sides usually offer at once: each learns of the
// other from presence at about the same moment. Perfect negotiation then
// has the polite side drop its offer, and both ways of dropping it cost:
//
//   - a browser rolls its offer back, and Chromium, when the rollback comes
//     before its first candidate, never gathers on the connection again
//     (no candidate even after an ICE restart; the connection stays new).
//     It failed two CI runs in ten (TestTrackMetadataReachesChromium),
//     always a polite browser meeting an impolite Go peer at first contact
//     or after a reconnect;
//   - a polite Go peer never applied its offer (pion cannot roll back), but
//     pion named every transceiver in it, so each stays an m-line of its
//     own: its receive slots (slots.go) and tracks are offered again in a
//     second round. Two Go peers holding tracks negotiated twelve m-lines
//     in two rounds where six in one do, and pion matches codecs across
//     every m-line of every description it applies.
//
// So an impolite connection that has applied no remote description holds
// its first offer for one signalling round trip (the latest subscribe's)
// and a margin for the remote to make its offer, and the polite side
// offers at once. A polite remote with tracks offers within the wait and
// nothing collides: the impolite side answers, its own new tracks take the
// offer's new receive-only m-lines of their kind (another Go peer's receive
// slots; the JS SDK offers none, so against a browser our tracks get
// m-lines of their own in the next round), and against another Go peer
// media flows both ways after one round. A remote with nothing to send
// makes no offer, and the impolite side offers when the wait ends: a round
// trip and the margin later than without it. A polite Go peer facing an
// impolite browser still collides with the browser's first offer, but the
// browser rolls nothing back: it keeps its offer, we drop ours, and the
// m-lines ours named come in the next round.
const (
	// firstOfferMargin is the remote's time to make its offer, beyond the
	// round trip. Headless Chromium running the JS SDK, on this project's
	// 2-core machine beside the Go peer, sent its track metadata 0–12 ms
	// after our wait began and its offer arrived 2–35 ms after (34 first
	// contacts and reconnects); with both cores kept busy by two other
	// processes, up to 37 ms for both. 10 ms let 14 of 40 browser offers
	// collide. The margin keeps over twice the worst seen; another Go peer
	// takes a few milliseconds.
	firstOfferMargin = 100 * time.Millisecond
	// firstOfferMaxWait bounds the wait whatever the round trip.
	firstOfferMaxWait = time.Second
)

// roundTrip is the latest signalling round trip a MeteredPeer measured.
type roundTrip struct{ ns atomic.Int64 }

func (r *roundTrip) set(d time.Duration) { r.ns.Store(int64(d)) }
func (r *roundTrip) get() time.Duration  { return time.Duration(r.ns.Load()) }

// holdFirstOffer reports whether the first offer waits (it arms the wait
// the first time). It runs on c.ops.
func (c *conn) holdFirstOffer() bool {
	margin := c.env.timing.firstOffer
	if c.polite || c.remoteSet || c.firstWaited || margin <= 0 {
		return false
	}
	if c.firstWait == nil {
		wait := min(c.env.rtt.get()+margin, firstOfferMaxWait)
		if c.announced {
			wait = firstOfferMaxWait
		}
		c.trace("first offer waits for the remote's", "wait", wait)
		c.firstSince = time.Now()
		c.firstWait = time.AfterFunc(wait, c.firstWaitOver)
	}
	return true
}

// remoteAnnounced: the remote sent a track's metadata, which the JS SDK
// does just before adding the track, so its offer follows. A browser
// takes 10–25 ms here from learning of us to sending that offer (more on
// a loaded machine), often longer than the round-trip wait; once the
// remote has announced a track the wait lasts up to firstOfferMaxWait, and
// the offer ends it. It runs on c.ops.
func (c *conn) remoteAnnounced() {
	if c.announced || c.polite || c.remoteSet || c.firstWaited {
		return
	}
	c.announced = true
	if c.firstWait != nil && c.firstWait.Stop() {
		rest := max(firstOfferMaxWait-time.Since(c.firstSince), 0)
		c.trace("the remote announced a track: its offer follows", "wait", rest)
		c.firstWait = time.AfterFunc(rest, c.firstWaitOver)
	}
}

// firstWaitOver offers: no offer came in time.
func (c *conn) firstWaitOver() {
	c.ops.do(func() {
		c.firstWaited = true
		c.negotiate()
	})
}

// endFirstWait ends the wait: the remote's offer came. It runs on c.ops.
func (c *conn) endFirstWait() {
	c.firstWaited = true
	stopTimer(&c.firstWait)
}

// takeRemoteSlots gives our new tracks the remote offer's new receive-only
// m-lines of their kind, in order, before pion matches the offer's m-lines
// to our transceivers (it would give a remote track's m-line one of our
// tracks when our receive slots run out). It runs on c.ops.
func (c *conn) takeRemoteSlots(offer webrtc.SessionDescription) {
	named := map[string]bool{}
	free := map[webrtc.RTPCodecType][]*webrtc.RTPTransceiver{}
	for _, t := range c.pc.GetTransceivers() {
		switch {
		case t.Mid() != "":
			named[t.Mid()] = true
		case !c.slots[t] && t.Sender() != nil && t.Sender().Track() != nil:
			free[t.Kind()] = append(free[t.Kind()], t)
		}
	}
	if len(free) == 0 {
		return
	}
	for _, s := range mediaSections(offer) {
		if s.direction != webrtc.RTPTransceiverDirectionRecvonly || named[s.mid] || len(free[s.kind]) == 0 {
			continue
		}
		if err := free[s.kind][0].SetMid(s.mid); err != nil {
			continue
		}
		free[s.kind] = free[s.kind][1:]
	}
}
