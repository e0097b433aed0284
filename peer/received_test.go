package peer_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pliCounter is a video track that counts the keyframe requests its
// receivers send.
type pliCounter struct {
	*webrtc.TrackLocalStaticSample
	plis atomic.Int32
	wg   sync.WaitGroup
}

func (p *pliCounter) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, err := p.TrackLocalStaticSample.Bind(ctx)
	if err != nil || ctx.RTCPReader() == nil {
		return codec, err
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, _, err := ctx.RTCPReader().Read(buf, nil)
			if err != nil {
				return
			}
			pkts, err := rtcp.Unmarshal(buf[:n])
			if err != nil {
				continue
			}
			for _, pkt := range pkts {
				if _, ok := pkt.(*rtcp.PictureLossIndication); ok {
					p.plis.Add(1)
				}
			}
		}
	}()
	return codec, nil
}

// TestKeyframeRequestsGoToTheTracksSender: a receiver holding two peers'
// video asks each for its own keyframes, over its own connection, and reads
// each one's round trip.
func TestKeyframeRequestsGoToTheTracksSender(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	bob := peertest.NewPeer(t, srv, "bob")
	senders := map[string]*pliCounter{}
	var ends []*peer.MeteredPeer
	received := make(chan peer.Track, 2)
	peer.On(bob, func(ev peer.PeerJoined) { peer.On(ev.Peer, func(tr peer.Track) { received <- tr }) })
	ctx := peertest.Context(t, 30*time.Second)
	require.NoError(t, bob.Join(ctx, "kf"))
	for _, id := range []string{"alice", "carol"} {
		p := peertest.NewPeer(t, srv, id)
		v := &pliCounter{TrackLocalStaticSample: flowingVideo(t)}
		senders[id] = v
		ends = append(ends, p)
		require.NoError(t, p.AddTrack(v, nil, peer.StreamMetadata{"from": id}))
		require.NoError(t, p.Join(ctx, "kf"))
	}
	tracks := map[string]*webrtc.TrackRemote{}
	for range 2 {
		select {
		case tr := <-received:
			tracks[tr.Metadata["from"].(string)] = tr.Track
		case <-ctx.Done():
			t.Fatal("the tracks did not arrive")
		}
	}
	require.NoError(t, peer.RequestKeyframe(tracks["carol"]))
	require.Eventually(t, func() bool { return senders["carol"].plis.Load() == 1 }, 10*time.Second, 10*time.Millisecond, "carol was asked")
	require.NoError(t, peer.RequestKeyframe(tracks["alice"]))
	require.Eventually(t, func() bool { return senders["alice"].plis.Load() == 1 }, 10*time.Second, 10*time.Millisecond, "alice was asked")
	assert.Equal(t, int32(1), senders["carol"].plis.Load(), "carol was asked once, for her track only")
	// The round trip of each track's path, as ICE measured it: loopback.
	for id, tr := range tracks {
		require.Eventually(t, func() bool {
			rtt, err := peer.RoundTrip(tr)
			require.NoError(t, err, id)
			return rtt > 0
		}, 10*time.Second, 10*time.Millisecond, "ICE measures %s's path", id)
		rtt, _ := peer.RoundTrip(tr)
		assert.Less(t, rtt, time.Second, "%s's path is loopback", id)
	}

	require.NoError(t, bob.Close("bye"))
	assert.ErrorIs(t, peer.RequestKeyframe(tracks["carol"]), peer.ErrUnknownTrack, "forgotten with the connection")
	_, err := peer.RoundTrip(tracks["alice"])
	assert.ErrorIs(t, err, peer.ErrUnknownTrack, "forgotten with the connection")
	for _, p := range ends {
		require.NoError(t, p.Close("bye"))
	}
	for _, v := range senders {
		v.wg.Wait() // the RTCP readers end with their connections
	}
}

// TestKeyframeRequestsReachTheSenderOncePerInterval: a receiver asking for a
// keyframe every 20 ms (as a loss storm makes it) reaches the sending
// track's RTCP at most once per 300 ms on loopback (once a round trip on a
// longer path): each further keyframe would only have been one more burst
// behind the first. The statistics count every ask.
func TestKeyframeRequestsReachTheSenderOncePerInterval(t *testing.T) {
	t.Parallel()
	v := &pliCounter{TrackLocalStaticSample: flowingVideo(t)}
	t.Cleanup(v.wg.Wait) // after the peers close (cleanups run last first)
	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob")
	atBob := watchTracks(bob)
	ctx := peertest.Context(t, 30*time.Second)
	require.NoError(t, alice.AddTrack(v, nil, nil))
	require.NoError(t, alice.Join(ctx, "kf-storm"))
	require.NoError(t, bob.Join(ctx, "kf-storm"))
	got := (<-atBob).Next(t, nil)

	const asks = 75
	start := time.Now()
	for range asks {
		require.NoError(t, peer.RequestKeyframe(got.Track))
		time.Sleep(20 * time.Millisecond)
	}
	rb := peertest.Connected(t, alice, 1)[0]
	require.Eventually(t, func() bool {
		st, err := rb.Stats(ctx)
		require.NoError(t, err)
		return len(st.Outbound) == 1 && st.Outbound[0].PLIs == asks
	}, 10*time.Second, 20*time.Millisecond, "the statistics count every ask")
	// Every request passed on came at least 300 ms after the one before.
	most := int32(time.Since(start)/(300*time.Millisecond)) + 1
	passed := v.plis.Load()
	t.Logf("%d asks over %v, %d passed on", asks, time.Since(start).Round(time.Millisecond), passed)
	assert.GreaterOrEqual(t, passed, int32(2), "asks keep reaching the sender")
	assert.LessOrEqual(t, passed, most, "at most one per 300 ms")
}
