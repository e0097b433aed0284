package peer

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/testserver"
)

// opusOnlyPeer is a peer whose connections negotiate Opus and nothing else.
func opusOnlyPeer(t *testing.T, srv *testserver.Server, id string) *MeteredPeer {
	t.Helper()
	m := &webrtc.MediaEngine{}
	require.NoError(t, m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio))
	p, err := New(Options{URL: srv.URL(), TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: id}),
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
	srv := newServer(t)
	alice := newPeer(t, srv, "alice")
	bob := opusOnlyPeer(t, srv, "bob") // cannot take PCMU
	carol := newPeer(t, srv, "carol")  // can
	mic := audioTrack(t, "mic", "s")
	meta := StreamMetadata{"role": "mic"}
	require.NoError(t, alice.AddTrack(mic, nil, meta))
	ctx := ctxT(t, 60*time.Second)
	for _, p := range []*MeteredPeer{alice, bob, carol} {
		require.NoError(t, p.Join(ctx, "replace"))
	}
	require.Eventually(t, func() bool {
		peers := alice.RemotePeers()
		return len(peers) == 2 && peers[0].State() == PeerConnected && peers[1].State() == PeerConnected
	}, 30*time.Second, 20*time.Millisecond)

	// Total failure: a video track on an audio sender fails everywhere.
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "s")
	require.NoError(t, err)
	err = alice.ReplaceTrack(ctx, mic, video)
	var rte *ReplaceTrackError
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
	srv := newServer(t)
	alice, bob := newPeer(t, srv, "alice"), newPeer(t, srv, "bob")
	stream := NewMediaStreamWithID("pair", audioTrack(t, "a1", "pair"), audioTrack(t, "a2", "pair"))
	require.NoError(t, alice.AddStream(stream, StreamMetadata{"label": "two"}))
	added, removed := make(chan StreamAdded, 2), make(chan StreamRemoved, 2)
	On(bob, func(ev PeerJoined) {
		On(ev.Peer, func(e StreamAdded) { added <- e })
		On(ev.Peer, func(e StreamRemoved) { removed <- e })
	})
	ctx := ctxT(t, 30*time.Second)
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
	var ae *ArgumentError
	require.ErrorAs(t, alice.RemoveStream(nil), &ae)
}

// Joined is emitted once, with the id and channel; the state gates while
// reconnecting: Send, SendTo and ReplaceTrack refused, AddTrack recorded
// and sent once the connection is back.
func TestJoinedEventAndReconnectingGates(t *testing.T) {
	t.Parallel() // per-instance timings and servers: nothing shared
	srv := newServer(t)
	alice, bob := newPeer(t, srv, "alice"), newPeer(t, srv, "bob")
	joined := watch[Joined](alice)
	states := watch[StateChange](alice)
	ctx := ctxT(t, 60*time.Second)
	require.NoError(t, alice.Join(ctx, "gates"))
	assert.Equal(t, Joined{PeerID: "alice", Channel: "gates"}, joined.wait(t, nil))
	require.NoError(t, bob.Join(ctx, "gates"))
	require.Eventually(t, func() bool { return len(alice.RemotePeers()) == 1 }, 10*time.Second, 10*time.Millisecond)

	srv.RefuseConnects(1_000_000, testserver.Refusal{}) // every reconnect fails until cleared
	srv.DropConnections("alice")
	states.wait(t, func(e StateChange) bool { return e.To == StateReconnecting })
	require.Equal(t, StateReconnecting, alice.State())

	var se *SendError
	require.ErrorAs(t, alice.Send(ctx, 1), &se)
	assert.ErrorIs(t, se, ErrNotJoined)
	require.ErrorAs(t, alice.SendTo(ctx, "bob", 1), &se)
	assert.ErrorIs(t, se, ErrNotJoined)
	late := audioTrack(t, "late", "s")
	var ste *StateError
	require.ErrorAs(t, alice.ReplaceTrack(ctx, late, nil), &ste)
	assert.ErrorIs(t, ste, ErrInvalidState)
	require.ErrorAs(t, alice.Join(ctx, "other"), &ste)
	require.NoError(t, alice.AddTrack(late, nil, StreamMetadata{"when": "reconnecting"}), "recorded while reconnecting")

	tracks := make(chan Track, 4)
	for _, rp := range bob.RemotePeers() {
		On(rp, func(tr Track) { tracks <- tr })
	}
	On(bob, func(ev PeerJoined) { On(ev.Peer, func(tr Track) { tracks <- tr }) })
	srv.ClearFaults()
	states.wait(t, func(e StateChange) bool { return e.From == StateReconnecting && e.To == StateJoined })
	for {
		select {
		case tr := <-tracks:
			if tr.Track.ID() == "late" {
				assert.Equal(t, "reconnecting", tr.Metadata["when"])
				select {
				case extra := <-joined.ch:
					t.Fatalf("Joined emitted again after the reconnect: %+v", extra)
				default:
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
	srv := newServer(t)
	alice, bob, carol := newPeer(t, srv, "alice"), newPeer(t, srv, "bob"), newPeer(t, srv, "carol")
	plain, opted := watch[Data](alice), watch[Data](carol)
	ctx := ctxT(t, 30*time.Second)
	require.NoError(t, alice.Join(ctx, "meta"))
	require.NoError(t, carol.Join(ctx, "meta", IncludeSenderMetadata()))
	require.NoError(t, bob.Join(ctx, "meta"))
	require.Eventually(t, func() bool { return len(alice.RemotePeers()) == 2 && len(carol.RemotePeers()) == 2 }, 10*time.Second, 10*time.Millisecond)

	require.NoError(t, bob.SendTo(ctx, "alice", "direct"))
	d := plain.wait(t, nil)
	assert.Equal(t, KindDirect, d.Kind)
	assert.JSONEq(t, `{"name":"bob"}`, string(d.SenderMetadata))

	require.NoError(t, bob.Send(ctx, "broadcast"))
	d = plain.wait(t, func(d Data) bool { return d.Kind == KindBroadcast })
	assert.Nil(t, d.SenderMetadata, "not asked for on broadcasts")
	d = opted.wait(t, func(d Data) bool { return d.Kind == KindBroadcast })
	assert.JSONEq(t, `{"name":"bob"}`, string(d.SenderMetadata))
}
