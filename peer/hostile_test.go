package peer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

// rawMember joins the channel as a bare signalling client that can send any
// payload to the peers.
func rawMember(t *testing.T, srv *testserver.Server, id, channel string) *signalling.Client {
	c, err := signalling.New(signalling.Options{URL: srv.URL(), TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: id})})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ctx := ctxT(t, 10*time.Second)
	require.NoError(t, c.Connect(ctx))
	require.NoError(t, c.Subscribe(ctx, channel))
	return c
}

// TestHostilePeer: a member sends floods of candidates, oversized and
// malformed candidates and SDP, metadata floods and junk; the MeteredPeer
// keeps every bound, reports what it should, and keeps working.
func TestHostilePeer(t *testing.T) {
	srv := newServer(t)
	alice, bob := newPeer(t, srv, "alice"), newPeer(t, srv, "bob")
	ctx := ctxT(t, 60*time.Second)
	require.NoError(t, alice.Join(ctx, "h"))
	mallory := rawMember(t, srv, "mallory", "h")
	require.Eventually(t, func() bool { return len(alice.RemotePeers()) == 1 }, 5*time.Second, 10*time.Millisecond)
	rm := alice.RemotePeers()[0]
	negErrs := make(chan NegotiationError, 16)
	On(rm, func(e NegotiationError) { negErrs <- e })
	data := make(chan Data, 16)
	On(alice, func(d Data) { data <- d })

	send := func(v any) { require.NoError(t, mallory.SendAsync("alice", v, nil)) }
	// 400 candidates before any description: at most 200 are held.
	for i := 0; i < 400; i++ {
		send(map[string]any{"type": "rtc-ice", "candidate": map[string]any{"candidate": fmt.Sprintf("candidate:%d 1 udp 1 10.0.0.1 %d typ host", i, 1000+i), "sdpMid": "0", "sdpMLineIndex": 0}})
	}
	send(map[string]any{"type": "rtc-ice", "candidate": map[string]any{"candidate": strings.Repeat("x", 5000)}})
	send(map[string]any{"type": "rtc-ice", "candidate": []int{1, 2}})
	// 600 distinct metadata entries: the cache keeps 512.
	for i := 0; i < 600; i++ {
		send(map[string]any{"__meteredTrackMeta": map[string]any{"trackId": fmt.Sprint("t", i), "metadata": map[string]any{"i": i}}})
	}
	send(map[string]any{"__meteredTrackMeta": map[string]any{"trackId": "bad", "metadata": []int{1}}})
	// A malformed offer with a secret-looking line: a scrubbed NegotiationError.
	send(map[string]any{"type": "rtc-description", "description": map[string]any{"type": "offer", "sdp": "v=0\r\na=ice-pwd:SuperSecretPwd\r\ngarbage"}})
	// Spoofed-looking data is just data from mallory.
	send(map[string]any{"from": "bob", "type": "chat", "text": "I am bob"})

	select {
	case d := <-data:
		assert.Equal(t, "mallory", d.SenderPeerID, "the envelope's sender, never the payload's")
	case <-ctx.Done():
		t.Fatal("no data")
	}
	select {
	case e := <-negErrs:
		assert.NotContains(t, e.Err.Error(), "SuperSecretPwd")
	case <-ctx.Done():
		t.Fatal("no NegotiationError for a malformed offer")
	}
	rm.mu.Lock()
	cn := rm.conn
	assert.Len(t, rm.cache.bags, MaxTrackMetadataEntries)
	assert.NotContains(t, rm.cache.bags, "bad")
	rm.mu.Unlock()
	done := make(chan int)
	cn.ops.do(func() { done <- len(cn.inbound) })
	assert.LessOrEqual(t, <-done, MaxICECandidatesPerGeneration)

	// Still fully working with an honest peer.
	require.NoError(t, bob.Join(ctx, "h"))
	require.NoError(t, bob.SendTo(ctx, "alice", "hello"))
	for {
		select {
		case d := <-data:
			if d.SenderPeerID == "bob" {
				return
			}
		case <-ctx.Done():
			t.Fatal("alice stopped working")
		}
	}
}

// TestSignalsFromStrangersAreDropped: a client outside the channel can
// reach alice by id (directs cross channels) but nothing it sends counts.
func TestSignalsFromStrangersAreDropped(t *testing.T) {
	srv := newServer(t)
	alice := newPeer(t, srv, "alice")
	ctx := ctxT(t, 20*time.Second)
	require.NoError(t, alice.Join(ctx, "room"))
	data := make(chan Data, 4)
	On(alice, func(d Data) { data <- d })
	stranger := rawMember(t, srv, "stranger", "elsewhere")
	require.NoError(t, stranger.Send(ctx, "alice", "hi"))
	require.NoError(t, stranger.Send(ctx, "alice", map[string]any{"type": "rtc-description", "description": map[string]any{"type": "offer", "sdp": "v=0"}}))
	select {
	case d := <-data:
		t.Fatalf("data from a stranger surfaced: %+v", d)
	case <-time.After(300 * time.Millisecond):
	}
	assert.Empty(t, alice.RemotePeers())
}

func TestICEServersFromWelcomeAndConfiguration(t *testing.T) {
	srv := newServer(t)
	mk := func(id string) *MeteredPeer {
		p, err := New(Options{
			URL: srv.URL(), TokenProvider: func(context.Context) (string, error) {
				return testserver.MintToken(testserver.DevKeyID, testserver.DevKeySecret, testserver.Claims{Sub: id,
					Metadata: []byte(`{"iceServers":[{"urls":["stun:127.0.0.1:9"]},{"urls":"turn:127.0.0.1:9?transport=udp","username":"u","credential":"c"}]}`)}, time.Hour)
			},
			Configuration: webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle, ICEServers: []webrtc.ICEServer{{URLs: []string{"stun:replaced.example"}}}},
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Close("") })
		return p
	}
	a, b := mk("a"), mk("b")
	ctx := ctxT(t, 20*time.Second)
	require.NoError(t, a.Join(ctx, "ice"))
	require.NoError(t, b.Join(ctx, "ice"))
	require.Eventually(t, func() bool { return len(a.RemotePeers()) == 1 }, 5*time.Second, 10*time.Millisecond)
	cfg := a.RemotePeers()[0].PC().GetConfiguration()
	require.Len(t, cfg.ICEServers, 2, "the welcome's servers replace the configured ones")
	assert.Equal(t, []string{"turn:127.0.0.1:9?transport=udp"}, cfg.ICEServers[1].URLs)
	assert.Equal(t, "c", cfg.ICEServers[1].Credential)
	assert.Equal(t, webrtc.BundlePolicyMaxBundle, cfg.BundlePolicy, "the rest of the configuration is kept")
}

// TestReconcileTimeout: after a reconnect no presence snapshot ever comes;
// the MeteredPeer subscribes again twice, then reports ErrReconcileTimeout.
func TestReconcileTimeout(t *testing.T) {
	srv, err := testserver.New(testserver.Options{Record: true, RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	alice, bob := newPeer(t, srv, "alice"), newPeer(t, srv, "bob")
	alice.timing.reconcile = 150 * time.Millisecond
	ctx := ctxT(t, 30*time.Second)
	require.NoError(t, alice.Join(ctx, "rc"))
	require.NoError(t, bob.Join(ctx, "rc"))
	require.Eventually(t, func() bool { return len(alice.RemotePeers()) == 1 }, 5*time.Second, 10*time.Millisecond)
	fatal := make(chan FatalError, 4)
	On(alice, func(e FatalError) { fatal <- e })
	srv.DropSnapshots("alice", 100)
	srv.ResetRecording()
	srv.DropConnections("alice")
	select {
	case e := <-fatal:
		require.True(t, errors.Is(e.Err, ErrReconcileTimeout), "%v", e.Err)
	case <-ctx.Done():
		t.Fatal("no ErrReconcileTimeout")
	}
	subs := 0
	for _, f := range srv.Frames() {
		if f.PeerID == "alice" && f.Dir == "in" && strings.Contains(f.Data, `"type":"subscribe"`) {
			subs++
		}
	}
	assert.Equal(t, 1+MaxReconcileResubscribes, subs, "the replay, then two resubscribes")
	assert.Equal(t, StateReconnecting, alice.State())
}
