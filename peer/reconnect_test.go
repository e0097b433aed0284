package peer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSignallingDropMidCall: alice's WebSocket is cut without a close frame
// in the middle of a call. Her RemotePeer for bob stays the same object,
// fires ConnectionReset with a fresh PC, and media flows again both ways.
func TestSignallingDropMidCall(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob")
	sink := newSink()
	sink.attach("alice", alice)
	sink.attach("bob", bob)
	ta, tb := peertest.OpusTrack(t, "alice-mic", "sa"), peertest.OpusTrack(t, "bob-mic", "sb")
	require.NoError(t, alice.AddTrack(ta, nil, peer.StreamMetadata{"role": "mic"}))
	require.NoError(t, bob.AddTrack(tb, nil, peer.StreamMetadata{"role": "mic"}))
	ctx := peertest.Context(t, 60*time.Second)
	require.NoError(t, alice.Join(ctx, "call"))
	require.NoError(t, bob.Join(ctx, "call"))
	require.Eventually(t, func() bool { return sink.has("bob", ta.ID()) && sink.has("alice", tb.ID()) }, 20*time.Second, 20*time.Millisecond)

	bobAtAlice := alice.RemotePeers()[0]
	oldPC := bobAtAlice.PC()
	resets := peertest.Watch[peer.ConnectionReset](bobAtAlice)
	states := peertest.Watch[peer.StateChange](alice)
	sink.forget() // what arrived on the old connections no longer counts

	require.Equal(t, 1, srv.DropConnections("alice"))
	assert.Equal(t, peer.StateChange{peer.StateJoined, peer.StateReconnecting}, states.Next(t, nil))
	resets.Next(t, nil)
	assert.Equal(t, peer.StateChange{peer.StateReconnecting, peer.StateJoined}, states.Next(t, nil))
	assert.Same(t, bobAtAlice, alice.RemotePeers()[0], "identity kept")
	assert.NotSame(t, oldPC, bobAtAlice.PC(), "the connection was swapped")
	require.Eventually(t, func() bool { return sink.has("alice", tb.ID()) && sink.has("bob", ta.ID()) }, 20*time.Second, 20*time.Millisecond, "media flows again")
	require.Eventually(t, func() bool { return bobAtAlice.State() == peer.PeerConnected }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, peer.StreamMetadata{"role": "mic"}, sink.meta("alice", tb.ID()))
}

func (s *trackSink) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = map[string]map[string]peer.StreamMetadata{}
	s.rtp = map[string]func() int64{}
}

// TestEightPeers: a full mesh of eight, each sending audio to the other
// seven.
func TestEightPeers(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	sink := newSink()
	var peers []*peer.MeteredPeer
	for i := 0; i < 8; i++ {
		id := fmt.Sprintf("p%d", i)
		p := peertest.NewPeer(t, srv, id)
		sink.attach(id, p)
		require.NoError(t, p.AddTrack(peertest.OpusTrack(t, "mic-"+id, "s-"+id), nil, peer.StreamMetadata{"label": id}))
		peers = append(peers, p)
	}
	ctx := peertest.Context(t, 120*time.Second)
	for _, p := range peers {
		require.NoError(t, p.Join(ctx, "mesh"))
	}
	require.Eventually(t, func() bool {
		for i := 0; i < 8; i++ {
			for j := 0; j < 8; j++ {
				if i != j && !sink.has(fmt.Sprintf("p%d", i), fmt.Sprintf("mic-p%d", j)) {
					return false
				}
			}
		}
		return true
	}, 60*time.Second, 50*time.Millisecond, "56 tracks with RTP")
	for _, p := range peers {
		assert.Len(t, p.RemotePeers(), 7)
	}
}
