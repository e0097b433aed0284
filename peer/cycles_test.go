package peer_test

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/signalling"
)

// cycles is how many rounds the leak tests run: a short form in `make
// test`, SOAK_CYCLES (make soak: 1000) for the long one.
func cycles() int {
	if n, err := strconv.Atoi(os.Getenv("SOAK_CYCLES")); err == nil && n > 0 {
		return n
	}
	return 150 // with settledHeap's least-of-three, the slope is within ±0.5 KB/cycle
}

// rss is the resident set in bytes (Linux); the race detector's own memory
// makes it meaningful only in the non-race run of make soak.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, resident int64
	_, _ = fmt.Sscan(string(b), &size, &resident)
	return resident * int64(os.Getpagesize())
}

// settledHeap is the live heap after a collection, and the goroutine count
// once background goroutines have had a moment to end.
func settledHeap(baseline int) (uint64, int) {
	var ms runtime.MemStats
	n := 0
	for i := 0; i < 100; i++ {
		runtime.GC()
		n = runtime.NumGoroutine()
		if n <= baseline {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The least of three readings: memory that timers and finalizers are
	// still letting go of is not a leak, and one reading is noisy.
	least := uint64(1<<63 - 1)
	for range 3 {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		least = min(least, ms.HeapAlloc)
		time.Sleep(10 * time.Millisecond)
	}
	return least, n
}

// leakCheck runs cycle n times; the goroutine count must come back to its
// baseline and the heap must stop growing (the second half of the run may
// add at most 2 KiB a cycle, a leak of one pion connection a cycle adds far
// more).
func leakCheck(t *testing.T, what string, n int, cycle func(i int)) {
	for i := 0; i < n/10+1; i++ { // warm-up: pools, first-use allocations
		cycle(i)
	}
	_, baseline := settledHeap(0)
	heapStart, _ := settledHeap(baseline)
	var heapMid uint64
	var rssMid int64
	for i := 0; i < n; i++ {
		cycle(i)
		if i == n/2 {
			heapMid, _ = settledHeap(baseline)
			rssMid = rss()
		}
	}
	heapEnd, goroutines := settledHeap(baseline)
	rssEnd := rss()
	slope := (float64(heapEnd) - float64(heapMid)) / float64(n-n/2)
	t.Logf("%s: %d cycles; heap %d KiB → %d KiB → %d KiB (second-half slope %+.0f B/cycle); RSS second-half slope %+.0f B/cycle; goroutines %d (baseline %d)",
		what, n, heapStart>>10, heapMid>>10, heapEnd>>10, slope, float64(rssEnd-rssMid)/float64(n-n/2), goroutines, baseline)
	assert.LessOrEqual(t, goroutines, baseline, "goroutines back to baseline")
	assert.Less(t, slope, 2048.0, "heap keeps growing")
}

// A peer joins a channel where another waits (a RemotePeer and a pion
// connection each time) and closes, over and over.
func TestJoinCloseCycles(t *testing.T) {
	srv := peertest.NewServer(t)
	host := peertest.NewPeer(t, srv, "host")
	ctx := peertest.Context(t, 10*time.Minute)
	require.NoError(t, host.Join(ctx, "cycles"))
	leakCheck(t, "join/close", cycles(), func(i int) {
		p, err := peer.New(peer.Options{URL: srv.URL(), APIKey: "pk_cycles"}) // no t.Cleanup holding it
		require.NoError(t, err)
		require.NoError(t, p.Join(ctx, "cycles"))
		require.Eventually(t, func() bool { return len(p.RemotePeers()) == 1 }, 10*time.Second, time.Millisecond)
		require.NoError(t, p.Close("cycle"))
		require.Eventually(t, func() bool { return len(host.RemotePeers()) == 0 }, 10*time.Second, time.Millisecond)
	})
}

// A track is added to a live call and removed again, over and over; each
// add and remove renegotiates. Every add makes a new m-line and a removed
// one stays in the SDP (pion cannot stop a transceiver, and reusing it would
// make a browser report the new track under the old id), so a call grows
// with its cycles, as a browser's does, and at most 100 run in one call
// (see TestOversizedOfferIsANegotiationError for the limit). What must hold:
// when each call ends, its memory and goroutines are freed, call after call.
func TestAddRemoveTrackCycles(t *testing.T) {
	srv := peertest.NewServer(t)
	_, baseline := settledHeap(0)
	heapBefore, _ := settledHeap(baseline)
	mk := func(id string) *peer.MeteredPeer {
		p, err := peer.New(peer.Options{URL: srv.URL(), APIKey: "pk_" + id})
		require.NoError(t, err)
		return p
	}
	ctx := peertest.Context(t, 30*time.Minute)
	total := cycles()
	var afterCalls []uint64
	var perCycle float64
	for done, call := 0, 0; done < total; call++ {
		a, b := mk("a"), mk("b")
		channel := "tracks-" + strconv.Itoa(call)
		require.NoError(t, a.Join(ctx, channel))
		require.NoError(t, b.Join(ctx, channel))
		require.Eventually(t, func() bool { return len(a.RemotePeers()) == 1 }, 20*time.Second, 10*time.Millisecond)
		n := min(100, total-done)
		heapStart, _ := settledHeap(0)
		for i := 0; i < n; i++ {
			// A silent track: the helper's feeder goroutines would outlive the call.
			tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "t"+strconv.Itoa(i), "s")
			require.NoError(t, err)
			require.NoError(t, a.AddTrack(tr, nil, peer.StreamMetadata{"i": i}))
			require.NoError(t, a.RemoveTrack(tr))
		}
		require.Eventually(t, func() bool { return a.RemotePeers()[0].State() == peer.PeerConnected }, 20*time.Second, 10*time.Millisecond)
		heapEnd, _ := settledHeap(0)
		perCycle = (float64(heapEnd) - float64(heapStart)) / float64(n)
		require.NoError(t, a.Close(""))
		require.NoError(t, b.Close(""))
		heapAfter, _ := settledHeap(baseline)
		afterCalls = append(afterCalls, heapAfter>>10)
		done += n
	}
	heapAfter, goroutines := settledHeap(baseline)
	t.Logf("add/remove track: %d cycles in %d calls; heap %d KiB before, after each call %v KiB; %+.0f B/cycle while a call lasts; goroutines %d (baseline %d)",
		total, len(afterCalls), heapBefore>>10, afterCalls, perCycle, goroutines, baseline)
	assert.LessOrEqual(t, goroutines, baseline, "goroutines back to baseline")
	assert.Less(t, int64(heapAfter)-int64(heapBefore), int64(512<<10), "each call's memory is freed when it ends")
}

// So many tracks added and removed on one connection that the offer no
// longer fits a signalling message: a NegotiationError says so, with the
// OversizedError inside.
func TestOversizedOfferIsANegotiationError(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	a, b := peertest.NewPeer(t, srv, "a"), peertest.NewPeer(t, srv, "b")
	ctx := peertest.Context(t, 60*time.Second)
	require.NoError(t, a.Join(ctx, "big"))
	require.NoError(t, b.Join(ctx, "big"))
	require.Eventually(t, func() bool { return len(a.RemotePeers()) == 1 }, 20*time.Second, 10*time.Millisecond)
	failed := peertest.Watch[peer.NegotiationError](a.RemotePeers()[0])
	for i := 0; i < 250; i++ {
		tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "t"+strconv.Itoa(i), "s")
		require.NoError(t, err)
		require.NoError(t, a.AddTrack(tr, nil, nil))
		require.NoError(t, a.RemoveTrack(tr))
	}
	var big *signalling.OversizedError
	err := failed.Next(t, func(e peer.NegotiationError) bool { return errors.As(e.Err, &big) }).Err
	assert.Contains(t, err.Error(), "ReplaceTrack")
	assert.Greater(t, big.Size, big.Cap)
}
