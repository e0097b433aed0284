package peer_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// payloadTrack sends frames carrying payload, so a receiver can tell which
// local track is on the wire.
func payloadTrack(t *testing.T, id, stream string, payload []byte) *webrtc.TrackLocalStaticSample {
	tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, id, stream)
	require.NoError(t, err)
	peertest.Every(t, 20*time.Millisecond, func(int) {
		_ = tr.WriteSample(media.Sample{Data: payload, Duration: 20 * time.Millisecond})
	})
	return tr
}

func TestReplaceAndRemoveTrack(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob")
	trA := payloadTrack(t, "cam-a", "", []byte{0xf8, 0xaa})
	trB := payloadTrack(t, "cam-b", "", []byte{0xf8, 0xbb})
	stream := peer.NewMediaStreamWithID("main", trA)
	meta := peer.StreamMetadata{"role": "camera", "label": "front"}
	require.NoError(t, alice.AddStream(stream, meta))
	got, _ := alice.StreamMetadata(stream)
	assert.Equal(t, meta, got)

	var mu sync.Mutex
	var last []byte
	added, removed := make(chan peer.StreamAdded, 4), make(chan peer.StreamRemoved, 4)
	peer.On(bob, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(tr peer.Track) {
			go func() {
				for {
					p, _, err := tr.Track.ReadRTP()
					if err != nil {
						return
					}
					mu.Lock()
					last = append([]byte(nil), p.Payload...)
					mu.Unlock()
				}
			}()
		})
		peer.On(ev.Peer, func(e peer.StreamAdded) { added <- e })
		peer.On(ev.Peer, func(e peer.StreamRemoved) { removed <- e })
	})
	payloadIs := func(want []byte) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return bytes.Equal(last, want) }
	}
	ctx := peertest.Context(t, 60*time.Second)
	require.NoError(t, alice.Join(ctx, "tracks"))
	require.NoError(t, bob.Join(ctx, "tracks"))
	select {
	case e := <-added:
		assert.Equal(t, "main", e.Stream.ID())
		assert.Equal(t, meta, e.Metadata)
	case <-ctx.Done():
		t.Fatal("no StreamAdded")
	}
	require.Eventually(t, payloadIs([]byte{0xf8, 0xaa}), 10*time.Second, 10*time.Millisecond)

	// Replace: same sender, new media, no new track at bob; tracking moves.
	require.NoError(t, alice.ReplaceTrack(ctx, trA, trB))
	require.Eventually(t, payloadIs([]byte{0xf8, 0xbb}), 10*time.Second, 10*time.Millisecond)
	_, ok := alice.TrackMetadata(trA)
	assert.False(t, ok)
	m, ok := alice.TrackMetadata(trB)
	assert.True(t, ok)
	assert.Equal(t, meta, m)

	// Remove: bob sees the stream go after the renegotiation.
	require.NoError(t, alice.RemoveTrack(trB))
	select {
	case e := <-removed:
		assert.Equal(t, "main", e.Stream.ID())
	case <-time.After(15 * time.Second):
		t.Fatal("no StreamRemoved")
	}
	_, ok = alice.TrackMetadata(trB)
	assert.False(t, ok)
	require.NoError(t, alice.RemoveTrack(trB), "removing an unknown track is a no-op")

	// The same track twice with another stream is refused.
	require.NoError(t, alice.AddTrack(trA, nil, nil))
	require.NoError(t, alice.AddTrack(trA, nil, nil), "same track, same stream: no-op")
	var se *peer.StateError
	require.ErrorAs(t, alice.AddTrack(trA, peer.NewMediaStream(), nil), &se)
	assert.ErrorIs(t, se, peer.ErrTrackAlreadyAttached)

	// Metadata larger than the server's cap is refused before anything is sent.
	var oe *peer.OversizedError
	require.ErrorAs(t, alice.AddTrack(trB, nil, peer.StreamMetadata{"blob": string(make([]byte, 70000))}), &oe)
	assert.Equal(t, 65536, oe.Cap)
}

// slowBind is a track whose Bind waits for release: a sender's
// ReplaceTrack with it takes as long as the test wants.
type slowBind struct {
	*webrtc.TrackLocalStaticSample
	release chan struct{}
}

func (s *slowBind) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	<-s.release
	return s.TrackLocalStaticSample.Bind(ctx)
}

// TestReplaceTrackEndsWithContext: ReplaceTrack returns once its context
// ends; the replacement it started completes and is tracked as if it had
// waited, and nothing of it outlives Close (goleak).
func TestReplaceTrackEndsWithContext(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob")
	old := peertest.OpusTrack(t, "mic", "s")
	require.NoError(t, alice.AddTrack(old, nil, peer.StreamMetadata{"label": "mic"}))
	ctx := peertest.Context(t, 30*time.Second)
	require.NoError(t, alice.Join(ctx, "replace-ctx"))
	require.NoError(t, bob.Join(ctx, "replace-ctx"))
	peertest.Connected(t, alice, 1)

	next := &slowBind{TrackLocalStaticSample: peertest.OpusTrack(t, "mic2", "s"), release: make(chan struct{})}
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := alice.ReplaceTrack(short, old, next)
	took := time.Since(start)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, took, 200*time.Millisecond+100*time.Millisecond, "returned %v after its context ended", took-200*time.Millisecond)
	_, tracked := alice.TrackMetadata(next)
	assert.False(t, tracked, "not yet replaced")

	close(next.release)
	require.Eventually(t, func() bool {
		meta, ok := alice.TrackMetadata(next)
		return ok && meta["label"] == "mic"
	}, 10*time.Second, 10*time.Millisecond, "the replacement completed and moved the tracking")
	_, tracked = alice.TrackMetadata(old)
	assert.False(t, tracked)
}
