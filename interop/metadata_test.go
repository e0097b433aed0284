package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/interop/internal/jsdriver"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/testserver"
)

// metadataTrials per politeness order. Each trial is three checks: first
// contact, an ICE restart with a track added on each side at once, and a
// server restart (new connections on both sides).
const metadataTrials = 20

// TestTrackMetadataReachesChromium: the JS SDK keys a remote track's
// metadata by the receiving track's id, which a browser takes from the
// offer only when the m-line gets a transceiver of its own; an m-line it
// gives to one of its own unnegotiated tracks keeps that track's local id.
// A Go sender and the browser join a channel at the same moment, each with
// a track; then the browser restarts ICE while both add a track; then the
// server restarts. The browser application must see every Go track with
// its metadata, every time, in both politeness orders; and Go must see
// the browser's metadata. A polite browser must never roll back its offer
// on a new connection: Chromium, rolling back before its first candidate,
// never gathered again (first.go). A JS SDK sender in Go's place (a
// second Chromium) runs the same trials as the control: the browser's own
// rates.
func TestTrackMetadataReachesChromium(t *testing.T) {
	// The browsers trace their negotiation, shown with Go's when a trial
	// fails.
	viewer, err := jsdriver.StartBrowser("DRIVER_DEBUG=1")
	require.NoError(t, err)
	defer viewer.Close()
	control, err := jsdriver.StartBrowser("DRIVER_DEBUG=1")
	require.NoError(t, err)
	defer control.Close()
	for _, order := range []struct{ name, sender, viewer string }{
		{"sender-polite", "a-sender", "z-viewer"},
		{"viewer-polite", "z-sender", "a-viewer"},
	} {
		t.Run(order.name, func(t *testing.T) {
			var goTally, jsTally metadataTally
			ctx := context.Background()
			for i := range metadataTrials {
				markTrace(ctx, t, fmt.Sprintf("%s/go-%02d", order.name, i), viewer)
				goTally.add(goSenderTrial(t, viewer, order.sender, order.viewer, i))
				markTrace(ctx, t, fmt.Sprintf("%s/js-%02d", order.name, i), viewer, control)
				jsTally.add(jsSenderTrial(t, viewer, control, order.sender, order.viewer, i))
			}
			goRollbacks := freshRollbacks(ctx, t, order.name+"/go-", viewer)
			jsRollbacks := freshRollbacks(ctx, t, order.name+"/js-", viewer, control)
			t.Logf("%s: the browser application saw a Go sender's tracks with their metadata at first contact %d/%d, after an ICE restart %d/%d, after a server restart %d/%d; Go saw the browser's %d/%d; a browser rolled back its offer on a new connection %d times; a JS SDK sender in Go's place (control): %d/%d, %d/%d, %d/%d, %d rollbacks on a new connection",
				order.name, goTally.first, goTally.n, goTally.ice, goTally.n, goTally.restart, goTally.n, goTally.back, goTally.n, goRollbacks,
				jsTally.first, jsTally.n, jsTally.ice, jsTally.n, jsTally.restart, jsTally.n, jsRollbacks)
			assert.Equal(t, metadataTrials, goTally.first, "first contact")
			assert.Equal(t, metadataTrials, goTally.ice, "after an ICE restart")
			assert.Equal(t, metadataTrials, goTally.restart, "after a server restart")
			assert.Equal(t, metadataTrials, goTally.back, "the browser's metadata at Go")
			assert.Zero(t, goRollbacks, "rollbacks on a new connection")
		})
	}
}

// trialResult is what one trial saw: the sender's metadata at the browser
// at first contact, after the ICE restart and after the server restart,
// and (a Go sender only) the browser's metadata at Go throughout.
type trialResult struct {
	first, ice, restart, back bool
}

type metadataTally struct{ n, first, ice, restart, back int }

func (m *metadataTally) add(r trialResult) {
	m.n++
	for _, ok := range []struct {
		hit bool
		to  *int
	}{{r.first, &m.first}, {r.ice, &m.ice}, {r.restart, &m.restart}, {r.back, &m.back}} {
		if ok.hit {
			*ok.to++
		}
	}
}

// waitJS is the next event name from d that ok accepts, or false after d.
func waitJS(ctx context.Context, d *jsdriver.Driver, name string, within time.Duration, ok func(jsEvent) bool) (jsEvent, bool) {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		ev, err := d.Next(ctx, name)
		if err != nil {
			return jsEvent{}, false
		}
		var e jsEvent
		if json.Unmarshal(ev.Payload, &e) == nil && (ok == nil || ok(e)) {
			return e, true
		}
	}
}

// markTrace writes label into each browser's trace, in order with the
// lines its peer connections write.
func markTrace(ctx context.Context, t *testing.T, label string, browsers ...*jsdriver.Driver) {
	for _, b := range browsers {
		_, err := b.Do(ctx, "mark", map[string]any{"label": label})
		require.NoError(t, err)
	}
}

// freshRollbacks counts, in the traces of browsers, the rollbacks on a new
// connection in the stretches after marks that start with prefix, up to
// the next mark. A line can come after the command that caused it
// returned, so the stretches are read at the end, after a last mark.
func freshRollbacks(ctx context.Context, t *testing.T, prefix string, browsers ...*jsdriver.Driver) int {
	end := prefix + "end"
	markTrace(ctx, t, end, browsers...)
	n := 0
	for _, b := range browsers {
		require.Eventually(t, func() bool { return strings.Contains(b.Stderr(), "trace mark "+end) }, 10*time.Second, 10*time.Millisecond)
		counting := false
		for _, l := range strings.Split(b.Stderr(), "\n") {
			if label, ok := strings.CutPrefix(l, "trace mark "); ok {
				counting = strings.HasPrefix(label, prefix) && label != end
				continue
			}
			if counting && l == "trace rollback on a new connection" {
				n++
			}
		}
	}
	return n
}

// hasMeta reports whether raw (a metadata object) holds key = want.
func hasMeta(raw json.RawMessage, key, want string) bool {
	var m map[string]string
	return json.Unmarshal(raw, &m) == nil && m[key] == want
}

// restartable is a local server that can be stopped and started again on
// the same address.
type restartable struct {
	t   *testing.T
	srv *testserver.Server
}

func newRestartable(t *testing.T) *restartable {
	srv, err := testserver.New(testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(t, err)
	return &restartable{t: t, srv: srv}
}

func (r *restartable) restart() {
	addr := r.srv.Addr()
	require.NoError(r.t, r.srv.Close())
	srv, err := testserver.New(testserver.Options{Addr: addr, RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(r.t, err)
	r.srv = srv
}

func (r *restartable) close() { _ = r.srv.Close() }

// goSenderTrial: a Go sender and the viewer in Chromium.
func goSenderTrial(t *testing.T, viewer *jsdriver.Driver, senderID, viewerID string, i int) trialResult {
	var res trialResult
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv := newRestartable(t)
	defer srv.close()
	senderID, viewerID = fmt.Sprintf("%s-go-%02d", senderID, i), fmt.Sprintf("%s-%02d", viewerID, i)
	channel := fmt.Sprintf("meta-go-%02d", i)
	var goTrace jsdriver.LockedBuffer
	sender, err := peer.New(peer.Options{URL: srv.srv.URL(), TokenProvider: func(context.Context) (string, error) { return mint(t, senderID, `{}`), nil },
		Logger: slog.New(slog.NewTextHandler(&goTrace, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	defer sender.Close("")
	defer func() {
		if t.Failed() {
			t.Logf("trial %d failed; Go trace:\n%s\nbrowser trace:\n%s", i, goTrace.Tail(150), jsdriver.TailLines(viewer.Stderr(), 150))
		}
	}()
	back := make(chan bool, 8)
	peer.On(sender, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(tr peer.Track) {
			t.Logf("trial %d: at Go: track %s metadata %v", i, tr.Track.ID(), tr.Metadata)
			back <- tr.Metadata["who"] == "viewer"
		})
	})
	trial := fmt.Sprint(i)
	require.NoError(t, sender.AddTrack(peertest.OpusTrack(t, fmt.Sprintf("go-first-%02d", i), "go-s"), nil, peer.StreamMetadata{"trial": trial, "phase": "first"}))
	defer func() { _, _ = viewer.Do(context.Background(), "close", nil) }()

	// First contact: both join, each with a track, at the same moment.
	joined := make(chan error, 1)
	go func() {
		_, err := viewer.Do(ctx, "join", map[string]any{"url": srv.srv.URL(), "token": mint(t, viewerID, `{}`), "channel": channel,
			"audio": map[string]any{"metadata": map[string]string{"who": "viewer"}}})
		joined <- err
	}()
	require.NoError(t, sender.Join(ctx, channel))
	require.NoError(t, <-joined)
	fromSender := func(e jsEvent) bool { return e.PeerID == senderID }
	ev, ok := waitJS(ctx, viewer, "track", 20*time.Second, fromSender)
	require.True(t, ok, "trial %d: Go's track never reached the browser", i)
	res.first = hasMeta(ev.Metadata, "phase", "first") && hasMeta(ev.Metadata, "trial", trial)
	select {
	case res.back = <-back:
	case <-time.After(20 * time.Second):
		t.Fatalf("trial %d: the browser's track never reached Go", i)
	}

	// An ICE restart by the browser, while each side adds a track.
	errs := make(chan error, 2)
	go func() { errs <- restartAndAdd(ctx, viewer, senderID) }()
	go func() {
		errs <- sender.AddTrack(peertest.OpusTrack(t, fmt.Sprintf("go-ice-%02d", i), "go-s2"), nil, peer.StreamMetadata{"trial": trial, "phase": "ice"})
	}()
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	ev, ok = waitJS(ctx, viewer, "track", 20*time.Second, fromSender)
	require.True(t, ok, "trial %d: Go's second track never reached the browser", i)
	res.ice = hasMeta(ev.Metadata, "phase", "ice") && hasMeta(ev.Metadata, "trial", trial)
	res.back = waitBack(t, back, i) && res.back

	// The server restarts: both sides reconnect and make new connections
	// (the sender survives in the browser's reconcile, or leaves and joins
	// again), and every track is sent again.
	srv.restart()
	res.restart = true
	for range 2 {
		ev, ok = waitJS(ctx, viewer, "track", 30*time.Second, fromSender)
		require.True(t, ok, "trial %d: Go's tracks did not come back after the server restart", i)
		res.restart = res.restart && hasMeta(ev.Metadata, "trial", trial)
	}
	for range 2 {
		res.back = waitBack(t, back, i) && res.back
	}
	if !res.first || !res.ice || !res.restart || !res.back {
		t.Logf("trial %d: first %v, ice %v, restart %v, at Go %v; Go trace:\n%s\nbrowser trace:\n%s", i, res.first, res.ice, res.restart, res.back, goTrace.Tail(100), jsdriver.TailLines(viewer.Stderr(), 100))
	}
	return res
}

// restartAndAdd has the viewer restart ICE towards senderID and add a
// track at once.
func restartAndAdd(ctx context.Context, viewer *jsdriver.Driver, senderID string) error {
	if _, err := viewer.Do(ctx, "restartIce", map[string]any{"to": senderID}); err != nil {
		return err
	}
	_, err := viewer.Do(ctx, "addAudio", map[string]any{"metadata": map[string]string{"who": "viewer"}})
	return err
}

func waitBack(t *testing.T, back chan bool, i int) bool {
	select {
	case ok := <-back:
		return ok
	case <-time.After(20 * time.Second):
		t.Fatalf("trial %d: a browser track never reached Go", i)
		return false
	}
}

// jsSenderTrial is the control: a JS SDK sender (a second Chromium) in the
// Go sender's place.
func jsSenderTrial(t *testing.T, viewer, sender *jsdriver.Driver, senderID, viewerID string, i int) trialResult {
	var res trialResult
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv := newRestartable(t)
	defer srv.close()
	senderID, viewerID = fmt.Sprintf("%s-js-%02d", senderID, i), fmt.Sprintf("%s-%02d", viewerID, i)
	channel := fmt.Sprintf("meta-js-%02d", i)
	trial := fmt.Sprint(i)
	defer func() {
		_, _ = viewer.Do(context.Background(), "close", nil)
		_, _ = sender.Do(context.Background(), "close", nil)
	}()
	joined := make(chan error, 2)
	for _, j := range []struct {
		d    *jsdriver.Driver
		id   string
		meta map[string]string
	}{{viewer, viewerID, map[string]string{"who": "viewer"}}, {sender, senderID, map[string]string{"trial": trial, "phase": "first"}}} {
		go func() {
			_, err := j.d.Do(ctx, "join", map[string]any{"url": srv.srv.URL(), "token": mint(t, j.id, `{}`), "channel": channel, "audio": map[string]any{"metadata": j.meta}})
			joined <- err
		}()
	}
	require.NoError(t, <-joined)
	require.NoError(t, <-joined)
	fromSender := func(e jsEvent) bool { return e.PeerID == senderID }
	// The control measures the JS SDK: a trial its peers cannot finish
	// (no media, a stuck negotiation) counts as missing metadata from there
	// on, and is logged; it never fails the test.
	ev, ok := waitJS(ctx, viewer, "track", 20*time.Second, fromSender)
	if !ok {
		t.Logf("control %d: the sender's track never reached the viewer", i)
		return res
	}
	res.first = hasMeta(ev.Metadata, "phase", "first")

	errs := make(chan error, 2)
	go func() { errs <- restartAndAdd(ctx, viewer, senderID) }()
	go func() {
		_, err := sender.Do(ctx, "addAudio", map[string]any{"metadata": map[string]string{"trial": trial, "phase": "ice"}})
		errs <- err
	}()
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	ev, ok = waitJS(ctx, viewer, "track", 20*time.Second, fromSender)
	if !ok {
		t.Logf("control %d: the sender's second track never reached the viewer", i)
		return res
	}
	res.ice = hasMeta(ev.Metadata, "phase", "ice")

	srv.restart()
	res.restart = true
	for range 2 {
		if ev, ok = waitJS(ctx, viewer, "track", 30*time.Second, fromSender); !ok {
			t.Logf("control %d: the sender's tracks did not come back after the restart", i)
			return trialResult{first: res.first, ice: res.ice}
		}
		res.restart = res.restart && hasMeta(ev.Metadata, "trial", trial)
	}
	return res
}
