package peer

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

// chaosFaults is how many faults the chaos test injects: one of each kind
// in `make test`, CHAOS_FAULTS (make soak: 100) for the long run.
func chaosFaults() int {
	if n, err := strconv.Atoi(os.Getenv("CHAOS_FAULTS")); err == nil && n > 0 {
		return n
	}
	return 5
}

// TestChaosGoToGo: alice sends bob a media track, a data channel and a
// steady stream of numbered direct messages while the server hurts alice's
// signalling: sockets dropped without a close, silence past the inactivity
// timeout, going_away then 1001, refused reconnects, delayed acks. Every
// message either arrives exactly once or its Send returned an error; both
// sides keep their RemotePeer values; after each recovery the data channel
// is opened again (on ConnectionReset) and media flows again, and the time
// from the reconnect to bob's first new packet is reported.
func TestChaosGoToGo(t *testing.T) {
	srv, err := testserver.New(testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(t, err)
	defer srv.Close()
	mint := func(id string) func(context.Context) (string, error) {
		return func(context.Context) (string, error) {
			return testserver.MintToken(testserver.DevKeyID, testserver.DevKeySecret, testserver.Claims{Sub: id}, time.Hour)
		}
	}
	fast := signalling.ReconnectOptions{InitialDelay: 50 * time.Millisecond, MaxDelay: 400 * time.Millisecond}
	alice, err := New(Options{URL: srv.URL(), TokenProvider: mint("alice"), Reconnect: fast, InactivityTimeout: 1500 * time.Millisecond})
	require.NoError(t, err)
	defer alice.Close("")
	bob, err := New(Options{URL: srv.URL(), TokenProvider: mint("bob"), Reconnect: fast})
	require.NoError(t, err)
	defer bob.Close("")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	// Media: bob stamps every packet's arrival.
	var lastRTP atomic.Int64
	require.NoError(t, alice.AddTrack(audioTrack(t, "chaos-mic", "chaos"), nil, StreamMetadata{"label": "mic"}))
	var bobSeesAlice atomic.Pointer[RemotePeer]
	dcMessages := make(chan string, 64)
	On(bob, func(ev PeerJoined) {
		bobSeesAlice.Store(ev.Peer)
		On(ev.Peer, func(tr Track) {
			go func() {
				for {
					if _, _, err := tr.Track.ReadRTP(); err != nil {
						return
					}
					lastRTP.Store(time.Now().UnixNano())
				}
			}()
		})
		On(ev.Peer, func(o DataChannelOpened) {
			dc := WrapDataChannel(o.Channel, DataChannelOptions{})
			On(dc, func(m ChannelMessage) { dcMessages <- string(m.Data) })
		})
	})
	// Server-routed messages: bob keeps every number he receives.
	var gotMu sync.Mutex
	got := map[int]int{}
	On(bob, func(d Data) {
		var n int
		if json.Unmarshal(d.Data, &n) == nil {
			gotMu.Lock()
			got[n]++
			gotMu.Unlock()
		}
	})
	// The data channel, opened again after every ConnectionReset.
	var aliceSeesBob atomic.Pointer[RemotePeer]
	openDC := func(rp *RemotePeer, tag string) {
		dc, err := rp.CreateDataChannel("chaos", DataChannelOptions{})
		if err != nil {
			t.Errorf("opening data channel %s: %v", tag, err)
			return
		}
		On(dc, func(ChannelOpen) { _ = dc.SendText(ctx, tag) })
	}
	var resets atomic.Int32
	On(alice, func(ev PeerJoined) {
		aliceSeesBob.Store(ev.Peer)
		openDC(ev.Peer, "dc-0")
		On(ev.Peer, func(ConnectionReset) { openDC(ev.Peer, fmt.Sprint("dc-", resets.Add(1))) })
	})
	reconnected := make(chan time.Time, 16)
	On(alice, func(ev StateChange) {
		if ev.From == StateReconnecting && ev.To == StateJoined {
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
	var sentMu sync.Mutex
	acked, failed := map[int]bool{}, 0
	stopSending := make(chan struct{})
	var sending sync.WaitGroup
	sending.Add(1)
	go func() {
		defer sending.Done()
		for n := 0; ; n++ {
			select {
			case <-stopSending:
				return
			case <-time.After(10 * time.Millisecond):
			}
			sctx, scancel := context.WithTimeout(ctx, 20*time.Second)
			err := alice.SendTo(sctx, "bob", n)
			scancel()
			sentMu.Lock()
			if err == nil {
				acked[n] = true
			} else {
				failed++
			}
			sentMu.Unlock()
		}
	}()

	faults := testserver.Faults()
	var recoveries []time.Duration
	n := chaosFaults()
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
	close(stopSending)
	sending.Wait()
	time.Sleep(500 * time.Millisecond) // the last messages in flight

	sentMu.Lock()
	gotMu.Lock()
	vanished, duplicated := 0, 0
	for m := range acked {
		if got[m] == 0 {
			vanished++
		}
	}
	for _, c := range got {
		if c > 1 {
			duplicated++
		}
	}
	sort.Slice(recoveries, func(i, j int) bool { return recoveries[i] < recoveries[j] })
	p50, p99 := recoveries[len(recoveries)/2], recoveries[(len(recoveries)*99)/100]
	t.Logf("%d faults; %d sends acked, %d returned an error; vanished %d, duplicated %d; media back after reconnect p50 %s p99 %s; resets %d",
		n, len(acked), failed, vanished, duplicated, p50.Round(time.Millisecond), p99.Round(time.Millisecond), resets.Load())
	gotMu.Unlock()
	sentMu.Unlock()
	assert.Zero(t, vanished, "an acked send never arrived")
	assert.Zero(t, duplicated, "a send arrived twice")
	assert.Less(t, p99, 2*time.Second, "media flowing again within 2 s of each recovery")
	assert.Equal(t, PeerConnected, aliceSeesBob.Load().State())
}
