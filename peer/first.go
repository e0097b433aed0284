package peer

import (
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// The polite side's first offer waits for the remote's.
//
// At first contact both sides usually offer at once: each learns of the
// other from presence at about the same moment. Perfect negotiation has the
// polite side drop its offer, but pion has named every transceiver in it by
// then, so each stays an m-line of its own: the polite side's receive slots
// (slots.go) and tracks are offered again in a second round, after its
// answer. Two Go peers holding tracks negotiated twelve m-lines in two
// rounds where six in one do, and pion matches codecs across every m-line
// of every description it applies: first media came 50–60 % later than
// before receive slots (make bench, "First media").
//
// So a polite connection that has applied no remote description holds its
// first offer for one signalling round trip (the latest subscribe's) and a
// margin for the remote to make its offer. A remote with tracks offers
// within it: the polite side answers, and its own new tracks take the
// remote's new receive-only m-lines of their kind (another Go peer's receive
// slots; the JS SDK offers none), so media flows both ways after one round.
// A remote with nothing to send makes no offer, and the polite side offers
// when the wait ends: a round trip and the margin later than without it.
// An offer that comes later than that collides with ours, as before.
const (
	// firstOfferMargin is the remote's time to make its offer, beyond the
	// round trip.
	firstOfferMargin = 10 * time.Millisecond
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
	if !c.polite || c.remoteSet || c.firstWaited || margin <= 0 {
		return false
	}
	if c.firstWait == nil {
		wait := min(c.env.rtt.get()+margin, firstOfferMaxWait)
		c.trace("first offer waits for the remote's", "wait", wait)
		c.firstWait = time.AfterFunc(wait, func() {
			c.ops.do(func() {
				c.firstWaited = true
				c.negotiate()
			})
		})
	}
	return true
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
