package testserver

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/metered-ca/realtime-go/protocol"
)

// conn is one client connection: the handler goroutine reads, a writer
// goroutine drains an ordered queue so that fan-out never blocks the hub.
type conn struct {
	srv    *Server
	cid    uint64
	id     *identity
	ws     *websocket.Conn
	joined uint64 // connection order, for stable presence lists

	mu         sync.Mutex
	queue      []outFrame
	queued     int // bytes in queue
	wake       chan struct{}
	killed     chan struct{}
	dead       bool
	closing    bool
	closeCode  protocol.CloseCode // what the server closed with, for the log
	closeWhy   string
	purposeful bool // subscribed or sent something
	idle       *time.Timer
	silence    Silence
	paused     chan struct{} // non-nil while reading is paused
	rate       bucket
	expiry     *time.Timer

	subs map[string]*membership // guarded by srv.mu
}

// outFrame is one queued write.
type outFrame struct {
	data   []byte
	typ    string
	binary bool
	delay  time.Duration // wait this long before writing (after earlier frames)
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	// This handler is the connection's reader: Close waits for it too, so
	// that when Close returns every connection is gone.
	s.wg.Add(1)
	defer s.wg.Done()
	refuse := s.faults.takeRefusal()
	s.mu.Unlock()
	if s.pending.Load() >= s.opts.MaxPendingTotal {
		// Memory is short: take no more until the slow consumers are gone.
		http.Error(w, "server busy", http.StatusServiceUnavailable)
		return
	}
	s.rec.handshake(r.URL.RequestURI())

	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered with an HTTP error
	}
	if refuse != nil {
		if refuse.Code == 0 {
			_ = ws.NetConn().Close()
		} else {
			closeNow(ws, refuse.Code, refuse.Reason)
		}
		return
	}
	id, code, reason := s.authenticate(r)
	if id == nil {
		closeNow(ws, code, reason)
		return
	}
	s.mu.Lock()
	t := id.tenant
	switch {
	case s.closed:
		code, reason = protocol.CloseGoingAway, "shutting down"
	case t.Suspended:
		code, reason = protocol.CloseAccountSuspended, "account suspended"
	case t.MaxConnections > 0 && t.connCount >= t.MaxConnections:
		code, reason = protocol.CloseOverConcurrentLimit, "over concurrent connection limit"
	case len(s.conns) >= s.opts.MaxConnections:
		code, reason = protocol.CloseOverConcurrentLimit, "server connection limit"
	case s.perKey[id.cred] >= s.opts.MaxConnectionsPerKey:
		code, reason = protocol.CloseOverConcurrentLimit, "connection limit for this key"
	}
	if code != 0 {
		s.mu.Unlock()
		closeNow(ws, code, reason)
		return
	}
	s.nextID++
	c := &conn{
		srv: s, cid: s.nextID, id: id, ws: ws, joined: s.nextID,
		wake: make(chan struct{}, 1), killed: make(chan struct{}),
		rate: newBucket(s.opts.RateLimit),
		subs: map[string]*membership{},
	}
	s.conns[c.cid] = c
	t.connCount++
	s.perKey[id.cred]++
	welcome := s.faults.takeWelcome()
	s.wg.Add(1) // the writer
	s.mu.Unlock()

	go func() { defer s.wg.Done(); c.writeLoop() }()
	s.log.Info("connection open", "conn", c.cid, "peer", id.peerID, "tenant", t.ID, "credential", credKind(id.cred), "remote", r.RemoteAddr)
	c.sendWelcome(welcome)
	c.armExpiry(id.closeAt)
	c.armIdle()
	c.readLoop()
	code, reason = c.closeStatus()
	s.log.Info("connection closed", "conn", c.cid, "peer", id.peerID, "code", int(code), "reason", reason)
}

// credKind names a credential for the log without revealing it.
func credKind(cred string) string {
	kind, id, _ := strings.Cut(cred, ":")
	if kind == "jwt" {
		return "jwt (kid " + id + ")" // a key id is not a secret
	}
	return "publishable key"
}

// armIdle closes a connection that neither subscribes nor sends within
// Options.IdleUnsubscribed of its welcome: it holds a slot for nothing.
func (c *conn) armIdle() {
	d := c.srv.opts.IdleUnsubscribed
	if d <= 0 {
		return
	}
	t := time.AfterFunc(d, func() {
		c.mu.Lock()
		idle := !c.purposeful
		c.mu.Unlock()
		if idle {
			c.closeWith(protocol.ClosePolicyViolation, "idle: nothing subscribed or sent")
		}
	})
	c.mu.Lock()
	c.idle = t
	c.mu.Unlock()
}

func closeNow(ws *websocket.Conn, code protocol.CloseCode, reason string) {
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(int(code), reason), time.Now().Add(time.Second))
	_ = ws.SetReadDeadline(time.Now().Add(time.Second))
	for { // wait for the client's echo so the close is clean
		if _, _, err := ws.NextReader(); err != nil {
			break
		}
	}
	_ = ws.Close()
}

func (c *conn) sendWelcome(f *WelcomeFault) {
	s := c.srv
	now := time.Now()
	serverTime := float64(now.Unix())
	if s.opts.ServerTimeMillis {
		serverTime = float64(now.UnixMilli())
	}
	frame := protocol.MarshalServer(&protocol.Welcome{
		PeerID:         c.id.peerID,
		ExpiresAt:      c.id.expiresAt,
		ServerTime:     serverTime,
		MaxMessageSize: float64(s.opts.MaxMessageSize),
		Metadata:       c.id.metadata,
	})
	if f == nil {
		c.enqueue(outFrame{data: frame, typ: protocol.TypeWelcome})
		return
	}
	if f.Never {
		return
	}
	if f.Raw != "" {
		frame = []byte(f.Raw)
	}
	c.enqueue(outFrame{data: frame, typ: protocol.TypeWelcome, delay: f.Delay})
	if f.Duplicate {
		c.enqueue(outFrame{data: frame, typ: protocol.TypeWelcome})
	}
}

// armExpiry closes the connection with 4002 at at (zero: never).
func (c *conn) armExpiry(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expiry != nil {
		c.expiry.Stop()
		c.expiry = nil
	}
	if at.IsZero() || c.dead {
		return
	}
	c.expiry = time.AfterFunc(time.Until(at), func() { c.closeWith(protocol.CloseTokenExpired, "token expired") })
}

// enqueue queues a frame, applying the server's outbound faults.
func (c *conn) enqueue(f outFrame) {
	drop, delay := c.srv.faults.outbound(c.id.peerID, f.typ)
	if drop {
		return
	}
	if delay > 0 {
		// A delayed frame is overtaken by later ones, as behind a slow backend.
		time.AfterFunc(delay, func() { c.push(f) })
		return
	}
	c.push(f)
}

// push queues f for the writer, unless that makes c a slow consumer: more
// than MaxPendingBytes or MaxPendingMessages waiting, or the server's
// MaxPendingTotal reached. A slow consumer is cut (close 1008, "slow
// consumer"); its queue is freed at once, and nobody else waits for it.
// push may run with the server's lock held, so the cut itself runs on a
// goroutine of the server's.
func (c *conn) push(f outFrame) {
	s := c.srv
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	n := len(f.data)
	if c.queued+n > s.opts.MaxPendingBytes || len(c.queue) >= s.opts.MaxPendingMessages || s.pending.Load()+int64(n) > s.opts.MaxPendingTotal {
		queued, frames := c.queued, len(c.queue)
		// c's writer is alive until c is dead, so the count is above zero.
		s.wg.Add(1)
		c.killLocked()
		c.closeCode, c.closeWhy = protocol.ClosePolicyViolation, "slow consumer"
		c.mu.Unlock()
		s.log.Warn("slow consumer cut", "conn", c.cid, "peer", c.id.peerID, "pendingBytes", queued, "pendingFrames", frames, "serverPending", s.pending.Load())
		s.slowConsumers.Add(1)
		go func() {
			defer s.wg.Done()
			// Best effort: a reader this slow may never see the close frame.
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(int(protocol.ClosePolicyViolation), "slow consumer"), time.Now().Add(100*time.Millisecond))
			_ = c.ws.NetConn().Close()
		}()
		return
	}
	c.queue = append(c.queue, f)
	c.queued += n
	s.pending.Add(int64(n))
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *conn) writeLoop() {
	var tick <-chan time.Time
	if iv := c.srv.opts.PingInterval; iv > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		tick = t.C
	}
	for {
		c.mu.Lock()
		for len(c.queue) == 0 && !c.dead {
			c.mu.Unlock()
			select {
			case <-c.wake:
			case <-c.killed:
			case <-tick:
				if c.silenced(SilenceAll) {
					break
				}
				_ = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second))
			}
			c.mu.Lock()
		}
		if c.dead {
			c.mu.Unlock()
			return
		}
		f := c.queue[0]
		c.queue[0] = outFrame{}
		c.queue = c.queue[1:]
		c.queued -= len(f.data)
		c.srv.pending.Add(-int64(len(f.data)))
		c.mu.Unlock()
		if f.delay > 0 {
			select {
			case <-time.After(f.delay):
			case <-c.killed:
				return
			}
		}
		if !c.silenced(SilenceAll) {
			_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			kind := websocket.TextMessage
			if f.binary {
				kind = websocket.BinaryMessage
			}
			if err := c.ws.WriteMessage(kind, f.data); err != nil {
				c.drop()
				return
			}
			c.srv.rec.frame(c, "out", f.data)
		}
	}
}

func (c *conn) silenced(mode Silence) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.silence == SilenceAll || c.silence == mode
}

// closeWith sends a close frame; the reader ends on the client's echo or
// after a second.
func (c *conn) closeWith(code protocol.CloseCode, reason string) {
	c.mu.Lock()
	if c.closing || c.dead {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.closeCode, c.closeWhy = code, reason
	c.mu.Unlock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(int(code), reason), time.Now().Add(time.Second))
	_ = c.ws.SetReadDeadline(time.Now().Add(time.Second))
}

// drop cuts the TCP connection without a close frame.
func (c *conn) drop() {
	c.kill()
	_ = c.ws.NetConn().Close()
}

func (c *conn) kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.killLocked()
}

// killLocked stops the connection's writer and frees its queue; c.mu held.
func (c *conn) killLocked() {
	if c.dead {
		return
	}
	c.dead = true
	c.queue = nil
	c.srv.pending.Add(-int64(c.queued))
	c.queued = 0
	close(c.killed)
	if c.expiry != nil {
		c.expiry.Stop()
	}
	if c.idle != nil {
		c.idle.Stop()
	}
	if c.paused != nil {
		close(c.paused)
		c.paused = nil
	}
}

func (c *conn) readLoop() {
	s := c.srv
	limit := int64(s.opts.MaxMessageSize)
	if s.opts.SizeMode == "data" {
		limit = 16 << 20
	}
	c.ws.SetReadLimit(limit)
	c.touch()
	c.ws.SetPingHandler(func(data string) error {
		c.touch()
		if c.silenced(SilenceControlPongs) {
			return nil
		}
		return c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(5*time.Second))
	})
	c.ws.SetPongHandler(func(string) error { c.touch(); return nil })
	for {
		if !c.waitUnpaused() {
			break
		}
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			break
		}
		c.touch()
		s.rec.frame(c, "in", data)
		switch {
		case typ != websocket.TextMessage:
			// RMS speaks JSON text: a binary frame is refused, not skipped
			// past the rate limit.
			c.closeWith(protocol.CloseUnsupportedData, "binary frames are not supported")
			continue
		case !utf8.Valid(data):
			// Never forwarded: a browser would drop its socket on it.
			c.closeWith(protocol.CloseInvalidPayload, "invalid UTF-8")
			continue
		}
		c.handle(data)
	}
	s.removeConn(c)
	c.kill()
	_ = c.ws.Close()
}

func (c *conn) touch() {
	if d := c.srv.opts.IdleTimeout; d > 0 {
		c.mu.Lock()
		closing := c.closing
		c.mu.Unlock()
		if !closing {
			_ = c.ws.SetReadDeadline(time.Now().Add(d))
		}
	}
}

func (c *conn) waitUnpaused() bool {
	c.mu.Lock()
	p := c.paused
	c.mu.Unlock()
	if p == nil {
		return true
	}
	select {
	case <-p:
	case <-c.killed:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.dead
}

// takeToken applies the rate limit to one inbound frame of type typ.
func (c *conn) takeToken(typ string) bool {
	rl := c.srv.opts.RateLimit
	if rl.Types != nil && !slices.Contains(rl.Types, typ) {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rate.take(rl)
}

// bucket is a token bucket: a connection's, or a secret key's for REST.
type bucket struct {
	tokens   float64
	lastFill time.Time
}

func newBucket(rl RateLimit) bucket { return bucket{tokens: rl.Burst, lastFill: time.Now()} }

// take takes one token if there is one; the caller holds the bucket's lock.
func (b *bucket) take(rl RateLimit) bool {
	if rl.Disabled {
		return true
	}
	now := time.Now()
	b.tokens = min(rl.Burst, b.tokens+now.Sub(b.lastFill).Seconds()*rl.PerSecond)
	b.lastFill = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (c *conn) sendFrame(f protocol.ServerFrame) {
	c.enqueue(outFrame{data: protocol.MarshalServer(f), typ: f.FrameType()})
}

func (c *conn) sendError(code protocol.ErrorCode, requestID, message string) {
	c.sendFrame(&protocol.Error{Code: code, RequestID: requestID, Message: message})
}

// presence lists the peers subscribed to channel, in connection order,
// once per peer id, leaving out skip's peer id; s.mu held.
func (t *tenantState) presence(channel string, skip *conn) []protocol.PresencePeer {
	members := t.channels[channel]
	list := make([]*conn, 0, len(members))
	for m := range members {
		list = append(list, m)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].joined < list[j].joined })
	seen := map[string]bool{}
	out := make([]protocol.PresencePeer, 0, len(list))
	for _, m := range list {
		if (skip != nil && m.id.peerID == skip.id.peerID) || seen[m.id.peerID] {
			continue
		}
		seen[m.id.peerID] = true
		out = append(out, protocol.PresencePeer{PeerID: m.id.peerID, Metadata: m.id.peerMetadata})
	}
	return out
}

// removeConn forgets c and tells every channel it was in that it left.
func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c.cid]; !ok {
		return
	}
	delete(s.conns, c.cid)
	c.id.tenant.connCount--
	if s.perKey[c.id.cred]--; s.perKey[c.id.cred] <= 0 {
		delete(s.perKey, c.id.cred)
	}
	for ch, m := range c.subs {
		s.leaveLocked(c, ch, m)
	}
}

// leaveLocked removes c from channel and announces it; s.mu held.
func (s *Server) leaveLocked(c *conn, channel string, m *membership) {
	t := c.id.tenant
	delete(c.subs, channel)
	delete(t.channels[channel], c)
	if len(t.channels[channel]) == 0 {
		delete(t.channels, channel)
	}
	frame := protocol.MarshalServer(&protocol.Presence{Channel: channel, Joined: []protocol.PresencePeer{}, Left: []protocol.PresencePeer{{PeerID: c.id.peerID, Metadata: c.id.peerMetadata}}})
	for other, om := range t.channels[channel] {
		if m.knownBy(om) {
			other.enqueue(outFrame{data: frame, typ: protocol.TypePresence})
		}
	}
}

// closeStatus is what the server closed the connection with, if it did.
func (c *conn) closeStatus() (protocol.CloseCode, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeCode == 0 {
		return protocol.CloseAbnormal, "ended by the client or the network"
	}
	return c.closeCode, c.closeWhy
}
