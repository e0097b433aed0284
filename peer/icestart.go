package peer

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// A remote offer that follows a connection's first negotiation before pion
// has started ICE waits until it has.
//
// pion starts ICE on a queue of its own after a description completes the
// first negotiation, and reads the remote's ICE credentials only then. An
// offer applied before that finds none, which pion takes for an ICE
// restart: it gives this side a new ufrag, and the remote drops our checks
// as a stranger's ("wrong username") until our answer reaches it; pion
// checks again only after its 200 ms interval. Both sides opening data
// channels at once does this: the polite side applies the answer to its
// offer and, in the same millisecond, the remote's second offer (for the
// remote's own channel). Eight peers meshing over loopback lost 175 ms so
// in 3 meshes of 16 (issue 25's "+160 ms mode").

// iceStartWait bounds the hold: pion starts ICE within a millisecond or
// two; should it never (a failed start), the offer is applied anyway.
const iceStartWait = 500 * time.Millisecond

// holdOffer reports whether a remote offer must wait for ICE to start, and
// keeps it if so (the latest one: a newer offer replaces it). It runs on
// c.ops.
func (c *conn) holdOffer(d webrtc.SessionDescription) bool {
	if !c.remoteSet || c.pc.ICEConnectionState() != webrtc.ICEConnectionStateNew {
		return false
	}
	c.trace("a renegotiation offer waits for ICE to start")
	c.heldOffer = &d
	if c.heldTimer == nil {
		c.armTimer(&c.heldTimer, iceStartWait, c.releaseOffer)
	}
	return true
}

// iceStarted applies a held offer: pion has started ICE (the state left
// new). It runs on c.ops.
func (c *conn) iceStarted() {
	stopTimer(&c.heldTimer)
	c.releaseOffer()
}

func (c *conn) releaseOffer() {
	d := c.heldOffer
	c.heldOffer = nil
	if d == nil || c.closed {
		return
	}
	c.handleOffer(*d)
}
