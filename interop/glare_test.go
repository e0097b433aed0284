package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/interop/internal/jsdriver"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/testserver"
)

// TestGlareRoundsWithJS: the Go peer and the JS SDK peer add a track at the
// same instant, three rounds on one connection; every round both tracks
// arrive with media, and exactly one track event per round on each side.
// Politeness goes by peer id (UTF-16 order: the smaller id is polite). The
// JS SDK runs in Node with @roamhq/wrtc, which can only be impolite (it cannot
// roll back an offer), and in headless Chromium in both orders.
//
// Metadata is checked on both sides every round. Two JSEP reuse rules
// would make it miss, limitations of the JS SDK 1.2.0 (it keys metadata by
// the receiving track's id) that the Go side works around:
//   - JS applies our offer while its own addTrack transceiver has no mid
//     yet: that transceiver takes the first new m-line of its kind, so our
//     offers put receive slots first (peer/slots.go) and our track gets an
//     m-line of its own;
//   - the JS SDK calls addTrack after our offer made a receive-only
//     transceiver: libwebrtc reuses it and keeps its random sender id, so
//     the msid in the answer is not the JS track.id; Go pairs such a track
//     with the metadata announced for it.
func TestGlareRoundsWithJS(t *testing.T) {
	for _, tc := range []struct {
		name, goID, jsID string
		start            func(env ...string) (*jsdriver.Driver, error)
	}{
		{"node/go-polite", "a-go", "z-js", func(env ...string) (*jsdriver.Driver, error) { return jsdriver.Start("peer-driver.mjs", env...) }},
		{"chromium/js-polite", "z-go", "a-js", jsdriver.StartBrowser},
		{"chromium/go-polite", "a-go", "z-js", jsdriver.StartBrowser},
	} {
		t.Run(tc.name, func(t *testing.T) { glareRounds(t, tc.start, tc.goID, tc.jsID) })
	}
}

func glareRounds(t *testing.T, start func(env ...string) (*jsdriver.Driver, error), goID, jsPeerID string) {
	srv, err := testserver.New(testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(t, err)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	// Both sides trace their negotiation into buffers, shown when the run
	// fails: the races this test exists for are rare and need their trace.
	js, err := start("DRIVER_DEBUG=1")
	require.NoError(t, err)
	defer js.Close()
	var goTrace jsdriver.LockedBuffer
	defer func() {
		if t.Failed() || os.Getenv("INTEROP_DEBUG") != "" {
			t.Log("Go trace:\n" + goTrace.Tail(300))
			t.Log("JS trace:\n" + jsdriver.TailLines(js.Stderr(), 300))
			for _, ev := range js.Pending() {
				t.Log("JS event not consumed: ", ev.Event, string(ev.Payload))
			}
		}
	}()
	_, err = js.Do(ctx, "join", map[string]any{"url": srv.URL(), "token": mint(t, jsPeerID, `{}`), "channel": "glare"})
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(&goTrace, &slog.HandlerOptions{Level: slog.LevelDebug}))
	goPeer, err := peer.New(peer.Options{URL: srv.URL(), Logger: log, TokenProvider: func(context.Context) (string, error) {
		return mint(t, goID, `{}`), nil
	}})
	require.NoError(t, err)
	defer goPeer.Close("")
	tracks := make(chan peer.Track, 32)
	peer.On(goPeer, func(ev peer.PeerJoined) { peer.On(ev.Peer, func(tr peer.Track) { tracks <- tr }) })
	require.NoError(t, goPeer.Join(ctx, "glare"))
	nextJS(t, ctx, js, "peer-joined", nil)

	for round := 0; round < 3; round++ {
		goTrack := peertest.OpusTrack(t, fmt.Sprint("go-", round), "go-s")
		jsID := make(chan string, 1)
		errs := make(chan error, 2)
		go func() { errs <- goPeer.AddTrack(goTrack, nil, peer.StreamMetadata{"round": fmt.Sprint(round)}) }()
		go func() {
			raw, err := js.Do(ctx, "addAudio", map[string]any{"metadata": map[string]string{"round": fmt.Sprint(round)}})
			var r struct {
				TrackID string `json:"trackId"`
			}
			_ = json.Unmarshal(raw, &r)
			jsID <- r.TrackID
			errs <- err
		}()
		require.NoError(t, <-errs)
		require.NoError(t, <-errs)
		wantJS := <-jsID
		jt := nextJS(t, ctx, js, "track", nil)
		assert.Equal(t, goTrack.ID(), jt.TrackID, "round %d: our track has an m-line of its own at JS", round)
		assert.JSONEq(t, fmt.Sprintf(`{"round":"%d"}`, round), string(jt.Metadata), "round %d at JS", round)
		require.Eventually(t, func() bool { return jsFrames(ctx, js, jt.TrackID) > 10 }, 20*time.Second, 100*time.Millisecond, "round %d: audio from Go decoded by JS", round)
		var tr peer.Track
		select {
		case tr = <-tracks:
		case <-ctx.Done():
			t.Fatalf("round %d: the JS track never reached Go", round)
		}
		if tr.Track.ID() != wantJS {
			// Its metadata names the track id; Go pairs the two (see
			// peer's metaCache.lookup).
			t.Logf("round %d: the JS SDK bound its track to a transceiver our offer made (msid id %s, track id %s)", round, tr.Track.ID(), wantJS)
		}
		assert.Equal(t, fmt.Sprint(round), tr.Metadata["round"], "round %d at Go", round)
		require.Eventually(t, func() bool { _, _, err := tr.Track.ReadRTP(); return err == nil }, 10*time.Second, 10*time.Millisecond, "round %d: RTP from JS", round)
	}
	select {
	case tr := <-tracks:
		t.Errorf("one track too many at Go: %s", tr.Track.ID())
	default:
	}
	for _, ev := range js.Pending() {
		assert.NotEqual(t, "track", ev.Event, "one track too many at JS: %s", ev.Payload)
	}
}
