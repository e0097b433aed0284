package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/interop/internal/jsdriver"
	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/testserver"
	"github.com/metered-ca/realtime-go/testserver/turnserver"
)

// relayCall is a local server whose welcomes carry credentials for its
// loopback TURN relay, the JS SDK in headless Chromium joined to channel,
// and a Go peer that may only use the relay, not yet joined.
type relayCall struct {
	relay  *turnserver.Server
	js     *jsdriver.Driver
	goPeer *peer.MeteredPeer
}

func newRelayCall(t *testing.T, ctx context.Context, channel, jsID, goID string) *relayCall {
	t.Helper()
	relay, err := turnserver.Start(turnserver.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = relay.Close() })
	srv, err := testserver.New(testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}, ICE: relay.ICEServers})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	js, err := jsdriver.StartBrowser()
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			for _, ev := range js.Pending() {
				t.Log("JS event not consumed: ", ev.Event, string(ev.Payload))
			}
		}
		js.Close()
	})
	_, err = js.Do(ctx, "join", map[string]any{"url": srv.URL(), "token": mint(t, jsID, `{}`), "channel": channel})
	require.NoError(t, err)
	goPeer, err := peer.New(peer.Options{
		URL:           srv.URL(),
		TokenProvider: func(context.Context) (string, error) { return mint(t, goID, `{}`), nil },
		Configuration: webrtc.Configuration{ICETransportPolicy: webrtc.ICETransportPolicyRelay},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = goPeer.Close("") })
	return &relayCall{relay: relay, js: js, goPeer: goPeer}
}

// TestRelayWithChromium: the local server hands out credentials for its
// loopback TURN relay in the welcome; the Go peer may only use the relay
// (ICE transport policy relay), the JS SDK in headless Chromium takes the
// same welcome. Audio goes both ways and a data channel opens through the
// relay; Go's Stats and Chromium's getStats both show the relayed path.
func TestRelayWithChromium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	call := newRelayCall(t, ctx, "relay", "js-relay", "go-relay")
	js, goPeer := call.js, call.goPeer
	received := make(chan *webrtc.TrackRemote, 4)
	opened := make(chan struct{}, 1)
	peer.On(goPeer, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(tr peer.Track) { received <- tr.Track })
		if d, err := ev.Peer.CreateDataChannel("relay", peer.DataChannelOptions{}); err == nil {
			peer.On(d, func(peer.ChannelOpen) { opened <- struct{}{} })
		}
	})
	require.NoError(t, goPeer.Join(ctx, "relay"))
	nextJS(t, ctx, js, "peer-joined", nil)
	// One negotiation at a time (the relay is under test here, not glare,
	// which TestGlareRoundsWithJS covers): the data channel first, then
	// Go's track, then the browser's.
	select {
	case <-opened:
	case <-ctx.Done():
		t.Fatal("no data channel through the relay")
	}
	nextJS(t, ctx, js, "channel-open", nil)
	goTrack := peertest.OpusTrack(t, "go-audio", "go-s")
	require.NoError(t, goPeer.AddTrack(goTrack, nil, nil))
	jt := nextJS(t, ctx, js, "track", func(e jsEvent) bool { return e.Kind == "audio" })
	_, err := js.Do(ctx, "addAudio", map[string]any{"metadata": map[string]string{"via": "relay"}})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return jsFrames(ctx, js, jt.TrackID) > 10 }, 30*time.Second, 100*time.Millisecond, "Chromium decodes Go's audio through the relay")
	var remote *webrtc.TrackRemote
	select {
	case remote = <-received:
	case <-ctx.Done():
		t.Fatal("the JS track never reached Go")
	}
	n := peertest.CountRTP(remote)
	require.Eventually(t, func() bool { return n.Load() > 25 }, 30*time.Second, 100*time.Millisecond, "Go receives Chromium's audio through the relay")

	st, err := goPeer.RemotePeers()[0].Stats(ctx)
	require.NoError(t, err)
	require.NotNil(t, st.Path)
	assert.Equal(t, webrtc.ICECandidateTypeRelay, st.Path.Local.Type, "Go's Stats: relay")
	require.Len(t, st.Inbound, 1)
	assert.Positive(t, st.Inbound[0].PacketsReceived)

	raw, err := js.Do(ctx, "pathStats", map[string]any{"to": "go-relay"})
	require.NoError(t, err)
	var path struct {
		Local, Remote string
		BytesReceived int64 `json:"bytesReceived"`
	}
	require.NoError(t, json.Unmarshal(raw, &path), string(raw))
	assert.Equal(t, "relay", path.Remote, "Chromium's getStats: the Go end of the pair is the relay")
	assert.Positive(t, path.BytesReceived)
	t.Logf("Chromium's selected pair: local %s, remote %s; Go's: local %s, remote %s", path.Local, path.Remote, st.Path.Local.Type, st.Path.Remote.Type)
}

// TestChromiumOnCappedRelay: Chromium cannot be put on pion's virtual
// network, but what reaches it can be shaped at the relay. The Go peer
// sends transcoded 640x360 video through a relay shaped to 400 kb/s (a
// queue, as a bottleneck link): Go's estimate, driven by Chromium's own
// transport-wide feedback, must fall under the cap within 5 s and what Go
// sends must then stay under it on average, Chromium must keep decoding
// frames, and once the cap is lifted the estimate must find the room again
// (probing: twice its capped mean and past 600 kb/s within 17 s).
func TestChromiumOnCappedRelay(t *testing.T) {
	if raceEnabled {
		t.Skip("a timing run: `make test` runs it without -race")
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("the ffmpeg CLI is missing: run `make setup`")
	}
	clip := filepath.Join(t.TempDir(), "noisy.mp4")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-t", "10", "-vf", "noise=alls=12:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-pix_fmt", "yuv420p", clip).CombinedOutput()
	require.NoError(t, err, string(out))
	player, err := media.FromFile(clip, media.WithLoop(true), media.WithVideoBitrate(1_200_000))
	require.NoError(t, err)
	defer player.Close()
	require.True(t, player.Video.Sending().Adaptive, "H.264 with B-frames is transcoded")

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	call := newRelayCall(t, ctx, "capped", "js-viewer", "go-sender")
	js, goPeer, relay := call.js, call.goPeer, call.relay
	require.NoError(t, goPeer.Join(ctx, "capped"))
	nextJS(t, ctx, js, "peer-joined", nil)
	require.NoError(t, goPeer.AddTrack(player.Video, nil, nil))
	require.NoError(t, player.Start())

	type view struct {
		FramesDecoded, PacketsLost, NackCount, PliCount int
		FramesDropped, Width                            int
	}
	viewer := func() view {
		raw, err := js.Do(ctx, "inboundVideo", map[string]any{"to": "go-sender"})
		require.NoError(t, err)
		var v view
		require.NoError(t, json.Unmarshal(raw, &v), string(raw))
		return v
	}
	require.Eventually(t, func() bool { return viewer().FramesDecoded > 60 }, 30*time.Second, 200*time.Millisecond, "Chromium decodes the video")
	rp := goPeer.RemotePeers()[0]
	stats := func() peer.Stats {
		st, err := rp.Stats(ctx)
		require.NoError(t, err)
		require.True(t, st.Path.Relayed())
		return st
	}
	estimate := func() int { return stats().AvailableOutgoingBitrate }
	sent := func() uint64 {
		var n uint64
		for _, o := range stats().Outbound {
			n += o.BytesSent
		}
		return n
	}
	time.Sleep(4 * time.Second)
	before, beforeView := estimate(), viewer()
	// Probing on the open link (start-up probes): how much padding
	// Chromium acknowledges where no shaper drops any.
	openProbing := stats().Probing

	const capBps = 400_000
	atCapView := viewer()
	relay.Limit(capBps)
	capped := time.Now()
	var under time.Duration = -1
	for time.Since(capped) < 8*time.Second {
		time.Sleep(250 * time.Millisecond)
		if under < 0 && estimate() < capBps {
			under = time.Since(capped)
		}
	}
	// Settled: what Go sends over the next 10 s, and its estimate, on
	// average (a single reading may be a peak of GCC's sawtooth).
	b0, v1, t0 := sent(), viewer(), time.Now()
	estSum, estN := 0, 0
	var timeline []string // the estimate and the encoder's target, kb/s, every 250 ms
	for time.Since(t0) < 10*time.Second {
		time.Sleep(250 * time.Millisecond)
		est := estimate()
		estSum, estN = estSum+est, estN+1
		timeline = append(timeline, fmt.Sprintf("%d/%d", est/1000, player.Video.Sending().TargetBitrate/1000))
	}
	capMean := estSum / estN
	b1, v2 := sent(), viewer()
	sendBps := int(float64(b1-b0) * 8 / time.Since(t0).Seconds())
	fps := float64(v2.FramesDecoded-v1.FramesDecoded) / time.Since(t0).Seconds()
	atCap, target := estimate(), player.Video.Sending().TargetBitrate

	relay.Limit(0)
	lifted := time.Now()
	// Recovered: the estimate twice its mean under the cap and past
	// 600 kb/s. Go probes every 3-5 s while the estimate holds its encoder
	// back, and each result probes again at twice it: 1.3-4.3 s over six
	// make bench runs (up to 8.5 s while the feedback Chromium addressed
	// to the RTX stream went unread). The check allows twice the old worst;
	// before probing the estimate took 13-21 s to pass 600 kb/s alone,
	// once over 30 s.
	goal := max(2*capMean, 600_000)
	var recovered time.Duration = -1
	var after10 int
	// The estimate in kb/s, the frames Chromium dropped since the lift and
	// the height Go sends, every 250 ms after the lift.
	var liftline []string
	for time.Since(lifted) < 25*time.Second && (recovered < 0 || after10 == 0) {
		time.Sleep(250 * time.Millisecond)
		est := estimate()
		liftline = append(liftline, fmt.Sprintf("%d/%d/%d", est/1000, viewer().FramesDropped-v2.FramesDropped, player.Video.Sending().Height))
		if after10 == 0 && time.Since(lifted) >= 10*time.Second {
			after10 = est
		}
		if recovered < 0 && est >= goal {
			recovered = time.Since(lifted)
		}
	}
	final, endView := stats(), viewer()
	pr := final.Probing
	// Probe packets the relay's full queue refused never reached Chromium;
	// what is asked of Chromium is to acknowledge those that did.
	queue := relay.QueueCounts()
	arrived := pr.PacketsSent - uint64(queue.PaddedRefused)
	// Frames Chromium dropped at the cap's onset (its first 8 s, when the
	// link fell from 5 Mb/s to 400 kb/s) and at any other time: on the open
	// link, settled under the cap and after the lift, where the probes go.
	droppedOpen, droppedOnset := atCapView.FramesDropped-beforeView.FramesDropped, v1.FramesDropped-atCapView.FramesDropped
	droppedCapped, droppedLifted := v2.FramesDropped-v1.FramesDropped, endView.FramesDropped-v2.FramesDropped
	droppedElsewhere := droppedOpen + droppedCapped + droppedLifted
	t.Logf("Chromium behind a relay shaped to %d kb/s: Go's estimate %d kb/s before, under the cap after %v; from 8 s on Go sent %d kb/s of video on average with an estimate of %d kb/s on average (%.2f× the cap), %d kb/s and video target %d kb/s at the end; Chromium decoded %.0f frames/s, sent %d NACKs and %d PLIs, lost %d packets; after the lift the estimate reached %d kb/s (2× its capped mean, at least 600 kb/s) in %s, and was %d kb/s 10 s after; probing: %d clusters, %d results, %d of %d padding packets acknowledged (%d of %d on the open link before the cap; the relay's full queue refused %d of the %d it took or refused while capped), %d kB of the path's %d kB; Chromium's PLIs over the whole run %d, frames dropped %d (on the open link %d, in the cap's first 8 s %d, in its next 10 s %d, after the lift %d)",
		capBps/1000, before/1000, under.Round(100*time.Millisecond), sendBps/1000, capMean/1000, float64(capMean)/capBps, atCap/1000, target/1000, fps, v2.NackCount-beforeView.NackCount, v2.PliCount-beforeView.PliCount, v2.PacketsLost-beforeView.PacketsLost,
		goal/1000, map[bool]string{true: recovered.Round(100 * time.Millisecond).String(), false: "more than 25 s"}[recovered >= 0], after10/1000,
		pr.Clusters, pr.Results, pr.PacketsReceived, pr.PacketsSent, openProbing.PacketsReceived, openProbing.PacketsSent, queue.PaddedRefused, queue.PaddedRefused+queue.PaddedAdmitted,
		pr.BytesSent/1000, final.Path.BytesSent/1000, endView.PliCount, endView.FramesDropped-beforeView.FramesDropped, droppedOpen, droppedOnset, droppedCapped, droppedLifted)
	t.Logf("under the cap, estimate/video target in kb/s every 250 ms: %s", strings.Join(timeline, " "))
	t.Logf("after the lift, estimate in kb/s/frames dropped since/height sent every 250 ms: %s", strings.Join(liftline, " "))
	if dir := os.Getenv("NETWORK_REPORT"); dir != "" { // make bench reads one run's figures
		b, err := json.Marshal(map[string]float64{
			"cap_bps":                  capBps,
			"capped_estimate_ratio":    float64(capMean) / capBps,
			"capped_fps":               fps,
			"recovered_s":              recovered.Seconds(),
			"estimate_10s_bps":         float64(after10),
			"probe_ack_ratio":          float64(pr.PacketsReceived) / float64(max(pr.PacketsSent, 1)),
			"probe_ack_ratio_arrived":  float64(pr.PacketsReceived) / float64(max(arrived, 1)),
			"probe_lost_at_relay":      float64(queue.PaddedRefused) / float64(max(pr.PacketsSent, 1)),
			"probe_ack_ratio_open":     float64(openProbing.PacketsReceived) / float64(max(openProbing.PacketsSent, 1)),
			"probe_share":              float64(pr.BytesSent) / float64(max(final.Path.BytesSent, 1)),
			"plis":                     float64(endView.PliCount - beforeView.PliCount),
			"frames_dropped":           float64(endView.FramesDropped - beforeView.FramesDropped),
			"frames_dropped_onset":     float64(droppedOnset),
			"frames_dropped_elsewhere": float64(droppedElsewhere),
		})
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "chromium-capped.json"), b, 0o644))
	}
	assert.Greater(t, before, capBps, "uncapped, the estimate is above the cap")
	assert.True(t, under >= 0 && under <= 5*time.Second, "the estimate fell under the cap within 5 s (took %v)", under)
	// Settled: Go's encoder spends 90 % of the estimate (video alone),
	// which saws around the link's rate, so it sends near the cap;
	// uncapped it sent 3× it.
	assert.Less(t, sendBps, 2*capBps, "settled, Go sends near the cap")
	assert.Positive(t, fps, "Chromium keeps decoding under the cap")
	assert.True(t, recovered >= 0 && recovered <= 17*time.Second, "the estimate is twice its capped mean and past 600 kb/s within 17 s of the lift (took %v)", recovered)
	assert.Positive(t, pr.Results, "Chromium's feedback measured probes")
	// All of them in make bench's runs; none while feedback addressed to
	// the RTX stream went unread.
	assert.GreaterOrEqual(t, 2*pr.PacketsReceived, arrived, "Chromium acknowledges at least half the probe packets that reach it")
}
