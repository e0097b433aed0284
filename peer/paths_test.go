package peer_test

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/testserver"
)

// opusOnlyPeer is a peer whose connections negotiate Opus and nothing else.
func opusOnlyPeer(t *testing.T, srv *testserver.Server, id string) *peer.MeteredPeer {
	t.Helper()
	m := &webrtc.MediaEngine{}
	require.NoError(t, m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio))
	p, err := peer.New(peer.Options{URL: srv.URL(), TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: id}),
		API: webrtc.NewAPI(webrtc.WithMediaEngine(m))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close("") })
	return p
}

// ReplaceTrack's tracking rules: when every member fails the tracking
// stays with the old track; when some succeed it moves to the new one and
// the failures are listed per peer.
func TestReplaceTrackPartialAndTotalFailure(t *testing.T) {
	t.Parallel() // per-instance timings and servers: nothing shared
	srv := peertest.NewServer(t)
	alice := peertest.NewPeer(t, srv, "alice")
	bob := opusOnlyPeer(t, srv, "bob")         // cannot take PCMU
	carol := peertest.NewPeer(t, srv, "carol") // can
	mic := peertest.OpusTrack(t, "mic", "s")
	meta := peer.StreamMetadata{"role": "mic"}
	require.NoError(t, alice.AddTrack(mic, nil, meta))
	ctx := peertest.Context(t, 60*time.Second)
	for _, p := range []*peer.MeteredPeer{alice, bob, carol} {
		require.NoError(t, p.Join(ctx, "replace"))
	}
	require.Eventually(t, func() bool {
		peers := alice.RemotePeers()
		return len(peers) == 2 && peers[0].State() == peer.PeerConnected && peers[1].State() == peer.PeerConnected
	}, 30*time.Second, 20*time.Millisecond)

	// Total failure: a video track on an audio sender fails everywhere.
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "s")
	require.NoError(t, err)
	err = alice.ReplaceTrack(ctx, mic, video)
	var rte *peer.ReplaceTrackError
	require.ErrorAs(t, err, &rte)
	assert.Empty(t, rte.Succeeded)
	assert.Len(t, rte.Failed, 2)
	_, ok := alice.TrackMetadata(mic)
	assert.True(t, ok, "nobody took the new track: the old one stays tracked")
	_, ok = alice.TrackMetadata(video)
	assert.False(t, ok)

	// Partial: PCMU reaches carol but not bob, who only negotiated Opus.
	pcmu, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "pcmu", "s")
	require.NoError(t, err)
	err = alice.ReplaceTrack(ctx, mic, pcmu)
	require.ErrorAs(t, err, &rte)
	assert.Equal(t, []string{"carol"}, rte.Succeeded)
	require.Len(t, rte.Failed, 1)
	assert.Equal(t, "bob", rte.Failed[0].PeerID)
	require.Error(t, rte.Failed[0].Err)
	assert.Contains(t, rte.Error(), "1 of 2")
	_, ok = alice.TrackMetadata(mic)
	assert.False(t, ok, "someone took the new track: tracking moved")
	got, ok := alice.TrackMetadata(pcmu)
	assert.True(t, ok)
	assert.Equal(t, meta, got)
}

// RemoveStream stops every track of the stream; the receiver sees the
// stream go.
func TestRemoveStream(t *testing.T) {
	t.Parallel() // per-instance timings and servers: nothing shared
	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob")
	stream := peer.NewMediaStreamWithID("pair", peertest.OpusTrack(t, "a1", "pair"), peertest.OpusTrack(t, "a2", "pair"))
	require.NoError(t, alice.AddStream(stream, peer.StreamMetadata{"label": "two"}))
	added, removed := make(chan peer.StreamAdded, 2), make(chan peer.StreamRemoved, 2)
	peer.On(bob, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(e peer.StreamAdded) { added <- e })
		peer.On(ev.Peer, func(e peer.StreamRemoved) { removed <- e })
	})
	ctx := peertest.Context(t, 30*time.Second)
	require.NoError(t, alice.Join(ctx, "rs"))
	require.NoError(t, bob.Join(ctx, "rs"))
	select {
	case e := <-added:
		assert.Equal(t, "pair", e.Stream.ID())
	case <-ctx.Done():
		t.Fatal("no StreamAdded")
	}
	require.NoError(t, alice.RemoveStream(stream))
	_, ok := alice.StreamMetadata(stream)
	assert.False(t, ok)
	select {
	case e := <-removed:
		assert.Equal(t, "pair", e.Stream.ID())
	case <-ctx.Done():
		t.Fatal("no StreamRemoved")
	}
	var ae *peer.ArgumentError
	require.ErrorAs(t, alice.RemoveStream(nil), &ae)
}

// Joined is emitted once, with the id and channel; the state gates while
// reconnecting: Send, SendTo and ReplaceTrack refused, AddTrack recorded
// and sent once the connection is back.
func TestJoinedEventAndReconnectingGates(t *testing.T) {
	t.Parallel() // per-instance timings and servers: nothing shared
	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob")
	joined := peertest.Watch[peer.Joined](alice)
	states := peertest.Watch[peer.StateChange](alice)
	ctx := peertest.Context(t, 60*time.Second)
	require.NoError(t, alice.Join(ctx, "gates"))
	assert.Equal(t, peer.Joined{PeerID: "alice", Channel: "gates"}, joined.Next(t, nil))
	require.NoError(t, bob.Join(ctx, "gates"))
	require.Eventually(t, func() bool { return len(alice.RemotePeers()) == 1 }, 10*time.Second, 10*time.Millisecond)

	srv.RefuseConnects(1_000_000, testserver.Refusal{}) // every reconnect fails until cleared
	srv.DropConnections("alice")
	states.Next(t, func(e peer.StateChange) bool { return e.To == peer.StateReconnecting })
	require.Equal(t, peer.StateReconnecting, alice.State())

	var se *peer.SendError
	require.ErrorAs(t, alice.Send(ctx, 1), &se)
	assert.ErrorIs(t, se, peer.ErrNotJoined)
	require.ErrorAs(t, alice.SendTo(ctx, "bob", 1), &se)
	assert.ErrorIs(t, se, peer.ErrNotJoined)
	late := peertest.OpusTrack(t, "late", "s")
	var ste *peer.StateError
	require.ErrorAs(t, alice.ReplaceTrack(ctx, late, nil), &ste)
	assert.ErrorIs(t, ste, peer.ErrInvalidState)
	require.ErrorAs(t, alice.Join(ctx, "other"), &ste)
	require.NoError(t, alice.AddTrack(late, nil, peer.StreamMetadata{"when": "reconnecting"}), "recorded while reconnecting")

	tracks := make(chan peer.Track, 4)
	for _, rp := range bob.RemotePeers() {
		peer.On(rp, func(tr peer.Track) { tracks <- tr })
	}
	peer.On(bob, func(ev peer.PeerJoined) { peer.On(ev.Peer, func(tr peer.Track) { tracks <- tr }) })
	srv.ClearFaults()
	states.Next(t, func(e peer.StateChange) bool { return e.From == peer.StateReconnecting && e.To == peer.StateJoined })
	for {
		select {
		case tr := <-tracks:
			if tr.Track.ID() == "late" {
				assert.Equal(t, "reconnecting", tr.Metadata["when"])
				if extra := joined.Pending(); len(extra) > 0 {
					t.Fatalf("Joined emitted again after the reconnect: %+v", extra)
				}
				return
			}
		case <-ctx.Done():
			t.Fatal("the track added while reconnecting never arrived")
		}
	}
}

// Directs carry the sender's peerMetadata even without
// IncludeSenderMetadata; broadcasts only with it.
func TestSenderMetadataOnDirectsWithoutOptingIn(t *testing.T) {
	t.Parallel() // per-instance timings and servers: nothing shared
	srv := peertest.NewServer(t)
	alice, bob, carol := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob"), peertest.NewPeer(t, srv, "carol")
	plain, opted := peertest.Watch[peer.Data](alice), peertest.Watch[peer.Data](carol)
	ctx := peertest.Context(t, 30*time.Second)
	require.NoError(t, alice.Join(ctx, "meta"))
	require.NoError(t, carol.Join(ctx, "meta", peer.IncludeSenderMetadata()))
	require.NoError(t, bob.Join(ctx, "meta"))
	require.Eventually(t, func() bool { return len(alice.RemotePeers()) == 2 && len(carol.RemotePeers()) == 2 }, 10*time.Second, 10*time.Millisecond)

	require.NoError(t, bob.SendTo(ctx, "alice", "direct"))
	d := plain.Next(t, nil)
	assert.Equal(t, peer.KindDirect, d.Kind)
	assert.JSONEq(t, `{"name":"bob"}`, string(d.SenderMetadata))

	require.NoError(t, bob.Send(ctx, "broadcast"))
	d = plain.Next(t, func(d peer.Data) bool { return d.Kind == peer.KindBroadcast })
	assert.Nil(t, d.SenderMetadata, "not asked for on broadcasts")
	d = opted.Next(t, func(d peer.Data) bool { return d.Kind == peer.KindBroadcast })
	assert.JSONEq(t, `{"name":"bob"}`, string(d.SenderMetadata))
}
