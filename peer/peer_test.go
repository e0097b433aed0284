package peer_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTwoPeersDataChannelAndData(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob")
	aJoined, bJoined := peertest.Watch[peer.PeerJoined](alice), peertest.Watch[peer.PeerJoined](bob)
	bData := peertest.Watch[peer.Data](bob)
	aData := peertest.Watch[peer.Data](alice)
	ctx := peertest.Context(t, 30*time.Second)

	require.NoError(t, alice.Join(ctx, "room"))
	assert.Equal(t, peer.StateJoined, alice.State())
	assert.Equal(t, "alice", alice.PeerID())
	require.NoError(t, bob.Join(ctx, "room", peer.IncludeSenderMetadata()))
	bobAtAlice := aJoined.Next(t, nil).Peer
	aliceAtBob := bJoined.Next(t, nil).Peer
	assert.Equal(t, "bob", bobAtAlice.ID())
	assert.JSONEq(t, `{"name":"alice"}`, string(aliceAtBob.Metadata()))
	assert.True(t, aliceAtBob.Polite() == false && bobAtAlice.Polite(), "alice < bob: alice is polite")

	// Server-routed data both ways, with kinds and sender metadata.
	require.NoError(t, alice.Send(ctx, map[string]int{"n": 1}))
	d := bData.Next(t, nil)
	assert.Equal(t, peer.KindBroadcast, d.Kind)
	assert.Equal(t, "alice", d.SenderPeerID)
	assert.JSONEq(t, `{"name":"alice"}`, string(d.SenderMetadata))
	var v map[string]int
	require.NoError(t, d.Decode(&v))
	assert.Equal(t, 1, v["n"])
	require.NoError(t, bob.SendTo(ctx, "alice", "direct hi"))
	d = aData.Next(t, nil)
	assert.Equal(t, peer.KindDirect, d.Kind)
	assert.Equal(t, `"direct hi"`, string(d.Data))
	require.NoError(t, aliceAtBob.Send(ctx, "via remote"))
	assert.Equal(t, `"via remote"`, string(aData.Next(t, nil).Data))

	var se *peer.SendError
	require.ErrorAs(t, alice.SendTo(ctx, "alice", 1), &se)
	assert.ErrorIs(t, se, peer.ErrSelfSend)
	assert.Equal(t, "self_send", se.Code())

	// A data channel opened by alice reaches bob; messages both ways. Bob
	// wraps it in the handler, as the docs say: the channel waits for it.
	type wrapped struct {
		dc   *peer.DataChannel
		open *peertest.Collector[peer.ChannelOpen]
		msg  *peertest.Collector[peer.ChannelMessage]
	}
	arrived := make(chan wrapped, 1)
	peer.On(aliceAtBob, func(ev peer.DataChannelOpened) {
		dc := peer.WrapDataChannel(ev.Channel, peer.DataChannelOptions{})
		arrived <- wrapped{dc, peertest.Watch[peer.ChannelOpen](dc), peertest.Watch[peer.ChannelMessage](dc)}
	})
	dc, err := bobAtAlice.CreateDataChannel("chat", peer.DataChannelOptions{})
	require.NoError(t, err)
	dcOpen, dcMsg := peertest.Watch[peer.ChannelOpen](dc), peertest.Watch[peer.ChannelMessage](dc)
	var w wrapped
	select {
	case w = <-arrived:
	case <-ctx.Done():
		t.Fatal("bob never saw alice's data channel")
	}
	remote, rOpen, rMsg := w.dc, w.open, w.msg
	dcOpen.Next(t, nil)
	rOpen.Next(t, nil)
	require.NoError(t, dc.SendText(ctx, "hello bob"))
	assert.Equal(t, "hello bob", string(rMsg.Next(t, nil).Data))
	require.NoError(t, remote.Send(ctx, []byte{1, 2, 3}))
	m := dcMsg.Next(t, nil)
	assert.Equal(t, []byte{1, 2, 3}, m.Data)
	assert.False(t, m.IsString)
	require.Eventually(t, func() bool {
		return bobAtAlice.State() == peer.PeerConnected && aliceAtBob.State() == peer.PeerConnected
	}, 10*time.Second, 10*time.Millisecond)

	// Leaving: bob sees alice go.
	bLeft := peertest.Watch[peer.PeerLeft](bob)
	require.NoError(t, alice.Close("bye"))
	assert.Equal(t, "alice", bLeft.Next(t, nil).Peer.ID())
	assert.Equal(t, peer.PeerClosed, aliceAtBob.State())
	require.ErrorIs(t, aliceAtBob.Send(ctx, 1), peer.ErrPeerClosed)
	require.NoError(t, alice.Close("again"), "idempotent")
}

func TestThreePeersAudioWithMetadata(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	ids := []string{"p1", "p2", "p3"}
	peers := map[string]*peer.MeteredPeer{}
	type got struct {
		at, from, trackID, stream string
		meta                      peer.StreamMetadata
		packets                   *atomic.Int64
	}
	tracks := make(chan got, 64)
	ctx := peertest.Context(t, 60*time.Second)
	for _, id := range ids {
		id := id
		p := peertest.NewPeer(t, srv, id)
		peers[id] = p
		tr := peertest.OpusTrack(t, "mic-"+id, "stream-"+id)
		// Added before Join: the first offer carries it.
		require.NoError(t, p.AddTrack(tr, peer.NewMediaStreamWithID("stream-"+id, tr), peer.StreamMetadata{"role": "mic", "label": id}))
		peer.On(p, func(ev peer.PeerJoined) {
			rp := ev.Peer
			peer.On(rp, func(tr peer.Track) {
				tracks <- got{at: id, from: rp.ID(), trackID: tr.Track.ID(), stream: tr.StreamID, meta: tr.Metadata, packets: peertest.CountRTP(tr.Track)}
			})
		})
	}
	for _, id := range ids {
		require.NoError(t, peers[id].Join(ctx, "call"))
	}
	seen := map[string]got{}
	deadline := time.After(30 * time.Second)
	for len(seen) < 6 {
		select {
		case g := <-tracks:
			seen[g.from+"->"+g.at+":"+g.trackID] = g
		case <-deadline:
			t.Fatalf("only %d of 6 tracks arrived: %v", len(seen), keys(seen))
		}
	}
	for _, g := range seen {
		src := g.trackID[len("mic-"):]
		assert.Equal(t, src, g.from)
		assert.Equal(t, "stream-"+src, g.stream)
		assert.Equal(t, peer.StreamMetadata{"role": "mic", "label": src}, g.meta)
		require.Eventually(t, func() bool { return g.packets.Load() > 5 }, 10*time.Second, 20*time.Millisecond, "RTP flows from %s", src)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestJoinGates(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	p := peertest.NewPeer(t, srv, "x")
	states, left := peertest.Watch[peer.StateChange](p), peertest.Watch[peer.Left](p)
	ctx := peertest.Context(t, 10*time.Second)
	var ae *peer.ArgumentError
	require.ErrorAs(t, p.Join(ctx, "_Metered/secret"), &ae)
	assert.ErrorIs(t, ae, peer.ErrReservedChannel)
	assert.Equal(t, "reserved_channel", ae.Code())
	var se *peer.SendError
	require.ErrorAs(t, p.Send(ctx, 1), &se)
	assert.ErrorIs(t, se, peer.ErrNotJoined)
	assert.Equal(t, "not_joined", se.Code())
	require.NoError(t, p.Join(ctx, "r"))
	var ste *peer.StateError
	require.ErrorAs(t, p.Join(ctx, "r"), &ste)
	assert.ErrorIs(t, ste, peer.ErrInvalidState)
	require.NoError(t, p.Close("done"))
	assert.Equal(t, peer.StateChange{peer.StateJoined, peer.StateLeaving}, states.Next(t, func(e peer.StateChange) bool { return e.From == peer.StateJoined }))
	assert.Equal(t, peer.StateChange{peer.StateLeaving, peer.StateClosed}, states.Next(t, nil))
	assert.Equal(t, peer.Left{PeerID: "x", Channel: "r", Reason: "done"}, left.Next(t, nil))
	require.ErrorAs(t, p.AddTrack(peertest.OpusTrack(t, "a", "s"), nil, nil), &ste)
	_ = errors.New
	_ = fmt.Sprint
	_ = json.Valid
	_ = webrtc.MimeTypeOpus
}
