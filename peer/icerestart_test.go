package peer_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/testserver"
)

func TestICERestartDelays(t *testing.T) {
	t.Parallel()
	want := []time.Duration{0, 1, 2, 4, 8, 16, 30, 30, 30}
	for a, w := range want {
		assert.Equal(t, w*time.Second, peer.ICERestartDelay(a), "attempt index %d", a)
	}
	assert.Equal(t, 30*time.Second, peer.ICERestartDelay(70), "no overflow")
}

// vnetPair builds two peers on a virtual network whose traffic cut can stop.
func vnetPair(t *testing.T, cut *atomic.Bool) (*peer.MeteredPeer, *peer.MeteredPeer) {
	t.Helper()
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.9.0.0/24", LoggerFactory: logging.NewDefaultLoggerFactory()})
	require.NoError(t, err)
	wan.AddChunkFilter(func(vnet.Chunk) bool { return !cut.Load() })
	apiFor := func(ip string) *webrtc.API {
		nw, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ip}})
		require.NoError(t, err)
		require.NoError(t, wan.AddNet(nw))
		var se webrtc.SettingEngine
		se.SetNet(nw)
		se.SetICETimeouts(400*time.Millisecond, 800*time.Millisecond, 100*time.Millisecond)
		return webrtc.NewAPI(webrtc.WithSettingEngine(se))
	}
	apiA, apiB := apiFor("10.9.0.2"), apiFor("10.9.0.3")
	require.NoError(t, wan.Start())
	t.Cleanup(func() { _ = wan.Stop() })
	srv := peertest.NewServer(t)
	mk := func(id string, api *webrtc.API) *peer.MeteredPeer {
		p, err := peer.New(peer.Options{API: api, URL: srv.URL(), TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: id})})
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Close("") })
		return p
	}
	return mk("a", apiA), mk("b", apiB)
}

// TestICERestartGivesUpOnce: with the network gone for good, the ladder
// makes its nine attempts and reports ErrICERestartExhausted exactly once.
func TestICERestartGivesUpOnce(t *testing.T) {
	t.Parallel()
	var cut atomic.Bool
	a, b := vnetPair(t, &cut)
	for _, p := range []*peer.MeteredPeer{a, b} {
		peer.SetICERestart(p, 10*time.Millisecond, 40*time.Millisecond, 2*time.Second)
	}
	ctx := peertest.Context(t, 90*time.Second)
	opened := make(chan struct{}, 1)
	peer.On(a, func(ev peer.PeerJoined) {
		if d, err := ev.Peer.CreateDataChannel("c", peer.DataChannelOptions{}); err == nil {
			peer.On(d, func(peer.ChannelOpen) { opened <- struct{}{} })
		}
	})
	require.NoError(t, a.Join(ctx, "ice"))
	require.NoError(t, b.Join(ctx, "ice"))
	select {
	case <-opened:
	case <-ctx.Done():
		t.Fatal("no data channel")
	}
	rb := a.RemotePeers()[0]
	exhausted := make(chan peer.NegotiationError, 4)
	peer.On(rb, func(e peer.NegotiationError) {
		if errors.Is(e.Err, peer.ErrICERestartExhausted) {
			exhausted <- e
		}
	})
	cut.Store(true)
	select {
	case <-exhausted:
	case <-ctx.Done():
		t.Fatal("the ladder never gave up")
	}
	select {
	case <-exhausted:
		t.Fatal("ErrICERestartExhausted reported twice")
	case <-time.After(2 * time.Second):
	}
	assert.Equal(t, peer.PeerReconnecting, rb.State(), "the peer is not closed or rebuilt")
}

// TestICERestartRecovers runs two peers over a virtual network and cuts it
// until ICE fails and the ladder has tried to restart; once the network is
// back a restart brings the connection back (connected → reconnecting →
// connected) and the data channel carries messages again.
func TestICERestartRecovers(t *testing.T) {
	t.Parallel()
	var cut atomic.Bool
	a, b := vnetPair(t, &cut)
	ctx := peertest.Context(t, 60*time.Second)
	got := make(chan string, 64)
	peer.On(b, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(ev peer.DataChannelOpened) {
			dc := peer.WrapDataChannel(ev.Channel, peer.DataChannelOptions{})
			peer.On(dc, func(m peer.ChannelMessage) { got <- string(m.Data) })
		})
	})
	var dc *peer.DataChannel
	opened := make(chan struct{}, 1)
	peer.On(a, func(ev peer.PeerJoined) {
		d, err := ev.Peer.CreateDataChannel("c", peer.DataChannelOptions{})
		if err == nil {
			dc = d
			peer.On(d, func(peer.ChannelOpen) { opened <- struct{}{} })
		}
	})
	require.NoError(t, a.Join(ctx, "ice"))
	require.NoError(t, b.Join(ctx, "ice"))
	select {
	case <-opened:
	case <-ctx.Done():
		t.Fatal("no data channel")
	}
	rb := a.RemotePeers()[0]
	require.Eventually(t, func() bool { return rb.State() == peer.PeerConnected }, 10*time.Second, 10*time.Millisecond)
	states := make(chan peer.PeerStateChange, 16)
	peer.On(rb, func(e peer.PeerStateChange) { states <- e })

	cut.Store(true)
	waitState := func(want peer.PeerState) {
		t.Helper()
		for {
			select {
			case e := <-states:
				if e.To == want {
					return
				}
			case <-ctx.Done():
				t.Fatalf("never reached %v", want)
			}
		}
	}
	waitState(peer.PeerReconnecting)
	// Let at least one restart attempt fail while the network is down.
	require.Eventually(t, func() bool {
		return peer.ICERestartAttempts(rb) >= 2
	}, 20*time.Second, 50*time.Millisecond, "the ladder climbs while ICE stays failed")
	cut.Store(false)
	waitState(peer.PeerConnected)
	require.NoError(t, dc.SendText(ctx, "after the restart"))
	for {
		select {
		case m := <-got:
			if m == "after the restart" {
				return
			}
		case <-ctx.Done():
			t.Fatal("the data channel did not come back")
		}
	}
}
