package interop

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/interop/internal/jsdriver"
	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/testserver"
)

type pageState struct {
	Joined bool     `json:"joined"`
	PeerID string   `json:"peerId"`
	Errors []string `json:"errors"`
	Chat   []struct {
		From string `json:"from"`
		Text string `json:"text"`
	} `json:"chat"`
	Tiles []struct {
		PeerID      string  `json:"peerId"`
		Label       string  `json:"label"`
		FromStream  bool    `json:"fromStream"`
		CurrentTime float64 `json:"currentTime"`
		Frames      int     `json:"frames"`
		Width       int     `json:"width"`
	} `json:"tiles"`
}

// TestDemoPageInChromium opens the local server's demo page in headless
// Chromium (fake camera) next to two Go peers: one plays a clip with a chat
// line, one records. The Go clip plays in the page (frames decoded, time
// advancing), chat goes both ways, and the browser's camera reaches the Go
// recorder as a file that decodes.
func TestDemoPageInChromium(t *testing.T) {
	sdk := testserver.FindDemoSDK()
	require.NotEmpty(t, sdk, "the JS SDK is missing: run `make setup`")
	srv, err := testserver.New(testserver.Options{DemoSDK: sdk, RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(t, err)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const channel = "browser-demo"

	clip := filepath.Join(t.TempDir(), "clip.webm")
	require.NoError(t, media.WriteTestClip(clip, 10*time.Second))
	player, err := media.FromFile(clip, media.WithLoop(true))
	require.NoError(t, err)
	defer player.Close()
	newGoPeer := func(id string) *peer.MeteredPeer {
		p, err := peer.New(peer.Options{URL: srv.URL(), TokenProvider: func(context.Context) (string, error) {
			return mint(t, id, `{"name":"`+id+`"}`), nil
		}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Close("") })
		return p
	}
	sender, recorder := newGoPeer("go-clip"), newGoPeer("go-recorder")
	require.NoError(t, sender.AddStream(peer.NewMediaStream(player.Video, player.Audio), peer.StreamMetadata{"label": "Go clip"}))
	chats := make(chan string, 8)
	peer.On(sender, func(ev peer.Data) {
		var m struct{ Chat string }
		if json.Unmarshal(ev.Data, &m) == nil && m.Chat != "" {
			chats <- m.Chat
		}
	})
	require.NoError(t, sender.Join(ctx, channel))
	require.NoError(t, player.Start())

	// The recorder keeps what the browser sends.
	out := filepath.Join(t.TempDir(), "browser.webm")
	var recMu sync.Mutex
	var rec *media.Recorder
	recorded := make(chan struct{}, 2)
	peer.On(recorder, func(ev peer.PeerJoined) {
		remote := ev.Peer
		if remote.ID() == "go-clip" {
			return
		}
		peer.On(remote, func(tr peer.Track) {
			recMu.Lock()
			defer recMu.Unlock()
			if rec == nil {
				// A variable of its own: the test goroutine writes err meanwhile.
				r, err := media.NewRecorder(out)
				require.NoError(t, err)
				rec = r
			}
			assert.NoError(t, rec.AddTrack(tr.Track))
			recorded <- struct{}{}
		})
	})
	require.NoError(t, recorder.Join(ctx, channel))

	page, err := jsdriver.Start("page-driver.mjs")
	require.NoError(t, err)
	defer page.Close()
	defer func() {
		if t.Failed() {
			t.Log("page log:\n" + page.Stderr())
		}
	}()
	_, err = page.Do(ctx, "open", map[string]any{"url": srv.DemoURL(channel) + "&name=chromium"})
	require.NoError(t, err)
	state := func() pageState {
		raw, err := page.Do(ctx, "state", nil)
		require.NoError(t, err)
		var s pageState
		require.NoError(t, json.Unmarshal(raw, &s))
		return s
	}

	// The Go clip plays in the page: frames decoded and time advancing.
	tile := func(s pageState) (float64, int, int, bool) {
		for _, tl := range s.Tiles {
			if tl.PeerID == "go-clip" {
				// The stream's label, or the peer's name when the JS SDK
				// missed the stream's metadata in first-contact glare.
				if tl.FromStream {
					assert.Equal(t, "Go clip", tl.Label)
				} else {
					assert.Equal(t, "go-clip", tl.Label)
				}
				return tl.CurrentTime, tl.Frames, tl.Width, true
			}
		}
		return 0, 0, 0, false
	}
	require.Eventually(t, func() bool { _, frames, _, ok := tile(state()); return ok && frames > 10 }, 30*time.Second, 200*time.Millisecond, "the Go clip never played in the page")
	t0, f0, width, _ := tile(state())
	time.Sleep(time.Second)
	t1, f1, _, _ := tile(state())
	assert.Equal(t, 320, width)
	assert.Greater(t, t1, t0+0.5, "playback time advances")
	assert.Greater(t, f1, f0+10, "frames keep being decoded")

	// Chat both ways.
	require.NoError(t, sender.Send(ctx, map[string]string{"chat": "hello from Go"}))
	require.Eventually(t, func() bool {
		for _, c := range state().Chat {
			if c.From == "go-clip" && c.Text == "hello from Go" {
				return true
			}
		}
		return false
	}, 10*time.Second, 100*time.Millisecond, "Go's chat line never reached the page")
	_, err = page.Do(ctx, "chat", map[string]any{"text": "hello from Chromium"})
	require.NoError(t, err)
	select {
	case got := <-chats:
		assert.Equal(t, "hello from Chromium", got)
	case <-ctx.Done():
		t.Fatal("the page's chat line never reached Go")
	}

	// The browser's camera and microphone reach the Go recorder.
	for i := 0; i < 2; i++ {
		select {
		case <-recorded:
		case <-ctx.Done():
			t.Fatal("the recorder never got the browser's tracks")
		}
	}
	time.Sleep(3 * time.Second)
	recMu.Lock()
	require.NoError(t, rec.Close())
	recMu.Unlock()
	info, err := media.Probe(out)
	require.NoError(t, err)
	t.Log("browser recording: ", info)
	codecs := map[string]int{}
	for _, s := range info.Streams {
		codecs[s.Codec] = s.Frames
	}
	assert.Greater(t, codecs["vp8"], 30, "the camera's video decodes")
	assert.Greater(t, codecs["opus"], 50, "the microphone's audio decodes")
	assert.Empty(t, state().Errors)
}

// The integrity hash the demo page pins for the CDN copy of the JS SDK is
// the hash of the very bytes npm installs from the committed lockfile: a
// wrong pin would make browsers refuse the module.
func TestPinnedSDKIntegrityMatchesNPM(t *testing.T) {
	sdk := testserver.FindDemoSDK()
	require.NotEmpty(t, sdk, "the JS SDK is missing: run `make setup`")
	b, err := os.ReadFile(sdk)
	require.NoError(t, err)
	sum := sha512.Sum384(b)
	assert.Equal(t, testserver.DemoSDKIntegrity, "sha384-"+base64.StdEncoding.EncodeToString(sum[:]))
	pkg, err := os.ReadFile(filepath.Join(filepath.Dir(sdk), "..", "package.json"))
	require.NoError(t, err)
	assert.Contains(t, string(pkg), `"version": "`+testserver.DemoSDKVersion+`"`)
	assert.Contains(t, testserver.DemoSDKURL, "@"+testserver.DemoSDKVersion+"/dist/index.mjs")
}
