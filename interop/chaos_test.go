package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/interop/internal/jsdriver"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

// TestChaosGoToJS is peer's chaos test with the JS SDK (Node) as Bob: a Go
// peer sends the JS peer an audio track, a data channel and numbered
// direct messages while the server injects faults into the Go peer's
// signalling (CHAOS_FAULTS, one of each kind by default). No acked send is
// lost or duplicated, the Go peer keeps its RemotePeer, the data channel is
// reopened on ConnectionReset, and the JS peer decodes audio again after
// each recovery.
func TestChaosGoToJS(t *testing.T) {
	srv, err := testserver.New(testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(t, err)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	js, err := jsdriver.Start("peer-driver.mjs")
	require.NoError(t, err)
	defer js.Close()
	_, err = js.Do(ctx, "join", map[string]any{"url": srv.URL(), "token": mint(t, "z-js", `{}`), "channel": "chaos"})
	require.NoError(t, err)

	// Every JS event goes through one reader.
	var got peertest.Tally
	dcTags := make(chan string, 64)
	readerDone := make(chan struct{})
	var reader sync.WaitGroup
	reader.Add(1)
	defer reader.Wait()
	defer close(readerDone)
	go func() {
		defer reader.Done()
		for {
			var ev jsdriver.Event
			select {
			case ev = <-js.Stream():
			case <-readerDone:
				return
			}
			var e jsEvent
			_ = json.Unmarshal(ev.Payload, &e)
			switch ev.Event {
			case "data":
				var n int
				if json.Unmarshal(e.Data, &n) == nil {
					got.Add(n)
				}
			case "channel-message":
				var tag string
				_ = json.Unmarshal(e.Data, &tag)
				select {
				case dcTags <- tag:
				default:
				}
			}
		}
	}()

	alice, err := peer.New(peer.Options{URL: srv.URL(),
		TokenProvider: func(context.Context) (string, error) { return mint(t, "a-go", `{}`), nil },
		Reconnect:     signalling.ReconnectOptions{InitialDelay: 50 * time.Millisecond, MaxDelay: 400 * time.Millisecond}, InactivityTimeout: 1500 * time.Millisecond})
	require.NoError(t, err)
	defer alice.Close("")
	require.NoError(t, alice.AddTrack(peertest.OpusTrack(t, "chaos-mic", "chaos"), nil, peer.StreamMetadata{"label": "mic"}))
	var bobRP atomic.Pointer[peer.RemotePeer]
	var resets atomic.Int32
	openDC := func(rp *peer.RemotePeer, tag string) {
		dc, err := rp.CreateDataChannel("chaos", peer.DataChannelOptions{})
		if err != nil {
			t.Errorf("data channel %s: %v", tag, err)
			return
		}
		peer.On(dc, func(peer.ChannelOpen) { _ = dc.SendText(ctx, tag) })
	}
	peer.On(alice, func(ev peer.PeerJoined) {
		bobRP.Store(ev.Peer)
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
	waitTag := func(tag string) {
		t.Helper()
		for {
			select {
			case m := <-dcTags:
				if m == tag {
					return
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("no data channel message %q at the JS peer", tag)
			}
		}
	}
	waitTag("dc-0")
	require.Eventually(t, func() bool { return jsFrames(ctx, js, "chaos-mic") > 10 }, 20*time.Second, 50*time.Millisecond)
	first := bobRP.Load()

	sender := peertest.StartSender(ctx, 10*time.Millisecond, func(ctx context.Context, n int) error {
		return alice.SendTo(ctx, "z-js", n)
	})

	faults := testserver.Faults()
	n := peertest.ChaosFaults(len(faults))
	var recoveries []time.Duration
	for i := 0; i < n; i++ {
		f := faults[i%len(faults)]
		for len(reconnected) > 0 {
			<-reconnected
		}
		before := resets.Load()
		_, err := js.Do(ctx, "resetStats", nil)
		require.NoError(t, err)
		srv.InjectFault(f, "a-go")
		var back time.Time
		select {
		case back = <-reconnected:
		case <-time.After(30 * time.Second):
			t.Fatalf("fault %d (%s): the Go peer never reconnected", i, f)
		}
		srv.ClearFaultsFor("a-go")
		require.Eventually(t, func() bool { return resets.Load() > before }, 20*time.Second, 5*time.Millisecond, "fault %d (%s): no ConnectionReset", i, f)
		waitTag(fmt.Sprint("dc-", resets.Load()))
		_, err = js.Do(ctx, "resetStats", nil)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return jsFrames(ctx, js, "chaos-mic") > 0 }, 20*time.Second, 20*time.Millisecond, "fault %d (%s): no audio at the JS peer", i, f)
		recoveries = append(recoveries, time.Since(back))
		assert.Same(t, first, bobRP.Load(), "the Go peer keeps its RemotePeer")
	}
	acked, failed := sender.Stop()
	time.Sleep(time.Second)
	vanished, duplicated := got.Compare(acked)
	t.Logf("%d faults with the JS SDK; %d sends acked, %d returned an error; vanished %d, duplicated %d; JS hears audio again after the reconnect within p50 %s p99 %s (an upper bound: polled)",
		n, len(acked), failed, vanished, duplicated, peertest.Percentile(recoveries, 50).Round(time.Millisecond), peertest.Percentile(recoveries, 99).Round(time.Millisecond))
	assert.Zero(t, vanished, "an acked send never arrived")
	assert.Zero(t, duplicated, "a send arrived twice")
}
