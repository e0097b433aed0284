package peer

import (
	"context"
	"strconv"
	"time"

	"github.com/metered-ca/realtime-go/signalling"
)

// What the signalling connection delivers; every handler here runs on
// p.inbox, one at a time, in arrival order.

func (p *MeteredPeer) onConnected(ev signalling.Connected) {
	p.tokenFailureReported = false
	p.mu.Lock()
	defer p.mu.Unlock()
	p.peerID = ev.PeerID
	if len(ev.ICEServers) > 0 {
		p.iceServers = toPionICE(ev.ICEServers)
		// Connections that outlive the reconnect take the fresh servers
		// (short-lived TURN credentials): their next ICE restart gathers
		// with them, not with credentials that may have expired.
		for _, c := range p.connsLocked() {
			c.useICEServers(p.iceServers)
		}
	}
	if !ev.IsReconnect || p.state != StateReconnecting {
		return
	}
	if len(p.peers) == 0 {
		p.reconcilePending = false
		p.transitionLocked(StateJoined)
		return
	}
	p.reconcilePending = true
	p.resubscribes = 0
	p.armReconcileLocked()
}

func (p *MeteredPeer) armReconcileLocked() {
	p.stopReconcileLocked()
	var t *time.Timer
	t = time.AfterFunc(p.timing.reconcile, func() { p.inbox.do(func() { p.reconcileExpired(t) }) })
	p.reconcileTimer = t
}

func (p *MeteredPeer) stopReconcileLocked() {
	if p.reconcileTimer != nil {
		p.reconcileTimer.Stop()
		p.reconcileTimer = nil
	}
}

func (p *MeteredPeer) reconcileExpired(t *time.Timer) {
	p.mu.Lock()
	if p.reconcileTimer != t || !p.reconcilePending || p.state != StateReconnecting || p.channel == "" {
		p.mu.Unlock()
		return
	}
	p.reconcileTimer = nil
	if p.resubscribes >= MaxReconcileResubscribes {
		p.mu.Unlock()
		p.fatal(ErrReconcileTimeout)
		return
	}
	p.resubscribes++
	ch, opts := p.channel, p.join.subscribeOptions()
	p.armReconcileLocked()
	p.mu.Unlock()
	p.log.Warn("no presence snapshot after reconnect; subscribing again", "channel", ch, "attempt", p.resubscribes)
	p.tasks.do(func(life context.Context) { _ = p.subscribe(life, ch, opts...) })
}

func (p *MeteredPeer) onDisconnected(ev signalling.Disconnected) {
	p.mu.Lock()
	st := p.state
	switch {
	case st == StateClosed || st == StateLeaving || st == StateJoining:
		p.mu.Unlock()
		if st == StateJoining && ev.Code.Fatal() {
			p.fatal(&CloseError{Code: ev.Code, Reason: ev.Reason})
		}
		return
	case (st == StateJoined || st == StateReconnecting) && ev.WillReconnect:
		p.stopReconcileLocked()
		p.reconcilePending = true
		peers := append([]*RemotePeer(nil), p.order...)
		p.transitionLocked(StateReconnecting)
		p.mu.Unlock()
		for _, rp := range peers {
			rp.forceReconnecting()
		}
		return
	}
	p.mu.Unlock()
	// Terminal: the connection will not come back.
	if !ev.WillReconnect && ev.Code.Fatal() {
		p.fatal(&CloseError{Code: ev.Code, Reason: ev.Reason})
	}
	reason := ev.Reason
	if reason == "" {
		reason = "disconnected (code " + strconv.Itoa(int(ev.Code)) + ")"
	}
	go func() { _ = p.Close(reason) }()
}

func (p *MeteredPeer) onPresence(ev signalling.Presence) {
	p.mu.Lock()
	if p.state == StateJoining && ev.Channel == p.joining {
		p.stash = append(p.stash, ev)
		p.mu.Unlock()
		return
	}
	if ev.Channel != p.channel || (p.state != StateJoined && p.state != StateReconnecting) {
		p.mu.Unlock()
		return
	}
	if p.reconcilePending {
		p.reconcilePending = false
		p.stopReconcileLocked()
		p.mu.Unlock()
		p.reconcile(ev.Joined)
		return
	}
	p.mu.Unlock()
	for _, j := range ev.Joined {
		p.addPeer(j.PeerID, j.Metadata)
	}
	for _, l := range ev.Left {
		p.removePeer(l.PeerID)
	}
}

func (p *MeteredPeer) onDirect(ev signalling.Direct) {
	c := classifyDirect(ev.Data)
	p.mu.Lock()
	rp := p.peers[ev.From]
	p.mu.Unlock()
	switch c.kind {
	case directDescription, directICE:
		if rp == nil {
			p.early.hold(ev.From, c)
			return
		}
		rp.route(c)
	case directTrackMeta:
		// No sender of ours could send metadata over the server's cap; one
		// that does is hostile, and the cache holds 512 entries per peer.
		if limit := p.client.MaxMessageSize(); len(c.metadata) > limit {
			p.log.Warn("dropping track metadata over the size cap", "from", ev.From, "size", len(c.metadata), "cap", limit)
			return
		}
		if rp == nil {
			// Before the presence that names its sender (the server may
			// deliver them in either order): kept with an early offer,
			// so the track it announces does not arrive without it.
			p.early.hold(ev.From, c)
			return
		}
		rp.setTrackMetadata(c.trackID, c.metadata)
	case directBadTrackMeta:
		p.log.Warn("dropping a malformed track-metadata message", "from", ev.From)
	default:
		if rp == nil {
			p.log.Debug("dropping a direct message from a peer not in the channel", "from", ev.From)
			return
		}
		p.events.Emit(Data{SenderPeerID: ev.From, Data: ev.Data, Kind: KindDirect, SenderMetadata: ev.FromMetadata})
	}
}

func (p *MeteredPeer) onMessage(ev signalling.Message) {
	p.mu.Lock()
	ch, self := p.channel, p.peerID
	p.mu.Unlock()
	if ev.Channel != ch || ev.From == self {
		return
	}
	p.events.Emit(Data{SenderPeerID: ev.From, Data: ev.Data, Kind: KindBroadcast, SenderMetadata: ev.FromMetadata})
}

func (p *MeteredPeer) onServerError(ev signalling.ServerErrorReceived) {
	if ev.Code.Fatal() {
		p.fatal(&signalling.ServerError{Code: ev.Code, RequestID: ev.RequestID, Message: ev.Message})
	}
}
