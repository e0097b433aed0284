package interop

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/interop/internal/jsdriver"
	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/bridge"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/testserver"
)

// GStreamer's WHIP client (Debian's simple-whip-client: webrtcbin, libnice)
// publishes a test pattern and a 440 Hz tone through the bridge's WHIP
// endpoint. A Go peer in the room decodes both; a JS SDK peer (Node) gets
// both tracks with their metadata. When the client stops, its DELETE ends
// the session.
func TestGStreamerPublishesByWHIP(t *testing.T) {
	whipClient, err := exec.LookPath("whip-client")
	require.NoError(t, err, "whip-client (Debian's simple-whip-client) is missing: make setup installs it")
	shim := filepath.Join(t.TempDir(), "nosoup2check.so")
	out, err := exec.Command("gcc", "-shared", "-fPIC", "-o", shim, "whipclient/nosoup2check.c", "-ldl").CombinedOutput()
	require.NoError(t, err, "building the libsoup preload: %s", out)
	srv, err := testserver.New(testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(t, err)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	room := peertest.NewPeer(t, srv, "bridge")
	require.NoError(t, room.Join(ctx, "whip"))
	const token = "gst-token"
	endpoint, err := bridge.NewWHIP(room, bridge.Options{Token: token})
	require.NoError(t, err)
	hs := httptest.NewServer(endpoint)
	defer func() { hs.Close(); _ = endpoint.Close() }()

	got, js := members(t, ctx, srv)

	gst := exec.Command(whipClient, "-u", hs.URL+"/whip/gst", "-t", token, "-l", "3",
		"-A", "audiotestsrc is-live=true wave=sine freq=440 volume=0.3 ! audioconvert ! audioresample ! queue ! opusenc ! rtpopuspay pt=100 ssrc=1 ! queue ! application/x-rtp,media=audio,encoding-name=OPUS,payload=100",
		"-V", "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! queue ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=60 ! video/x-h264,profile=constrained-baseline ! rtph264pay pt=96 ssrc=2 config-interval=-1 ! queue ! application/x-rtp,media=video,encoding-name=H264,payload=96")
	gst.Env = append(os.Environ(), "LD_PRELOAD="+shim) // whipclient/nosoup2check.c says why
	log := &jsdriver.LockedBuffer{}
	gst.Stdout, gst.Stderr = log, log
	require.NoError(t, gst.Start())
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = gst.Process.Signal(syscall.SIGINT) // it sends DELETE, then exits
			_ = gst.Wait()
		}
	}
	defer stop()
	defer func() {
		if t.Failed() {
			t.Log("whip-client:\n" + log.Tail(4000))
			t.Log("JS peer's log:\n" + js.Stderr())
		}
	}()

	got.check(t, ctx, "gst", 320, 440)
	checkJSMetadata(t, ctx, js, "gst", false) // H.264
	assert.Equal(t, 1, endpoint.Sessions())
	stop()
	assert.Eventually(t, func() bool { return endpoint.Sessions() == 0 }, 10*time.Second, 20*time.Millisecond, "the client's DELETE ends the session")
	assert.NotContains(t, log.String(), "CRITICAL", "the client ran clean (whipclient/nosoup2check.c)")
	t.Logf("Go member decoded %d frames", got.frames.Load())
}

// Chromium publishes its camera and microphone by WHIP with whip-whep's
// WHIPClient (by the author of RFC 9725), from a page of another origin.
// A Go member of the room decodes both (frames counted, the tone's
// frequency measured) and a JS SDK member gets both with their metadata;
// a second Chromium watches the stream by WHEP (whip-whep's WHEPClient),
// through another member's WHEP endpoint, and decodes it. The publisher's
// DELETE ends both sessions.
func TestBrowserPublishesByWHIPAndWatchesByWHEP(t *testing.T) {
	srv, err := testserver.New(testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(t, err)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tone := filepath.Join(t.TempDir(), "tone.wav")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "5", "-ac", "1", tone).CombinedOutput()
	require.NoError(t, err, "%s", out)

	const token = "browser-token"
	ingest := peertest.NewPeer(t, srv, "bridge")
	require.NoError(t, ingest.Join(ctx, "whip"))
	whip, err := bridge.NewWHIP(ingest, bridge.Options{Token: token})
	require.NoError(t, err)
	egress := peertest.NewPeer(t, srv, "watcher")
	whep, err := bridge.NewWHEP(egress, bridge.Options{Token: token})
	require.NoError(t, err)
	require.NoError(t, egress.Join(ctx, "whip"))
	mux := http.NewServeMux()
	mux.Handle("/whip/", whip)
	mux.Handle("/whep/", whep)
	hs := httptest.NewServer(mux)
	defer func() { hs.Close(); _ = whip.Close(); _ = whep.Close() }()

	got, js := members(t, ctx, srv)

	publisher, err := jsdriver.Start("wish-driver.mjs", "FAKE_AUDIO="+tone)
	require.NoError(t, err)
	defer publisher.Close()
	player, err := jsdriver.Start("wish-driver.mjs")
	require.NoError(t, err)
	defer player.Close()
	defer func() {
		if t.Failed() {
			t.Log("publisher:\n" + publisher.Stderr())
			t.Log("player:\n" + player.Stderr())
			t.Log("JS peer:\n" + js.Stderr())
		}
	}()
	_, err = publisher.Do(ctx, "publish", map[string]any{"url": hs.URL + "/whip/cam", "token": token})
	require.NoError(t, err)

	got.check(t, ctx, "cam", 640, 440)
	checkJSMetadata(t, ctx, js, "cam", true) // VP8, Chromium's first choice

	// The second browser watches the stream through the WHEP endpoint.
	require.Eventually(t, func() bool { return len(whep.Streams()) == 1 }, 20*time.Second, 50*time.Millisecond, "the watcher lists the stream")
	_, err = player.Do(ctx, "view", map[string]any{"url": hs.URL + "/whep/?label=cam", "token": token})
	require.NoError(t, err)
	var seen struct {
		FramesDecoded, Width, AudioPackets int
		Connection                         string
	}
	require.Eventually(t, func() bool {
		raw, err := player.Do(ctx, "stats", nil)
		return err == nil && json.Unmarshal(raw, &seen) == nil && seen.FramesDecoded >= 30 && seen.AudioPackets > 0
	}, 30*time.Second, 200*time.Millisecond, "the WHEP player decodes the stream")
	assert.Equal(t, 640, seen.Width)
	t.Logf("WHEP player: %+v", seen)
	assert.Equal(t, 1, whip.Sessions())
	assert.Equal(t, 1, whep.Sessions())

	_, err = publisher.Do(ctx, "stop", nil)
	require.NoError(t, err)
	assert.Eventually(t, func() bool { return whip.Sessions() == 0 && whep.Sessions() == 0 }, 10*time.Second, 20*time.Millisecond, "the publisher's DELETE ends both sessions")
}

// members puts in the "whip" channel a Go member that decodes what it
// receives and a JS SDK member (Node); both leave when the test ends.
func members(t *testing.T, ctx context.Context, srv *testserver.Server) (*decoded, *jsdriver.Driver) {
	t.Helper()
	viewer := peertest.NewPeer(t, srv, "go-viewer")
	got := decodeTracks(ctx, viewer)
	t.Cleanup(got.wait) // after the test's context ends
	require.NoError(t, viewer.Join(ctx, "whip"))
	js, err := jsdriver.Start("peer-driver.mjs")
	require.NoError(t, err)
	t.Cleanup(func() { _ = js.Close() })
	_, err = js.Do(ctx, "join", map[string]any{"url": srv.URL(), "token": mint(t, "z-js", `{"name":"js"}`), "channel": "whip"})
	require.NoError(t, err)
	return got, js
}

// decoded is what a Go member decodes of the tracks it receives.
type decoded struct {
	frames, width atomic.Int64
	tone          chan float64
	meta          chan peer.StreamMetadata
	decoders      sync.WaitGroup
}

// decodeTracks decodes every track p receives (from ctx on), with
// media.Frames.
func decodeTracks(ctx context.Context, p *peer.MeteredPeer) *decoded {
	d := &decoded{tone: make(chan float64, 1), meta: make(chan peer.StreamMetadata, 8)}
	peer.On(p, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(tr peer.Track) {
			d.meta <- tr.Metadata
			d.decoders.Add(1)
			go func() {
				defer d.decoders.Done()
				var heard []int16
				for f, err := range media.Frames(ctx, tr.Track) {
					if err != nil {
						return
					}
					if f.Kind == webrtc.RTPCodecTypeVideo {
						d.frames.Add(1)
						d.width.Store(int64(f.Width))
						continue
					}
					// The second second of sound: past any start-up gap.
					if heard = append(heard, f.PCM...); len(heard) >= 2*f.SampleRate*f.Channels && len(d.tone) == 0 {
						d.tone <- peertest.ToneHz(heard[f.SampleRate*f.Channels:], f.Channels, f.SampleRate)
					}
				}
			}()
		})
	})
	return d
}

func (d *decoded) wait() { d.decoders.Wait() }

// check waits for two tracks labelled label from a WHIP publisher, at
// least 30 decoded frames of width, and a tone of hz.
func (d *decoded) check(t *testing.T, ctx context.Context, label string, width int, hz float64) {
	t.Helper()
	for range 2 {
		select {
		case m := <-d.meta:
			assert.Equal(t, label, m["label"])
			assert.Equal(t, "whip", m["source"])
		case <-ctx.Done():
			t.Fatal("the publisher's tracks never reached the Go member")
		}
	}
	require.Eventually(t, func() bool { return d.frames.Load() >= 30 }, 30*time.Second, 50*time.Millisecond, "the Go member decodes the video")
	assert.Equal(t, int64(width), d.width.Load())
	select {
	case got := <-d.tone:
		assert.InDelta(t, hz, got, 15, "the Go member hears the tone")
	case <-ctx.Done():
		t.Fatal("no tone")
	}
}

// checkJSMetadata waits for the JS SDK member's two track events, each
// with the WHIP publisher's metadata, and for the audio, and the video
// when decodeVideo, to decode there (frames out of @roamhq/wrtc's sinks;
// its libwebrtc has no H.264 decoder).
func checkJSMetadata(t *testing.T, ctx context.Context, js *jsdriver.Driver, label string, decodeVideo bool) {
	t.Helper()
	kinds := map[string]jsEvent{}
	for len(kinds) < 2 {
		ev := nextJS(t, ctx, js, "track", nil)
		kinds[ev.Kind] = ev
	}
	for kind, ev := range kinds {
		var m map[string]any
		require.NoError(t, json.Unmarshal(ev.Metadata, &m), kind)
		assert.Equal(t, map[string]any{"label": label, "source": "whip", "kind": kind}, m, "the JS SDK shows the %s track by name", kind)
		if kind == "audio" || decodeVideo {
			require.Eventually(t, func() bool { return jsFrames(ctx, js, ev.TrackID) > 10 }, 30*time.Second, 100*time.Millisecond, "the JS SDK member decodes the %s", kind)
		}
	}
}

// An OBS-shaped publisher (libdatachannel, OBS's own stack, scripted as
// OBS's whip-output: Opus PT 111 and H.264 PT 96, no candidates in the
// offer, no PATCH, no keyframe handler) sends one keyframe and then only
// predicted pictures. A member who joins 10 s later still gets a picture
// within a second: the kept pictures since that keyframe.
func TestOBSShapedPublisherAndALateMember(t *testing.T) {
	srv, err := testserver.New(testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(t, err)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	clip := filepath.Join(t.TempDir(), "obs.h264")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "20",
		"-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-x264-params", "aud=1:keyint=900:min-keyint=900:scenecut=0", "-f", "h264", clip).CombinedOutput()
	require.NoError(t, err, "%s", out)

	const token = "obs-key"
	room := peertest.NewPeer(t, srv, "bridge")
	require.NoError(t, room.Join(ctx, "obs"))
	whip, err := bridge.NewWHIP(room, bridge.Options{Token: token, Logger: peertest.FailureLog(t)})
	require.NoError(t, err)
	hs := httptest.NewServer(whip)
	defer func() { hs.Close(); _ = whip.Close() }()

	obs, err := jsdriver.Start("obs-driver.mjs")
	require.NoError(t, err)
	defer obs.Close()
	defer func() {
		if t.Failed() {
			t.Log("OBS stand-in:\n" + obs.Stderr())
		}
	}()
	_, err = obs.Do(ctx, "publish", map[string]any{"url": hs.URL + "/whip/obs", "token": token, "h264": clip})
	require.NoError(t, err)
	require.Equal(t, 1, whip.Sessions())

	time.Sleep(10 * time.Second) // the keyframe is 10 s old when the member comes
	late := peertest.NewPeer(t, srv, "late")
	arrived := make(chan time.Time, 1)
	pictured := make(chan time.Time, 1)
	var decoders sync.WaitGroup
	defer decoders.Wait()
	var bridgeAtLate atomic.Pointer[peer.RemotePeer]
	var decoded, firstWidth atomic.Int64 // pictures Frames gave the late member, and the first one's width
	defer func() {
		if !t.Failed() {
			return
		}
		t.Logf("the late member decoded %d pictures before the deadline; the first %d wide", decoded.Load(), firstWidth.Load())
		// What the two ends of the late member's connection saw.
		if rp := bridgeAtLate.Load(); rp != nil {
			st, err := rp.Stats(context.Background())
			if err != nil {
				t.Logf("the late member's stats: %v", err)
			}
			if err == nil {
				for _, in := range st.Inbound {
					t.Logf("the late member's %s: %d packets (%d lost, %d repaired), %d frames; it sent %d NACKs, %d PLIs", in.Kind, in.PacketsReceived, in.PacketsLost, in.RetransmittedPacketsReceived, in.FramesReceived, in.NACKs, in.PLIs)
				}
			}
		}
		for _, rp := range room.RemotePeers() { // the late member
			st, err := rp.Stats(context.Background())
			if err != nil {
				t.Logf("the bridge's stats: %v", err)
			}
			if err == nil {
				for _, out := range st.Outbound {
					t.Logf("the bridge's %s to it: %d packets, %d retransmitted, %d NACKs and %d PLIs heard; estimate %d b/s", out.Kind, out.PacketsSent, out.RetransmittedPacketsSent, out.NACKs, out.PLIs, st.AvailableOutgoingBitrate)
				}
			}
		}
	}()
	peer.On(late, func(ev peer.PeerJoined) {
		bridgeAtLate.Store(ev.Peer)
		peer.On(ev.Peer, func(tr peer.Track) {
			if tr.Track.Kind() != webrtc.RTPCodecTypeVideo {
				return
			}
			arrived <- time.Now()
			decoders.Add(1)
			go func() {
				defer decoders.Done()
				for f, err := range media.Frames(ctx, tr.Track) {
					if err != nil {
						return
					}
					if decoded.Add(1) == 1 {
						firstWidth.Store(int64(f.Width))
					}
					if f.Width == 320 {
						pictured <- time.Now()
						return
					}
				}
			}()
		})
	})
	require.NoError(t, late.Join(ctx, "obs"))
	var from time.Time
	select {
	case from = <-arrived:
	case <-ctx.Done():
		t.Fatal("the OBS stand-in's video never reached the late member")
	}
	select {
	case at := <-pictured:
		took := at.Sub(from)
		t.Logf("the late member's first picture %v after its video track arrived", took.Round(time.Millisecond))
		assert.Less(t, took, time.Second, "a picture within a second, though the only keyframe is 10 s old")
	case <-ctx.Done():
		t.Fatal("the late member never decoded a picture")
	}
	_, err = obs.Do(ctx, "stop", nil)
	require.NoError(t, err)
	assert.Eventually(t, func() bool { return whip.Sessions() == 0 }, 10*time.Second, 20*time.Millisecond)
}
