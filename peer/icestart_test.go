package peer_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// TestMeshKeepsICECredentials: eight peers join at once and each opens a
// data channel to every other, over loopback only, ten times. The polite
// side of a pair applies the answer to its offer and, at once, the
// remote's offer for the remote's own channel; applied before pion had
// started ICE, that offer made pion restart ICE with a new ufrag, and the
// remote discarded our checks as a stranger's ("wrong username", pion's
// debug line) until our answer came, then took pion's 200 ms check
// interval more (6 of 40 such meshes here). No check may be discarded so.
// Without the fix this test failed in 3 runs of 3, and in 1 of 3 under the
// race detector (a race: not certain).
func TestMeshKeepsICECredentials(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	var strangers atomic.Int64
	log := slog.New(&lineCounter{match: "wrong username", n: &strangers})
	const n, meshes = 8, 10
	for m := range meshes {
		open := make(chan struct{}, n*(n-1))
		peers := make([]*peer.MeteredPeer, n)
		for i := range peers {
			peers[i] = peertest.NewPeer(t, srv, fmt.Sprintf("m%d-%d", m, i), peer.Options{SettingEngine: &se, Logger: log})
			peer.On(peers[i], func(ev peer.PeerJoined) {
				dc, err := ev.Peer.CreateDataChannel("mesh", peer.DataChannelOptions{})
				require.NoError(t, err)
				peer.On(dc, func(peer.ChannelOpen) { open <- struct{}{} })
			})
		}
		ctx := peertest.Context(t, time.Minute)
		var wg sync.WaitGroup
		for _, p := range peers {
			wg.Go(func() { assert.NoError(t, p.Join(ctx, fmt.Sprintf("mesh-%d", m))) })
		}
		wg.Wait()
		for range n * (n - 1) {
			select {
			case <-open:
			case <-ctx.Done():
				t.Fatal("not every data channel opened")
			}
		}
		for _, p := range peers {
			_ = p.Close("")
		}
	}
	assert.Zero(t, strangers.Load(), "ICE checks discarded for a changed username")
}

// lineCounter is a slog handler, at every level, that counts the records
// whose message contains match.
type lineCounter struct {
	match string
	n     *atomic.Int64
}

func (h *lineCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *lineCounter) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.match) {
		h.n.Add(1)
	}
	return nil
}
func (h *lineCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *lineCounter) WithGroup(string) slog.Handler      { return h }
