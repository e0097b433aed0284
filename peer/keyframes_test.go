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
// video asks each for its own keyframes, over its own connection.
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

	require.NoError(t, bob.Close("bye"))
	assert.ErrorIs(t, peer.RequestKeyframe(tracks["carol"]), peer.ErrUnknownTrack, "forgotten with the connection")
	for _, p := range ends {
		require.NoError(t, p.Close("bye"))
	}
	for _, v := range senders {
		v.wg.Wait() // the RTCP readers end with their connections
	}
}
