package peer_test

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// TestProbesAcknowledgedInFeedbackToTheRTXStream: a receiver on pion's
// defaults, as a browser, addresses each transport-wide feedback to the SSRC
// of the last packet it covers, which after a probe cluster is the RTX
// stream's. Every probe packet such a receiver got must count as
// acknowledged: the feedback is read whatever SSRC it names. (Before, the
// feedback named the RTX stream went unread: Chromium's acknowledged
// 37-88 % of the probe packets on a loopback relay.)
func TestProbesAcknowledgedInFeedbackToTheRTXStream(t *testing.T) {
	t.Parallel()
	m := &webrtc.MediaEngine{}
	require.NoError(t, m.RegisterDefaultCodecs())
	reg := &interceptor.Registry{}
	require.NoError(t, webrtc.RegisterDefaultInterceptors(m, reg))
	plain := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg))

	sample, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "a")
	require.NoError(t, err)
	video := &pliCounter{TrackLocalStaticSample: sample} // it reads the sender's RTCP, as pion's interceptors need
	t.Cleanup(video.wg.Wait)                             // after the peers close (cleanups run last first)
	srv := peertest.NewServer(t)
	sender := peertest.NewPeer(t, srv, "a-sender")
	receiver := peertest.NewPeer(t, srv, "b-plain-pion", peer.Options{API: plain})
	ctx := peertest.Context(t, 30*time.Second)

	require.NoError(t, sender.AddTrack(video, nil, nil))
	atReceiver := watchTracks(receiver)
	require.NoError(t, sender.Join(ctx, "rtx-feedback"))
	require.NoError(t, receiver.Join(ctx, "rtx-feedback"))
	// Ten frames a second: most feedback intervals that hold a cluster end
	// on its padding, not on a frame.
	frame := make([]byte, 1000)
	peertest.Every(t, 100*time.Millisecond, func(int) {
		_ = video.WriteSample(media.Sample{Data: frame, Duration: 100 * time.Millisecond})
	})
	got := (<-atReceiver).Next(t, nil)
	n := peertest.CountRTP(got.Track)
	require.Eventually(t, func() bool { return n.Load() > 20 }, 20*time.Second, 50*time.Millisecond, "the receiver gets the video")

	rp := peertest.Connected(t, sender, 1)[0]
	probing := func() peer.ProbingStats {
		st, err := rp.Stats(ctx)
		require.NoError(t, err)
		return st.Probing
	}
	// The start-up probes and the further ones they call for: until no
	// cluster has gone for a second.
	last := -1
	require.Eventually(t, func() bool {
		c := probing().Clusters
		done := c >= 2 && c == last
		last = c
		return done
	}, 15*time.Second, time.Second, "the start-up probes go, and end")
	// What was lost stays lost: a feedback is never sent again.
	var pr peer.ProbingStats
	assert.Eventually(t, func() bool {
		pr = probing()
		return pr.PacketsReceived == pr.PacketsSent
	}, 3*time.Second, 100*time.Millisecond, "every probe packet acknowledged")
	t.Logf("%d clusters, %d of %d probe packets acknowledged", pr.Clusters, pr.PacketsReceived, pr.PacketsSent)
}
