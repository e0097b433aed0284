package interop

import (
	"context"
	"encoding/json"
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

	// The Go member decodes what arrives.
	viewer := peertest.NewPeer(t, srv, "go-viewer")
	var frames atomic.Int64
	var width atomic.Int64
	tone := make(chan float64, 1)
	meta := make(chan peer.StreamMetadata, 2)
	var decoders sync.WaitGroup
	defer decoders.Wait()
	peer.On(viewer, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(tr peer.Track) {
			meta <- tr.Metadata
			decoders.Add(1)
			go func() {
				defer decoders.Done()
				var heard []int16
				for f, err := range media.Frames(ctx, tr.Track) {
					if err != nil {
						return
					}
					if f.Kind == webrtc.RTPCodecTypeVideo {
						frames.Add(1)
						width.Store(int64(f.Width))
						continue
					}
					if heard = append(heard, f.PCM...); len(heard) >= 2*48000 && len(tone) == 0 {
						tone <- peertest.ToneHz(heard[48000:], f.Channels, f.SampleRate)
					}
				}
			}()
		})
	})
	require.NoError(t, viewer.Join(ctx, "whip"))

	js, err := jsdriver.Start("peer-driver.mjs")
	require.NoError(t, err)
	defer js.Close()
	_, err = js.Do(ctx, "join", map[string]any{"url": srv.URL(), "token": mint(t, "z-js", `{"name":"js"}`), "channel": "whip"})
	require.NoError(t, err)

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

	for range 2 {
		select {
		case m := <-meta:
			assert.Equal(t, "gst", m["label"])
			assert.Equal(t, "whip", m["source"])
		case <-ctx.Done():
			t.Fatal("GStreamer's tracks never reached the Go member")
		}
	}
	kinds := map[string]jsEvent{}
	for len(kinds) < 2 {
		ev := nextJS(t, ctx, js, "track", nil)
		kinds[ev.Kind] = ev
	}
	for kind, ev := range kinds {
		var m map[string]any
		require.NoError(t, json.Unmarshal(ev.Metadata, &m), kind)
		assert.Equal(t, map[string]any{"label": "gst", "source": "whip", "kind": kind}, m, "the JS SDK shows the %s track by name", kind)
	}
	require.Eventually(t, func() bool { return frames.Load() >= 30 }, 30*time.Second, 50*time.Millisecond, "the Go member decodes the test pattern")
	assert.Equal(t, int64(320), width.Load())
	select {
	case hz := <-tone:
		assert.InDelta(t, 440, hz, 15, "the Go member hears the tone")
	case <-ctx.Done():
		t.Fatal("no tone")
	}
	assert.Equal(t, 1, endpoint.Sessions())
	stop()
	assert.Eventually(t, func() bool { return endpoint.Sessions() == 0 }, 10*time.Second, 20*time.Millisecond, "the client's DELETE ends the session")
	t.Logf("Go member decoded %d frames", frames.Load())
}
