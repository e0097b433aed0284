package peer

import (
	"encoding/json"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/protocol"
)

// The members of the channel: a RemotePeer each, made, fanned out to,
// swapped after a reconnect and removed.

func (p *MeteredPeer) newConn(rp *RemotePeer) (*conn, error) {
	p.mu.Lock()
	cfg := p.config
	if len(p.iceServers) > 0 {
		cfg.ICEServers = p.iceServers
	}
	polite := politeTowards(p.peerID, rp.id)
	p.mu.Unlock()
	if len(cfg.Certificates) == 0 {
		cert, err := p.cert.get(time.Now())
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []webrtc.Certificate{cert}
	}
	pc, err := p.api.NewPeerConnection(cfg)
	if err != nil {
		return nil, err
	}
	c := newConn(rp, rp.id, rp.env, pc, polite)
	c.meters = p.meters.claim(pc.ID())
	c.watchBandwidth()
	c.readRTXFeedback(p.api)
	return c, nil
}

func (p *MeteredPeer) removeAll() {
	for _, rp := range p.RemotePeers() {
		p.removePeer(rp.id)
	}
}

func (p *MeteredPeer) addPeer(id string, metadata json.RawMessage) {
	p.mu.Lock()
	if id == p.peerID || p.peers[id] != nil || p.peerID == "" {
		p.mu.Unlock()
		return
	}
	if len(p.peers) >= MaxPeersPerChannel {
		p.mu.Unlock()
		p.log.Warn("channel peer limit reached; ignoring a member", "limit", MaxPeersPerChannel)
		return
	}
	p.mu.Unlock()
	rp := newRemotePeer(&p.env, id, metadata)
	c, err := p.newConn(rp)
	if err != nil {
		p.log.Error("cannot create a peer connection", "peer", id, "err", protocol.Scrub(err.Error()))
		return
	}
	rp.conn = c
	p.mu.Lock()
	p.peers[id] = rp
	p.order = append(p.order, rp)
	tracks := append([]*trackedTrack(nil), p.tracks...)
	p.mu.Unlock()
	for _, s := range p.early.take(id) { // its offer may have come first
		rp.route(s)
	}
	p.fanOut(rp, c, tracks)
	p.events.Emit(PeerJoined{Peer: rp})
}

// fanOut announces every tracked track's metadata to rp, then attaches the
// tracks to its connection (metadata first, so it precedes the offer).
func (p *MeteredPeer) fanOut(rp *RemotePeer, c *conn, tracks []*trackedTrack) {
	for _, t := range tracks {
		if t.meta != nil {
			rp.signal(t.metaSet())
		}
	}
	done := make(chan struct{})
	if !c.ops.do(func() {
		for _, t := range tracks {
			t.attach(c)
		}
		close(done)
	}) {
		return // the connection closed meanwhile: nothing to attach to
	}
	<-done
}

func (p *MeteredPeer) removePeer(id string) {
	p.mu.Lock()
	rp := p.peers[id]
	if rp == nil {
		p.mu.Unlock()
		return
	}
	delete(p.peers, id)
	for i, x := range p.order {
		if x == rp {
			p.order = append(p.order[:i:i], p.order[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
	rp.close()
	p.events.Emit(PeerLeft{Peer: rp})
}

// After a reconnect, as in the JS SDK: presence must be restored within
// ReconcileDeadline, re-subscribing at most MaxReconcileResubscribes times,
// or the MeteredPeer reports ErrReconcileTimeout.
const (
	ReconcileDeadline        = 10 * time.Second
	MaxReconcileResubscribes = 2
)

// reconcile diffs the snapshot after a reconnect against the members:
// departures leave, survivors keep their RemotePeer with a fresh
// connection, newcomers join.
func (p *MeteredPeer) reconcile(snapshot []protocol.PresencePeer) {
	p.mu.Lock()
	self := p.peerID
	p.mu.Unlock()
	present := map[string]json.RawMessage{}
	var ids []string
	for _, e := range snapshot {
		if e.PeerID == self {
			continue
		}
		if _, dup := present[e.PeerID]; !dup {
			ids = append(ids, e.PeerID)
		}
		present[e.PeerID] = e.Metadata
	}
	for _, rp := range p.RemotePeers() {
		if _, ok := present[rp.id]; !ok {
			p.removePeer(rp.id)
		}
	}
	for _, id := range ids {
		if p.State() != StateReconnecting {
			return
		}
		p.mu.Lock()
		rp := p.peers[id]
		tracks := append([]*trackedTrack(nil), p.tracks...)
		p.mu.Unlock()
		if rp == nil {
			p.addPeer(id, present[id])
			continue
		}
		rp.mu.Lock()
		rp.metadata = present[id]
		rp.mu.Unlock()
		c, err := p.newConn(rp)
		if err != nil {
			p.log.Warn("reconcile peer swap failed", "peer", id, "err", protocol.Scrub(err.Error()))
			continue
		}
		rp.swap(c)
		p.fanOut(rp, c, tracks)
	}
	p.mu.Lock()
	if p.state == StateReconnecting {
		p.transitionLocked(StateJoined)
	}
	p.mu.Unlock()
}

func toPionICE(list []protocol.ICEServer) []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, 0, len(list))
	for _, s := range list {
		e := webrtc.ICEServer{URLs: s.URLs, Username: s.Username}
		if s.Credential != "" {
			e.Credential = s.Credential
		}
		out = append(out, e)
	}
	return out
}
