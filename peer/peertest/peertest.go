// Package peertest is the test scaffolding for code built on MeteredPeer,
// as net/http/httptest is for HTTP: a local RMS server, peers joined to it
// under chosen ids, an Opus track that sends until the test ends, event
// collectors, and the chaos driver that counts lost and duplicated
// messages while faults are injected. Everything it starts is stopped by
// the test's Cleanup.
package peertest

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/testserver"
)

// NewServer starts a local RMS server without rate limits (tests send in
// bursts); opts may set anything else. It is closed when the test ends.
func NewServer(t testing.TB, opts ...testserver.Options) *testserver.Server {
	t.Helper()
	var o testserver.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	o.RateLimit.Disabled = true
	srv, err := testserver.New(o)
	if err != nil {
		t.Fatalf("peertest: starting the local server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// NewPeer makes a MeteredPeer on srv whose peer id is id (a dev-key JWT's
// sub, so a test chooses who is polite) and whose peer metadata is
// {"name": id}, with the given options for the rest (URL and TokenProvider
// are set here). It is closed when the test ends.
func NewPeer(t testing.TB, srv *testserver.Server, id string, opts ...peer.Options) *peer.MeteredPeer {
	t.Helper()
	var o peer.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	o.URL = srv.URL()
	o.APIKey = ""
	name, err := json.Marshal(map[string]string{"name": id})
	if err != nil {
		t.Fatalf("peertest: new peer %s: %v", id, err)
	}
	o.TokenProvider = testserver.DevTokenProvider(testserver.Claims{Sub: id, PeerMetadata: name})
	p, err := peer.New(o)
	if err != nil {
		t.Fatalf("peertest: new peer %s: %v", id, err)
	}
	t.Cleanup(func() { _ = p.Close("test over") })
	return p
}

// Context is a context that ends after d or with the test.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// OpusTrack is an Opus sample track that sends a 20 ms frame of silence
// every 20 ms until the test ends.
func OpusTrack(t testing.TB, id, stream string) *webrtc.TrackLocalStaticSample {
	t.Helper()
	tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, id, stream)
	if err != nil {
		t.Fatalf("peertest: opus track: %v", err)
	}
	Every(t, 20*time.Millisecond, func(int) {
		// An Opus TOC byte for a 20 ms CELT frame of silence.
		_ = tr.WriteSample(media.Sample{Data: []byte{0xf8, 0xff, 0xfe}, Duration: 20 * time.Millisecond})
	})
	return tr
}

// Every calls f every d, with 0, 1, 2…, from a goroutine of its own, until
// the test ends (and waits for the last call then).
func Every(t testing.TB, d time.Duration, f func(n int)) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(d)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				f(n)
			}
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// Collector gathers the events of one type from a source.
type Collector[T any] struct{ ch chan T }

// Watch collects every event of type T from s from now on (up to 1024
// waiting).
func Watch[T peer.EventOf[S], S peer.Source](s S) *Collector[T] {
	c := &Collector[T]{ch: make(chan T, 1024)}
	peer.On(s, func(ev T) { c.ch <- ev })
	return c
}

// Next returns the next event for which ok (nil: any) is true, failing the
// test after 20 s.
func (c *Collector[T]) Next(t testing.TB, ok func(T) bool) T {
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
			t.Fatalf("peertest: no matching %T within 20s", zero)
			return zero
		}
	}
}

// Connected waits until p holds n remote peers, every one connected, and
// returns them; it fails the test after 20 s.
func Connected(t testing.TB, p *peer.MeteredPeer, n int) []*peer.RemotePeer {
	t.Helper()
	var rps []*peer.RemotePeer
	deadline := time.Now().Add(20 * time.Second)
	for {
		rps = p.RemotePeers()
		all := len(rps) == n
		for _, rp := range rps {
			all = all && rp.State() == peer.PeerConnected
		}
		if all {
			return rps
		}
		if time.Now().After(deadline) {
			t.Fatalf("peertest: %d remote peers connected within 20s (%d held)", n, len(rps))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Pending takes the events collected and not yet returned by Next,
// without waiting.
func (c *Collector[T]) Pending() []T {
	var out []T
	for {
		select {
		case ev := <-c.ch:
			out = append(out, ev)
		default:
			return out
		}
	}
}

// CountRTP reads a received track until it ends and counts its packets:
// pion reads RTP, and so counts it in its statistics, only when asked.
func CountRTP(tr *webrtc.TrackRemote) *atomic.Int64 {
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

// ToneHz estimates the frequency of a tone in channel 0 of interleaved pcm
// at rate samples a second, from its zero crossings: enough to tell which
// of a few test tones arrived.
func ToneHz(pcm []int16, channels, rate int) float64 {
	n, crossings := len(pcm)/channels, 0
	for i := 1; i < n; i++ {
		if (pcm[(i-1)*channels] < 0) != (pcm[i*channels] < 0) {
			crossings++
		}
	}
	return float64(crossings) / 2 / (float64(n) / float64(rate))
}
