package peer

import (
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v4"
)

// sendGates holds back the RTP of senders whose m-line the remote has not
// accepted yet. It takes SSRCs, never a pion sender: pion calls lookup
// (through Bind) holding the sender's lock, so reading a sender under the
// gates' lock deadlocked against it (a connection closing while another
// applied a description that started a sender).
//
// pion marks a sender negotiated as soon as it appears in an offer we
// created, and starts it on the next description we apply. The polite side
// drops an offer it never applied when the remote's offer collides, then
// answers that offer: pion starts the new sender then, and its packets reach
// a remote that never saw its SSRC (pion's undeclared-SSRC probing on that
// side races with the receiver it starts once our next offer lands). So a
// sender's packets go out only once a remote description holds its mid.
type sendGates struct {
	mu     sync.Mutex
	bySSRC map[webrtc.SSRC]*atomic.Bool
}

// ssrcs are the sender's SSRCs.
func ssrcs(s *webrtc.RTPSender) []webrtc.SSRC {
	var out []webrtc.SSRC
	for _, enc := range s.GetParameters().Encodings {
		out = append(out, enc.SSRC)
	}
	return out
}

// hold registers a new sender (its SSRCs), closed.
func (g *sendGates) hold(ids []webrtc.SSRC) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.bySSRC == nil {
		g.bySSRC = map[webrtc.SSRC]*atomic.Bool{}
	}
	for _, id := range ids {
		g.bySSRC[id] = new(atomic.Bool)
	}
}

// open lets the sender's packets through.
func (g *sendGates) open(ids []webrtc.SSRC) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, id := range ids {
		if gate := g.bySSRC[id]; gate != nil {
			gate.Store(true)
		}
	}
}

// forget drops a sender that was removed or whose connection closed.
func (g *sendGates) forget(ids []webrtc.SSRC) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, id := range ids {
		delete(g.bySSRC, id)
	}
}

// lookup returns the gate of the sender with this SSRC; nil (never held)
// means always open.
func (g *sendGates) lookup(ssrc webrtc.SSRC) *atomic.Bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.bySSRC[ssrc]
}

// openAccepted opens the gates of c's senders whose mids the applied
// remote description holds.
func (c *conn) openAccepted(sections map[string]bool) {
	for _, t := range c.pc.GetTransceivers() {
		if s := t.Sender(); s != nil {
			if _, ok := sections[t.Mid()]; ok {
				c.env.gates.open(ssrcs(s))
			}
		}
	}
}
