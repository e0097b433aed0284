package peer_test

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

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

// rawMember joins the channel as a bare signalling client that can send any
// payload to the peers.
func rawMember(t *testing.T, srv *testserver.Server, id, channel string) *signalling.Client {
	c, err := signalling.New(signalling.Options{URL: srv.URL(), TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: id})})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ctx := peertest.Context(t, 10*time.Second)
	require.NoError(t, c.Connect(ctx))
	require.NoError(t, c.Subscribe(ctx, channel))
	return c
}

// TestHostilePeer: a member sends floods of candidates, oversized and
// malformed candidates and SDP, metadata floods and junk; the MeteredPeer
// keeps every bound, reports what it should, and keeps working.
func TestHostilePeer(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob")
	ctx := peertest.Context(t, 60*time.Second)
	require.NoError(t, alice.Join(ctx, "h"))
	mallory := rawMember(t, srv, "mallory", "h")
	require.Eventually(t, func() bool { return len(alice.RemotePeers()) == 1 }, 5*time.Second, 10*time.Millisecond)
	rm := alice.RemotePeers()[0]
	negErrs := make(chan peer.NegotiationError, 16)
	peer.On(rm, func(e peer.NegotiationError) { negErrs <- e })
	data := make(chan peer.Data, 16)
	peer.On(alice, func(d peer.Data) { data <- d })

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
	cached := peer.CachedTrackMetadata(rm)
	assert.Len(t, cached, peer.MaxTrackMetadataEntries)
	assert.NotContains(t, cached, "bad")
	assert.LessOrEqual(t, peer.HeldCandidates(rm), peer.MaxICECandidatesPerGeneration)

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
	t.Parallel()
	srv := peertest.NewServer(t)
	alice := peertest.NewPeer(t, srv, "alice")
	ctx := peertest.Context(t, 20*time.Second)
	require.NoError(t, alice.Join(ctx, "room"))
	data := make(chan peer.Data, 4)
	peer.On(alice, func(d peer.Data) { data <- d })
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
	t.Parallel()
	srv := peertest.NewServer(t)
	mk := func(id string) *peer.MeteredPeer {
		p, err := peer.New(peer.Options{
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
	ctx := peertest.Context(t, 20*time.Second)
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
	t.Parallel()
	srv, err := testserver.New(testserver.Options{Record: true, RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob")
	peer.SetReconcileWait(alice, 150*time.Millisecond)
	ctx := peertest.Context(t, 30*time.Second)
	require.NoError(t, alice.Join(ctx, "rc"))
	require.NoError(t, bob.Join(ctx, "rc"))
	require.Eventually(t, func() bool { return len(alice.RemotePeers()) == 1 }, 5*time.Second, 10*time.Millisecond)
	fatal := make(chan peer.FatalError, 4)
	peer.On(alice, func(e peer.FatalError) { fatal <- e })
	srv.DropSnapshots("alice", 100)
	srv.ResetRecording()
	srv.DropConnections("alice")
	select {
	case e := <-fatal:
		require.True(t, errors.Is(e.Err, peer.ErrReconcileTimeout), "%v", e.Err)
	case <-ctx.Done():
		t.Fatal("no ErrReconcileTimeout")
	}
	subs := 0
	for _, f := range srv.Frames() {
		if f.PeerID == "alice" && f.Dir == "in" && strings.Contains(f.Data, `"type":"subscribe"`) {
			subs++
		}
	}
	assert.Equal(t, 1+peer.MaxReconcileResubscribes, subs, "the replay, then two resubscribes")
	assert.Equal(t, peer.StateReconnecting, alice.State())
}
