package testserver

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/metered-ca/realtime-go/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.Record = true
	s, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// raw is a bare WebSocket client that sees every byte. A background reader
// feeds frames to a channel, since a gorilla connection cannot be read
// again after a read deadline passes.
type raw struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan string
	code   chan int
}

func dial(t *testing.T, s *Server, query string, hdr http.Header) *raw {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(s.URL()+"/v1?"+query, hdr)
	require.NoError(t, err)
	resp.Body.Close()
	r := &raw{t: t, ws: ws, frames: make(chan string, 4096), code: make(chan int, 1)}
	go func() {
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				if ce, ok := err.(*websocket.CloseError); ok {
					r.code <- ce.Code
				} else {
					r.code <- int(protocol.CloseAbnormal)
				}
				close(r.frames)
				return
			}
			r.frames <- string(b)
		}
	}()
	t.Cleanup(func() { ws.Close() })
	return r
}

// join dials with a pk key and returns the client and its welcome.
func join(t *testing.T, s *Server) (*raw, *protocol.Welcome) {
	r := dial(t, s, "key=pk_test", nil)
	return r, r.read().(*protocol.Welcome)
}

func (r *raw) readRaw() string {
	r.t.Helper()
	select {
	case b, ok := <-r.frames:
		require.True(r.t, ok, "connection closed")
		return b
	case <-time.After(3 * time.Second):
		r.t.Fatal("no frame within 3s")
		return ""
	}
}

func (r *raw) read() protocol.ServerFrame {
	r.t.Helper()
	b := r.readRaw()
	f, err := protocol.ParseServer([]byte(b))
	require.NoError(r.t, err, b)
	return f
}

// closed skips frames until the connection closes and returns its code.
func (r *raw) closed() int {
	r.t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case _, ok := <-r.frames:
			if !ok {
				return <-r.code
			}
		case <-deadline:
			r.t.Fatal("connection still open after 3s")
			return 0
		}
	}
}

func (r *raw) silent(d time.Duration) {
	r.t.Helper()
	select {
	case b, ok := <-r.frames:
		if ok {
			r.t.Fatalf("unexpected frame %s", b)
		}
	case <-time.After(d):
	}
}

func (r *raw) send(s string) {
	r.t.Helper()
	require.NoError(r.t, r.ws.WriteMessage(websocket.TextMessage, []byte(s)))
}

func TestWelcomeForPublishableKey(t *testing.T) {
	s := start(t, Options{})
	r := dial(t, s, "key=pk_test", nil)
	b := r.readRaw()
	w, err := protocol.ParseServer([]byte(b))
	require.NoError(t, err)
	assert.Contains(t, b, `"expiresAt":null`, "expiresAt is never omitted")
	assert.NotContains(t, b, `"metadata"`)
	wel := w.(*protocol.Welcome)
	assert.Len(t, wel.PeerID, 36)
	assert.Equal(t, 65536.0, wel.MaxMessageSize)
	assert.InDelta(t, float64(time.Now().Unix()), wel.ServerTime, 3)
	_, w2 := join(t, s)
	assert.NotEqual(t, wel.PeerID, w2.PeerID, "a fresh peer id per pk connection")
}

func TestAuth(t *testing.T) {
	s := start(t, Options{Tenants: []Tenant{{
		ID:              "t1",
		PublishableKeys: []PublishableKey{{Key: "pk_live_a", AllowedOrigins: []string{"https://app.example"}}},
		SecretKeys:      []SecretKey{{ID: "sk_id_1", Secret: "sk_secret_1"}},
	}}})
	good, err := MintToken("sk_id_1", "sk_secret_1", Claims{Sub: "alice", Metadata: json.RawMessage(`{"role":"x"}`)}, time.Hour)
	require.NoError(t, err)
	r := dial(t, s, "token="+good, nil)
	w := r.read().(*protocol.Welcome)
	assert.Equal(t, "alice", w.PeerID)
	require.NotNil(t, w.ExpiresAt)
	assert.JSONEq(t, `{"role":"x"}`, string(w.Metadata))

	badSig, _ := MintToken("sk_id_1", "wrong", Claims{Sub: "alice"}, time.Hour)
	unknownKid, _ := MintToken("sk_id_9", "sk_secret_1", Claims{Sub: "alice"}, time.Hour)
	expired, _ := MintToken("sk_id_1", "sk_secret_1", Claims{Sub: "alice"}, -time.Hour)
	origin := http.Header{"Origin": {"https://evil.example"}}
	for _, tc := range []struct {
		query string
		hdr   http.Header
		code  int
	}{
		{"token=" + badSig, nil, 4001},
		{"token=" + unknownKid, nil, 4001},
		{"token=garbage", nil, 4001},
		{"token=" + expired, nil, 4002},
		{"", nil, 4001},
		{"key=pk_live_a&token=" + good, nil, 4001},
		{"key=pk_unknown", nil, 4001},
		{"key=pk_live_a", origin, 4001},
	} {
		assert.Equal(t, tc.code, dial(t, s, tc.query, tc.hdr).closed(), tc.query)
	}
	ok := dial(t, s, "key=pk_live_a", http.Header{"Origin": {"https://app.example"}})
	_ = ok.read().(*protocol.Welcome)

	resp, err := http.Get("http://" + s.Addr() + "/v2")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestSubscribeOrderingAndPresence(t *testing.T) {
	s := start(t, Options{SnapshotDelay: 30 * time.Millisecond})
	a, wa := join(t, s)
	a.send(`{"type":"subscribe","channel":"room","requestId":"1"}`)
	assert.Equal(t, `{"type":"ack","requestId":"1"}`, a.readRaw())
	assert.Equal(t, `{"type":"presence","channel":"room","joined":[],"left":[]}`, a.readRaw(), "snapshot even when empty")

	b, wb := join(t, s)
	b.send(`{"type":"subscribe","channel":"room","requestId":"2"}`)
	// a reacts to the join at once with a direct to b (as a peer that starts
	// negotiating does); b must still see ack, then snapshot, then the direct.
	joinFrame := a.readRaw()
	assert.Equal(t, `{"type":"presence","channel":"room","joined":[{"peerId":"`+wb.PeerID+`"}],"left":[]}`, joinFrame)
	a.send(`{"type":"send","to":"` + wb.PeerID + `","data":"offer","requestId":"d"}`)
	ackAt := time.Now()
	assert.Equal(t, `{"type":"ack","requestId":"2"}`, b.readRaw())
	snap := b.readRaw()
	assert.GreaterOrEqual(t, time.Since(ackAt), 20*time.Millisecond, "snapshot is written apart from the ack")
	assert.Equal(t, `{"type":"presence","channel":"room","joined":[{"peerId":"`+wa.PeerID+`"}],"left":[]}`, snap)
	assert.Equal(t, `{"type":"direct","from":"`+wa.PeerID+`","data":"offer"}`, b.readRaw(), "the reaction comes after the snapshot")
	assert.Equal(t, `{"type":"ack","requestId":"d"}`, a.readRaw())

	// Repeat subscribe: ack and snapshot again, no second join.
	b.send(`{"type":"subscribe","channel":"room","requestId":"3"}`)
	assert.Equal(t, `{"type":"ack","requestId":"3"}`, b.readRaw())
	_ = b.read().(*protocol.Presence)
	a.silent(100 * time.Millisecond)

	// Unsubscribe: ack always; the others hear "left".
	b.send(`{"type":"unsubscribe","channel":"room","requestId":"4"}`)
	assert.Equal(t, `{"type":"ack","requestId":"4"}`, b.readRaw())
	assert.Equal(t, `{"type":"presence","channel":"room","joined":[],"left":[{"peerId":"`+wb.PeerID+`"}]}`, a.readRaw())
	b.send(`{"type":"unsubscribe","channel":"room","requestId":"5"}`)
	assert.Equal(t, `{"type":"ack","requestId":"5"}`, b.readRaw())
	a.silent(100 * time.Millisecond)
}

func TestLeftOnEveryKindOfDisconnect(t *testing.T) {
	s := start(t, Options{})
	a, _ := join(t, s)
	a.send(`{"type":"subscribe","channel":"room","requestId":"1"}`)
	a.read()
	a.read()
	for _, leave := range []func(r *raw, peer string){
		func(r *raw, _ string) { r.ws.Close() }, // abrupt
		func(r *raw, _ string) {
			_ = r.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""))
		}, // clean
		func(_ *raw, peer string) { s.Kick("", peer) },                   // kick
		func(_ *raw, peer string) { s.DropConnections(peer) },            // dropped by the server
		func(_ *raw, peer string) { s.CloseConnections(peer, 4011, "") }, // rate
	} {
		b, wb := join(t, s)
		b.send(`{"type":"subscribe","channel":"room","requestId":"1"}`)
		b.read()
		b.read()
		j := a.read().(*protocol.Presence)
		require.Equal(t, wb.PeerID, j.Joined[0].PeerID)
		leave(b, wb.PeerID)
		l := a.read().(*protocol.Presence)
		require.Len(t, l.Left, 1)
		assert.Equal(t, wb.PeerID, l.Left[0].PeerID)
		assert.Empty(t, l.Joined)
	}
}

func TestPublishSendAndMetadata(t *testing.T) {
	s := start(t, Options{})
	mint := func(sub, meta string) string {
		tok, err := MintToken(DevKeyID, DevKeySecret, Claims{Sub: sub, PeerMetadata: json.RawMessage(meta)}, time.Hour)
		require.NoError(t, err)
		return "token=" + tok
	}
	a := dial(t, s, mint("alice", `{"name":"A"}`), nil)
	a.read()
	b := dial(t, s, mint("bob", `{"name":"B"}`), nil)
	b.read()
	c, _ := join(t, s)
	a.send(`{"type":"subscribe","channel":"room","requestId":"1"}`)
	a.read()
	a.read()
	b.send(`{"type":"subscribe","channel":"room","requestId":"1","includeSenderMetadata":true}`)
	b.read()
	assert.Equal(t, `{"type":"presence","channel":"room","joined":[{"peerId":"alice","metadata":{"name":"A"}}],"left":[]}`, b.readRaw())
	assert.Equal(t, `{"type":"presence","channel":"room","joined":[{"peerId":"bob","metadata":{"name":"B"}}],"left":[]}`, a.readRaw())
	b.silent(50 * time.Millisecond) // told of alice once, by its snapshot
	c.send(`{"type":"subscribe","channel":"room","requestId":"1"}`)
	c.read()
	c.read()
	a.read()
	b.read()

	a.send(`{"type":"publish","channel":"room","data":{"n":1.50,"s":"é<>"},"requestId":"p"}`)
	assert.Equal(t, `{"type":"ack","requestId":"p"}`, a.readRaw())
	assert.Equal(t, `{"type":"message","channel":"room","from":"alice","data":{"n":1.50,"s":"é<>"},"fromMetadata":{"name":"A"}}`, b.readRaw(), "fromMetadata only for includeSenderMetadata")
	assert.Equal(t, `{"type":"message","channel":"room","from":"alice","data":{"n":1.50,"s":"é<>"}}`, c.readRaw())
	a.silent(100 * time.Millisecond) // no echo

	c.send(`{"type":"publish","channel":"room","data":null,"requestId":"q"}`)
	c.read()
	assert.Equal(t, `{"type":"message","channel":"room","from":"`+c.readPeer(s)+`","data":null}`, b.readRaw(), "no fromMetadata for a peer without peerMetadata")
	a.read()

	// Publishing needs no subscription.
	lone, _ := join(t, s)
	lone.send(`{"type":"publish","channel":"room","data":1,"requestId":"r"}`)
	assert.Equal(t, `{"type":"ack","requestId":"r"}`, lone.readRaw())
	a.read()
	b.read()
	c.read()

	a.send(`{"type":"send","to":"bob","data":"hi","requestId":"s"}`)
	assert.Equal(t, `{"type":"ack","requestId":"s"}`, a.readRaw())
	assert.Equal(t, `{"type":"direct","from":"alice","data":"hi","fromMetadata":{"name":"A"}}`, b.readRaw())
	a.send(`{"type":"send","to":"nobody","data":"hi","requestId":"t"}`)
	assert.Equal(t, &protocol.Error{Code: "peer_not_found", RequestID: "t", Message: "peer not connected"}, a.read())
}

// readPeer returns the peer id of the only pk connection among s's
// connections (the test's "c").
func (r *raw) readPeer(s *Server) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if c.id.expiresAt == nil && len(c.subs) > 0 {
			return c.id.peerID
		}
	}
	return ""
}

func TestDirectIsTenantScoped(t *testing.T) {
	s := start(t, Options{Tenants: []Tenant{
		{ID: "t1", PublishableKeys: []PublishableKey{{Key: "pk_1"}}},
		{ID: "t2", PublishableKeys: []PublishableKey{{Key: "pk_2"}}, SecretKeys: []SecretKey{{ID: "k2", Secret: "s2"}}},
	}})
	tok, _ := MintToken("k2", "s2", Claims{Sub: "bob"}, time.Hour)
	bob := dial(t, s, "token="+tok, nil)
	bob.read()
	a := dial(t, s, "key=pk_1", nil)
	a.read()
	a.send(`{"type":"send","to":"bob","data":1,"requestId":"x"}`)
	assert.Equal(t, protocol.ErrorCode("peer_not_found"), a.read().(*protocol.Error).Code)
	b2 := dial(t, s, "key=pk_2", nil)
	b2.read()
	b2.send(`{"type":"send","to":"bob","data":1,"requestId":"y"}`)
	assert.Equal(t, `{"type":"ack","requestId":"y"}`, b2.readRaw())
	_ = bob.read().(*protocol.Direct)
}

func TestValidationAndOddFrames(t *testing.T) {
	s := start(t, Options{})
	a, _ := join(t, s)
	cases := map[string]string{
		`nope`:                             `{"type":"error","code":"malformed_message","message":"frame is not a JSON object"}`,
		`{"type":"dance","requestId":"1"}`: `"code":"unknown_type"`,
		`{"type":"subscribe","channel":"","requestId":"2"}`:                                 `"code":"invalid_channel"`,
		`{"type":"subscribe","channel":"a\u0001","requestId":"3"}`:                          `"code":"invalid_channel"`,
		`{"type":"subscribe","channel":"_METERED/x","requestId":"4"}`:                       `"code":"channel_reserved"`,
		`{"type":"publish","channel":"room","requestId":"5"}`:                               `"code":"missing_data"`,
		`{"type":"send","to":"","data":1,"requestId":"6"}`:                                  `"code":"invalid_peer_id"`,
		`{"type":"subscribe","channel":"` + strings.Repeat("x", 257) + `","requestId":"7"}`: `"code":"invalid_channel"`,
	}
	for in, want := range cases {
		a.send(in)
		assert.Contains(t, a.readRaw(), want, in)
	}
	a.send(`{"type":"ping"}`)
	assert.Equal(t, `{"type":"pong"}`, a.readRaw())
	a.send(`{"type":"publish","channel":"room","data":1}`)
	a.silent(100 * time.Millisecond) // no requestId, no ack
	require.NoError(t, a.ws.WriteMessage(websocket.BinaryMessage, []byte{1}))
	a.silent(100 * time.Millisecond)

	legacy := start(t, Options{LegacyPing: true})
	l, _ := join(t, legacy)
	l.send(`{"type":"ping"}`)
	assert.Equal(t, `{"type":"error","code":"unknown_type","message":"unknown type: ping"}`, l.readRaw())
}

func TestAuthorization(t *testing.T) {
	s := start(t, Options{Tenants: []Tenant{{
		ID:              "t",
		PublishableKeys: []PublishableKey{{Key: "pk_ro", ChannelPatterns: []string{"app/*"}, Actions: []string{ActionSubscribe}}},
		SecretKeys:      []SecretKey{{ID: "k", Secret: "s", ChannelPatterns: []string{"app/**"}}},
	}}})
	ro := dial(t, s, "key=pk_ro", nil)
	ro.read()
	ro.send(`{"type":"subscribe","channel":"other","requestId":"1"}`)
	assert.Equal(t, protocol.ErrorCode("channel_not_authorized"), ro.read().(*protocol.Error).Code)
	ro.send(`{"type":"publish","channel":"app/x","data":1,"requestId":"2"}`)
	assert.Equal(t, protocol.ErrorCode("action_not_permitted"), ro.read().(*protocol.Error).Code)
	ro.send(`{"type":"send","to":"x","data":1,"requestId":"3"}`)
	assert.Equal(t, protocol.ErrorCode("action_not_permitted"), ro.read().(*protocol.Error).Code)
	ro.send(`{"type":"subscribe","channel":"app/x","requestId":"4"}`)
	assert.Equal(t, `{"type":"ack","requestId":"4"}`, ro.readRaw())

	// A JWT's channels narrow its key's patterns; its permissions narrow the actions.
	tok, _ := MintToken("k", "s", Claims{Sub: "u", Channels: []string{"app/room-*", "elsewhere"}, Permissions: []string{"subscribe"}}, time.Hour)
	u := dial(t, s, "token="+tok, nil)
	u.read()
	u.send(`{"type":"subscribe","channel":"app/room-1","requestId":"1"}`)
	assert.Equal(t, `{"type":"ack","requestId":"1"}`, u.readRaw())
	u.read()
	u.send(`{"type":"subscribe","channel":"elsewhere","requestId":"2"}`)
	assert.Equal(t, protocol.ErrorCode("channel_not_authorized"), u.read().(*protocol.Error).Code)
	u.send(`{"type":"publish","channel":"app/room-1","data":1,"requestId":"3"}`)
	assert.Equal(t, protocol.ErrorCode("action_not_permitted"), u.read().(*protocol.Error).Code)

	strict := start(t, Options{CloseOnUnauthorizedSubscribe: true, Tenants: []Tenant{{ID: "t", PublishableKeys: []PublishableKey{{Key: "pk_a", ChannelPatterns: []string{"a"}}}}}})
	x := dial(t, strict, "key=pk_a", nil)
	x.read()
	x.send(`{"type":"subscribe","channel":"b","requestId":"1"}`)
	assert.Equal(t, 4003, x.closed())
}

func TestLimitsAndQuotas(t *testing.T) {
	s := start(t, Options{Tenants: []Tenant{{ID: "t", PublishableKeys: []PublishableKey{{Key: "pk_q"}}, MaxConnections: 2, MessageQuota: 2}}, RateLimit: RateLimit{PerSecond: 1, Burst: 150}})
	a := dial(t, s, "key=pk_q", nil)
	a.read()
	b := dial(t, s, "key=pk_q", nil)
	b.read()
	assert.Equal(t, 4010, dial(t, s, "key=pk_q", nil).closed(), "concurrency limit")

	a.send(`{"type":"publish","channel":"c","data":1,"requestId":"1"}`)
	a.read()
	a.send(`{"type":"publish","channel":"c","data":1,"requestId":"2"}`)
	a.read()
	a.send(`{"type":"publish","channel":"c","data":1,"requestId":"3"}`)
	assert.Equal(t, &protocol.Error{Code: "over_message_quota", RequestID: "3", Message: "message quota used up"}, a.read())
	a.send(`{"type":"ping"}`)
	assert.Equal(t, `{"type":"pong"}`, a.readRaw(), "the connection stays open")

	for i := 0; i < 101; i++ {
		a.send(`{"type":"subscribe","channel":"ch-` + strings.Repeat("x", i%3) + string(rune('A'+i%26)) + string(rune('a'+i/26)) + `","requestId":"s"}`)
	}
	var last protocol.ServerFrame
	for i := 0; i < 101; i++ {
		last = a.read()
		if _, ok := last.(*protocol.Presence); ok {
			i--
		}
	}
	assert.Equal(t, protocol.ErrorCode("channel_limit_exceeded"), last.(*protocol.Error).Code)

	// b bursts past its 150-token bucket.
	for i := 0; i < 200; i++ {
		if b.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)) != nil {
			break
		}
	}
	assert.Equal(t, 4011, b.closed())
}

func TestOversizedFrameCloses1009(t *testing.T) {
	s := start(t, Options{MaxMessageSize: 100})
	a, _ := join(t, s)
	a.send(`{"type":"publish","channel":"c","data":"` + strings.Repeat("x", 100) + `"}`)
	assert.Equal(t, 1009, a.closed())

	d := start(t, Options{MaxMessageSize: 100, SizeMode: "data"})
	b, _ := join(t, d)
	b.send(`{"type":"publish","channel":"c","data":"` + strings.Repeat("x", 90) + `","requestId":"ok"}`)
	assert.Equal(t, `{"type":"ack","requestId":"ok"}`, b.readRaw(), "data mode counts only data")
	b.send(`{"type":"publish","channel":"c","data":"` + strings.Repeat("x", 100) + `"}`)
	assert.Equal(t, 1009, b.closed())
}

func TestExpiryAndSuspension(t *testing.T) {
	s := start(t, Options{ExpiryLead: 250 * time.Millisecond})
	tok, _ := MintToken(DevKeyID, DevKeySecret, Claims{Sub: "a"}, 2*time.Second)
	r := dial(t, s, "token="+tok, nil)
	r.read()
	start := time.Now()
	assert.Equal(t, 4002, r.closed())
	assert.Less(t, time.Since(start), 2*time.Second, "closed before exp")

	sus := start2(t, Options{Tenants: []Tenant{{ID: "t", PublishableKeys: []PublishableKey{{Key: "pk_s"}}, Suspended: true}}})
	assert.Equal(t, 4012, dial(t, sus, "key=pk_s", nil).closed())
}

func start2(t *testing.T, o Options) *Server { return start(t, o) }

func TestShutdownGoingAway(t *testing.T) {
	s, err := New(Options{GoingAwayGrace: 20 * time.Millisecond})
	require.NoError(t, err)
	a := dial(t, s, "key=pk_x", nil)
	a.read()
	done := make(chan struct{})
	go func() { _ = s.Shutdown(context.Background(), 1500*time.Millisecond); close(done) }()
	assert.Equal(t, `{"type":"going_away","retryAfterMs":1500}`, a.readRaw())
	assert.Equal(t, 1001, a.closed())
	<-done
}

func TestServerPingsAndIdleTimeout(t *testing.T) {
	s := start(t, Options{PingInterval: 50 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	pings := make(chan struct{}, 10)
	ws, resp, err := websocket.DefaultDialer.Dial(s.URL()+"/v1?key=pk_x", nil)
	require.NoError(t, err)
	resp.Body.Close()
	defer ws.Close()
	ws.SetPingHandler(func(string) error { pings <- struct{}{}; return nil }) // never answers
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	select {
	case <-pings:
	case <-time.After(time.Second):
		t.Fatal("no control ping")
	}
	require.Eventually(t, func() bool { return s.ConnCount() == 0 }, 2*time.Second, 10*time.Millisecond, "a silent client is dropped")
}

func TestMatchChannel(t *testing.T) {
	for _, tc := range []struct {
		p, c string
		ok   bool
	}{
		{"app_abc/*", "app_abc/room-1", true}, {"app_abc/*", "app_abc/sub/deep", false}, {"app_abc/*", "other/x", false},
		{"app_abc/**", "app_abc/room-1", true}, {"app_abc/**", "app_abc/sub/deep", true}, {"app_abc/**", "other/x", false},
		{"**", "other/x", true}, {"app_abc/room-*", "app_abc/room-1", true}, {"app_abc/room-*", "app_abc/sub/deep", false},
		{"room-*", "room-42", true}, {"room-*", "admin-1", false}, {"devices/*/events", "devices/d1/events", true},
		{"devices/*/events", "devices/d1/x/events", false}, {`a\*b`, "a*b", true}, {`a\*b`, "axb", false}, {`a\\b`, `a\b`, true},
		{"room", "room", true}, {"room", "Room", false}, {"room", "room2", false}, {"*", "", true},
	} {
		assert.Equal(t, tc.ok, MatchChannel(tc.p, tc.c), "%s ~ %s", tc.p, tc.c)
	}
}

func TestMatchChannelIsNotExponential(t *testing.T) {
	// A backtracking matcher takes minutes here; the table takes microseconds.
	p := strings.Repeat("**a", 40) + "b"
	c := strings.Repeat("a", 256)
	done := make(chan bool, 1)
	go func() { done <- MatchChannel(p, c) }()
	select {
	case ok := <-done:
		assert.False(t, ok)
	case <-time.After(5 * time.Second):
		t.Fatal("MatchChannel is exponential in the pattern")
	}
}

// matchNaive is the obvious backtracking matcher, kept as the fuzz oracle.
func matchNaive(p, s string) bool {
	if p == "" {
		return s == ""
	}
	switch {
	case strings.HasPrefix(p, "**"):
		for k := 0; k <= len(s); k++ {
			if matchNaive(p[2:], s[k:]) {
				return true
			}
		}
		return false
	case p[0] == '*':
		for k := 0; k <= len(s); k++ {
			if matchNaive(p[1:], s[k:]) {
				return true
			}
			if k < len(s) && s[k] == '/' {
				return false
			}
		}
		return false
	case p[0] == '\\' && len(p) > 1 && (p[1] == '*' || p[1] == '\\'):
		return s != "" && s[0] == p[1] && matchNaive(p[2:], s[1:])
	}
	return s != "" && s[0] == p[0] && matchNaive(p[1:], s[1:])
}

func FuzzMatchChannel(f *testing.F) {
	f.Add("a/**/b*", "a/x/y/bz")
	f.Add("*/b", "a/b")
	f.Add(`\\*x\\\\`, `*x\\`)
	f.Fuzz(func(t *testing.T, p, c string) {
		if len(p) > 12 || len(c) > 24 || strings.Count(p, "*") > 4 {
			return // keep the naive oracle fast
		}
		if got, want := MatchChannel(p, c), matchNaive(p, c); got != want {
			t.Fatalf("MatchChannel(%q, %q) = %v, oracle says %v", p, c, got, want)
		}
	})
}

func TestCloseWithPausedReader(t *testing.T) {
	s, err := New(Options{})
	require.NoError(t, err)
	a, _ := join(t, s)
	s.PauseReading("", true)
	a.send(`{"type":"ping"}`) // the reader takes this one, then waits
	a.send(`{"type":"ping"}`)
	done := make(chan struct{})
	go func() { _ = s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs on a paused connection")
	}
}

// Shutdown whose ctx ends before a client answers the close cuts the
// client and returns ctx's error only once the server has stopped: no
// goroutine of the server outlives the call (goleak checks at exit).
func TestShutdownContextCutsAndWaits(t *testing.T) {
	s, err := New(Options{GoingAwayGrace: 10 * time.Millisecond})
	require.NoError(t, err)
	ws, resp, err := websocket.DefaultDialer.Dial(s.URL()+"/v1?key=pk_x", nil)
	require.NoError(t, err)
	resp.Body.Close()
	defer ws.Close() // never reads, so never answers the close
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = s.Shutdown(ctx, time.Second)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 0, s.ConnCount(), "every connection is gone when Shutdown returns")
}
