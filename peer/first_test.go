package peer_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// Both peers hold a track and join at once. The polite one waits for the
// other's offer instead of offering too, answers it, and its track takes
// one of the offer's receive slots: one round carries media both ways,
// and no m-line of a dropped offer is negotiated later.
func TestPoliteSideAnswersFirst(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob") // alice is polite
	// Long enough that bob's offer surely comes first: this checks what
	// the wait leads to, not how long it is.
	peer.SetFirstOfferMargin(alice, 10*time.Second)
	ctx := peertest.Context(t, 30*time.Second)
	tracks := map[string]chan *peertest.Collector[peer.Track]{}
	for name, p := range map[string]*peer.MeteredPeer{"alice": alice, "bob": bob} {
		require.NoError(t, p.AddStream(peer.NewMediaStream(peertest.OpusTrack(t, name+"-mic", name)), peer.StreamMetadata{"who": name}))
		tracks[name] = watchTracks(p)
	}
	joins := make(chan error, 2)
	go func() { joins <- alice.Join(ctx, "room") }()
	go func() { joins <- bob.Join(ctx, "room") }()
	require.NoError(t, <-joins)
	require.NoError(t, <-joins)
	atAlice := (<-tracks["alice"]).Next(t, nil)
	atBob := (<-tracks["bob"]).Next(t, nil)
	assert.Equal(t, "bob-mic", atAlice.Track.ID())
	assert.Equal(t, peer.StreamMetadata{"who": "bob"}, atAlice.Metadata)
	assert.Equal(t, "alice-mic", atBob.Track.ID())
	assert.Equal(t, peer.StreamMetadata{"who": "alice"}, atBob.Metadata)

	bobAtAlice := peertest.Connected(t, alice, 1)[0]
	// bob offered his track and two receive slots; alice's track took one
	// slot and bob's track one of hers; her other slot is offered later.
	// Had she offered too, her dropped offer's three m-lines would have
	// followed bob's three.
	require.Eventually(t, func() bool {
		return len(bobAtAlice.PC().GetTransceivers()) == 4 && len(peertest.Connected(t, bob, 1)[0].PC().GetTransceivers()) == 4
	}, 10*time.Second, 20*time.Millisecond, "four m-lines at both ends")
}

// With nothing to offer, the other side never offers: the polite side's
// first offer goes when its wait ends.
func TestPoliteFirstOfferGoesWhenNoneComes(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob")
	peer.SetFirstOfferMargin(alice, 200*time.Millisecond)
	ctx := peertest.Context(t, 30*time.Second)
	require.NoError(t, alice.AddStream(peer.NewMediaStream(peertest.OpusTrack(t, "alice-mic", "alice")), peer.StreamMetadata{"who": "alice"}))
	atBob := watchTracks(bob)
	require.NoError(t, alice.Join(ctx, "room"))
	require.NoError(t, bob.Join(ctx, "room"))
	got := (<-atBob).Next(t, nil)
	assert.Equal(t, "alice-mic", got.Track.ID())
	assert.Equal(t, peer.StreamMetadata{"who": "alice"}, got.Metadata)
}

// watchTracks collects the tracks of the first peer p sees, from the
// moment it sees it.
func watchTracks(p *peer.MeteredPeer) chan *peertest.Collector[peer.Track] {
	out := make(chan *peertest.Collector[peer.Track], 1)
	peer.Once(p, func(ev peer.PeerJoined) { out <- peertest.Watch[peer.Track](ev.Peer) })
	return out
}
