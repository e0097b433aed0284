package peer

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/protocol"
	"github.com/metered-ca/realtime-go/signalling"
)

// conn is one pion PeerConnection and its negotiation: perfect negotiation
// as the JS SDK implements it, every step serialised on ops, candidates
// buffered both ways.
//
// pion cannot roll back a local offer, so the polite side never applies an
// offer before its answer arrives: it sends the offer and keeps it pending.
// A colliding remote offer then finds it still stable; it drops its pending
// offer, applies the remote one, answers, and offers again. The impolite
// side applies its offers at once and ignores colliding ones. The polite
// side gives its new transceivers mids of its own ("g1", …) before
// offering, so that an offer it dropped cannot bind a remote m-line to the
// wrong transceiver.
type conn struct {
	owner  connOwner
	peerID string
	env    *env
	pc     *webrtc.PeerConnection
	polite bool
	ops    serial
	meters connMeters // set once, right after newConn

	// Only touched on ops.
	pendingOffer *webrtc.SessionDescription
	ignoreOffer  bool
	remoteSet    bool
	candCount    int
	candWarned   bool
	inbound      []webrtc.ICECandidateInit
	nextMid      int
	slots        map[*webrtc.RTPTransceiver]bool // receive slots (slots.go)
	shrunk       map[*webrtc.RTPTransceiver]bool // idle m-lines narrowed to one codec (slots.go)
	// The impolite side's wait for the remote's first offer (first.go).
	firstWait   *time.Timer
	firstSince  time.Time // when the wait began
	firstWaited bool
	announced   bool // the remote sent track metadata: its offer follows
	// ICE checking with no remote candidate restarts (icerestart.go).
	heardCandidate bool
	quietTimer     *time.Timer
	closed         bool
	ladder         ladder
	// An offer that gets no answer (lost, or dropped by a remote stack that
	// failed to apply it) is sent again, the same SDP, a few times.
	offerTimer   *time.Timer
	offerSDP     string
	offerResends int
	// A renegotiation offer that came before pion started ICE (icestart.go).
	heldOffer *webrtc.SessionDescription
	heldTimer *time.Timer

	// Outbound candidates wait until their description is queued.
	mu         sync.Mutex
	received   []*webrtc.TrackRemote // received.go
	descQueued bool
	outCands   []*webrtc.ICECandidate
	isClosed   bool
	follows    map[*trackedTrack]func()              // rate-adaptive tracks' stops (bitrate.go)
	sending    map[*trackedTrack]webrtc.RTPCodecType // every track c sends, by kind (bitrate.go)

	rtx rtxReaders // rtxfeedback.go
}

// connOwner is what a connection reports to, and asks of, the RemotePeer
// that owns it: the one way up, so that a connection depends on no
// RemotePeer and a RemotePeer drives its connections.
type connOwner interface {
	emit(ev any)
	signal(payload any) error
	afterRemoteDescription(c *conn)
	onConnectionState(c *conn, s webrtc.PeerConnectionState)
	onTrack(c *conn, t *webrtc.TrackRemote, r *webrtc.RTPReceiver)
	onDataChannel(c *conn, d *webrtc.DataChannel)
}

// newConn makes the connection to peerID over pc, reporting to owner.
func newConn(owner connOwner, peerID string, e *env, pc *webrtc.PeerConnection, polite bool) *conn {
	c := &conn{owner: owner, peerID: peerID, env: e, pc: pc, polite: polite}
	pc.OnNegotiationNeeded(func() { c.ops.do(c.negotiate) })
	pc.OnICECandidate(c.onLocalCandidate)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) { owner.onConnectionState(c, s) })
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		c.ops.do(func() {
			if s != webrtc.ICEConnectionStateNew {
				c.iceStarted()
			}
			c.onICEState(s)
		})
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		c.receive(t)
		owner.onTrack(c, t, r)
	})
	pc.OnDataChannel(func(d *webrtc.DataChannel) { owner.onDataChannel(c, d) })
	return c
}

func (c *conn) negotiationError(err error) {
	c.owner.emit(NegotiationError{Err: protocol.ScrubError(err)})
}

// negotiate answers pion's negotiationneeded.
func (c *conn) negotiate() {
	if c.closed || c.pc.SignalingState() != webrtc.SignalingStateStable {
		c.trace("negotiationneeded while not stable")
		return // pion fires again once stable
	}
	if c.pendingOffer != nil || c.heldOffer != nil {
		// One offer in flight at a time, and none while the remote's waits
		// (icestart.go). pion checks again whenever a
		// description brings it back to stable, so nothing is lost.
		return
	}
	if c.holdFirstOffer() { // first.go
		return
	}
	c.assignMids(true)
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		c.negotiationError(err)
		return
	}
	c.trace("offer created", "polite", c.polite)
	if c.polite {
		c.pendingOffer = &offer
		c.signalDescription(offer)
		c.awaitAnswer(offer.SDP)
		return
	}
	if c.applyLocal(offer, true) {
		c.awaitAnswer(c.pc.LocalDescription().SDP)
	}
}

// maxOfferResends bounds the re-sending of an unanswered offer (every
// env.timing.offerResend).
const maxOfferResends = 3

// awaitAnswer arms the re-send of an offer whose SDP is sdp.
func (c *conn) awaitAnswer(sdp string) {
	stopTimer(&c.offerTimer)
	c.offerSDP, c.offerResends = sdp, 0
	c.armOfferTimer()
}

func (c *conn) armOfferTimer() {
	c.armTimer(&c.offerTimer, c.env.timing.offerResend, c.resendOffer)
}

func (c *conn) resendOffer() {
	var offer *webrtc.SessionDescription
	switch {
	case c.pendingOffer != nil && c.pendingOffer.SDP == c.offerSDP:
		offer = c.pendingOffer
	case !c.polite && c.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer:
		// pion adds the candidates gathered since to the SDP it reports, so
		// the offer is recognised by its origin line (session id and
		// version), which changes with every new offer.
		if ld := c.pc.LocalDescription(); ld != nil && originLine(ld.SDP) == originLine(c.offerSDP) {
			offer = ld
		}
	}
	if offer == nil {
		return // answered, replaced or superseded meanwhile
	}
	if c.offerResends >= maxOfferResends {
		c.negotiationError(errOfferUnanswered)
		return
	}
	c.offerResends++
	c.trace("offer unanswered; sending it again", "resend", c.offerResends)
	c.signalDescription(*offer)
	c.armOfferTimer()
}

// originLine is the SDP's "o=" line.
func originLine(sdp string) string {
	i := strings.Index(sdp, "\no=")
	if i < 0 {
		return ""
	}
	line := sdp[i+1:]
	if j := strings.IndexAny(line, "\r\n"); j >= 0 {
		line = line[:j]
	}
	return line
}

// signalDescription sends an offer or answer. One too large for the
// server's message limit cannot reach the remote at all: that is a
// NegotiationError the application can act on, not just a log line.
func (c *conn) signalDescription(d webrtc.SessionDescription) {
	var big *signalling.OversizedError
	if err := c.owner.signal(newDescriptionSignal(d)); errors.As(err, &big) {
		c.negotiationError(fmt.Errorf("%w: the %s does not fit the server's message limit; "+
			"every track ever added keeps an m-line (as in a browser), so swap sources with ReplaceTrack rather than remove and add", err, d.Type))
	}
}

func (c *conn) trace(msg string, args ...any) {
	c.env.log.Debug(msg, append([]any{"peer", c.peerID, "signaling", c.pc.SignalingState().String(), "pending", c.pendingOffer != nil}, args...)...)
}

// midPrefix starts the mids this side's offers make.
func (c *conn) midPrefix() string {
	if c.polite {
		return "p"
	}
	return "i"
}

// assignMids names the transceivers that have no mid yet, in a namespace a
// browser never uses and the remote side (of the other politeness) does not
// use either. With slots false, receive slots stay unnamed, for a remote
// offer to give them its tracks.
func (c *conn) assignMids(slots bool) {
	prefix := c.midPrefix()
	for _, t := range c.pc.GetTransceivers() {
		if t.Mid() == "" && (slots || !c.slots[t]) {
			c.nextMid++
			_ = t.SetMid(fmt.Sprintf("%s%d", prefix, c.nextMid))
		}
	}
}

// applyLocal sets the local description and (when announce) sends it; the
// candidates it gathers are sent only after it.
func (c *conn) applyLocal(d webrtc.SessionDescription, announce bool) bool {
	if !announce {
		return c.applyLocalAs(d, nil)
	}
	return c.applyLocalAs(d, func(d webrtc.SessionDescription) webrtc.SessionDescription { return d })
}

// applyLocalAs is applyLocal where sent (nil: nothing is sent) gives the
// copy of the description the remote gets.
func (c *conn) applyLocalAs(d webrtc.SessionDescription, sent func(webrtc.SessionDescription) webrtc.SessionDescription) bool {
	announce := sent != nil
	c.mu.Lock()
	c.descQueued = false
	c.mu.Unlock()
	if err := c.pc.SetLocalDescription(d); err != nil {
		c.negotiationError(err)
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if announce {
		if ld := c.pc.LocalDescription(); ld != nil {
			d = *ld
		}
		c.signalDescription(sent(d))
	}
	c.descQueued = true
	for _, cand := range c.outCands {
		c.signalCandidate(cand)
	}
	c.outCands = nil
	return true
}

func (c *conn) onLocalCandidate(cand *webrtc.ICECandidate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isClosed {
		return
	}
	if !c.descQueued {
		c.outCands = append(c.outCands, cand)
		return
	}
	c.signalCandidate(cand)
}

// signalCandidate sends a local candidate; c.mu is held.
func (c *conn) signalCandidate(cand *webrtc.ICECandidate) {
	s := newICESignal(cand)
	if s.Candidate != nil {
		typ, proto := candidateKind(s.Candidate.Candidate)
		c.env.log.Debug("candidate sent", "peer", c.peerID, "type", typ, "protocol", proto)
	} else {
		c.env.log.Debug("candidate sent", "peer", c.peerID, "type", "end-of-candidates")
	}
	c.owner.signal(s)
}

// handleDescription applies a remote offer or answer.
func (c *conn) handleDescription(d webrtc.SessionDescription) {
	if c.closed {
		return
	}
	c.trace("remote description", "type", d.Type.String())
	switch d.Type {
	case webrtc.SDPTypeOffer:
		if !c.holdOffer(d) { // icestart.go
			c.handleOffer(d)
		}
	case webrtc.SDPTypeAnswer:
		if c.pendingOffer != nil {
			offer := *c.pendingOffer
			c.pendingOffer = nil
			if !c.applyLocal(offer, false) {
				return
			}
		}
		if c.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
			c.env.log.Debug("dropping an answer that matches no offer", "peer", c.peerID)
			return
		}
		if !c.applyRemote(d) {
			return
		}
		c.ignoreOffer = false // the collision is over: errors count again
		c.shrinkIdle()
	}
}

// handleOffer applies a remote offer and answers it, or ignores it on
// the impolite side of a collision. It runs on c.ops.
func (c *conn) handleOffer(d webrtc.SessionDescription) {
	collision := c.pendingOffer != nil || c.pc.SignalingState() != webrtc.SignalingStateStable
	c.ignoreOffer = collision && !c.polite
	if c.ignoreOffer {
		c.trace("ignoring a colliding offer") // the impolite side keeps its own
		return
	}
	// A pending offer was never applied, so there is nothing to roll
	// back; pion asks for it again once the answer makes it stable.
	c.pendingOffer = nil
	c.endFirstWait()
	// Our new tracks take the remote's new receive-only m-lines of
	// their kind; the others keep m-lines of their own, and receive
	// slots are free to take the remote's tracks here.
	c.takeRemoteSlots(d)
	c.assignMids(false)
	seen, answers := c.keepDirections(d) // directions.go
	if !c.applyRemote(seen) {
		return
	}
	c.quietSendOnly() // slots.go
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		c.negotiationError(err)
		return
	}
	if !c.applyLocalAs(answer, func(d webrtc.SessionDescription) webrtc.SessionDescription { return fixAnswer(d, answers) }) {
		return
	}
	c.shrinkIdle()
}

func (c *conn) applyRemote(d webrtc.SessionDescription) bool {
	if err := c.pc.SetRemoteDescription(d); err != nil {
		c.negotiationError(err)
		return false
	}
	c.remoteSet = true
	c.candCount, c.candWarned = 0, false
	for _, cand := range c.inbound {
		c.addCandidate(cand)
	}
	c.inbound = nil
	c.owner.afterRemoteDescription(c)
	c.ladderAfterRemote()
	stopTimer(&c.offerTimer)
	return true
}

// handleCandidate applies the JS SDK's caps, then adds the candidate or
// holds it until a remote description is applied.
func (c *conn) handleCandidate(cand *webrtc.ICECandidateInit, bad error) {
	if c.closed {
		return
	}
	if bad != nil {
		if !c.ignoreOffer {
			c.owner.emit(ICECandidateError{Err: bad})
		}
		return
	}
	init := webrtc.ICECandidateInit{} // end of candidates
	if cand != nil {
		if protocol.UTF16Len(cand.Candidate) > MaxICECandidateLength {
			c.env.log.Warn("dropping an oversized ICE candidate", "peer", c.peerID, "length", len(cand.Candidate))
			return
		}
		if c.candCount >= MaxICECandidatesPerGeneration {
			if !c.candWarned {
				c.candWarned = true
				c.env.log.Warn("dropping ICE candidates over the per-generation cap", "peer", c.peerID, "cap", MaxICECandidatesPerGeneration)
			}
			return
		}
		c.candCount++
		c.heardCandidate = true
		stopTimer(&c.quietTimer)
		init = *cand
		typ, proto := candidateKind(cand.Candidate)
		c.env.log.Debug("candidate received", "peer", c.peerID, "type", typ, "protocol", proto, "held", !c.remoteSet)
	} else {
		c.env.log.Debug("candidate received", "peer", c.peerID, "type", "end-of-candidates")
	}
	// Candidates that arrive after we ignored a colliding offer are kept:
	// the polite side answers ours next, with the same ICE agent, so they
	// serve our session. Dropping them (until the next offer) left ICE a
	// peer-reflexive pair a second later; perfect negotiation adds them and
	// only hides the errors.
	if !c.remoteSet {
		c.inbound = append(c.inbound, init)
		return
	}
	c.addCandidate(init)
}

func (c *conn) addCandidate(init webrtc.ICECandidateInit) {
	if err := c.pc.AddICECandidate(init); err != nil && !c.ignoreOffer {
		c.owner.emit(ICECandidateError{Err: protocol.ScrubError(err)})
	}
}

// close ends the connection; queued operations are dropped.
func (c *conn) close() {
	c.mu.Lock()
	c.isClosed = true
	c.outCands = nil
	c.mu.Unlock()
	c.unfollow(nil)
	for _, t := range c.pc.GetTransceivers() {
		if s := t.Sender(); s != nil {
			c.env.gates.forget(ssrcs(s))
		}
	}
	// pion is closed on the operations goroutine, after the operation in
	// flight: a CreateOffer or SetLocalDescription that passed pion's closed
	// check before Close and reaches the ICE gatherer after it makes an ICE
	// agent (and its mDNS server) that nothing closes.
	if !c.ops.do(func() {
		c.closed = true
		stopTimer(&c.offerTimer)
		stopTimer(&c.ladder.timer)
		stopTimer(&c.ladder.watchdog)
		stopTimer(&c.quietTimer)
		stopTimer(&c.firstWait)
		stopTimer(&c.heldTimer)
		_ = c.pc.Close()
	}) {
		_ = c.pc.Close() // closed before: Close is idempotent
	}
	c.ops.stop()
	c.ops.wait()
	c.rtx.close()
	c.forgetReceived()
}

// useICEServers makes the connection's next gathering use servers.
func (c *conn) useICEServers(servers []webrtc.ICEServer) {
	c.ops.do(func() {
		if c.closed {
			return
		}
		cfg := c.pc.GetConfiguration()
		cfg.ICEServers = servers
		if err := c.pc.SetConfiguration(cfg); err != nil {
			c.env.log.Warn("cannot take the new ICE servers", "peer", c.peerID, "err", protocol.Scrub(err.Error()))
		}
	})
}

// candidateKind is a candidate line's type and transport protocol, the
// part of it a log may show: never its addresses, ports or credentials.
func candidateKind(line string) (typ, proto string) {
	f := strings.Fields(strings.TrimPrefix(line, "candidate:"))
	if len(f) > 2 {
		proto = strings.ToLower(f[2])
	}
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "typ" {
			typ = f[i+1]
		}
	}
	switch {
	case typ != "host" && typ != "srflx" && typ != "prflx" && typ != "relay",
		proto != "udp" && proto != "tcp":
		return "unknown", "unknown" // nothing a remote wrote reaches the log
	}
	return typ, proto
}
