package media

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// bridge puts an RTSP camera into a room with FromRTSP (see intoRoom).
func bridge(t *testing.T, ctx context.Context, url string, onTrack func(*peer.RemotePeer, peer.Track), opts ...RTSPOption) *Player {
	player, err := FromRTSP(ctx, url, opts...)
	require.NoError(t, err)
	intoRoom(t, ctx, player, onTrack)
	return player
}

// An RTSP camera (H.264 + AAC) bridged into a room and recorded by another
// peer, over both RTSP transports: H.264 passes through, AAC becomes Opus.
func TestRTSPBridgeRecorded(t *testing.T) {
	file := testMedia(t, "h264-aac.mp4", "2")
	for _, transport := range []Transport{TCP, UDP} {
		t.Run(string(transport), func(t *testing.T) {
			cam := newRTSPCamera(t, file)
			ctx := peertest.Context(t, 60*time.Second)
			out := t.TempDir() + "/cam.mkv"
			rec, err := NewRecorder(out)
			require.NoError(t, err)
			defer rec.Close()
			player := bridge(t, ctx, cam.URL(), func(_ *peer.RemotePeer, tr peer.Track) {
				assert.NoError(t, rec.AddTrack(tr.Track))
			}, WithTransport(transport))
			assert.True(t, player.video.passthrough, "H.264 from the camera passes through")
			assert.False(t, player.audio.passthrough, "AAC is transcoded for the browser")
			time.Sleep(3 * time.Second)
			require.NoError(t, player.Close())
			time.Sleep(200 * time.Millisecond)
			require.NoError(t, rec.Close())
			codecs, d := probe(t, out)
			assert.ElementsMatch(t, []string{"h264", "opus"}, codecs)
			assert.Greater(t, d, 2*time.Second)
		})
	}
}

// The camera drops: the bridge opens it again and frames keep coming. Then
// the camera goes away for good: the player ends with ErrSourceLost.
func TestRTSPReconnectThenGiveUp(t *testing.T) {
	file := testMedia(t, "h264-aac.mp4", "2")
	cam := newRTSPCamera(t, file)
	ctx := peertest.Context(t, 60*time.Second)
	frames := make(chan time.Time, 1024)
	player := bridge(t, ctx, cam.URL(), func(remote *peer.RemotePeer, tr peer.Track) {
		if tr.Track.Kind() != webrtc.RTPCodecTypeVideo {
			return
		}
		go func() {
			for _, err := range Frames(ctx, tr.Track, WithKeyframeRequests(remote.PC())) {
				if err != nil {
					return
				}
				select {
				case frames <- time.Now():
				default:
				}
			}
		}()
	}, WithReconnect(100*time.Millisecond, 200*time.Millisecond, 300*time.Millisecond))

	waitFrame := func(after time.Time) {
		t.Helper()
		for {
			select {
			case at := <-frames:
				if at.After(after) {
					return
				}
			case <-ctx.Done():
				t.Fatal("no video frames")
			}
		}
	}
	waitFrame(time.Now())
	cam.Drop()
	dropped := time.Now()
	waitFrame(dropped.Add(500 * time.Millisecond))
	assert.GreaterOrEqual(t, cam.Plays(), 2, "the bridge played the camera again")

	cam.Close()
	select {
	case <-player.Done():
	case <-ctx.Done():
		t.Fatal("the player never gave up")
	}
	assert.True(t, errors.Is(player.Err(), ErrSourceLost), "got %v", player.Err())
}

func TestFromRTSPRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	_, err := FromRTSP(ctx, "http://example.com/cam")
	assert.Error(t, err)
	_, err = FromRTSP(ctx, "rtsp://127.0.0.1:1/cam", WithTransport("sctp"))
	assert.Error(t, err)
	_, err = FromRTSP(ctx, "rtsp://user:secret@127.0.0.1:1/cam", WithReconnect())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret", "credentials never reach an error")
}
