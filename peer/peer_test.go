package peer

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTwoPeersDataChannelAndData(t *testing.T) {
	srv := newServer(t)
	alice, bob := newPeer(t, srv, "alice"), newPeer(t, srv, "bob")
	aJoined, bJoined := watch[PeerJoined](alice), watch[PeerJoined](bob)
	bData := watch[Data](bob)
	aData := watch[Data](alice)
	ctx := ctxT(t, 30*time.Second)

	require.NoError(t, alice.Join(ctx, "room"))
	assert.Equal(t, StateJoined, alice.State())
	assert.Equal(t, "alice", alice.PeerID())
	require.NoError(t, bob.Join(ctx, "room", IncludeSenderMetadata()))
	bobAtAlice := aJoined.wait(t, nil).Peer
	aliceAtBob := bJoined.wait(t, nil).Peer
	assert.Equal(t, "bob", bobAtAlice.ID())
	assert.JSONEq(t, `{"name":"alice"}`, string(aliceAtBob.Metadata()))
	assert.True(t, aliceAtBob.Polite() == false && bobAtAlice.Polite(), "alice < bob: alice is polite")

	// Server-routed data both ways, with kinds and sender metadata.
	require.NoError(t, alice.Send(ctx, map[string]int{"n": 1}))
	d := bData.wait(t, nil)
	assert.Equal(t, KindBroadcast, d.Kind)
	assert.Equal(t, "alice", d.SenderPeerID)
	assert.JSONEq(t, `{"name":"alice"}`, string(d.SenderMetadata))
	var v map[string]int
	require.NoError(t, d.Decode(&v))
	assert.Equal(t, 1, v["n"])
	require.NoError(t, bob.SendTo(ctx, "alice", "direct hi"))
	d = aData.wait(t, nil)
	assert.Equal(t, KindDirect, d.Kind)
	assert.Equal(t, `"direct hi"`, string(d.Data))
	require.NoError(t, aliceAtBob.Send(ctx, "via remote"))
	assert.Equal(t, `"via remote"`, string(aData.wait(t, nil).Data))

	var se *SendError
	require.ErrorAs(t, alice.SendTo(ctx, "alice", 1), &se)
	assert.ErrorIs(t, se, ErrSelfSend)
	assert.Equal(t, "self_send", se.Code())

	// A data channel opened by alice reaches bob; messages both ways.
	opened := watch[DataChannelOpened](aliceAtBob)
	dc, err := bobAtAlice.CreateDataChannel("chat", DataChannelOptions{})
	require.NoError(t, err)
	dcOpen, dcMsg := watch[ChannelOpen](dc), watch[ChannelMessage](dc)
	raw := opened.wait(t, nil).Channel
	remote := WrapDataChannel(raw, DataChannelOptions{})
	rOpen, rMsg := watch[ChannelOpen](remote), watch[ChannelMessage](remote)
	dcOpen.wait(t, nil)
	rOpen.wait(t, nil)
	require.NoError(t, dc.SendText(ctx, "hello bob"))
	assert.Equal(t, "hello bob", string(rMsg.wait(t, nil).Data))
	require.NoError(t, remote.Send(ctx, []byte{1, 2, 3}))
	m := dcMsg.wait(t, nil)
	assert.Equal(t, []byte{1, 2, 3}, m.Data)
	assert.False(t, m.IsString)
	require.Eventually(t, func() bool { return bobAtAlice.State() == PeerConnected && aliceAtBob.State() == PeerConnected }, 10*time.Second, 10*time.Millisecond)

	// Leaving: bob sees alice go.
	bLeft := watch[PeerLeft](bob)
	require.NoError(t, alice.Close("bye"))
	assert.Equal(t, "alice", bLeft.wait(t, nil).Peer.ID())
	assert.Equal(t, PeerClosed, aliceAtBob.State())
	require.ErrorIs(t, aliceAtBob.Send(ctx, 1), ErrPeerClosed)
	require.NoError(t, alice.Close("again"), "idempotent")
}

func TestThreePeersAudioWithMetadata(t *testing.T) {
	srv := newServer(t)
	ids := []string{"p1", "p2", "p3"}
	peers := map[string]*MeteredPeer{}
	type got struct {
		at, from, trackID, stream string
		meta                      StreamMetadata
		packets                   *atomic.Int64
	}
	tracks := make(chan got, 64)
	ctx := ctxT(t, 60*time.Second)
	for _, id := range ids {
		id := id
		p := newPeer(t, srv, id)
		peers[id] = p
		tr := audioTrack(t, "mic-"+id, "stream-"+id)
		// Added before Join: the first offer carries it.
		require.NoError(t, p.AddTrack(tr, NewMediaStreamWithID("stream-"+id, tr), StreamMetadata{"role": "mic", "label": id}))
		On(p, func(ev PeerJoined) {
			rp := ev.Peer
			On(rp, func(tr Track) {
				tracks <- got{at: id, from: rp.ID(), trackID: tr.Track.ID(), stream: tr.StreamID, meta: tr.Metadata, packets: countRTP(tr.Track)}
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
		assert.Equal(t, StreamMetadata{"role": "mic", "label": src}, g.meta)
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
	srv := newServer(t)
	p := newPeer(t, srv, "x")
	states, left := watch[StateChange](p), watch[Left](p)
	ctx := ctxT(t, 10*time.Second)
	var ae *ArgumentError
	require.ErrorAs(t, p.Join(ctx, "_Metered/secret"), &ae)
	assert.ErrorIs(t, ae, ErrReservedChannel)
	assert.Equal(t, "reserved_channel", ae.Code())
	var se *SendError
	require.ErrorAs(t, p.Send(ctx, 1), &se)
	assert.ErrorIs(t, se, ErrNotJoined)
	assert.Equal(t, "not_joined", se.Code())
	require.NoError(t, p.Join(ctx, "r"))
	var ste *StateError
	require.ErrorAs(t, p.Join(ctx, "r"), &ste)
	assert.ErrorIs(t, ste, ErrInvalidState)
	require.NoError(t, p.Close("done"))
	assert.Equal(t, StateChange{StateJoined, StateLeaving}, states.wait(t, func(e StateChange) bool { return e.From == StateJoined }))
	assert.Equal(t, StateChange{StateLeaving, StateClosed}, states.wait(t, nil))
	assert.Equal(t, Left{PeerID: "x", Channel: "r", Reason: "done"}, left.wait(t, nil))
	require.ErrorAs(t, p.AddTrack(audioTrack(t, "a", "s"), nil, nil), &ste)
	_ = errors.New
	_ = fmt.Sprint
	_ = json.Valid
	_ = webrtc.MimeTypeOpus
}
