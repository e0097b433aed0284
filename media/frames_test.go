package media

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/media/internal/av"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// A plays a VP8 test pattern; B decodes it with Frames (asking for
// keyframes through its connection) and gets 320x240 pictures whose media
// time advances.
func TestFramesDecodesVideo(t *testing.T) {
	file := testMedia(t, "vp8-opus.webm", "3")
	srv := peertest.NewServer(t)
	a, b := peertest.NewPeer(t, srv, "camera"), peertest.NewPeer(t, srv, "viewer")
	ctx := peertest.Context(t, 60*time.Second)
	player, err := FromFile(file)
	require.NoError(t, err)
	defer player.Close()
	require.NoError(t, a.AddTrack(player.Video, nil, nil))

	type result struct {
		frames     int
		w, h       int
		first, end time.Duration
		kept       Frame
		keptY      []byte
	}
	got := make(chan result, 1)
	peer.On(b, func(ev peer.PeerJoined) {
		remote := ev.Peer
		peer.On(remote, func(tr peer.Track) {
			go func() {
				var r result
				defer func() { got <- r }()
				for f, err := range Frames(ctx, tr.Track) {
					if err != nil {
						return
					}
					assert.Equal(t, webrtc.RTPCodecTypeVideo, f.Kind)
					if r.frames == 0 {
						r.first = f.Timestamp
					}
					r.frames++
					r.w, r.h, r.end = f.Width, f.Height, f.Timestamp
					assert.Len(t, f.Y, f.StrideY*f.Height)
					if r.frames == 1 { // the planes are lent: a frame kept is cloned
						r.kept, r.keptY = f.Clone(), bytes.Clone(f.Y)
					}
					if r.frames == 45 {
						return
					}
				}
			}()
		})
	})
	require.NoError(t, a.Join(ctx, "frames"))
	require.NoError(t, b.Join(ctx, "frames"))
	require.NoError(t, player.Start())
	select {
	case r := <-got:
		assert.Equal(t, 45, r.frames)
		assert.Equal(t, 320, r.w)
		assert.Equal(t, 240, r.h)
		assert.InDelta(t, 44.0/30, (r.end - r.first).Seconds(), 0.2, "media time follows the 30 fps source")
		assert.Equal(t, r.keptY, r.kept.Y, "a clone outlives the frame it was made from")
	case <-ctx.Done():
		t.Fatal("no frames")
	}
}

// A receiver's keyframe request (PLI) makes a transcoding player encode its
// next picture as a keyframe, long before its regular two-second interval.
func TestKeyframeRequestForcesKeyframe(t *testing.T) {
	player, keys := transcodingKeyframes(t)
	tx, rx := pcPair(t, player.Video)
	defer tx.Close()
	defer rx.Close()
	ssrc := make(chan webrtc.SSRC, 1)
	rx.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		ssrc <- tr.SSRC()
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
		}
	})
	require.NoError(t, player.Start())
	<-keys // the first picture
	s := <-ssrc
	time.Sleep(700 * time.Millisecond)
	for len(keys) > 0 {
		<-keys
	}
	asked := time.Now()
	require.NoError(t, rx.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(s)}}))
	select {
	case at := <-keys:
		assert.Less(t, at.Sub(asked), 500*time.Millisecond)
	case <-time.After(1200 * time.Millisecond):
		t.Fatal("no keyframe after the PLI")
	}
}

// transcodingKeyframes opens a file the player transcodes to VP8 (closed
// when the test ends) and reports when each keyframe is written.
func transcodingKeyframes(t *testing.T) (*Player, <-chan time.Time) {
	player, err := FromFile(testMedia(t, "h264-bframes.mp4", "3"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = player.Close() })
	require.False(t, player.video.passthrough)
	keys := make(chan time.Time, 64)
	player.video.onSample = func(data []byte) {
		if isKeyframe(av.CodecVP8, data) {
			keys <- time.Now()
		}
	}
	return player, keys
}

// A connection that binds a transcoding track mid-stream receives a
// keyframe without asking for one (Frames without WithKeyframeRequests
// waits for it): the encoder's own interval is two seconds.
func TestNewReceiverGetsKeyframe(t *testing.T) {
	player, keys := transcodingKeyframes(t)
	require.NoError(t, player.Start())
	<-keys // the first picture, before any binding
	tx, rx := pcPair(t, player.Video)
	defer tx.Close()
	defer rx.Close()
	ctx := peertest.Context(t, 10*time.Second)
	first := make(chan time.Time, 1)
	rx.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for _, err := range Frames(ctx, tr) {
			if err == nil {
				first <- time.Now()
			}
			return
		}
	})
	<-player.Video.Bound()
	bound := time.Now()
	select {
	case at := <-first:
		assert.Less(t, at.Sub(bound), 1500*time.Millisecond, "a decodable picture well before the encoder's next interval")
	case <-time.After(3 * time.Second):
		t.Fatal("no picture after the binding")
	}
}

// A viewer who joins a passthrough H.264 stream late still decodes
// pictures: every keyframe carries the parameter sets.
func TestLateJoinerDecodesPassthroughH264(t *testing.T) {
	file := testMedia(t, "h264-aac.mp4", "2")
	srv := peertest.NewServer(t)
	a, b := peertest.NewPeer(t, srv, "source"), peertest.NewPeer(t, srv, "late")
	ctx := peertest.Context(t, 60*time.Second)
	player, err := FromFile(file, WithLoop(true))
	require.NoError(t, err)
	defer player.Close()
	require.True(t, player.video.passthrough)
	require.NoError(t, a.AddTrack(player.Video, nil, nil))
	require.NoError(t, a.Join(ctx, "late"))
	require.NoError(t, player.Start())
	time.Sleep(1500 * time.Millisecond) // mid-GOP, long after the first parameter sets

	got := make(chan int, 1)
	peer.On(b, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(tr peer.Track) {
			go func() {
				for f, err := range Frames(ctx, tr.Track) {
					if err != nil {
						return
					}
					if f.Width > 0 {
						got <- f.Width
						return
					}
				}
			}()
		})
	})
	require.NoError(t, b.Join(ctx, "late"))
	select {
	case w := <-got:
		assert.Equal(t, 320, w)
	case <-ctx.Done():
		t.Fatal("the late viewer never decoded a picture")
	}
}
