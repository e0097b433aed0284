package peer_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/protocol"
	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

// returnsWithin fails the test if fn has not returned after d: the calls
// under test must never hang.
func returnsWithin(t *testing.T, d time.Duration, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("still blocked after %v", d)
		return nil
	}
}

// Close while Join is connecting (welcome 3 s late) or subscribing (ack
// 3 s late): Join returns with an error instead of waiting forever on
// an inbox that Close stopped.
func TestJoinReturnsWhenClosedMidway(t *testing.T) {
	t.Parallel() // per-instance timings and servers: nothing shared
	for _, stage := range []string{"connecting", "subscribing"} {
		t.Run(stage, func(t *testing.T) {
			srv := peertest.NewServer(t)
			if stage == "connecting" {
				srv.SetWelcomeFault(&testserver.WelcomeFault{Delay: 3 * time.Second})
			} else {
				srv.DelayFrames("x", "ack", 1, 3*time.Second)
			}
			p := peertest.NewPeer(t, srv, "x")
			time.AfterFunc(100*time.Millisecond, func() { _ = p.Close("bye") })
			err := returnsWithin(t, 5*time.Second, func() error { return p.Join(peertest.Context(t, 10*time.Second), "j") })
			require.Error(t, err)
			require.NoError(t, p.Close("again"), "waits for the first Close")
			assert.Equal(t, peer.StateClosed, p.State())
		})
	}
}

// A nil *T inside a webrtc.TrackLocal (a file without audio) is skipped by
// NewMediaStream and refused by AddTrack, never a panic, also once a peer
// joins.
func TestNilTracksAreSkippedOrRefused(t *testing.T) {
	t.Parallel() // per-instance timings and servers: nothing shared
	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob")
	var noAudio *webrtc.TrackLocalStaticSample
	video := peertest.OpusTrack(t, "v", "s")
	stream := peer.NewMediaStream(video, noAudio, nil)
	require.Len(t, stream.Tracks(), 1)
	stream.AddTrack(noAudio)
	require.Len(t, stream.Tracks(), 1)
	require.NoError(t, alice.AddStream(stream, peer.StreamMetadata{"label": "clip"}))

	var ae *peer.ArgumentError
	require.ErrorAs(t, alice.AddTrack(noAudio, stream, peer.StreamMetadata{"x": 1}), &ae)
	assert.ErrorIs(t, ae, peer.ErrInvalidArgs)
	assert.Equal(t, "AddTrack", ae.Method)
	assert.Contains(t, ae.Error(), "nil pointer")
	require.ErrorAs(t, alice.AddTrack(nil, nil, nil), &ae)

	ctx := peertest.Context(t, 20*time.Second)
	tracks := make(chan peer.Track, 4)
	peer.On(bob, func(ev peer.PeerJoined) { peer.On(ev.Peer, func(tr peer.Track) { tracks <- tr }) })
	require.NoError(t, alice.Join(ctx, "nil"))
	require.NoError(t, bob.Join(ctx, "nil"))
	select {
	case tr := <-tracks:
		assert.Equal(t, "v", tr.Track.ID())
	case <-ctx.Done():
		t.Fatal("the stream's one real track never arrived")
	}
}

// Send(ctx, nil) and SendTo(ctx, id, nil) send JSON null, as the JS SDK
// does; invalid UTF-8 in a raw payload is refused before sending.
func TestSendNilIsNullAndBadUTF8IsRefused(t *testing.T) {
	t.Parallel() // per-instance timings and servers: nothing shared
	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob")
	data := peertest.Watch[peer.Data](bob)
	ctx := peertest.Context(t, 20*time.Second)
	require.NoError(t, bob.Join(ctx, "null"))
	require.NoError(t, alice.Join(ctx, "null"))
	require.Eventually(t, func() bool { return len(bob.RemotePeers()) == 1 }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, alice.Send(ctx, nil))
	d := data.Next(t, nil)
	assert.Equal(t, "null", string(d.Data))
	assert.Equal(t, peer.KindBroadcast, d.Kind)
	require.NoError(t, alice.SendTo(ctx, "bob", nil))
	d = data.Next(t, nil)
	assert.Equal(t, "null", string(d.Data))
	assert.Equal(t, peer.KindDirect, d.Kind)

	var ve *protocol.ValidationError
	require.ErrorAs(t, alice.Send(ctx, json.RawMessage("\"\xc3\x28\"")), &ve)
	require.ErrorAs(t, alice.SendTo(ctx, "bob", json.RawMessage("\"\xff\"")), &ve)
	require.NoError(t, alice.Send(ctx, "still connected"))
	assert.Equal(t, `"still connected"`, string(data.Next(t, nil).Data))
}

// A peer that never joined still emits Left on Close, with empty fields.
func TestCloseNeverJoinedEmitsLeft(t *testing.T) {
	t.Parallel() // per-instance timings and servers: nothing shared
	srv := peertest.NewServer(t)
	p := peertest.NewPeer(t, srv, "x")
	left := peertest.Watch[peer.Left](p)
	require.NoError(t, p.Close("never mind"))
	assert.Equal(t, peer.Left{Reason: "never mind"}, left.Next(t, nil))
	require.NoError(t, p.Close("again"), "idempotent")
}

// AddTrack keeps a copy of the caller's metadata, as AddStream does: later
// edits of the map change neither TrackMetadata nor the wire.
func TestAddTrackCopiesMetadata(t *testing.T) {
	t.Parallel() // per-instance timings and servers: nothing shared
	srv := peertest.NewServer(t)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob")
	tr := peertest.OpusTrack(t, "a1", "s")
	meta := peer.StreamMetadata{"role": "mic"}
	require.NoError(t, alice.AddTrack(tr, nil, meta))
	meta["role"] = "changed"
	got, ok := alice.TrackMetadata(tr)
	require.True(t, ok)
	assert.Equal(t, "mic", got["role"])

	tracks := make(chan peer.Track, 1)
	peer.On(bob, func(ev peer.PeerJoined) { peer.On(ev.Peer, func(t peer.Track) { tracks <- t }) })
	ctx := peertest.Context(t, 20*time.Second)
	require.NoError(t, alice.Join(ctx, "copy"))
	require.NoError(t, bob.Join(ctx, "copy"))
	select {
	case ev := <-tracks:
		assert.Equal(t, "mic", ev.Metadata["role"])
	case <-ctx.Done():
		t.Fatal("no track")
	}
}

// Inbound track metadata larger than the server's message cap is dropped
// with a warning, not cached.
func TestInboundTrackMetadataOverCapIsDropped(t *testing.T) {
	t.Parallel() // per-instance timings and servers: nothing shared
	srv := peertest.NewServer(t)
	logs := &peertest.LogBuffer{}
	bob, err := peer.New(peer.Options{URL: srv.URL(), Logger: slog.New(slog.NewTextHandler(logs, nil)), TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: "bob"})})
	require.NoError(t, err)
	t.Cleanup(func() { _ = bob.Close("") })
	alice := peertest.NewPeer(t, srv, "alice")
	ctx := peertest.Context(t, 20*time.Second)
	require.NoError(t, bob.Join(ctx, "cap"))
	require.NoError(t, alice.Join(ctx, "cap"))
	require.Eventually(t, func() bool { return len(bob.RemotePeers()) == 1 }, 5*time.Second, 10*time.Millisecond)
	rp := bob.RemotePeers()[0]
	meta := func(id string, size int) string {
		return `{"type":"direct","from":"alice","data":{"__meteredTrackMeta":{"trackId":"` + id + `","metadata":{"x":"` + strings.Repeat("y", size) + `"}}}}`
	}
	srv.SendRaw("bob", meta("small", 10))
	srv.SendRaw("bob", meta("huge", 70_000))
	require.Eventually(t, func() bool { return slices.Contains(peer.CachedTrackMetadata(rp), "small") }, 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "track metadata over the size cap") }, 5*time.Second, 10*time.Millisecond)
	assert.NotContains(t, peer.CachedTrackMetadata(rp), "huge")
}

// The error shapes: every error a caller can receive matches errors.As with
// its pointer type, sentinels match errors.Is, and Join keeps the cause.
func TestErrorShapes(t *testing.T) {
	t.Parallel() // per-instance timings and servers: nothing shared
	srv := peertest.NewServer(t)
	p := peertest.NewPeer(t, srv, "x")
	ctx := peertest.Context(t, 10*time.Second)

	err := p.Join(ctx, "bad\x01channel")
	var ae *peer.ArgumentError
	require.ErrorAs(t, err, &ae)
	assert.ErrorIs(t, err, peer.ErrInvalidArgs)
	assert.Equal(t, "invalid_args", peer.ErrorCode(err))
	var ve *protocol.ValidationError
	require.ErrorAs(t, err, &ve, "Join keeps the validation error")
	assert.Equal(t, protocol.CodeInvalidChannel, ve.Code)

	var se *peer.SendError
	require.ErrorAs(t, p.SendTo(ctx, "y", 1), &se)
	assert.ErrorIs(t, se, peer.ErrNotJoined, "SendTo while not joined")
	require.NoError(t, p.Join(ctx, "shapes"))
	require.ErrorAs(t, p.SendTo(ctx, "", 1), &se)
	assert.ErrorIs(t, se, peer.ErrInvalidArgs)
	assert.Equal(t, "invalid_args", se.Code())

	// Oversized: the whole frame over the server's cap, the connection kept.
	var oe *peer.OversizedError
	require.ErrorAs(t, p.Send(ctx, strings.Repeat("x", 70_000)), &oe)
	assert.Equal(t, protocol.DefaultMaxMessageSize, oe.Cap)
	require.NoError(t, p.Send(ctx, "ok"))

	// A server error from SendTo, as a pointer.
	var srvErr *signalling.ServerError
	require.ErrorAs(t, p.SendTo(ctx, "nobody", 1), &srvErr)
	assert.Equal(t, protocol.CodePeerNotFound, srvErr.Code)

	var ste *peer.StateError
	require.NoError(t, p.Close(""))
	require.ErrorAs(t, p.AddTrack(peertest.OpusTrack(t, "late", "s"), nil, nil), &ste)
	assert.ErrorIs(t, ste, peer.ErrInvalidState)
	assert.True(t, errors.Is(p.Join(ctx, "again"), peer.ErrInvalidState))
}

// When Close returns, every goroutine the MeteredPeer started has ended:
// none lingers on its own timer (a signal send waiting for its ack, a
// re-subscribe, a handler wait).
func TestCloseLeavesNoGoroutine(t *testing.T) {
	baseline := goleak.IgnoreCurrent()
	srv, err := testserver.New(testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(t, err)
	alice, bob := peertest.NewPeer(t, srv, "alice"), peertest.NewPeer(t, srv, "bob")
	mic, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "s")
	require.NoError(t, err)
	require.NoError(t, alice.AddTrack(mic, nil, peer.StreamMetadata{"a": 1}))
	ctx := peertest.Context(t, 20*time.Second)
	require.NoError(t, alice.Join(ctx, "g"))
	require.NoError(t, bob.Join(ctx, "g"))
	peertest.Connected(t, alice, 1)
	srv.DelayFrames("alice", "ack", 100, 10*time.Second) // signal sends left waiting for acks
	_, _ = alice.RemotePeers()[0].CreateDataChannel("late", peer.DataChannelOptions{})
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, alice.Close(""))
	require.NoError(t, bob.Close(""))
	require.NoError(t, srv.Close())
	// About 5 s for pion's own goroutines to wind down; a goroutine waiting
	// on the held-back acks would wait 10 s.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && goleak.Find(baseline) != nil; {
		time.Sleep(100 * time.Millisecond)
	}
	goleak.VerifyNone(t, baseline)
}

// Join against a server that accepts the TCP connection and never answers
// the upgrade returns once its context ends, and Close after it at once.
func TestJoinEndsWithContextAgainstBlackHole(t *testing.T) {
	t.Parallel()
	hole, err := testserver.NewBlackHole()
	require.NoError(t, err)
	t.Cleanup(func() { _ = hole.Close() })
	p, err := peer.New(peer.Options{URL: hole.URL(), APIKey: "pk_test_key"})
	require.NoError(t, err)
	const wait, promptly = 300 * time.Millisecond, 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	start := time.Now()
	err = p.Join(ctx, "room")
	took := time.Since(start)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Positive(t, hole.Accepted(), "the dial reached the black hole")
	assert.Less(t, took, wait+promptly, "Join returned %v after its context ended", took-wait)
	start = time.Now()
	require.NoError(t, p.Close("bye"))
	assert.Less(t, time.Since(start), promptly, "Close after it")
}

// Close does not wait for handlers (one may call it); Done does: it is
// closed once the Left handler Close left running has returned.
func TestDoneFollowsTheLastHandler(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	p := peertest.NewPeer(t, srv, "x")
	require.NoError(t, p.Join(peertest.Context(t, 10*time.Second), "done"))
	var finished atomic.Bool
	peer.On(p, func(peer.Left) {
		time.Sleep(300 * time.Millisecond)
		finished.Store(true)
	})
	select {
	case <-p.Done():
		t.Fatal("Done before Close")
	default:
	}
	require.NoError(t, p.Close("bye"))
	select {
	case <-p.Done():
		assert.True(t, finished.Load(), "Done while the Left handler ran")
	case <-time.After(10 * time.Second):
		t.Fatal("Done never closed")
	}
	// A handler that calls Close does not deadlock it.
	q := peertest.NewPeer(t, srv, "y")
	require.NoError(t, q.Join(peertest.Context(t, 10*time.Second), "done"))
	closed := make(chan error, 1)
	peer.On(q, func(peer.Data) { closed <- q.Close("from a handler") })
	r := peertest.NewPeer(t, srv, "z")
	require.NoError(t, r.Join(peertest.Context(t, 10*time.Second), "done"))
	require.NoError(t, r.Send(peertest.Context(t, 10*time.Second), "close, please"))
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close from a handler hung")
	}
	<-q.Done()
}

// Handlers that fall behind are told so by an event, once per episode,
// not only by a counter and a log line.
func TestSlowConsumerIsAnEvent(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	p, err := peer.New(peer.Options{URL: srv.URL(), APIKey: "pk_test", MaxPendingEvents: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close("") })
	sender := peertest.NewPeer(t, srv, "sender")
	release := make(chan struct{})
	peer.On(p, func(peer.Data) { <-release })
	slow := make(chan peer.SlowConsumer, 4)
	peer.On(p, func(ev peer.SlowConsumer) { slow <- ev })
	ctx := peertest.Context(t, 20*time.Second)
	require.NoError(t, p.Join(ctx, "slow"))
	require.NoError(t, sender.Join(ctx, "slow"))
	for i := range 10 {
		require.NoError(t, sender.Send(ctx, i))
	}
	// Every message in before the handler is released: one held by the
	// handler, two queued, seven dropped. Messages still arriving after it
	// could fill the queue again, which is a second episode.
	require.Eventually(t, func() bool { return p.DroppedEvents() >= 7 }, 10*time.Second, 10*time.Millisecond)
	close(release)
	select {
	case ev := <-slow:
		assert.Equal(t, "MeteredPeer", ev.Source)
		assert.Positive(t, ev.Dropped)
	case <-ctx.Done():
		t.Fatal("no SlowConsumer event")
	}
	select {
	case ev := <-slow:
		t.Fatalf("a second event for one episode: %+v", ev)
	case <-time.After(200 * time.Millisecond):
	}
}
