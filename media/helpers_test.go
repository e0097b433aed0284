package media

import (
	"context"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/metered-ca/realtime-go/media/internal/av"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/testserver"
)

// TestMain fails the run if a goroutine or an FFmpeg object outlives the
// tests.
func TestMain(m *testing.M) {
	if file := os.Getenv(benchSubjectEnv); file != "" {
		os.Exit(benchSubject(file))
	}
	if os.Getenv(benchFramesEnv) != "" {
		os.Exit(benchFrames())
	}
	if os.Getenv(benchFloorEnv) != "" {
		os.Exit(benchReceive(floorFrames))
	}
	code := m.Run()
	if code == 0 {
		if n := av.Live(); n != 0 {
			fmt.Fprintf(os.Stderr, "%d FFmpeg objects left open\n", n)
			code = 1
		}
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// sine makes little-endian s16 PCM of a tone.
func sine(freq float64, rate, channels int, d time.Duration, phase *float64) []byte {
	n := int(d.Seconds() * float64(rate))
	out := make([]byte, 0, n*channels*2)
	for i := 0; i < n; i++ {
		v := int16(10000 * math.Sin(*phase))
		*phase += 2 * math.Pi * freq / float64(rate)
		for c := 0; c < channels; c++ {
			out = append(out, byte(v), byte(uint16(v)>>8))
		}
	}
	return out
}

// toneHz estimates the frequency of channel 0 of interleaved PCM by zero
// crossings.
func toneHz(pcm []int16, channels, rate int) float64 {
	n, crossings := len(pcm)/channels, 0
	for i := 1; i < n; i++ {
		if (pcm[(i-1)*channels] < 0) != (pcm[i*channels] < 0) {
			crossings++
		}
	}
	return float64(crossings) / 2 / (float64(n) / float64(rate))
}

// intoRoom has peer A send player's tracks as one stream into a room and
// peer B hand every track it receives to onTrack; then it starts the player
// (pion reports a track once its first packet arrives) and closes it when
// the test ends.
func intoRoom(t *testing.T, ctx context.Context, player *Player, onTrack func(*peer.RemotePeer, peer.Track)) *testserver.Server {
	t.Helper()
	t.Cleanup(func() { _ = player.Close() })
	srv := peertest.NewServer(t)
	a, b := peertest.NewPeer(t, srv, "sender"), peertest.NewPeer(t, srv, "receiver")
	stream := peer.NewMediaStream()
	for _, tr := range []*Track{player.Audio, player.Video} {
		if tr != nil {
			stream.AddTrack(tr)
		}
	}
	require.NoError(t, a.AddStream(stream, peer.StreamMetadata{"source": "test"}))
	peer.On(b, func(ev peer.PeerJoined) {
		remote := ev.Peer
		peer.On(remote, func(tr peer.Track) { onTrack(remote, tr) })
	})
	// What is written before the connection is up never arrives, and the
	// tests' receivers do not all ask for keyframes: the first picture
	// must be sent when it can arrive.
	connected := make(chan struct{}, 1)
	peer.On(a, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(s peer.PeerStateChange) {
			if s.To == peer.PeerConnected {
				select {
				case connected <- struct{}{}:
				default:
				}
			}
		})
	})
	require.NoError(t, a.Join(ctx, "room"))
	require.NoError(t, b.Join(ctx, "room"))
	select {
	case <-connected:
	case <-ctx.Done():
		t.Fatal("the two peers never connected")
	}
	require.NoError(t, player.Start())
	return srv
}
