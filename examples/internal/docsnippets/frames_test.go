package docsnippets

// frames maps each snippet, "file#n" (the n-th ```go block of the file,
// from 0), to the program that runs it: {{SNIPPET}} marks where the
// snippet goes. An empty frame means the snippet is a whole program. A
// snippet without a frame fails the test, so a new one cannot go
// unchecked.
var frames = map[string]string{
	"README.md#0": `package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

func main() {
	srv, err := testserver.New(testserver.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	os.Setenv("METERED_URL", srv.URL())
	os.Setenv("METERED_API_KEY", "pk_readme")
	snippet()
	fmt.Println("SNIPPET OK")
}

func snippet() {
{{SNIPPET}}
}
`,

	"docs/getting-started.md#0": "",
	"signalling/README.md#0":    "",
	"peer/README.md#0":          "",
	"media/README.md#0":         "",
	"testserver/README.md#0":    "",

	"docs/getting-started.md#1": `package main

import (
	"context"
	"fmt"
	"log"

	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

type backend struct{}

func (backend) MintToken(ctx context.Context) (string, error) {
	return testserver.DevTokenProvider(testserver.Claims{Sub: "doc-user"})(ctx)
}

var myBackend backend

func main() {
	srv, err := testserver.New(testserver.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	opts := {{SNIPPET}}
	opts.URL = srv.URL()
	c, err := signalling.New(opts)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Connect(context.Background()); err != nil {
		log.Fatal(err)
	}
	if c.PeerID() != "doc-user" {
		log.Fatalf("peer id %q", c.PeerID())
	}
	fmt.Println("SNIPPET OK")
}
`,

	"docs/getting-started.md#2": `package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/testserver"
)

func main() {
	dir, _ := os.MkdirTemp("", "snippet")
	defer os.RemoveAll(dir)
	os.Chdir(dir)
	if err := media.WriteTestClip("clip.webm", 3*time.Second); err != nil {
		log.Fatal(err)
	}
	srv, err := testserver.New(testserver.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Someone already in the lobby, to meet the snippet's peer.
	viewer, err := peer.New(peer.Options{URL: srv.URL(), APIKey: "pk_viewer"})
	if err != nil {
		log.Fatal(err)
	}
	defer viewer.Close("")
	peer.On(viewer, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(t peer.Track) { tracks <- t.Track.Kind().String() })
	})
	peer.On(viewer, func(d peer.Data) { hello <- string(d.Data) })
	if err := viewer.Join(ctx, "lobby"); err != nil {
		log.Fatal(err)
	}
	snippet(ctx, srv)
	fmt.Println("SNIPPET OK")
}

var tracks, hello = make(chan string, 4), make(chan string, 1)

// viewerGotAll waits, while the snippet's peer is still in the call, for
// its two tracks and its hello to reach the viewer.
func viewerGotAll(ctx context.Context) {
	got := map[string]bool{}
	for len(got) < 2 {
		select {
		case k := <-tracks:
			got[k] = true
		case <-ctx.Done():
			log.Fatalf("the viewer got tracks %v", got)
		}
	}
	select {
	case h := <-hello:
		fmt.Println("viewer heard", h)
	case <-ctx.Done():
		log.Fatal("no hello")
	}
}

func snippet(ctx context.Context, srv *testserver.Server) {
{{SNIPPET}}
	viewerGotAll(ctx)
}
`,

	"docs/concepts.md#0": `package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/testserver"
)

func main() {
	srv, err := testserver.New(testserver.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, _ := peer.New(peer.Options{URL: srv.URL(), APIKey: "pk_a"})
	defer p.Close("")
	other, _ := peer.New(peer.Options{URL: srv.URL(), APIKey: "pk_b"})
	defer other.Close("")
	got := make(chan peer.Data, 1)
	handle := func(d peer.Data) { got <- d }
	{{SNIPPET}}
	if err := p.Join(ctx, "c"); err != nil {
		log.Fatal(err)
	}
	if err := other.Join(ctx, "c"); err != nil {
		log.Fatal(err)
	}
	for len(other.RemotePeers()) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := other.Send(ctx, "slow work"); err != nil {
		log.Fatal(err)
	}
	select {
	case d := <-got:
		fmt.Println("handled", string(d.Data))
	case <-ctx.Done():
		log.Fatal("nothing handled")
	}
	fmt.Println("SNIPPET OK")
}
`,

	"docs/guides/camera-bridge.md#0": `package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"strings"
	"time"

	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/testserver"
)

// The camera's address becomes a closed port on this machine (this test
// reaches no other host): the snippet runs to FromRTSP's error, which
// must name the camera without its password. media's own tests bridge a
// real RTSP camera (an in-process server) end to end.
func main() {
	srv, err := testserver.New(testserver.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, _ := peer.New(peer.Options{URL: srv.URL(), APIKey: "pk_cam"})
	defer p.Close("")
	err = run(ctx, p)
	if err == nil || strings.Contains(err.Error(), "pass") {
		log.Fatalf("want FromRTSP's error without the password, got %v", err)
	}
	fmt.Println("refused as expected:", err)
	fmt.Println("SNIPPET OK")
}

func closedPort() string {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	return l.Addr().String()
}

func run(ctx context.Context, p *peer.MeteredPeer) error {
{{SNIPPET}}
	return nil
}
`,

	"docs/guides/whip-whep.md#0": `package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/bridge"
	"github.com/metered-ca/realtime-go/testserver"
)

// The endpoints come up in front of a room on a local server: a publisher
// without the stream key is refused, a player with its token gets the
// (empty) index; then the context ends and the server with it. The bridge's
// own tests and interop/whip_test.go publish and play through them.
func main() {
	srv, err := testserver.New(testserver.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, srv.URL(), "pk_whip", "stream-key", "viewer-token", ln) }()
	base := "http://" + ln.Addr().String()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Post(base+"/whip/cam", "application/sdp", strings.NewReader("v=0\r\n"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				log.Fatalf("a publisher without the key: %s", resp.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			log.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/whep/", nil)
	req.Header.Set("Authorization", "Bearer viewer-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		log.Fatalf("the index: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("serve: %v", err)
	}
	fmt.Println("SNIPPET OK")
}

func serve(ctx context.Context, url, key, streamKey, viewerToken string, ln net.Listener) error {
{{SNIPPET}}
}
`,

	"docs/guides/data-channels.md#0": `package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/testserver"
)

func main() {
	srv, err := testserver.New(testserver.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice, _ := peer.New(peer.Options{URL: srv.URL(), TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: "alice"})})
	defer alice.Close("")
	bob, _ := peer.New(peer.Options{URL: srv.URL(), TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: "bob"})})
	defer bob.Close("")
	// bob echoes what arrives on any channel alice opens.
	peer.On(bob, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(o peer.DataChannelOpened) {
			dc := peer.WrapDataChannel(o.Channel, peer.DataChannelOptions{})
			peer.On(dc, func(m peer.ChannelMessage) { _ = dc.SendText(ctx, "echo: "+string(m.Data)) })
		})
	})
	echoed := make(chan string, 1)
	handle := func(data []byte, isString bool) { echoed <- fmt.Sprint(string(data), " ", isString) }
	opened := make(chan *peer.RemotePeer, 1)
	peer.On(alice, func(ev peer.PeerJoined) { opened <- ev.Peer })
	if err := alice.Join(ctx, "dc"); err != nil {
		log.Fatal(err)
	}
	if err := bob.Join(ctx, "dc"); err != nil {
		log.Fatal(err)
	}
	if err := snippet(ctx, <-opened, handle); err != nil {
		log.Fatal(err)
	}
	select {
	case e := <-echoed:
		fmt.Println(e)
	case <-ctx.Done():
		log.Fatal("no echo")
	}
	fmt.Println("SNIPPET OK")
}

func snippet(ctx context.Context, remote *peer.RemotePeer, handle func([]byte, bool)) error {
{{SNIPPET}}
	return nil
}
`,

	"docs/guides/recorder.md#0": `package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/testserver"
)

func main() {
	dir, _ := os.MkdirTemp("", "snippet")
	defer os.RemoveAll(dir)
	os.Chdir(dir)
	if err := media.WriteTestClip("clip.webm", 2*time.Second); err != nil {
		log.Fatal(err)
	}
	srv, err := testserver.New(testserver.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, _ := peer.New(peer.Options{URL: srv.URL(), TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: "recorder"})})
	defer p.Close("")
	{{SNIPPET}}
	if err := p.Join(ctx, "rec"); err != nil {
		log.Fatal(err)
	}
	clip, err := media.FromFile("clip.webm")
	if err != nil {
		log.Fatal(err)
	}
	defer clip.Close()
	speaker, _ := peer.New(peer.Options{URL: srv.URL(), TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: "speaker"})})
	_ = speaker.AddStream(peer.NewMediaStream(clip.Video, clip.Audio), nil)
	if err := speaker.Join(ctx, "rec"); err != nil {
		log.Fatal(err)
	}
	clip.Start()
	<-clip.Done()
	time.Sleep(500 * time.Millisecond)
	speaker.Close("") // the tracks end: the recorder finalises its file
	for {
		if info, err := os.Stat("speaker.mkv"); err == nil && info.Size() > 10_000 {
			info2, _ := media.Probe("speaker.mkv")
			if info2 != nil && len(info2.Streams) == 2 {
				fmt.Println("recorded:", info2)
				break
			}
		}
		select {
		case <-ctx.Done():
			log.Fatal("no recording")
		case <-time.After(100 * time.Millisecond):
		}
	}
	fmt.Println("SNIPPET OK")
}
`,

	// The 40-line agent, run against a local server, with a person who
	// asks a question and hears the answer.
	"docs/guides/voice-agent.md#0": `package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/agent"
	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/testserver"
)

func main() {
	srv, err := testserver.New(testserver.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	os.Setenv("METERED_API_KEY", "pk_agent")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	actx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- snippet(actx, srv.URL(), "call") }()

	person, _ := peer.New(peer.Options{URL: srv.URL(), APIKey: "pk_person"})
	defer person.Close("")
	mic, _ := media.NewAudioSource(media.AudioFormat{SampleRate: 16000, Channels: 1})
	defer mic.Close()
	_ = person.AddTrack(mic, nil, nil)
	answered := make(chan struct{})
	peer.On(person, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(t peer.Track) {
			if t.Track.Kind() != webrtc.RTPCodecTypeAudio {
				return
			}
			go func() {
				for f, err := range media.Frames(ctx, t.Track) {
					if err != nil {
						return
					}
					if agent.LevelDB(f.PCM) > -30 {
						close(answered)
						return
					}
				}
			}()
		})
	})
	if err := person.Join(ctx, "call"); err != nil {
		log.Fatal(err)
	}
	<-mic.Bound()
	time.Sleep(time.Second) // both ways up
	pcm, _, err := media.Speak(ctx, "What time is it.", media.SpeakOptions{})
	if err != nil {
		log.Fatal(err)
	}
	_ = mic.Push(ctx, agent.PCMBytes(pcm))
	select {
	case <-answered:
	case <-ctx.Done():
		log.Fatal("no answer")
	}
	stop()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	fmt.Println("SNIPPET OK")
}

{{SNIPPET}}
`,

	// Hosted engines: the adapters compile against the interfaces.
	"docs/guides/voice-agent.md#1": `package main

import (
	"context"
	"fmt"
	"os"

	"github.com/metered-ca/realtime-go/agent"
	"github.com/metered-ca/realtime-go/media"
)

{{SNIPPET}}

func main() {
	var a agent.Agent
	configure(&a)
	stt, _ := a.NewSTT()
	got, _ := stt.End()
	pcm, f, _ := a.TTS.Speak(context.Background(), "hi")
	if len(got) != 1 || !got[0].Final || len(pcm) == 0 || f.SampleRate != 24000 || a.LLM == nil {
		os.Exit(1)
	}
	fmt.Println("SNIPPET OK")
}
`,

	"docs/guides/voice-agent.md#2": `package main

import (
	"context"
	"fmt"
	"log"
	"math"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/testserver"
)

// sttStub counts what speech-to-text would hear.
type sttStub struct{ samples atomic.Int64 }

func (s *sttStub) Write(pcm []int16) { s.samples.Add(int64(len(pcm))) }

func main() {
	srv, err := testserver.New(testserver.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	agent, _ := peer.New(peer.Options{URL: srv.URL(), APIKey: "pk_agent"})
	defer agent.Close("")
	stt := &sttStub{}
	if err := snippet(ctx, agent, stt); err != nil {
		log.Fatal(err)
	}
	if err := agent.Join(ctx, "call"); err != nil {
		log.Fatal(err)
	}
	// A person who speaks: a 440 Hz tone.
	person, _ := peer.New(peer.Options{URL: srv.URL(), APIKey: "pk_person"})
	defer person.Close("")
	mic, _ := media.NewAudioSource(media.AudioFormat{SampleRate: 16000, Channels: 1}, media.WithStartOnBind())
	defer mic.Close()
	_ = person.AddTrack(mic, nil, nil)
	if err := person.Join(ctx, "call"); err != nil {
		log.Fatal(err)
	}
	pcm := make([]byte, 2*16000)
	for i := 0; i < 16000; i++ {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/16000))
		pcm[2*i], pcm[2*i+1] = byte(v), byte(v>>8)
	}
	_ = mic.Push(ctx, pcm)
	for stt.samples.Load() < 48000 { // half a second of 48 kHz stereo
		select {
		case <-ctx.Done():
			log.Fatalf("speech-to-text heard %d samples", stt.samples.Load())
		case <-time.After(50 * time.Millisecond):
		}
	}
	fmt.Println("heard", stt.samples.Load(), "samples")
	fmt.Println("SNIPPET OK")
}

var _ = webrtc.RTPCodecTypeAudio

func snippet(ctx context.Context, agent *peer.MeteredPeer, stt *sttStub) error {
{{SNIPPET}}
	return nil
}
`,
}
