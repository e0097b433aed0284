package signalling

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/protocol"
	"github.com/metered-ca/realtime-go/testserver"
)

func TestNewValidatesOptions(t *testing.T) {
	bad := []Options{
		{},
		{APIKey: "pk_x", TokenProvider: func(context.Context) (string, error) { return "", nil }},
		{APIKey: "pk_x", URL: "ws://example.com"},
		{APIKey: "pk_x", URL: "wss://h/v1"},
		{APIKey: "pk_x", URL: "https://h"},
		{APIKey: "pk_x", URL: "wss://h?key=pk_live_secret"},
		{APIKey: "pk_x", TokenProviderTimeout: -1},
		{APIKey: "pk_x", Reconnect: ReconnectOptions{Multiplier: 0.5}},
		{APIKey: "pk_x", Reconnect: ReconnectOptions{JitterRatio: 1.5}},
		{APIKey: "pk_x", Reconnect: ReconnectOptions{InitialDelay: -time.Second}},
		{APIKey: "pk_x", Reconnect: ReconnectOptions{MaxDelay: -time.Second}},
	}
	for i, o := range bad {
		_, err := New(o)
		require.Error(t, err, "case %d", i)
		assert.NotContains(t, err.Error(), "pk_live_secret")
	}
	c, err := New(Options{APIKey: "pk_x"})
	require.NoError(t, err)
	assert.Equal(t, "wss://rms.metered.ca", c.cfg.origin)
	assert.Equal(t, 20*time.Second, c.cfg.heartbeat)
	assert.Equal(t, StateIdle, c.State())
	c2, err := New(Options{APIKey: "pk_x", InactivityTimeout: -1})
	require.NoError(t, err)
	assert.Zero(t, c2.cfg.inactivity)
	assert.Zero(t, c2.cfg.heartbeat, "disabling the watchdog disables the keepalive")
	c3, err := New(Options{APIKey: "pk_x", InactivityTimeout: 2 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, time.Second, c3.cfg.heartbeat, "keepalive is floored at 1 s")
}

func TestReconnectDelayLadder(t *testing.T) {
	c, err := New(Options{APIKey: "pk_x"})
	require.NoError(t, err)
	// r = 0.5 means no jitter.
	want := []time.Duration{500, 1000, 2000, 4000, 8000, 16000, 30000, 30000}
	for i, w := range want {
		assert.Equal(t, w*time.Millisecond, reconnectDelay(c.cfg, i+1, 0, 0.5), "attempt %d", i+1)
	}
	assert.Equal(t, 400*time.Millisecond, reconnectDelay(c.cfg, 1, 0, 0), "−20 %")
	assert.Equal(t, 599*time.Millisecond, reconnectDelay(c.cfg, 1, 0, 0.99999), "just under +20 %")
	// The 4010 floor comes before the jitter: [24 s, 36 s).
	assert.Equal(t, 24*time.Second, reconnectDelay(c.cfg, 1, SlowBackoffFloor, 0))
	assert.Equal(t, 30*time.Second, reconnectDelay(c.cfg, 1, SlowBackoffFloor, 0.5))
}

func TestConnectStatesAndEvents(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	c := newClient(t, srv, Options{})
	states := record[StateChange](c)
	conns := record[Connected](c)
	connect(t, c)
	ev := conns.next(t)
	assert.False(t, ev.IsReconnect)
	assert.Equal(t, 65536, ev.MaxMessageSize)
	assert.True(t, ev.ExpiresAt.IsZero())
	assert.NotEmpty(t, ev.PeerID)
	assert.Len(t, ev.PeerID, 36)
	assert.InDelta(t, float64(time.Now().Unix()), ev.ServerTime, 5)
	err := c.Connect(ctx5(t))
	var se *StateError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, StateConnected, se.State)
	require.NoError(t, c.Close())
	require.NoError(t, c.Close(), "idempotent")
	assert.Equal(t, []StateChange{{StateIdle, StateConnecting}, {StateConnecting, StateConnected}, {StateConnected, StateClosed}}, states.all())
	// A closed client may connect again, as in JS.
	connect(t, c)
	assert.Equal(t, StateConnected, c.State())
	// The handshake carried exactly one credential parameter.
	for _, u := range srv.HandshakeURLs() {
		assert.Equal(t, "/v1?key=pk_test_key", u)
	}
}

func TestRequestsNeedConnection(t *testing.T) {
	c, err := New(Options{APIKey: "pk_x", URL: "ws://127.0.0.1:1"})
	require.NoError(t, err)
	var nc *NotConnectedError
	require.ErrorAs(t, c.Publish(ctx5(t), "room", 1), &nc)
	assert.Equal(t, StateIdle, nc.State)
	require.ErrorAs(t, c.Subscribe(ctx5(t), "room"), &nc)
	assert.False(t, c.subs.has("room"), "a subscribe that never went out is not remembered")
	var ve *protocol.ValidationError
	require.ErrorAs(t, c.Subscribe(ctx5(t), ""), &ve)
	require.ErrorAs(t, c.Send(ctx5(t), "bob", func() {}), &ve)
}

func TestConnectFailureIsNotRetried(t *testing.T) {
	// Nothing listens on port 1: the dial fails (1006) and Connect reports
	// it once, with no retry, as JS does before the first welcome.
	c, err := New(Options{APIKey: "pk_live_verysecret", URL: "ws://127.0.0.1:1"})
	require.NoError(t, err)
	discs := record[Disconnected](c)
	err = c.Connect(ctx5(t))
	var ce *ConnectError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, protocol.CloseCode(1006), ce.CloseCode)
	assert.NotContains(t, err.Error()+ce.CloseReason, "verysecret")
	assert.Equal(t, StateClosed, c.State())
	d := discs.next(t)
	assert.False(t, d.WillReconnect)
	require.NoError(t, c.Close())
}

func TestCloseCodesBeforeWelcome(t *testing.T) {
	for _, code := range []protocol.CloseCode{1000, 1001, 1008, 1009, 4001, 4002, 4003, 4010, 4011, 4012, 4020, 4999} {
		t.Run(protocol.Scrub(strings.TrimSpace(time.Duration(code).String())), func(t *testing.T) {
			srv := newServer(t, testserver.Options{})
			srv.RefuseConnects(1, testserver.Refusal{Code: code, Reason: "why " + time.Duration(code).String()})
			c := fast(newClient(t, srv, Options{}))
			err := c.Connect(ctx5(t))
			var ce *ConnectError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, code, ce.CloseCode)
			assert.NotContains(t, ce.Error(), "why", "the server's reason stays out of the message")
			assert.Contains(t, ce.CloseReason, "why")
			time.Sleep(150 * time.Millisecond)
			assert.Len(t, srv.HandshakeURLs(), 1, "rule 0: no retry before the first welcome")
			assert.Equal(t, StateClosed, c.State())
		})
	}
}

func TestCloseCodesAfterWelcome(t *testing.T) {
	terminal := map[protocol.CloseCode]bool{4001: true, 4003: true, 4012: true, 4020: true}
	for _, code := range []protocol.CloseCode{1000, 1001, 1008, 1009, 4001, 4002, 4003, 4011, 4012, 4020, 4999} {
		t.Run(time.Duration(code).String(), func(t *testing.T) {
			srv := newServer(t, testserver.Options{})
			c := fast(newClient(t, srv, Options{}))
			discs, conns := record[Disconnected](c), record[Connected](c)
			connect(t, c)
			require.NoError(t, c.Subscribe(ctx5(t), "room"))
			conns.next(t)
			require.Equal(t, 1, srv.CloseConnections("", code, "bye"))
			d := discs.next(t)
			assert.Equal(t, code, d.Code)
			assert.Equal(t, "bye", d.Reason)
			assert.Equal(t, !terminal[code], d.WillReconnect)
			if terminal[code] {
				conns.none(t, 200*time.Millisecond)
				assert.Equal(t, StateClosed, c.State())
				assert.Len(t, srv.HandshakeURLs(), 1)
				return
			}
			ev := conns.next(t)
			assert.True(t, ev.IsReconnect)
			require.Eventually(t, func() bool { return len(srv.Peers("", "room")) == 1 }, 2*time.Second, 10*time.Millisecond, "auto-resubscribed")
			assert.Equal(t, StateConnected, c.State())
		})
	}
}

func TestSlowBackoffAfter4010(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	c := fast(newClient(t, srv, Options{}))
	c.cfg.jitter = 0
	discs, conns := record[Disconnected](c), record[Connected](c)
	connect(t, c)
	conns.next(t)
	// Timed from before the close: the client's delay starts when it sees
	// the close, a little before the test receives Disconnected.
	start := time.Now()
	srv.CloseConnections("", 4010, "over limit")
	discs.next(t)
	conns.next(t)
	assert.GreaterOrEqual(t, time.Since(start), c.cfg.slowFloor, "4010 raises the next delay to the slow floor")
	// The floor applies once: a plain drop now reconnects on the fast ladder.
	start = time.Now()
	srv.DropConnections("")
	discs.next(t)
	conns.next(t)
	assert.Less(t, time.Since(start), c.cfg.slowFloor)
}

func TestDropMidSessionFailsPendingAndReconnects(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	c := fast(newClient(t, srv, Options{}))
	discs, conns := record[Disconnected](c), record[Connected](c)
	connect(t, c)
	conns.next(t)
	srv.DropFrames("", protocol.TypeAck, 1) // keep the publish pending
	errc := make(chan error, 1)
	go func() { errc <- c.Publish(context.Background(), "room", "x") }()
	require.Eventually(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.pending) == 1 }, time.Second, 5*time.Millisecond)
	srv.DropConnections("")
	var de *DisconnectedError
	require.ErrorAs(t, <-errc, &de)
	assert.Equal(t, protocol.CloseCode(1006), de.Code)
	assert.Equal(t, protocol.CloseCode(1006), discs.next(t).Code)
	assert.True(t, conns.next(t).IsReconnect)
}

func TestRefusedReconnectsUntilMaxAttempts(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	c := fast(newClient(t, srv, Options{Reconnect: ReconnectOptions{MaxAttempts: 3}}))
	discs, conns := record[Disconnected](c), record[Connected](c)
	connect(t, c)
	conns.next(t)
	// Two refused attempts (one dropped, one closed), then success.
	srv.RefuseConnects(1, testserver.Refusal{})
	srv.RefuseConnects(1, testserver.Refusal{Code: 1011, Reason: "busy"})
	srv.DropConnections("")
	assert.Equal(t, protocol.CloseCode(1006), discs.next(t).Code)
	assert.True(t, discs.next(t).WillReconnect)
	assert.Equal(t, protocol.CloseCode(1011), discs.next(t).Code)
	assert.True(t, conns.next(t).IsReconnect)
	assert.Len(t, srv.HandshakeURLs(), 4)
	// Now refuse more than MaxAttempts allows: the client gives up.
	srv.RefuseConnects(10, testserver.Refusal{Code: 1011})
	srv.DropConnections("")
	last := discs.waitFor(t, func(d Disconnected) bool { return !d.WillReconnect })
	assert.Equal(t, protocol.CloseCode(1011), last.Code)
	require.Eventually(t, func() bool { return c.State() == StateClosed }, time.Second, 5*time.Millisecond)
	assert.Len(t, srv.HandshakeURLs(), 4+3)
}

func TestWelcomeTimeout(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	srv.SetWelcomeFault(&testserver.WelcomeFault{Never: true, Count: 1})
	c := fast(newClient(t, srv, Options{}))
	err := c.Connect(ctx5(t))
	var wt *WelcomeTimeoutError
	require.ErrorAs(t, err, &wt)
	assert.Equal(t, StateClosed, c.State())
	// A malformed welcome (no expiresAt) is dropped like JS, so it times out too.
	srv.SetWelcomeFault(&testserver.WelcomeFault{Raw: `{"type":"welcome","peerId":"x","serverTime":1,"maxMessageSize":65536}`, Count: 1})
	require.ErrorAs(t, c.Connect(ctx5(t)), &wt)
	// A late welcome is ignored.
	srv.SetWelcomeFault(&testserver.WelcomeFault{Delay: time.Second, Count: 1})
	require.ErrorAs(t, c.Connect(ctx5(t)), &wt)
	// A duplicate welcome is ignored: one Connected event.
	srv.SetWelcomeFault(&testserver.WelcomeFault{Duplicate: true, Count: 1})
	conns := record[Connected](c)
	connect(t, c)
	conns.next(t)
	conns.none(t, 200*time.Millisecond)
}

func TestConnectHonoursContext(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	srv.SetWelcomeFault(&testserver.WelcomeFault{Never: true})
	c := newClient(t, srv, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Connect(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, StateClosed, c.State())
}

func TestInactivityWatchdogAndKeepalive(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	c := fast(newClient(t, srv, Options{InactivityTimeout: 1500 * time.Millisecond}))
	discs, conns := record[Disconnected](c), record[Connected](c)
	connect(t, c)
	conns.next(t)
	// An idle but healthy link is kept alive by {"type":"ping"} every 1 s.
	discs.none(t, 2500*time.Millisecond)
	pings := 0
	for _, f := range srv.Frames() {
		if f.Dir == "in" && f.Data == `{"type":"ping"}` {
			pings++
		}
	}
	assert.GreaterOrEqual(t, pings, 2)
	// Control pongs do not count: a server that answers only control pings
	// but not app pings looks dead to the client, as to a browser.
	srv.SetSilence("", testserver.SilenceAppPongs)
	d := discs.next(t)
	assert.Equal(t, protocol.CloseCode(4000), d.Code)
	assert.Equal(t, "inactivity timeout", d.Reason)
	assert.True(t, d.WillReconnect)
	assert.True(t, conns.next(t).IsReconnect)
	// A server that ignores control pings but answers app pings is fine.
	srv.SetSilence("", testserver.SilenceControlPongs)
	discs.none(t, 2500*time.Millisecond)
	// Total silence trips the watchdog.
	srv.SetSilence("", testserver.SilenceAll)
	assert.Equal(t, protocol.CloseCode(4000), discs.next(t).Code)
}

func TestGoingAway(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	c := fast(newClient(t, srv, Options{}))
	gone, discs, conns := record[GoingAway](c), record[Disconnected](c), record[Connected](c)
	connect(t, c)
	conns.next(t)
	go srv.GoingAway(2500*time.Millisecond, 50*time.Millisecond)
	assert.Equal(t, 2500*time.Millisecond, gone.next(t).RetryAfter)
	d := discs.next(t)
	assert.Equal(t, protocol.CloseCode(1001), d.Code)
	assert.True(t, d.WillReconnect)
	assert.True(t, conns.next(t).IsReconnect)
	// Odd retryAfterMs values become the 1000 ms default.
	for _, raw := range []string{`{"type":"going_away"}`, `{"type":"going_away","retryAfterMs":-1}`, `{"type":"going_away","retryAfterMs":"x"}`} {
		srv.SendRaw("", raw)
		assert.Equal(t, time.Second, gone.next(t).RetryAfter)
	}
}

func TestServerErrors(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	c := fast(newClient(t, srv, Options{}))
	events := record[ServerErrorReceived](c)
	connect(t, c)
	ctx := ctx5(t)
	// Correlated: returned to the caller, the connection stays.
	srv.ForceError("", protocol.TypePublish, 1, testserver.ForcedError{Code: "backend_error", Message: "try later"})
	err := c.Publish(ctx, "room", 1)
	var se *ServerError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, protocol.ErrorCode("backend_error"), se.Code)
	assert.Equal(t, "try later", se.Message)
	require.NoError(t, c.Publish(ctx, "room", 1))
	// Uncorrelated (no requestId, or one nobody waits for): an event.
	srv.SendRaw("", `{"type":"error","code":"over_message_quota"}`)
	assert.Equal(t, protocol.ErrorCode("over_message_quota"), events.next(t).Code)
	srv.SendRaw("", `{"type":"error","code":"future_code","requestId":"nobody"}`)
	assert.Equal(t, ServerErrorReceived{Code: "future_code", RequestID: "nobody"}, events.next(t))
	// unknown_type without requestId is an old server answering ping: dropped.
	srv.SendRaw("", `{"type":"error","code":"unknown_type"}`)
	events.none(t, 100*time.Millisecond)
	// Junk frames are dropped without closing.
	discs := record[Disconnected](c)
	for _, raw := range []string{`not json`, `[]`, `{}`, `{"type":"nope"}`, `{"type":"presence","channel":"room","joined":[]}`} {
		srv.SendRaw("", raw)
	}
	srv.SendBinary("", []byte{1, 2, 3})
	require.NoError(t, c.Publish(ctx, "room", 1))
	discs.none(t, 100*time.Millisecond)
	// Real validation errors from the server.
	err = c.Send(ctx, "nobody-here", "hi")
	require.ErrorAs(t, err, &se)
	assert.Equal(t, protocol.CodePeerNotFound, se.Code)
	err = c.Send(ctx, "bö", "hi")
	require.ErrorAs(t, err, &se)
	assert.Equal(t, protocol.CodeInvalidPeerID, se.Code)
}

func TestAckTimeout(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	c := fast(newClient(t, srv, Options{}))
	connect(t, c)
	srv.DropFrames("", protocol.TypeAck, 1)
	err := c.Publish(ctx5(t), "room", 1)
	var at *AckTimeoutError
	require.ErrorAs(t, err, &at)
	// A late ack is ignored, and the connection is still good.
	srv.DelayFrames("", protocol.TypeAck, 1, 700*time.Millisecond)
	require.ErrorAs(t, c.Publish(ctx5(t), "room", 1), &at)
	time.Sleep(400 * time.Millisecond)
	require.NoError(t, c.Publish(ctx5(t), "room", 1))
	// A cancelled context returns at once and forgets the request.
	srv.DropFrames("", protocol.TypeAck, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, c.Publish(ctx, "room", 1), context.DeadlineExceeded)
	c.mu.Lock()
	assert.Empty(t, c.pending)
	c.mu.Unlock()
}

func TestOversizedKeepsConnection(t *testing.T) {
	srv := newServer(t, testserver.Options{MaxMessageSize: 1000})
	c := newClient(t, srv, Options{})
	discs := record[Disconnected](c)
	connect(t, c)
	assert.Equal(t, 1000, c.MaxMessageSize())
	big := strings.Repeat("x", 1000) // 1002 bytes as JSON
	err := c.Publish(ctx5(t), "room", big)
	var oe *OversizedError
	require.ErrorAs(t, err, &oe)
	assert.Greater(t, oe.Size, 1002, "the whole frame is measured")
	assert.Equal(t, 1000, oe.Cap)
	assert.Contains(t, oe.Error(), "1000-byte limit")
	require.ErrorAs(t, c.Send(ctx5(t), "x", big), &oe)
	require.NoError(t, c.Publish(ctx5(t), "room", big[:900]))
	// Around the cap, where the payload fits but the envelope does not,
	// every call is either sent and acked or refused before sending: none
	// costs the connection (the server would close with 1009).
	var sent, refused int
	for n := 900; n <= 1000; n++ {
		err := c.Publish(ctx5(t), "room", big[:n])
		if err == nil {
			sent++
			continue
		}
		require.ErrorAs(t, err, &oe, "n=%d", n)
		refused++
	}
	assert.Positive(t, sent)
	assert.Positive(t, refused)
	discs.none(t, 100*time.Millisecond)
	assert.Equal(t, StateConnected, c.State())
}

func TestInboundFrameCap(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	c := fast(newClient(t, srv, Options{}))
	discs, dirs := record[Disconnected](c), record[Direct](c)
	connect(t, c)
	// 1 MiB of 'é' is 2 MiB of UTF-8 but 1 Mi UTF-16 units: allowed.
	ok := `{"type":"direct","from":"a","data":"` + strings.Repeat("é", protocol.MaxInboundFrameUnits-40) + `"}`
	srv.SendRaw("", ok)
	assert.Equal(t, "a", dirs.next(t).From)
	srv.SendRaw("", `{"type":"direct","from":"a","data":"`+strings.Repeat("x", protocol.MaxInboundFrameUnits)+`"}`)
	d := discs.next(t)
	assert.Equal(t, protocol.CloseMessageTooBig, d.Code)
	assert.True(t, d.WillReconnect)
}

func TestTokenProvider(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	var calls, fail atomic.Int32
	provider := func(ctx context.Context) (string, error) {
		calls.Add(1)
		if fail.Load() > 0 {
			fail.Add(-1)
			return "", errors.New("mint failed for token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig")
		}
		return testserver.MintToken(testserver.DevKeyID, testserver.DevKeySecret, testserver.Claims{Sub: "alice", Metadata: []byte(`{"iceServers":[{"urls":"turn:t.example","username":"u","credential":"c"}]}`)}, time.Hour)
	}
	c := fast(newClient(t, srv, Options{TokenProvider: provider}))
	conns, tpe := record[Connected](c), record[TokenProviderFailed](c)
	connect(t, c)
	ev := conns.next(t)
	assert.Equal(t, "alice", ev.PeerID)
	assert.InDelta(t, time.Now().Add(time.Hour).Unix(), ev.ExpiresAt.Unix(), 5)
	require.Len(t, ev.ICEServers, 1)
	assert.Equal(t, "c", ev.ICEServers[0].Credential)
	assert.Equal(t, int32(1), calls.Load())

	// Every reconnect asks again; three failures in a row raise the event
	// on the third and later, and the client keeps trying.
	fail.Store(4)
	srv.DropConnections("")
	e := tpe.next(t)
	assert.Equal(t, 3, e.ConsecutiveFailures)
	assert.NotContains(t, e.Err.Error(), "eyJ", "scrubbed")
	assert.Equal(t, 4, tpe.next(t).ConsecutiveFailures)
	assert.True(t, conns.next(t).IsReconnect)
	assert.Equal(t, int32(6), calls.Load())

	// 4002 (token expired) is not terminal: the provider mints a new one.
	srv.ExpireAt("alice", time.Now())
	assert.True(t, conns.next(t).IsReconnect)
	assert.Equal(t, int32(7), calls.Load())
}

func TestTokenProviderFailureOnFirstConnect(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	c := newClient(t, srv, Options{TokenProvider: func(context.Context) (string, error) { return "", nil }})
	var tpe *TokenProviderError
	require.ErrorAs(t, c.Connect(ctx5(t)), &tpe)
	assert.Equal(t, StateClosed, c.State())
	assert.Empty(t, srv.HandshakeURLs())

	slow := newClient(t, srv, Options{TokenProviderTimeout: 50 * time.Millisecond, TokenProvider: func(ctx context.Context) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	}})
	require.ErrorAs(t, slow.Connect(ctx5(t)), &tpe)
	assert.Contains(t, tpe.Error(), "did not return within")

	bad := newClient(t, srv, Options{TokenProvider: func(context.Context) (string, error) { return "not-a-jwt", nil }})
	var ce *ConnectError
	require.ErrorAs(t, bad.Connect(ctx5(t)), &ce)
	assert.Equal(t, protocol.CloseCode(4001), ce.CloseCode)
}

func TestAutoResubscribeRetriesAndOptOut(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	c := fast(newClient(t, srv, Options{}))
	conns := record[Connected](c)
	connect(t, c)
	conns.next(t)
	ctx := ctx5(t)
	require.NoError(t, c.Subscribe(ctx, "a", WithSenderMetadata()))
	require.NoError(t, c.Subscribe(ctx, "b"))
	require.NoError(t, c.Unsubscribe(ctx, "b"))
	// The first two replays of "a" fail; the third succeeds.
	srv.ForceError("", protocol.TypeSubscribe, 2, testserver.ForcedError{Code: "backend_error"})
	srv.ResetRecording()
	srv.DropConnections("")
	conns.next(t)
	require.Eventually(t, func() bool { return len(srv.Peers("", "a")) == 1 }, 2*time.Second, 10*time.Millisecond)
	assert.Empty(t, srv.Peers("", "b"))
	var subs []string
	for _, f := range srv.Frames() {
		if f.Dir == "in" && strings.Contains(f.Data, `"subscribe"`) {
			subs = append(subs, f.Data)
		}
	}
	require.Len(t, subs, 3)
	for _, s := range subs {
		assert.Contains(t, s, `"channel":"a"`)
		assert.Contains(t, s, `"includeSenderMetadata":true`)
	}

	off := fast(newClient(t, srv, Options{DisableAutoResubscribe: true}))
	offConns := record[Connected](off)
	connect(t, off)
	offConns.next(t)
	require.NoError(t, off.Subscribe(ctx, "z"))
	srv.DropConnections(off.PeerID())
	offConns.next(t)
	time.Sleep(100 * time.Millisecond)
	assert.Empty(t, srv.Peers("", "z"))
}

func TestLogsCarryNoSecrets(t *testing.T) {
	var buf syncBuffer
	srv := newServer(t, testserver.Options{})
	tok, err := testserver.MintToken(testserver.DevKeyID, testserver.DevKeySecret, testserver.Claims{Sub: "alice"}, time.Hour)
	require.NoError(t, err)
	c := fast(newClient(t, srv, Options{Logger: debugLogger(&buf), TokenProvider: func(context.Context) (string, error) { return tok, nil }}))
	conns := record[Connected](c)
	connect(t, c)
	conns.next(t)
	srv.DropConnections("")
	conns.next(t)
	require.NoError(t, c.Close())
	logs := buf.String()
	assert.Contains(t, logs, "opening socket")
	assert.Contains(t, logs, "token=***")
	assert.NotContains(t, logs, tok)
	assert.NotContains(t, logs, strings.Split(tok, ".")[2])
}

func TestEventsStreamEndsOnClose(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	c := newClient(t, srv, Options{})
	seq := Events[StateChange](context.Background(), c)
	connect(t, c)
	done := make(chan []StateChange)
	go func() {
		var got []StateChange
		for ev := range seq {
			got = append(got, ev)
		}
		done <- got
	}()
	require.NoError(t, c.Close())
	select {
	case got := <-done:
		assert.Equal(t, StateClosed, got[len(got)-1].To)
	case <-time.After(2 * time.Second):
		t.Fatal("stream did not end on Close")
	}
}
