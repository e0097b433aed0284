package peer

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/metered-ca/realtime-go/testserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newServer(t *testing.T) *testserver.Server {
	t.Helper()
	srv, err := testserver.New(testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// newPeer makes a MeteredPeer whose peer id is id (a JWT sub), so a test
// chooses who is polite.
func newPeer(t *testing.T, srv *testserver.Server, id string) *MeteredPeer {
	t.Helper()
	return newLoggedPeer(t, srv, id, nil)
}

// newLoggedPeer is newPeer with a logger.
func newLoggedPeer(t *testing.T, srv *testserver.Server, id string, log *slog.Logger) *MeteredPeer {
	t.Helper()
	p, err := New(Options{
		Logger:        log,
		URL:           srv.URL(),
		TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: id, PeerMetadata: []byte(`{"name":"` + id + `"}`)}),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close("test over") })
	return p
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// collect gathers events of one type from a source.
type collect[T any] struct {
	ch chan T
}

func watch[T EventOf[S], S Source](s S) *collect[T] {
	c := &collect[T]{ch: make(chan T, 1024)}
	On(s, func(ev T) { c.ch <- ev })
	return c
}

func (c *collect[T]) wait(t *testing.T, ok func(T) bool) T {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-c.ch:
			if ok == nil || ok(ev) {
				return ev
			}
		case <-deadline:
			var zero T
			t.Fatalf("no matching %T within 20s", zero)
			return zero
		}
	}
}

// audioTrack is an Opus sample track fed with silence frames until the test
// ends.
func audioTrack(t *testing.T, id, stream string) *webrtc.TrackLocalStaticSample {
	t.Helper()
	tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, id, stream)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_ = tr.WriteSample(media.Sample{Data: []byte{0xf8, 0xff, 0xfe}, Duration: 20 * time.Millisecond})
			}
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return tr
}

// countRTP reads a remote track until it ends and counts its packets.
func countRTP(tr *webrtc.TrackRemote) *atomic.Int64 {
	var n atomic.Int64
	go func() {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			n.Add(1)
		}
	}()
	return &n
}

// connected waits until p holds n remote peers, every one connected.
func connected(t *testing.T, p *MeteredPeer, n int) []*RemotePeer {
	t.Helper()
	var rps []*RemotePeer
	require.Eventually(t, func() bool {
		rps = p.RemotePeers()
		if len(rps) != n {
			return false
		}
		for _, rp := range rps {
			if rp.State() != PeerConnected {
				return false
			}
		}
		return true
	}, 20*time.Second, 10*time.Millisecond, "%d remote peers connected", n)
	return rps
}
