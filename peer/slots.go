package peer

import (
	"strings"

	"github.com/pion/webrtc/v4"
)

// Receive slots: a connection offers, ahead of the m-lines of tracks it
// starts sending, receive-only m-lines of the same kind for the remote's
// own tracks to take.
//
// A browser that applies an offer while it holds tracks added with addTrack
// and not yet negotiated (at first contact, after rolling back its own
// offer in a collision, on the new connection after a reconnect) puts each
// of them on the first new m-line of its kind in that offer (JSEP's reuse
// rule). Its receiving track then keeps the id that transceiver was made
// with, not the id our metadata names, and the JS SDK, which keys track
// metadata by the receiving track's id, shows our track without it. With
// slots first in the offer, the remote's tracks take the slots (where they
// are received as the remote's own, with their own ids) and every track of
// ours gets a fresh m-line, received under our id. Slots no remote track
// takes stay inactive m-lines. See docs/design.md.
const (
	// firstSlots per kind in a connection's first negotiation: a browser's
	// camera and screen, or microphone and screen audio.
	firstSlots = 2
	// laterSlots per kind when tracks are added to a negotiated connection:
	// the remote adds its tracks one at a time there.
	laterSlots = 1
)

// addReceiveSlots makes sure receive slots of kind that no offer has
// carried yet come before a track of that kind is added. It runs on c.ops.
func (c *conn) addReceiveSlots(kind webrtc.RTPCodecType) {
	want := laterSlots
	if !c.remoteSet {
		want = firstSlots
	}
	for _, t := range c.pc.GetTransceivers() {
		if c.slots[t] && t.Kind() == kind && t.Mid() == "" {
			want--
		}
	}
	for ; want > 0; want-- {
		t, err := c.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		if err != nil {
			c.negotiationError(err)
			return
		}
		if c.slots == nil {
			c.slots = map[*webrtc.RTPTransceiver]bool{}
		}
		c.slots[t] = true
	}
}

// ownsMidOf reports whether recv belongs to an m-line this side's offer
// made (assignMids' namespace), not one the remote's offer did.
func (c *conn) ownsMidOf(recv *webrtc.RTPReceiver) bool {
	for _, t := range c.pc.GetTransceivers() {
		if t.Receiver() == recv {
			return strings.HasPrefix(t.Mid(), c.midPrefix())
		}
	}
	return false
}

// quietSendOnly stops the transceivers pion made for remote m-lines that
// only receive (another Go peer's receive slots, a browser's receive-only
// transceivers): pion makes them send-only with no sender, which its own
// negotiation-needed check always counts as needing an offer, so two Go
// peers renegotiated without end. Nothing is ever sent on them (our tracks
// get transceivers of their own); stopped, they answer inactive, as
// JSEP would. It runs on c.ops, between the remote offer and our answer.
func (c *conn) quietSendOnly() {
	for _, t := range c.pc.GetTransceivers() {
		if t.Direction() == webrtc.RTPTransceiverDirectionSendonly && t.Sender() == nil && !c.slots[t] {
			if err := t.Stop(); err != nil {
				c.negotiationError(err)
			}
		}
	}
}

// shrinkIdle narrows each m-line that carries nothing either way once
// negotiated (a removed track's, a receive slot no remote track took) to
// one codec. pion cannot recycle an m-line (JSEP's reuse of a stopped
// one), so every track added and removed leaves two (its own and its
// receive slot), each repeating all of pion's codecs: 2.4 kB a video
// m-line. A member whose camera came and went six times offered more than
// the 64 KiB a signalling message may carry, and its connection could not
// negotiate again. With one codec left an idle m-line is a fifth of that.
// The codec kept is the first of its kind, which every browser decodes
// (VP8, Opus): a browser may still put a track it adds later on such an
// m-line. It runs on c.ops once the connection is stable.
func (c *conn) shrinkIdle() {
	local, remote := c.pc.CurrentLocalDescription(), c.pc.CurrentRemoteDescription()
	if local == nil || remote == nil {
		return
	}
	// An m-line is idle when neither description sends on it.
	sends := map[string]bool{}
	for _, d := range []*webrtc.SessionDescription{local, remote} {
		for _, s := range mediaSections(*d) {
			if s.direction == webrtc.RTPTransceiverDirectionSendrecv || s.direction == webrtc.RTPTransceiverDirectionSendonly {
				sends[s.mid] = true
			}
		}
	}
	for _, t := range c.pc.GetTransceivers() {
		if t.Mid() == "" || c.shrunk[t] || sends[t.Mid()] {
			continue
		}
		if s := t.Sender(); s != nil && s.Track() != nil {
			continue
		}
		codecs := t.Receiver().GetParameters().Codecs
		if len(codecs) < 2 {
			continue
		}
		if err := t.SetCodecPreferences(codecs[:1]); err != nil {
			c.env.log.Debug("narrowing an idle m-line", "peer", c.peerID, "mid", t.Mid(), "err", err)
			continue
		}
		if c.shrunk == nil {
			c.shrunk = map[*webrtc.RTPTransceiver]bool{}
		}
		c.shrunk[t] = true
	}
}
