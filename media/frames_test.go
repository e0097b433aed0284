package media

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
)

// A plays a VP8 test pattern; B decodes it with Frames (asking for
// keyframes through its connection) and gets 320x240 pictures whose media
// time advances.
func TestFramesDecodesVideo(t *testing.T) {
	file := testMedia(t, "vp8-opus.webm", "3")
	srv := newServer(t)
	a, b := newPeer(t, srv, "camera"), newPeer(t, srv, "viewer")
	ctx := ctxT(t, 60*time.Second)
	player, err := FromFile(file)
	require.NoError(t, err)
	defer player.Close()
	require.NoError(t, a.AddTrack(player.Video, nil, nil))

	type result struct {
		frames     int
		w, h       int
		first, end time.Duration
	}
	got := make(chan result, 1)
	peer.On(b, func(ev peer.PeerJoined) {
		remote := ev.Peer
		peer.On(remote, func(tr peer.Track) {
			go func() {
				var r result
				defer func() { got <- r }()
				for f, err := range Frames(ctx, tr.Track, WithKeyframeRequests(remote.PC())) {
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
	case <-ctx.Done():
		t.Fatal("no frames")
	}
}
