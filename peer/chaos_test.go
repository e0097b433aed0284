package peer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

// TestChaosGoToGo: alice sends bob a media track, a data channel and a
// steady stream of numbered direct messages while the server hurts alice's
// signalling: sockets dropped without a close, silence past the inactivity
// timeout, going_away then 1001, refused reconnects, delayed acks. Every
// message either arrives exactly once or its Send returned an error; both
// sides keep their peer.RemotePeer values; after each recovery the data channel
// is opened again (on peer.ConnectionReset) and media flows again, and the time
// from the reconnect to bob's first new packet is reported.
func TestChaosGoToGo(t *testing.T) {
	t.Parallel()
	srv, err := testserver.New(testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(t, err)
	defer srv.Close()
	mint := func(id string) func(context.Context) (string, error) {
		return testserver.DevTokenProvider(testserver.Claims{Sub: id})
	}
	fast := signalling.ReconnectOptions{InitialDelay: 50 * time.Millisecond, MaxDelay: 400 * time.Millisecond}
	alice, err := peer.New(peer.Options{URL: srv.URL(), TokenProvider: mint("alice"), Reconnect: fast, InactivityTimeout: 1500 * time.Millisecond})
	require.NoError(t, err)
	defer alice.Close("")
	bob, err := peer.New(peer.Options{URL: srv.URL(), TokenProvider: mint("bob"), Reconnect: fast})
	require.NoError(t, err)
	defer bob.Close("")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	// Media: bob stamps every packet's arrival.
	var lastRTP atomic.Int64
	require.NoError(t, alice.AddTrack(peertest.OpusTrack(t, "chaos-mic", "chaos"), nil, peer.StreamMetadata{"label": "mic"}))
	var bobSeesAlice atomic.Pointer[peer.RemotePeer]
	dcMessages := make(chan string, 64)
	peer.On(bob, func(ev peer.PeerJoined) {
		bobSeesAlice.Store(ev.Peer)
		peer.On(ev.Peer, func(tr peer.Track) {
			go func() {
				for {
					if _, _, err := tr.Track.ReadRTP(); err != nil {
						return
					}
					lastRTP.Store(time.Now().UnixNano())
				}
			}()
		})
		peer.On(ev.Peer, func(o peer.DataChannelOpened) {
			dc := peer.WrapDataChannel(o.Channel, peer.DataChannelOptions{})
			peer.On(dc, func(m peer.ChannelMessage) { dcMessages <- string(m.Data) })
		})
	})
	// Server-routed messages: bob keeps every number he receives.
	var got peertest.Tally
	peer.On(bob, func(d peer.Data) {
		var n int
		if json.Unmarshal(d.Data, &n) == nil {
			got.Add(n)
		}
	})
	// The data channel, opened again after every peer.ConnectionReset.
	var aliceSeesBob atomic.Pointer[peer.RemotePeer]
	openDC := func(rp *peer.RemotePeer, tag string) {
		dc, err := rp.CreateDataChannel("chaos", peer.DataChannelOptions{})
		if err != nil {
			t.Errorf("opening data channel %s: %v", tag, err)
			return
		}
		peer.On(dc, func(peer.ChannelOpen) { _ = dc.SendText(ctx, tag) })
	}
	var resets atomic.Int32
	peer.On(alice, func(ev peer.PeerJoined) {
		aliceSeesBob.Store(ev.Peer)
		openDC(ev.Peer, "dc-0")
		peer.On(ev.Peer, func(peer.ConnectionReset) { openDC(ev.Peer, fmt.Sprint("dc-", resets.Add(1))) })
	})
	reconnected := make(chan time.Time, 16)
	peer.On(alice, func(ev peer.StateChange) {
		if ev.From == peer.StateReconnecting && ev.To == peer.StateJoined {
			reconnected <- time.Now()
		}
	})

	require.NoError(t, alice.Join(ctx, "chaos"))
	require.NoError(t, bob.Join(ctx, "chaos"))
	waitDC := func(tag string) {
		t.Helper()
		for {
			select {
			case m := <-dcMessages:
				if m == tag {
					return
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("no data channel message %q", tag)
			}
		}
	}
	waitDC("dc-0")
	require.Eventually(t, func() bool { return lastRTP.Load() > 0 }, 10*time.Second, 10*time.Millisecond)
	firstAlice := aliceSeesBob.Load()

	// The sender: a numbered direct message every 10 ms, outcome kept.
	sender := peertest.StartSender(ctx, 10*time.Millisecond, func(ctx context.Context, n int) error {
		return alice.SendTo(ctx, "bob", n)
	})

	faults := testserver.Faults()
	var recoveries []time.Duration
	n := peertest.ChaosFaults(5)
	for i := 0; i < n; i++ {
		f := faults[i%len(faults)]
		for len(reconnected) > 0 {
			<-reconnected
		}
		before := resets.Load()
		srv.InjectFault(f, "alice")
		var back time.Time
		select {
		case back = <-reconnected:
		case <-time.After(30 * time.Second):
			t.Fatalf("fault %d (%s): alice never reconnected", i, f)
		}
		srv.ClearFaultsFor("alice")
		require.Eventually(t, func() bool { return resets.Load() > before }, 20*time.Second, 5*time.Millisecond, "fault %d (%s): no ConnectionReset", i, f)
		waitDC(fmt.Sprint("dc-", resets.Load()))
		require.Eventually(t, func() bool { return lastRTP.Load() > back.UnixNano() }, 20*time.Second, 5*time.Millisecond, "fault %d (%s): media never came back", i, f)
		recoveries = append(recoveries, time.Unix(0, lastRTP.Load()).Sub(back))
		// The side that reconnected keeps its RemotePeer; the other was told
		// by the server that alice left, and meets her again as a new one.
		assert.Same(t, firstAlice, aliceSeesBob.Load(), "alice keeps bob's RemotePeer")
	}
	acked, failed := sender.Stop()
	time.Sleep(500 * time.Millisecond) // the last messages in flight
	vanished, duplicated := got.Compare(acked)
	p50, p99 := peertest.Percentile(recoveries, 50), peertest.Percentile(recoveries, 99)
	t.Logf("%d faults; %d sends acked, %d returned an error; vanished %d, duplicated %d; media back after reconnect p50 %s p99 %s; resets %d",
		n, len(acked), failed, vanished, duplicated, p50.Round(time.Millisecond), p99.Round(time.Millisecond), resets.Load())
	assert.Zero(t, vanished, "an acked send never arrived")
	assert.Zero(t, duplicated, "a send arrived twice")
	assert.Less(t, p99, 2*time.Second, "media flowing again within 2 s of each recovery")
	assert.Equal(t, peer.PeerConnected, aliceSeesBob.Load().State())
}
