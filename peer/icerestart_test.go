package peer

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

	"github.com/metered-ca/realtime-go/testserver"
)

func TestICERestartDelays(t *testing.T) {
	want := []time.Duration{0, 1, 2, 4, 8, 16, 30, 30, 30}
	tm := defaultTimings()
	for a, w := range want {
		assert.Equal(t, w*time.Second, tm.iceRestartDelay(a), "attempt index %d", a)
	}
	assert.Equal(t, 30*time.Second, tm.iceRestartDelay(70), "no overflow")
}

// vnetPair builds two peers on a virtual network whose traffic cut can stop.
func vnetPair(t *testing.T, cut *atomic.Bool) (*MeteredPeer, *MeteredPeer) {
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
	srv := newServer(t)
	mk := func(id string, api *webrtc.API) *MeteredPeer {
		p, err := New(Options{API: api, URL: srv.URL(), TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: id})})
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Close("") })
		return p
	}
	return mk("a", apiA), mk("b", apiB)
}

// TestICERestartGivesUpOnce: with the network gone for good, the ladder
// makes its nine attempts and reports ErrICERestartExhausted exactly once.
func TestICERestartGivesUpOnce(t *testing.T) {
	var cut atomic.Bool
	a, b := vnetPair(t, &cut)
	for _, p := range []*MeteredPeer{a, b} {
		p.timing.iceRestartBase, p.timing.iceRestartMax, p.timing.iceAnswer = 10*time.Millisecond, 40*time.Millisecond, 2*time.Second
	}
	ctx := ctxT(t, 90*time.Second)
	opened := make(chan struct{}, 1)
	On(a, func(ev PeerJoined) {
		if d, err := ev.Peer.CreateDataChannel("c", DataChannelOptions{}); err == nil {
			On(d, func(ChannelOpen) { opened <- struct{}{} })
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
	exhausted := make(chan NegotiationError, 4)
	On(rb, func(e NegotiationError) {
		if errors.Is(e.Err, ErrICERestartExhausted) {
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
	assert.Equal(t, PeerReconnecting, rb.State(), "the peer is not closed or rebuilt")
}

// TestICERestartRecovers runs two peers over a virtual network and cuts it
// until ICE fails and the ladder has tried to restart; once the network is
// back a restart brings the connection back (connected → reconnecting →
// connected) and the data channel carries messages again.
func TestICERestartRecovers(t *testing.T) {
	var cut atomic.Bool
	a, b := vnetPair(t, &cut)
	ctx := ctxT(t, 60*time.Second)
	got := make(chan string, 64)
	On(b, func(ev PeerJoined) {
		On(ev.Peer, func(ev DataChannelOpened) {
			dc := WrapDataChannel(ev.Channel, DataChannelOptions{})
			On(dc, func(m ChannelMessage) { got <- string(m.Data) })
		})
	})
	var dc *DataChannel
	opened := make(chan struct{}, 1)
	On(a, func(ev PeerJoined) {
		d, err := ev.Peer.CreateDataChannel("c", DataChannelOptions{})
		if err == nil {
			dc = d
			On(d, func(ChannelOpen) { opened <- struct{}{} })
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
	require.Eventually(t, func() bool { return rb.State() == PeerConnected }, 10*time.Second, 10*time.Millisecond)
	states := make(chan PeerStateChange, 16)
	On(rb, func(e PeerStateChange) { states <- e })

	cut.Store(true)
	waitState := func(want PeerState) {
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
	waitState(PeerReconnecting)
	// Let at least one restart attempt fail while the network is down.
	require.Eventually(t, func() bool {
		done := make(chan int, 1)
		rb.mu.Lock()
		cn := rb.conn
		rb.mu.Unlock()
		cn.ops.do(func() { done <- cn.ladder.attempts })
		return <-done >= 2
	}, 20*time.Second, 50*time.Millisecond, "the ladder climbs while ICE stays failed")
	cut.Store(false)
	waitState(PeerConnected)
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
