package signalling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/metered-ca/realtime-go/protocol"
	"github.com/metered-ca/realtime-go/signalling/event"
)

// Client is one logical connection to RMS that survives reconnects. It is
// safe for concurrent use.
type Client struct {
	cfg    *config
	log    *slog.Logger
	events *event.Emitter
	dialer websocket.Dialer

	mu               sync.Mutex
	state            State
	life             context.Context // ends with Close
	endLife          context.CancelFunc
	sock             *socket
	explicitlyClosed bool
	closing          bool // Close is waiting for goroutines
	wasEverConnected bool
	attempts         int
	reconnectTimer   *time.Timer
	tokenFailures    int
	nextFloor        time.Duration
	lastCloseCode    protocol.CloseCode
	subs             subscriptions
	replayCounts     map[string]int
	replayTimers     map[*time.Timer]struct{}
	epoch            uint64
	maxMessageSize   int // 0 until a welcome says otherwise
	peerID           string
	iceServers       []protocol.ICEServer
	await            *welcomeWait // the current attempt is waiting for its welcome
	connectResult    chan error   // the pending public Connect, if any
	connectFailure   error        // why it failed, told once the socket is down
	pending          map[string]*pendingRequest
	wg               sync.WaitGroup // attempts and socket goroutines
}

type welcomeWait struct {
	timer  *time.Timer
	sock   *socket
	cancel context.CancelFunc // aborts the dial
}

type pendingRequest struct {
	timer *time.Timer
	done  func(error) // called with Client.mu held
}

// New validates opts and returns an idle Client.
func New(opts Options) (*Client, error) {
	cfg, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	log := cfg.log
	if log == nil {
		log = event.DiscardLogger()
	}
	log = log.With("component", "signalling")
	c := &Client{
		cfg:          cfg,
		log:          log,
		events:       event.New(log, cfg.maxPending),
		replayCounts: map[string]int{},
		replayTimers: map[*time.Timer]struct{}{},
		pending:      map[string]*pendingRequest{},
		dialer: websocket.Dialer{
			Proxy:            http.ProxyFromEnvironment,
			NetDialContext:   dialTCP,
			HandshakeTimeout: cfg.welcomeTimeout,
			ReadBufferSize:   16 << 10,
			WriteBufferSize:  16 << 10,
		},
	}
	c.events.OnOverload(func(n uint64) any { return SlowConsumer{Dropped: n} })
	c.life, c.endLife = context.WithCancel(context.Background())
	return c, nil
}

// State reports the connection state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// PeerID is the id the server assigned in the latest welcome ("" before).
func (c *Client) PeerID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peerID
}

// MaxMessageSize is the payload cap in bytes: the latest welcome's, or
// 65536 before any welcome.
func (c *Client) MaxMessageSize() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sizeCapLocked()
}

func (c *Client) sizeCapLocked() int {
	if c.maxMessageSize > 0 {
		return c.maxMessageSize
	}
	return protocol.DefaultMaxMessageSize
}

// Connect opens the connection and waits for the server's welcome. It may
// be called on an idle or closed client. A failure of the first attempt is
// returned and not retried (*ConnectError for a close before welcome,
// *WelcomeTimeoutError, TokenProviderError); once connected, the client
// reconnects by itself. Cancelling ctx abandons the attempt and closes the
// client.
func (c *Client) Connect(ctx context.Context) error {
	c.mu.Lock()
	if (c.state != StateIdle && c.state != StateClosed) || c.closing {
		st := c.state
		c.mu.Unlock()
		return &StateError{Method: "Connect", State: st}
	}
	if err := ctx.Err(); err != nil {
		c.mu.Unlock()
		return err
	}
	c.explicitlyClosed = false
	c.attempts = 0
	c.wasEverConnected = false
	if c.life.Err() != nil {
		c.life, c.endLife = context.WithCancel(context.Background())
	}
	result := make(chan error, 1)
	c.connectResult = result
	c.openSocketLocked()
	c.mu.Unlock()

	select {
	case err := <-result:
		return err
	case <-ctx.Done():
		c.mu.Lock()
		if c.connectResult == result {
			c.connectResult = nil
			c.mu.Unlock()
			_ = c.Close()
			return ctx.Err()
		}
		c.mu.Unlock()
		return <-result
	}
}

func (c *Client) finishConnectLocked(err error) {
	if c.connectResult != nil {
		c.connectResult <- err
		c.connectResult = nil
	}
}

// Close ends the connection with code 1000 and stops reconnecting. It waits
// up to one second for the server to acknowledge the close, ends every
// stream returned by Events, and returns once the client's goroutines have
// stopped. It is safe to call more than once.
func (c *Client) Close() error {
	c.mu.Lock()
	c.explicitlyClosed = true
	c.closing = true
	c.stopReconnectTimerLocked()
	c.clearReplayTimersLocked()
	c.endLife()
	c.connectFailure = nil
	c.finishConnectLocked(ErrClosed)
	var sock *socket
	if s := c.sock; s != nil && c.state != StateClosed {
		s.stopTimers()
		sock = s
	}
	c.transitionLocked(StateClosed)
	c.mu.Unlock()
	if sock != nil {
		sock.close(protocol.CloseNormal, "client requested close")
	}

	c.wg.Wait()
	c.events.EndStreams()
	c.mu.Lock()
	c.closing = false
	c.mu.Unlock()
	return nil
}

// openSocketLocked starts one connection attempt.
func (c *Client) openSocketLocked() {
	c.epoch++
	if c.attempts > 0 {
		c.transitionLocked(StateReconnecting)
	} else {
		c.transitionLocked(StateConnecting)
	}
	c.wg.Add(1)
	go c.attempt(c.epoch, c.life)
}

func (c *Client) attempt(epoch uint64, life context.Context) {
	defer c.wg.Done()
	cred := protocol.Credential{Param: "key", Value: c.cfg.apiKey}
	if c.cfg.tokenProvider != nil {
		tok, err := c.callTokenProvider(life)
		c.mu.Lock()
		if epoch != c.epoch || c.explicitlyClosed {
			c.mu.Unlock()
			return
		}
		if err != nil {
			c.tokenFailures++
			tpe := &TokenProviderError{ConsecutiveFailures: c.tokenFailures, Err: protocol.ScrubError(err)}
			if c.tokenFailures >= TokenProviderErrorThreshold {
				c.events.Emit(TokenProviderFailed{ConsecutiveFailures: tpe.ConsecutiveFailures, Err: tpe.Err})
			}
			if c.shouldReconnectLocked(0, false) {
				c.log.Warn("credential resolve failed; scheduling reconnect", "err", tpe.Err.Error(), "consecutiveFailures", c.tokenFailures)
				c.scheduleReconnectLocked()
			} else {
				c.transitionLocked(StateClosed)
				c.finishConnectLocked(tpe)
			}
			c.mu.Unlock()
			return
		}
		c.tokenFailures = 0
		c.mu.Unlock()
		cred = protocol.Credential{Param: "token", Value: tok}
	}
	url, err := protocol.ConnectURL(c.cfg.origin, cred)
	if err != nil { // unreachable: the param is fixed above
		panic(err)
	}

	dialCtx, cancelDial := context.WithCancel(life)
	defer cancelDial()
	c.mu.Lock()
	if epoch != c.epoch || c.explicitlyClosed {
		c.mu.Unlock()
		return
	}
	w := &welcomeWait{cancel: cancelDial}
	c.await = w
	w.timer = time.AfterFunc(c.cfg.welcomeTimeout, func() { c.welcomeTimedOut(w) })
	c.log.Debug("opening socket", "url", protocol.Scrub(url), "attempt", c.attempts)
	c.mu.Unlock()

	guarded, release := guardHandshake(dialCtx)
	ws, resp, err := c.dialer.DialContext(guarded, url, c.cfg.header)
	release()
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.await != w || epoch != c.epoch || c.explicitlyClosed {
		// Closed, superseded or timed out while dialling.
		if ws != nil {
			ws.Close()
		}
		if c.await == w {
			w.timer.Stop()
			c.await = nil
		}
		return
	}
	if err != nil {
		cause := protocol.ScrubError(err)
		if resp != nil {
			cause = fmt.Errorf("websocket handshake refused: HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		}
		// The caller of Connect learns the real cause; the Disconnected
		// event keeps the 1006 a browser reports.
		c.connectFailure = &ConnectError{CloseCode: protocol.CloseAbnormal, Err: cause}
		c.handleCloseLocked(nil, protocol.CloseAbnormal, "websocket dial failed: "+cause.Error())
		return
	}
	s := newSocket(ws)
	ws.SetReadLimit(3*protocol.MaxInboundFrameUnits + 64) // a UTF-16 unit is at most 3 UTF-8 bytes
	c.sock = s
	w.sock = s
	c.wg.Add(2)
	go func() { defer c.wg.Done(); s.writeLoop() }()
	go c.readLoop(s)
	s.lastInbound = time.Now()
	c.armTimersLocked(s)
}

func (c *Client) callTokenProvider(life context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(life, c.cfg.tokenProviderTimeout)
	defer cancel()
	type result struct {
		tok string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- result{err: fmt.Errorf("token provider panicked: %v", r)}
			}
		}()
		tok, err := c.cfg.tokenProvider(ctx)
		ch <- result{tok, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return "", r.err
		}
		if r.tok == "" {
			return "", errors.New("token provider returned an empty token")
		}
		return r.tok, nil
	case <-ctx.Done():
		if life.Err() != nil {
			return "", life.Err()
		}
		return "", fmt.Errorf("token provider did not return within %v", c.cfg.tokenProviderTimeout)
	}
}

func (c *Client) welcomeTimedOut(w *welcomeWait) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.await != w {
		return
	}
	c.await = nil
	// Connect returns once the socket is down, so its caller finds the
	// client closed and may call Connect again at once.
	c.connectFailure = &WelcomeTimeoutError{Timeout: c.cfg.welcomeTimeout}
	if w.sock != nil {
		w.sock.close(protocol.CloseClientInactivity, "welcome timeout")
		return
	}
	// Still dialling: abandon the dial; a browser reports 1006 here.
	w.cancel()
	c.handleCloseLocked(nil, protocol.CloseAbnormal, "welcome timeout")
}

// inlineBudget is how long the reader may run event handlers itself
// before reading moves to a new goroutine (event.Emitter.Drain); a request
// made from a handler moves it at once.
const inlineBudget = 20 * time.Millisecond

func (c *Client) readLoop(s *socket) {
	defer c.wg.Done()
	takeover := func() { // a handler is slow: read on
		c.wg.Add(1)
		go c.readLoop(s)
	}
	for {
		typ, data, err := s.read()
		if err != nil {
			code, reason := s.closeStatus(err)
			s.kill()
			c.onSocketClosed(s, code, reason)
			close(s.readerDone)
			return
		}
		if typ != websocket.TextMessage {
			c.log.Warn("ws non-text frame, dropping")
			continue
		}
		if s.isClosing() {
			continue
		}
		if !utf8.Valid(data) {
			// RFC 6455: a text frame that is not UTF-8 fails the
			// connection, as a browser fails it.
			c.log.Warn("ws text frame is not valid UTF-8, closing connection")
			s.close(protocol.CloseInvalidPayload, "invalid UTF-8")
			continue
		}
		if len(data) > protocol.MaxInboundFrameUnits && protocol.UTF16Len(string(data)) > protocol.MaxInboundFrameUnits {
			c.log.Warn("ws frame exceeds size cap, closing connection", "size", len(data), "cap", protocol.MaxInboundFrameUnits)
			s.close(protocol.CloseMessageTooBig, "frame exceeded client cap")
			continue
		}
		c.onText(s, data)
		// The frame's events, delivered here when nothing is queued
		// before them: no hand-off to another goroutine per message.
		if c.events.Drain(inlineBudget, takeover) {
			return // reading went on in takeover's goroutine
		}
	}
}

func (c *Client) onSocketClosed(s *socket, code protocol.CloseCode, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sock != s && c.sock != nil {
		c.log.Warn("ignoring close event from stale socket", "code", code)
		return
	}
	if c.sock == nil && c.await != nil && c.await.sock != s {
		return // a newer attempt is dialling; this close is stale
	}
	c.handleCloseLocked(s, code, reason)
}

// handleCloseLocked is the JS SDK's handleClose: settle everything that was
// waiting on the socket, then reconnect or close.
func (c *Client) handleCloseLocked(s *socket, code protocol.CloseCode, reason string) {
	c.log.Info("ws closed", "code", code, "reason", protocol.Scrub(reason))
	if s != nil {
		s.stopTimers()
	}
	c.clearReplayTimersLocked()
	var connectErr error = &ConnectError{CloseCode: code, CloseReason: reason}
	if c.connectFailure != nil {
		connectErr, c.connectFailure = c.connectFailure, nil
	}
	if c.await != nil {
		c.await.timer.Stop()
		c.await = nil
	}
	pending := c.pending
	c.pending = map[string]*pendingRequest{}
	c.sock = nil
	c.lastCloseCode = code
	if code.SlowBackoff() {
		c.nextFloor = c.cfg.slowFloor
	}
	will := c.shouldReconnectLocked(code, true)
	c.events.Emit(Disconnected{Code: code, Reason: reason, WillReconnect: will})
	if will {
		c.scheduleReconnectLocked()
	} else {
		c.transitionLocked(StateClosed)
	}
	c.finishConnectLocked(connectErr)
	// Settled last, as JS promise rejections run after handleClose returns.
	for _, p := range pending {
		p.timer.Stop()
		p.done(&DisconnectedError{Code: code, Reason: reason})
	}
}

func (c *Client) shouldReconnectLocked(code protocol.CloseCode, hasCode bool) bool {
	switch {
	case c.explicitlyClosed, !c.cfg.reconnect, !c.wasEverConnected:
		return false
	case hasCode && code.Terminal():
		return false
	case c.cfg.maxAttempts > 0 && c.attempts >= c.cfg.maxAttempts:
		return false
	}
	return true
}

func (c *Client) scheduleReconnectLocked() {
	if c.reconnectTimer != nil || !c.cfg.reconnect || c.explicitlyClosed {
		return
	}
	c.attempts++
	delay := reconnectDelay(c.cfg, c.attempts, c.nextFloor, jitterSample())
	c.nextFloor = 0
	c.transitionLocked(StateReconnecting)
	c.log.Info("scheduling reconnect", "attempt", c.attempts, "delay", delay, "lastCloseCode", c.lastCloseCode)
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.reconnectTimer != t || c.explicitlyClosed {
			return
		}
		c.reconnectTimer = nil
		c.openSocketLocked()
	})
	c.reconnectTimer = t
}

func (c *Client) stopReconnectTimerLocked() {
	if c.reconnectTimer != nil {
		c.reconnectTimer.Stop()
		c.reconnectTimer = nil
	}
}

func (c *Client) transitionLocked(to State) {
	if c.state == to {
		return
	}
	from := c.state
	c.state = to
	c.events.Emit(StateChange{From: from, To: to})
}

// armTimersLocked starts the inactivity watchdog and the keepalive for s.
// Both are single long-lived timers that, when they fire early, re-arm
// themselves from lastInbound, so an inbound frame costs one clock read.
func (c *Client) armTimersLocked(s *socket) {
	if c.cfg.inactivity <= 0 {
		return
	}
	s.inactivity = time.AfterFunc(c.cfg.inactivity, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.sock != s {
			return
		}
		if idle := time.Since(s.lastInbound); idle < c.cfg.inactivity {
			s.inactivity.Reset(c.cfg.inactivity - idle)
			return
		}
		c.log.Warn("inactivity timeout, closing connection", "timeout", c.cfg.inactivity)
		s.close(protocol.CloseClientInactivity, "inactivity timeout")
	})
	s.heartbeat = time.AfterFunc(c.cfg.heartbeat, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.sock != s {
			return
		}
		last := s.lastInbound
		if s.lastPing.After(last) {
			last = s.lastPing
		}
		if wait := c.cfg.heartbeat - time.Since(last); wait > 0 {
			s.heartbeat.Reset(wait)
			return
		}
		if c.state == StateConnected {
			if err := s.send(pingFrame); err != nil {
				c.log.Warn("failed to send heartbeat ping", "err", err.Error())
			}
		}
		s.lastPing = time.Now()
		s.heartbeat.Reset(c.cfg.heartbeat)
	})
}

var pingFrame, _ = protocol.MarshalClient(&protocol.Ping{})

func (c *Client) onText(s *socket, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sock != s {
		c.log.Warn("ignoring frame from stale socket")
		return
	}
	s.lastInbound = time.Now()
	frame, err := protocol.ParseServer(data)
	if err != nil {
		c.log.Warn("malformed inbound frame", "reason", err.Error())
		return
	}
	switch f := frame.(type) {
	case *protocol.Welcome:
		c.onWelcomeLocked(f)
	case *protocol.Ack:
		if p := c.pending[f.RequestID]; p != nil {
			delete(c.pending, f.RequestID)
			p.timer.Stop()
			p.done(nil)
		}
	case *protocol.Error:
		if f.RequestID != "" {
			if p := c.pending[f.RequestID]; p != nil {
				delete(c.pending, f.RequestID)
				p.timer.Stop()
				p.done(&ServerError{Code: f.Code, RequestID: f.RequestID, Message: f.Message})
				return
			}
		}
		if f.Code == protocol.CodeUnknownType && f.RequestID == "" {
			c.log.Debug("ignoring unknown_type error (server lacks app-level ping support)")
			return
		}
		c.events.Queue(ServerErrorReceived{Code: f.Code, RequestID: f.RequestID, Message: f.Message})
	case *protocol.Message:
		c.events.Queue(Message{Channel: f.Channel, From: f.From, Data: f.Data, FromMetadata: f.FromMetadata})
	case *protocol.Direct:
		c.events.Queue(Direct{From: f.From, Data: f.Data, FromMetadata: f.FromMetadata})
	case *protocol.Presence:
		c.events.Queue(Presence{Channel: f.Channel, Joined: f.Joined, Left: f.Left})
	case *protocol.GoingAway:
		c.events.Queue(GoingAway{RetryAfter: time.Duration(f.RetryAfterMs * float64(time.Millisecond))})
	case *protocol.Pong:
	}
}

func (c *Client) onWelcomeLocked(w *protocol.Welcome) {
	if c.explicitlyClosed {
		c.log.Warn("ignoring welcome frame after Close")
		return
	}
	if c.await == nil {
		c.log.Warn("unexpected welcome frame")
		return
	}
	c.await.timer.Stop()
	c.await = nil
	isReconnect := c.wasEverConnected
	c.attempts = 0
	c.wasEverConnected = true
	c.transitionLocked(StateConnected)
	c.finishConnectLocked(nil)
	c.lastCloseCode = 0
	ice, ok := protocol.ExtractICEServers(w.Metadata)
	if !ok {
		ice = nil
	}
	c.maxMessageSize = int(w.MaxMessageSize)
	c.peerID = w.PeerID
	c.iceServers = ice
	ev := Connected{
		PeerID:         w.PeerID,
		ServerTime:     w.ServerTime,
		IsReconnect:    isReconnect,
		MaxMessageSize: int(w.MaxMessageSize),
		ICEServers:     ice,
		Metadata:       w.Metadata,
	}
	if w.ExpiresAt != nil {
		ev.ExpiresAt = time.UnixMilli(int64(*w.ExpiresAt * 1000))
	}
	c.events.Emit(ev)
	clear(c.replayCounts)
	if isReconnect && c.cfg.autoResubscribe {
		c.replayAllLocked()
	}
}
