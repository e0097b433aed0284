package peer_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// Both peers hold a track and join at once. The impolite one waits for the
// other's offer instead of offering too, answers it, and its track takes
// one of the offer's receive slots: one round carries media both ways,
// and no m-line of a dropped offer is negotiated later.
func TestImpoliteSideAnswersFirst(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob") // alice is polite
	// Long enough that alice's offer surely comes first: this checks what
	// the wait leads to, not how long it is.
	peer.SetFirstOfferMargin(bob, 10*time.Second)
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
	// alice offered her track and two receive slots; bob's track took one
	// slot and alice's track one of his; his other slot is offered later.
	// Had he offered too, alice's dropped offer's three m-lines would have
	// followed his three.
	require.Eventually(t, func() bool {
		return len(bobAtAlice.PC().GetTransceivers()) == 4 && len(peertest.Connected(t, bob, 1)[0].PC().GetTransceivers()) == 4
	}, 10*time.Second, 20*time.Millisecond, "four m-lines at both ends")
}

// With nothing to offer, the other side never offers: the impolite side's
// first offer goes when its wait ends.
func TestImpoliteFirstOfferGoesWhenNoneComes(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob") // bob is impolite
	peer.SetFirstOfferMargin(bob, 200*time.Millisecond)
	ctx := peertest.Context(t, 30*time.Second)
	require.NoError(t, bob.AddStream(peer.NewMediaStream(peertest.OpusTrack(t, "bob-mic", "bob")), peer.StreamMetadata{"who": "bob"}))
	atAlice := watchTracks(alice)
	require.NoError(t, bob.Join(ctx, "room"))
	require.NoError(t, alice.Join(ctx, "room"))
	got := (<-atAlice).Next(t, nil)
	assert.Equal(t, "bob-mic", got.Track.ID())
	assert.Equal(t, peer.StreamMetadata{"who": "bob"}, got.Metadata)
}

// watchTracks collects the tracks of the first peer p sees, from the
// moment it sees it.
func watchTracks(p *peer.MeteredPeer) chan *peertest.Collector[peer.Track] {
	out := make(chan *peertest.Collector[peer.Track], 1)
	peer.Once(p, func(ev peer.PeerJoined) { out <- peertest.Watch[peer.Track](ev.Peer) })
	return out
}
