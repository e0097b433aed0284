package peer_test

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// sharingTrack is a rate-sharing video track that keeps what its
// connections tell it.
type sharingTrack struct {
	*webrtc.TrackLocalStaticSample

	mu       sync.Mutex
	plain    int // FollowBitrate calls
	estimate func() int
	others   func() peer.OtherTracks
	stopped  int
}

func (s *sharingTrack) FollowBitrate(func() int) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plain++
	return func() {}
}

func (s *sharingTrack) FollowSharedBitrate(estimate func() int, others func() peer.OtherTracks) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.estimate, s.others = estimate, others
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.stopped++
	}
}

// company is what the track's connection sends besides it, and false
// before a connection told it anything.
func (s *sharingTrack) company() (peer.OtherTracks, bool) {
	s.mu.Lock()
	others := s.others
	s.mu.Unlock()
	if others == nil {
		return peer.OtherTracks{}, false
	}
	return others(), true
}

func TestRateSharingTrackIsToldItsCompany(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob")
	vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	cam, err := webrtc.NewTrackLocalStaticSample(vp8, "cam", "s")
	require.NoError(t, err)
	video := &sharingTrack{TrackLocalStaticSample: cam}
	mic := payloadTrack(t, "mic", "s", []byte{0xf8, 0x01})
	require.NoError(t, alice.AddTrack(video, nil, nil))
	require.NoError(t, alice.AddTrack(mic, nil, nil))

	ctx := peertest.Context(t, 60*time.Second)
	require.NoError(t, alice.Join(ctx, "sharing"))
	require.NoError(t, bob.Join(ctx, "sharing"))
	companyIs := func(want peer.OtherTracks) func() bool {
		return func() bool { got, ok := video.company(); return ok && got == want }
	}
	require.Eventually(t, companyIs(peer.OtherTracks{Audio: 1}), 10*time.Second, 10*time.Millisecond,
		"the camera beside a microphone")
	video.mu.Lock()
	assert.Zero(t, video.plain, "a sharing track is followed through FollowSharedBitrate only")
	assert.Positive(t, video.estimate(), "with the connection's estimate")
	video.mu.Unlock()

	require.NoError(t, alice.RemoveTrack(mic))
	require.Eventually(t, companyIs(peer.OtherTracks{}), 10*time.Second, 10*time.Millisecond,
		"the microphone removed: the camera alone")

	screen, err := webrtc.NewTrackLocalStaticSample(vp8, "screen", "s")
	require.NoError(t, err)
	require.NoError(t, alice.AddTrack(screen, nil, nil))
	require.Eventually(t, companyIs(peer.OtherTracks{Video: 1}), 10*time.Second, 10*time.Millisecond,
		"a screen added: two video tracks")

	require.NoError(t, alice.ReplaceTrack(ctx, screen, nil))
	require.Eventually(t, companyIs(peer.OtherTracks{}), 10*time.Second, 10*time.Millisecond,
		"the screen replaced by nothing: the camera alone again")

	require.NoError(t, alice.RemoveTrack(video))
	require.Eventually(t, func() bool { video.mu.Lock(); defer video.mu.Unlock(); return video.stopped == 1 },
		10*time.Second, 10*time.Millisecond, "removing the track stops its following")
}
