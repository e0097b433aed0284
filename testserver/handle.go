package testserver

import (
	"errors"

	"github.com/metered-ca/realtime-go/protocol"
)

// handle answers one inbound text frame.
func (c *conn) handle(data []byte) {
	s := c.srv
	f, err := protocol.ParseClient(data)
	if !c.takeToken(frameTypeOf(f)) {
		c.closeWith(protocol.CloseOverMessageRate, "over message rate")
		return
	}
	if err != nil {
		var fe *protocol.FrameError
		if errors.As(err, &fe) {
			c.sendError(fe.Code, fe.RequestID, fe.Reason)
		}
		return
	}
	if forced := s.faults.takeForcedError(c.id.peerID, f.FrameType()); forced != nil {
		id := f.ReqID()
		switch {
		case forced.WithoutRequestID:
			id = ""
		case forced.RequestID != "":
			id = forced.RequestID
		}
		c.sendError(forced.Code, id, forced.Message)
		return
	}
	switch f.(type) {
	case *protocol.Subscribe, *protocol.Publish, *protocol.Send:
		c.mu.Lock()
		c.purposeful = true
		c.mu.Unlock()
	}
	switch f := f.(type) {
	case *protocol.Ping:
		switch {
		case s.opts.LegacyPing:
			c.sendError(protocol.CodeUnknownType, "", "unknown type: ping")
		case !c.silenced(SilenceAppPongs):
			c.sendFrame(&protocol.Pong{})
		}
	case *protocol.Subscribe:
		s.subscribe(c, f)
	case *protocol.Unsubscribe:
		s.unsubscribe(c, f)
	case *protocol.Publish:
		if s.opts.SizeMode == "data" && len(f.Data) > s.opts.MaxMessageSize {
			c.closeWith(protocol.CloseMessageTooBig, "message too big")
			return
		}
		s.publish(c, f)
	case *protocol.Send:
		if s.opts.SizeMode == "data" && len(f.Data) > s.opts.MaxMessageSize {
			c.closeWith(protocol.CloseMessageTooBig, "message too big")
			return
		}
		s.send(c, f)
	}
}

func frameTypeOf(f protocol.ClientFrame) string {
	if f == nil {
		return ""
	}
	return f.FrameType()
}

// authorize checks the action and channel; it answers the error itself.
func (s *Server) authorize(c *conn, action, channel, requestID string) bool {
	if !c.id.may(action) {
		c.sendError(protocol.CodeActionNotPermitted, requestID, "credential lacks the "+action+" action")
		return false
	}
	if !c.id.allowed(channel) {
		if action == ActionSubscribe && s.opts.CloseOnUnauthorizedSubscribe {
			c.closeWith(protocol.CloseChannelNotAuthorized, "channel not authorized")
			return false
		}
		c.sendError(protocol.CodeChannelNotAuthorized, requestID, "channel not covered by the credential")
		return false
	}
	return true
}

// subscribe queues the ack, then the presence snapshot (written a few ms
// later, as its own frame, so a Node client never reads both in one chunk),
// and only then tells the others that the subscriber joined. Each
// connection's queue is FIFO, so whatever another peer sends in reaction to
// the join reaches the subscriber after its snapshot, and whatever the
// subscriber sends after its snapshot reaches the others after the join.
func (s *Server) subscribe(c *conn, f *protocol.Subscribe) {
	if !s.authorize(c, ActionSubscribe, f.Channel, f.RequestID) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := c.id.tenant
	m := c.subs[f.Channel]
	repeat := m != nil
	if !repeat {
		if len(c.subs) >= protocol.MaxChannelsPerConnection {
			c.sendError(protocol.CodeChannelLimitExceeded, f.RequestID, "connection holds 100 subscriptions")
			return
		}
		s.seq++
		m = &membership{seq: s.seq}
		if t.channels[f.Channel] == nil {
			t.channels[f.Channel] = map[*conn]*membership{}
		}
		t.channels[f.Channel][c] = m
		c.subs[f.Channel] = m
	}
	m.includeSenderMetadata = f.IncludeSenderMetadata
	ack := outFrame{data: protocol.MarshalServer(&protocol.Ack{RequestID: f.RequestID}), typ: protocol.TypeAck}
	chunks := presenceFrames(f.Channel, t.presence(f.Channel, c))
	snapshot := outFrame{data: chunks[0], typ: protocol.TypePresence, delay: s.opts.SnapshotDelay}
	// A snapshot too large for one frame continues as joins.
	defer func() {
		for _, more := range chunks[1:] {
			c.enqueue(outFrame{data: more, typ: protocol.TypePresence})
		}
	}()
	switch s.faults.takeSnapshotFault(c.id.peerID) {
	case snapshotDrop:
		c.enqueue(ack)
	case snapshotBeforeAck:
		snapshot.delay = 0
		c.enqueue(snapshot)
		c.enqueue(ack)
	case snapshotDuplicate:
		c.enqueue(ack)
		c.enqueue(snapshot)
		c.enqueue(snapshot)
	default:
		if f.RequestID != "" {
			c.enqueue(ack)
		}
		c.enqueue(snapshot)
	}
	if !repeat || s.opts.RebroadcastJoin {
		s.announceJoinLocked(c, f.Channel, m, repeat)
	}
}

// announceJoinLocked tells the members that subscribed before c (and so do
// not know of it) that c joined; a rebroadcast tells everyone. s.mu held.
func (s *Server) announceJoinLocked(c *conn, channel string, m *membership, rebroadcast bool) {
	frame := protocol.MarshalServer(&protocol.Presence{Channel: channel, Joined: []protocol.PresencePeer{{PeerID: c.id.peerID, Metadata: c.id.peerMetadata}}, Left: []protocol.PresencePeer{}})
	for other, om := range c.id.tenant.channels[channel] {
		if other != c && (rebroadcast || !m.knownBy(om)) {
			other.enqueue(outFrame{data: frame, typ: protocol.TypePresence})
		}
	}
	m.announced = true
}

func (s *Server) unsubscribe(c *conn, f *protocol.Unsubscribe) {
	s.mu.Lock()
	if m := c.subs[f.Channel]; m != nil {
		s.leaveLocked(c, f.Channel, m)
	}
	s.mu.Unlock()
	c.ack(f.RequestID)
}

func (c *conn) ack(requestID string) {
	if requestID != "" {
		c.sendFrame(&protocol.Ack{RequestID: requestID})
	}
}

// overQuota counts one publish/send attempt against the tenant's quota.
func (s *Server) overQuota(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.id.tenant.countMessageLocked()
}

// countMessageLocked counts one message, over WebSocket or REST, against
// the tenant's quota and reports whether it is over; s.mu held.
func (t *tenantState) countMessageLocked() (over bool) {
	t.messagesUsed++
	return t.MessageQuota > 0 && t.messagesUsed > t.MessageQuota
}

func (s *Server) publish(c *conn, f *protocol.Publish) {
	if !s.authorize(c, ActionPublish, f.Channel, f.RequestID) {
		return
	}
	if s.overQuota(c) {
		c.sendError(protocol.CodeOverMessageQuota, f.RequestID, "message quota used up")
		return
	}
	c.ack(f.RequestID)
	s.fanOut(c.id.tenant, f.Channel, c.id.peerID, c.id.peerMetadata, f.Data, c)
}

// fanOut delivers a message to every subscriber of channel but skip.
func (s *Server) fanOut(t *tenantState, channel, from string, fromMeta, data []byte, skip *conn) {
	plain := protocol.MarshalServer(&protocol.Message{Channel: channel, From: from, Data: data})
	var withMeta []byte
	s.mu.Lock()
	defer s.mu.Unlock()
	for other, m := range t.channels[channel] {
		if other == skip {
			continue
		}
		frame := plain
		if m.includeSenderMetadata && fromMeta != nil {
			if withMeta == nil {
				withMeta = protocol.MarshalServer(&protocol.Message{Channel: channel, From: from, Data: data, FromMetadata: fromMeta})
			}
			frame = withMeta
		}
		other.enqueue(outFrame{data: frame, typ: protocol.TypeMessage})
	}
}

func (s *Server) send(c *conn, f *protocol.Send) {
	if !c.id.may(ActionSend) {
		c.sendError(protocol.CodeActionNotPermitted, f.RequestID, "credential lacks the send action")
		return
	}
	if s.overQuota(c) {
		c.sendError(protocol.CodeOverMessageQuota, f.RequestID, "message quota used up")
		return
	}
	frame := protocol.MarshalServer(&protocol.Direct{From: c.id.peerID, Data: f.Data, FromMetadata: c.id.peerMetadata})
	s.mu.Lock()
	targets := 0
	for _, other := range s.conns {
		if other.id.tenant == c.id.tenant && other.id.peerID == f.To {
			other.enqueue(outFrame{data: frame, typ: protocol.TypeDirect})
			targets++
		}
	}
	s.mu.Unlock()
	if targets == 0 {
		c.sendError(protocol.CodePeerNotFound, f.RequestID, "peer not connected")
		return
	}
	c.ack(f.RequestID)
}

// maxPresenceFrame bounds one presence frame: half of what a client accepts
// (1 MiB, counted in UTF-16 units, never more than bytes).
const maxPresenceFrame = 512 << 10

// presenceFrames is the snapshot of channel as presence frames of at most
// maxPresenceFrame bytes each: one frame unless the members' metadata is
// large; the frames after the first read as joins.
func presenceFrames(channel string, joined []protocol.PresencePeer) [][]byte {
	frame := func(list []protocol.PresencePeer) []byte {
		return protocol.MarshalServer(&protocol.Presence{Channel: channel, Joined: list, Left: []protocol.PresencePeer{}})
	}
	var out [][]byte
	start, size := 0, 0
	for i, p := range joined {
		n := len(p.PeerID) + len(p.Metadata) + 64
		if size+n > maxPresenceFrame && i > start {
			out = append(out, frame(joined[start:i]))
			start, size = i, 0
		}
		size += n
	}
	return append(out, frame(joined[start:]))
}
