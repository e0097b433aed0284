package peer_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pcPair connects two raw pion peer connections in-process and returns an
// open channel on each side.
func pcPair(t *testing.T) (*webrtc.DataChannel, *webrtc.DataChannel) {
	t.Helper()
	a, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	b, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	got := make(chan *webrtc.DataChannel, 1)
	b.OnDataChannel(func(d *webrtc.DataChannel) { got <- d })
	da, err := a.CreateDataChannel("t", nil)
	require.NoError(t, err)
	offer, err := a.CreateOffer(nil)
	require.NoError(t, err)
	done := webrtc.GatheringCompletePromise(a)
	require.NoError(t, a.SetLocalDescription(offer))
	<-done
	require.NoError(t, b.SetRemoteDescription(*a.LocalDescription()))
	answer, err := b.CreateAnswer(nil)
	require.NoError(t, err)
	done = webrtc.GatheringCompletePromise(b)
	require.NoError(t, b.SetLocalDescription(answer))
	<-done
	require.NoError(t, a.SetRemoteDescription(*b.LocalDescription()))
	select {
	case db := <-got:
		return da, db
	case <-time.After(10 * time.Second):
		t.Fatal("no data channel")
		return nil, nil
	}
}

func TestDataChannelBackpressureKeepsOrderAndBounds(t *testing.T) {
	t.Parallel()
	rawA, rawB := pcPair(t)
	a := peer.WrapDataChannel(rawA, peer.DataChannelOptions{MaxBufferedAmount: 256 << 10})
	b := peer.WrapDataChannel(rawB, peer.DataChannelOptions{})
	received := make(chan uint32, 4096)
	peer.On(b, func(m peer.ChannelMessage) { received <- binary.BigEndian.Uint32(m.Data) })
	require.Eventually(t, func() bool { return rawA.ReadyState() == webrtc.DataChannelStateOpen }, 10*time.Second, 5*time.Millisecond)

	// 32 MB through a 256 KB window: every send waits for the buffer to
	// drain, the buffer never runs far past the ceiling, order holds.
	const n = 1000
	msg := make([]byte, 32<<10)
	var peak uint64
	ctx := peertest.Context(t, 60*time.Second)
	for i := 0; i < n; i++ {
		binary.BigEndian.PutUint32(msg, uint32(i))
		require.NoError(t, a.Send(ctx, msg))
		if ba := rawA.BufferedAmount(); ba > peak {
			peak = ba
		}
	}
	for i := 0; i < n; i++ {
		select {
		case got := <-received:
			require.Equal(t, uint32(i), got)
		case <-time.After(20 * time.Second):
			t.Fatalf("message %d never arrived", i)
		}
	}
	assert.LessOrEqual(t, peak, uint64(256<<10+32<<10), "buffered amount stays under the ceiling plus one message")
}

func TestDataChannelOverflowAndClose(t *testing.T) {
	t.Parallel()
	rawA, _ := pcPair(t)
	a := peer.WrapDataChannel(rawA, peer.DataChannelOptions{MaxBufferedAmount: 64 << 10, MaxQueuedSends: 4})
	require.Eventually(t, func() bool { return rawA.ReadyState() == webrtc.DataChannelStateOpen }, 10*time.Second, 5*time.Millisecond)
	// Fill the buffer, then queue more than the cap from many goroutines.
	big := make([]byte, 60<<10)
	ctx := peertest.Context(t, 30*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- a.Send(ctx, big) }()
	}
	wg.Wait()
	close(errs)
	var overflow int
	for err := range errs {
		var oe *peer.DataChannelOverflowError
		if errors.As(err, &oe) {
			overflow++
			assert.Equal(t, 4, oe.Cap)
		} else {
			require.NoError(t, err)
		}
	}
	assert.Greater(t, overflow, 0, "a full queue refuses sends at once")

	// Close wakes a waiting send; later sends fail at once.
	blocker := make(chan error, 1)
	for rawA.BufferedAmount() < 16<<20 {
		require.NoError(t, rawA.Send(big)) // fill far past the ceiling behind the wrapper's back
	}
	go func() { blocker <- a.Send(context.Background(), big) }()
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, a.Close())
	select {
	case err := <-blocker:
		require.ErrorIs(t, err, peer.ErrDataChannelClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake the waiting send")
	}
	require.ErrorIs(t, a.Send(ctx, []byte("x")), peer.ErrDataChannelClosed)
	require.NoError(t, a.Close(), "idempotent")
}

func TestDataChannelSendBeforeOpen(t *testing.T) {
	t.Parallel()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	defer pc.Close()
	raw, err := pc.CreateDataChannel("never", nil)
	require.NoError(t, err)
	d := peer.WrapDataChannel(raw, peer.DataChannelOptions{})
	require.ErrorIs(t, d.SendText(context.Background(), "x"), peer.ErrDataChannelNotOpen, "sends are not held until open")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, d.SendText(ctx, "x"), context.Canceled)
}

// A channel whose handlers fall behind says so with an event.
func TestDataChannelSlowConsumer(t *testing.T) {
	t.Parallel()
	a, b := pcPair(t)
	da := peer.WrapDataChannel(a, peer.DataChannelOptions{})
	db := peer.WrapDataChannel(b, peer.DataChannelOptions{MaxPendingEvents: 2})
	release := make(chan struct{})
	peer.On(db, func(peer.ChannelMessage) { <-release })
	slow := make(chan peer.ChannelSlowConsumer, 4)
	peer.On(db, func(ev peer.ChannelSlowConsumer) { slow <- ev })
	ctx := peertest.Context(t, 10*time.Second)
	for i := range 10 {
		require.NoError(t, da.SendText(ctx, fmt.Sprint(i)))
	}
	require.Eventually(t, func() bool { return db.DroppedEvents() > 0 }, 10*time.Second, 10*time.Millisecond)
	close(release)
	select {
	case ev := <-slow:
		assert.Positive(t, ev.Dropped)
	case <-ctx.Done():
		t.Fatal("no ChannelSlowConsumer event")
	}
}
