package peer_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// offerCounter is a log handler that counts the offers a peer creates.
type offerCounter struct{ n atomic.Int64 }

func (o *offerCounter) Enabled(context.Context, slog.Level) bool { return true }
func (o *offerCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "offer created" {
		o.n.Add(1)
	}
	return nil
}
func (o *offerCounter) WithAttrs([]slog.Attr) slog.Handler { return o }
func (o *offerCounter) WithGroup(string) slog.Handler      { return o }

// Two Go peers whose offers carry receive slots settle: once both tracks
// flow, nobody offers again. (pion counts the send-only transceiver it
// makes for a remote receive-only m-line as always needing an offer; the
// two renegotiated without end, thousands of offers a second.)
func TestReceiveSlotsSettle(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	var ca, cb offerCounter
	a := peertest.NewPeer(t, srv, "a", peer.Options{Logger: slog.New(&ca)})
	b := peertest.NewPeer(t, srv, "b", peer.Options{Logger: slog.New(&cb)})
	require.NoError(t, a.AddTrack(peertest.OpusTrack(t, "a-mic", "a"), nil, peer.StreamMetadata{"who": "a"}))
	require.NoError(t, b.AddTrack(peertest.OpusTrack(t, "b-mic", "b"), nil, peer.StreamMetadata{"who": "b"}))
	arrived := make(chan peer.Track, 2)
	for _, p := range []*peer.MeteredPeer{a, b} {
		peer.On(p, func(ev peer.PeerJoined) { peer.On(ev.Peer, func(tr peer.Track) { arrived <- tr }) })
	}
	ctx := peertest.Context(t, 30*time.Second)
	require.NoError(t, a.Join(ctx, "settle"))
	require.NoError(t, b.Join(ctx, "settle"))
	for range 2 {
		select {
		case tr := <-arrived:
			assert.NotEmpty(t, tr.Metadata["who"])
		case <-ctx.Done():
			t.Fatal("the tracks did not arrive")
		}
	}
	time.Sleep(500 * time.Millisecond) // a last answer in flight
	before := ca.n.Load() + cb.n.Load()
	time.Sleep(time.Second)
	assert.Equal(t, before, ca.n.Load()+cb.n.Load(), "no offer once both tracks flow (%d so far)", before)
	assert.Less(t, before, int64(10), "a handful of offers to connect")
}
