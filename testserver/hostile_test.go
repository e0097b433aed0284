package testserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/protocol"
)

// hostileScale is how hard the hostile suite pushes: the short form in
// make test, HOSTILE_SCALE=10 (make soak) for the long one.
func hostileScale() int {
	if n, err := strconv.Atoi(os.Getenv("HOSTILE_SCALE")); err == nil && n > 0 {
		return n
	}
	return 1
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// bystanders puts a well-behaved subscriber and publisher on s; the
// returned check, run after the hostile part, proves that they still talk
// (every one of 50 messages arrives) and that the heap grew by less than
// the bound the suite states: 32 MB.
func bystanders(t *testing.T, s *Server) (check func()) {
	t.Helper()
	base := heapInUse()
	sub := dial(t, s, "key=pk_bystander_sub", nil)
	sub.read()
	sub.send(`{"type":"subscribe","channel":"bystanders","requestId":"b"}`)
	sub.read() // ack
	sub.read() // snapshot
	pub := dial(t, s, "key=pk_bystander_pub", nil)
	pub.read()
	pub.send(`{"type":"publish","channel":"bystanders-warmup","data":0,"requestId":"w"}`) // not an idle socket
	pub.read()
	return func() {
		t.Helper()
		for i := range 50 {
			pub.send(`{"type":"publish","channel":"bystanders","data":` + strconv.Itoa(i) + `,"requestId":"p` + strconv.Itoa(i) + `"}`)
		}
		for i := range 50 {
			m, ok := sub.read().(*protocol.Message)
			require.True(t, ok, "a bystander's message %d", i)
			assert.Equal(t, strconv.Itoa(i), string(m.Data))
		}
		grown := heapInUse() - min(base, heapInUse())
		assert.Less(t, grown, uint64(32<<20), "heap growth %d B", grown)
	}
}

// A subscriber that stops reading while others publish is cut as a slow
// consumer; the server's memory stays bounded, and a subscriber that keeps
// reading gets every message.
func TestSlowReaderIsCutOthersGetEverything(t *testing.T) {
	s, err := New(Options{RateLimit: RateLimit{Disabled: true}})
	require.NoError(t, err)
	defer s.Close()
	base := heapInUse()

	// The slow reader: subscribes, then never reads again.
	slow, resp, err := websocket.DefaultDialer.Dial(s.URL()+"/v1?key=pk_slow", nil)
	require.NoError(t, err)
	resp.Body.Close()
	defer slow.Close()
	_, _, err = slow.ReadMessage() // welcome
	require.NoError(t, err)
	require.NoError(t, slow.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","channel":"flood","requestId":"s"}`)))

	// The good reader counts what arrives.
	good := dial(t, s, "key=pk_good", nil)
	good.read()
	good.send(`{"type":"subscribe","channel":"flood","requestId":"g"}`)
	good.read() // ack
	good.read() // snapshot
	var got atomic.Int64
	// The publisher reads its acks as fast as they come.
	pub, resp, err := websocket.DefaultDialer.Dial(s.URL()+"/v1?key=pk_pub", nil)
	require.NoError(t, err)
	resp.Body.Close()
	defer pub.Close()
	go func() {
		for {
			if _, _, err := pub.ReadMessage(); err != nil {
				return
			}
		}
	}()

	n := 20000 * hostileScale()
	payload := strings.Repeat("x", 1024)
	var peak uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range good.frames {
			if strings.Contains(b, `"type":"message"`) {
				if got.Add(1) == int64(n) {
					return
				}
			}
		}
	}()
	for i := 0; i < n; i++ {
		require.NoError(t, pub.WriteMessage(websocket.TextMessage, []byte(`{"type":"publish","channel":"flood","data":"`+payload+`","requestId":"`+strconv.Itoa(i)+`"}`)))
		if i%100 == 99 {
			time.Sleep(5 * time.Millisecond) // ~20 MB/s: a fast publisher, not a flood no reader could follow
		}
		// A well-behaved reader on a loaded machine (the race detector, CI)
		// may still lag; it must not lag 4 MiB, or it would be cut too.
		for int64(i)-got.Load() > 1000 {
			time.Sleep(time.Millisecond)
		}
		if i%2000 == 0 {
			peak = max(peak, heapInUse())
		}
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the good subscriber got %d of %d", got.Load(), n)
	}
	peak = max(peak, heapInUse())
	st := s.Stats()
	t.Logf("%d messages of 1 KiB: good subscriber got %d; slow consumers cut %d; heap growth peak %.1f MB; pending now %d B",
		n, got.Load(), st.SlowConsumers, float64(peak-min(peak, base))/1e6, st.PendingBytes)
	assert.EqualValues(t, n, got.Load())
	assert.EqualValues(t, 1, st.SlowConsumers, "the slow reader was cut")
	assert.Less(t, peak-min(peak, base), uint64(64<<20), "the server's memory stays bounded (in-process, with the clients)")
	_ = slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := slow.ReadMessage(); err != nil {
			break // cut: whatever was in flight, then the end
		}
	}
}

// A text frame that is not valid UTF-8 closes the sender with 1007 and is
// never forwarded; a binary frame closes with 1003.
func TestInvalidUTF8AndBinaryAreRefused(t *testing.T) {
	s := start(t, Options{})
	check := bystanders(t, s)
	defer check()
	sub, _ := join(t, s)
	sub.send(`{"type":"subscribe","channel":"u","requestId":"1"}`)
	sub.read()
	sub.read()
	bad, _ := join(t, s)
	require.NoError(t, bad.ws.WriteMessage(websocket.TextMessage, []byte("{\"type\":\"publish\",\"channel\":\"u\",\"data\":\"\xff\xfe\",\"requestId\":\"2\"}")))
	assert.Equal(t, int(protocol.CloseInvalidPayload), bad.closed())
	sub.silent(200 * time.Millisecond)

	bin, _ := join(t, s)
	require.NoError(t, bin.ws.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"ping"}`)))
	assert.Equal(t, int(protocol.CloseUnsupportedData), bin.closed())
}

// Deeply nested JSON within the frame cap is a malformed message, not a
// crash or a stack; the connection stays.
func TestDeeplyNestedFrame(t *testing.T) {
	s := start(t, Options{})
	check := bystanders(t, s)
	defer check()
	r, _ := join(t, s)
	depth := 30000
	r.send(`{"type":"publish","channel":"n","data":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `,"requestId":"1"}`)
	e, ok := r.read().(*protocol.Error)
	require.True(t, ok)
	assert.Equal(t, protocol.CodeMalformedMessage, e.Code)
	r.send(`{"type":"ping"}`)
	_, ok = r.read().(*protocol.Pong)
	assert.True(t, ok, "still connected")
}

// Requests whose headers or body trickle in are cut after RequestTimeout.
func TestSlowRequestsAreCut(t *testing.T) {
	s := start(t, Options{RequestTimeout: 300 * time.Millisecond})
	check := bystanders(t, s)
	defer check()
	for _, partial := range []string{
		"GET /v1?key=pk_x HTTP/1.1\r\nHost: x\r\n", // headers never end
		"POST /v1/channels/c/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nAuthorization: Bearer a:b\r\n\r\n{", // body never ends
	} {
		c, err := net.Dial("tcp", s.Addr())
		require.NoError(t, err)
		_, err = io.WriteString(c, partial)
		require.NoError(t, err)
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadAll(c) // the server answers (or not) and hangs up
		require.NoError(t, err, "the server closed the connection")
		assert.Less(t, time.Since(start), 3*time.Second)
		c.Close()
	}
}

// Idle floods: sockets that never subscribe are closed; connections past the
// caps are refused with 4010, per key and in all.
func TestIdleSocketsAndConnectionCaps(t *testing.T) {
	s := start(t, Options{IdleUnsubscribed: time.Second, MaxConnections: 32, MaxConnectionsPerKey: 10})
	check := bystanders(t, s) // two connections of the 32, which keep talking
	defer check()
	var idle []*raw
	for range 10 {
		r, _ := join(t, s)
		idle = append(idle, r)
	}
	over := dial(t, s, "key=pk_test", nil)
	assert.Equal(t, int(protocol.CloseOverConcurrentLimit), over.closed(), "11th on one key")
	busy, _ := join2(t, s, "pk_other")
	busy.send(`{"type":"subscribe","channel":"c","requestId":"1"}`)
	busy.read() // ack
	busy.read() // snapshot
	for _, r := range idle {
		assert.Equal(t, int(protocol.ClosePolicyViolation), r.closed(), "never subscribed")
	}
	busy.silent(500 * time.Millisecond) // subscribed: kept
	for i := range 29 {
		r, _ := join2(t, s, fmt.Sprintf("pk_k%d", i))
		r.send(`{"type":"subscribe","channel":"c","requestId":"1"}`) // not idle
		r.read()
	}
	over = dial(t, s, "key=pk_last", nil)
	assert.Equal(t, int(protocol.CloseOverConcurrentLimit), over.closed(), "33rd in all")
	assert.Equal(t, 32, s.Stats().Connections)
}

func join2(t *testing.T, s *Server, key string) (*raw, *protocol.Welcome) {
	r := dial(t, s, "key="+key, nil)
	return r, r.read().(*protocol.Welcome)
}

// The token matrix: what a JWT may carry, and what the server does.
func TestTokenMatrix(t *testing.T) {
	s := start(t, Options{MaxTokenLifetime: 400 * time.Millisecond})
	check := bystanders(t, s)
	defer check()
	mint := func(c Claims, ttl time.Duration) string {
		tok, err := MintToken(DevKeyID, DevKeySecret, c, ttl)
		require.NoError(t, err)
		return tok
	}
	rawToken := func(header, body string) string {
		return encodeB64(header) + "." + encodeB64(body) + ".c2ln"
	}
	past, future := float64(time.Now().Add(-time.Hour).Unix()), float64(time.Now().Add(time.Hour).Unix())
	huge := 1e300
	cases := []struct {
		name  string
		token string
		code  int // 0: welcomed
	}{
		{"alg none", rawToken(`{"alg":"none","kid":"`+DevKeyID+`"}`, `{"sub":"a"}`), 4001},
		{"alg HS512", rawToken(`{"alg":"HS512","kid":"`+DevKeyID+`"}`, `{"sub":"a"}`), 4001},
		{"unknown kid", func() string { tok, _ := MintToken("sk_nobody", DevKeySecret, Claims{Sub: "a"}, time.Hour); return tok }(), 4001},
		{"bad signature", func() string { tok, _ := MintToken(DevKeyID, "wrong", Claims{Sub: "a"}, time.Hour); return tok }(), 4001},
		{"expired", mint(Claims{Sub: "a"}, -time.Minute), 4002},
		{"nbf in the future", mint(Claims{Sub: "a", Nbf: &future}, time.Hour), 4001},
		{"nbf in the past", mint(Claims{Sub: "a", Nbf: &past}, time.Hour), 0},
		{"metadata over 8 KB", mint(Claims{Sub: "a", Metadata: json.RawMessage(`{"x":"` + strings.Repeat("m", 9000) + `"}`)}, time.Hour), 4001},
		{"peerMetadata over 4 KB", mint(Claims{Sub: "a", PeerMetadata: json.RawMessage(`{"x":"` + strings.Repeat("m", 5000) + `"}`)}, time.Hour), 4001},
		{"peerMetadata at 4 KB", mint(Claims{Sub: "a", PeerMetadata: json.RawMessage(`{"x":"` + strings.Repeat("m", 4000) + `"}`)}, time.Hour), 0},
	}
	for _, c := range cases {
		r := dial(t, s, "token="+c.token, nil)
		if c.code == 0 {
			_, ok := r.read().(*protocol.Welcome)
			assert.True(t, ok, c.name)
			continue
		}
		assert.Equal(t, c.code, r.closed(), c.name)
	}
	// 600 KB of peerMetadata does not even fit the handshake's header cap.
	huge600 := mint(Claims{Sub: "a", PeerMetadata: json.RawMessage(`{"x":"` + strings.Repeat("m", 600<<10) + `"}`)}, time.Hour)
	_, resp, err := websocket.DefaultDialer.Dial(s.URL()+"/v1?token="+huge600, nil)
	require.Error(t, err)
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
	resp.Body.Close()
	// No exp, or an exp so far away it would overflow a clock: welcomed,
	// then closed with 4002 at the lifetime cap, not at once.
	for name, tok := range map[string]string{
		"no exp": mint(Claims{Sub: "a"}, 0),
		"huge exp": func() string {
			c := Claims{Sub: "a", Exp: &huge}
			tok, _ := MintToken(DevKeyID, DevKeySecret, c, 0)
			return tok
		}(),
	} {
		r := dial(t, s, "token="+tok, nil)
		start := time.Now()
		_, ok := r.read().(*protocol.Welcome)
		require.True(t, ok, name)
		assert.Equal(t, 4002, r.closed(), name)
		assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, name+": closed at the cap, not at once")
	}
	_ = future
}

func encodeB64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// Unlisted publishable keys: admitted in dev mode only, unless the tenants'
// server says AllowUnlistedKeys.
func TestUnlistedKeysNeedDevModeOrConsent(t *testing.T) {
	tenants := []Tenant{{ID: "t", PublishableKeys: []PublishableKey{{Key: "pk_listed"}}}}
	strict := start(t, Options{Tenants: tenants})
	assert.Equal(t, 4001, dial(t, strict, "key=pk_unlisted", nil).closed())
	_, ok := dial(t, strict, "key=pk_listed", nil).read().(*protocol.Welcome)
	assert.True(t, ok)
	lax := start(t, Options{Tenants: tenants, AllowUnlistedKeys: true})
	_, ok = dial(t, lax, "key=pk_unlisted", nil).read().(*protocol.Welcome)
	assert.True(t, ok)
	dev := start(t, Options{})
	assert.True(t, dev.DevMode())
	_, ok = dial(t, dev, "key=pk_anything", nil).read().(*protocol.Welcome)
	assert.True(t, ok)
}

// Dev mode accepts browsers from loopback origins only (and those it is
// told of); a handshake without Origin is not a browser's.
func TestDevModeOrigins(t *testing.T) {
	s := start(t, Options{AllowedOrigins: []string{"https://app.example"}})
	check := bystanders(t, s)
	defer check()
	for origin, ok := range map[string]bool{
		"":                        true,
		"http://localhost:5173":   true,
		"http://127.0.0.1:8080":   true,
		"http://[::1]:3000":       true,
		"https://app.example":     true,
		"https://evil.example":    false,
		"http://localhost.evil":   false,
		"http://127.0.0.1.nip.io": false,
	} {
		hdr := http.Header{}
		if origin != "" {
			hdr.Set("Origin", origin)
		}
		ws, resp, err := websocket.DefaultDialer.Dial(s.URL()+"/v1?key=pk_o", hdr)
		if ok {
			require.NoError(t, err, origin)
			ws.Close()
		} else {
			require.Error(t, err, origin)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, origin)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
}

// REST publishes pay the quota and the rate limit; from must be a peer id
// and the body valid UTF-8.
func TestRESTPublishIsBounded(t *testing.T) {
	s := start(t, Options{Tenants: []Tenant{{ID: "t", SecretKeys: []SecretKey{{ID: "sk_a", Secret: "s"}}}},
		// REST buckets ignore Types; the bystanders' frames are not limited.
		AllowUnlistedKeys: true, RateLimit: RateLimit{PerSecond: 0.001, Burst: 2, Types: []string{"none"}}})
	check := bystanders(t, s)
	defer check()
	post := func(body string) int {
		req, _ := http.NewRequest("POST", s.HTTPURL()+"/channels/c/publish", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer sk_a:s")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, 400, post(`{"data":1,"from":"bad\u0001id"}`))
	assert.Equal(t, 400, post("{\"data\":\"\xff\"}"))
	assert.Equal(t, 200, post(`{"data":1}`))
	assert.Equal(t, 200, post(`{"data":2,"from":"ops-bot"}`))
	assert.Equal(t, 429, post(`{"data":3}`), "the bucket holds 2")
	quota := start(t, Options{Tenants: []Tenant{{ID: "t", SecretKeys: []SecretKey{{ID: "sk_a", Secret: "s"}}, MessageQuota: 1}}})
	s = quota
	assert.Equal(t, 200, post(`{"data":1}`))
	assert.Equal(t, 429, post(`{"data":2}`), "over the quota")
}

// -v logs each connection's open and close, without its credential.
func TestConnectionLogIsScrubbed(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) }), nil))
	s := start(t, Options{Logger: log})
	tok, err := MintToken(DevKeyID, DevKeySecret, Claims{Sub: "alice"}, time.Hour)
	require.NoError(t, err)
	a := dial(t, s, "token="+tok, nil)
	a.read()
	b := dial(t, s, "key=pk_secret_value_123", nil)
	b.read()
	require.NoError(t, a.ws.Close())
	require.NoError(t, b.ws.Close())
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count(buf.String(), "connection closed") == 2
	}, 3*time.Second, 10*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	out := buf.String()
	assert.Equal(t, 2, strings.Count(out, "connection open"))
	assert.Contains(t, out, "peer=alice")
	assert.Contains(t, out, "kid "+DevKeyID)
	assert.NotContains(t, out, "pk_secret_value_123")
	assert.NotContains(t, out, tok)
	assert.NotContains(t, out, strings.Split(tok, ".")[2])
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// A snapshot whose members carry large metadata is split into frames each
// well under what a client accepts, every member listed once.
func TestLargeSnapshotIsSplit(t *testing.T) {
	var peers []protocol.PresencePeer
	meta := json.RawMessage(`{"x":"` + strings.Repeat("m", 4000) + `"}`)
	for i := range 300 {
		peers = append(peers, protocol.PresencePeer{PeerID: fmt.Sprintf("p%03d", i), Metadata: meta})
	}
	frames := presenceFrames("big", peers)
	require.Greater(t, len(frames), 1)
	seen := 0
	for _, f := range frames {
		assert.LessOrEqual(t, len(f), maxPresenceFrame+8<<10)
		p, err := protocol.ParseServer(f)
		require.NoError(t, err)
		seen += len(p.(*protocol.Presence).Joined)
	}
	assert.Equal(t, 300, seen)
	assert.Len(t, presenceFrames("small", peers[:3]), 1)
}
