package peer_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const silentChild = "REALTIME_GO_SILENT_CHILD"

// TestNilLoggerIsSilent: with Options.Logger nil, nothing of the peer's or
// of pion's reaches stderr, however a call ends. pion's components log to
// stderr unless each is given a logger factory, and loggers are made when
// a component is, so the calls run in a process of their own whose stderr
// is read whole.
func TestNilLoggerIsSilent(t *testing.T) {
	if os.Getenv(silentChild) == "1" {
		silentCalls(t)
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestNilLoggerIsSilent$", "-test.count=1")
	cmd.Env = append(os.Environ(), silentChild+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "the calls: %s%s", stdout.String(), stderr.String())
	assert.Empty(t, stderr.String(), "written to stderr")
}

// silentCalls runs calls with audio and video both ways, ended in turn by
// either side while media flows, the first with its transport gone
// under it.
func silentCalls(t *testing.T) {
	srv := peertest.NewServer(t)
	for round := range 4 {
		alice, bob := peertest.NewPeer(t, srv, fmt.Sprint("alice", round)), peertest.NewPeer(t, srv, fmt.Sprint("bob", round))
		for _, p := range []*peer.MeteredPeer{alice, bob} {
			require.NoError(t, p.AddStream(peer.NewMediaStream(peertest.OpusTrack(t, "mic", "s"), flowingVideo(t)), peer.StreamMetadata{"label": "cam"}))
		}
		ctx := peertest.Context(t, 30*time.Second)
		room := fmt.Sprint("quiet", round)
		require.NoError(t, alice.Join(ctx, room))
		require.NoError(t, bob.Join(ctx, room))
		peertest.Connected(t, alice, 1)
		time.Sleep(500 * time.Millisecond)
		if round == 0 {
			// The transport goes while the interceptors still run: each
			// one's next write fails, which pion logs.
			require.NoError(t, alice.RemotePeers()[0].PC().SCTP().Transport().ICETransport().Stop())
			time.Sleep(1500 * time.Millisecond)
		}
		first, second := alice, bob
		if round%2 == 1 {
			first, second = bob, alice
		}
		require.NoError(t, first.Close("bye"))
		time.Sleep(200 * time.Millisecond)
		require.NoError(t, second.Close("bye"))
	}
}

// flowingVideo is a VP8 track written 30 times a second until the test
// ends (the payload is not a picture; the transport does not care).
func flowingVideo(t *testing.T) *webrtc.TrackLocalStaticSample {
	t.Helper()
	tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "s")
	require.NoError(t, err)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(33 * time.Millisecond)
		defer tick.Stop()
		frame := make([]byte, 3000)
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			_ = tr.WriteSample(media.Sample{Data: frame, Duration: 33 * time.Millisecond})
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return tr
}
