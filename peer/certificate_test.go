package peer_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// TestConnectionsShareACertificate: a MeteredPeer's connections present
// one DTLS certificate (and connect with it), another MeteredPeer its own,
// and one named in Options.Configuration is used as it is.
func TestConnectionsShareACertificate(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	own, err := webrtc.GenerateCertificate(key)
	require.NoError(t, err)
	ownFP, err := own.GetFingerprints()
	require.NoError(t, err)

	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob")
	carol := peertest.NewPeer(t, srv, "carol", peer.Options{Configuration: webrtc.Configuration{Certificates: []webrtc.Certificate{*own}}})
	ctx := peertest.Context(t, 30*time.Second)
	for i, p := range []*peer.MeteredPeer{alice, bob, carol} {
		// A track each, so that every connection negotiates and connects.
		tr := peertest.OpusTrack(t, "mic", "s")
		require.NoError(t, p.AddTrack(tr, peer.NewMediaStreamWithID("s", tr), nil), i)
		require.NoError(t, p.Join(ctx, "room"))
	}
	atAlice := peertest.Connected(t, alice, 2)
	atBob := peertest.Connected(t, bob, 2)
	atCarol := peertest.Connected(t, carol, 2)

	a0, a1 := peer.CertificateFingerprint(atAlice[0]), peer.CertificateFingerprint(atAlice[1])
	assert.NotEmpty(t, a0)
	assert.Equal(t, a0, a1, "alice's connections share one")
	b0 := peer.CertificateFingerprint(atBob[0])
	assert.Equal(t, b0, peer.CertificateFingerprint(atBob[1]), "bob's too")
	assert.NotEqual(t, a0, b0, "each MeteredPeer has its own")
	for _, r := range atCarol {
		assert.Equal(t, ownFP[0].Value, peer.CertificateFingerprint(r), "the configured one")
	}
}
