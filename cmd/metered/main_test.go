package main

import (
	"context"
	"flag"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	toolkit "github.com/metered-ca/realtime-go/agent"
	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// buffer is a goroutine-safe output.
type buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func testEnv(stdin io.Reader) (*env, *buffer, *buffer) {
	out, errs := &buffer{}, &buffer{}
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	return &env{stdin: stdin, stdout: out, stderr: errs, getenv: func(string) string { return "" }}, out, errs
}

func newServer(t *testing.T) *testserver.Server {
	srv, err := testserver.New(testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// background runs a command until the test cancels it; wait returns its
// exit status.
func background(t *testing.T, e *env, args ...string) (cancel func(), wait func() int) {
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() { code <- run(ctx, e, args) }()
	t.Cleanup(cancel)
	return cancel, func() int {
		select {
		case c := <-code:
			return c
		case <-time.After(30 * time.Second):
			t.Fatal("the command did not stop")
			return -1
		}
	}
}

func TestUsageErrors(t *testing.T) {
	ctx := context.Background()
	e, _, errs := testEnv(nil)
	assert.Equal(t, 2, run(ctx, e, nil))
	assert.Contains(t, errs.String(), "usage: metered COMMAND")
	assert.Equal(t, 2, run(ctx, e, []string{"dance"}))
	assert.Contains(t, errs.String(), `unknown command "dance"`)
	assert.Equal(t, 2, run(ctx, e, []string{"chat"}))
	assert.Contains(t, errs.String(), "usage: metered chat CHANNEL")
	assert.Equal(t, 2, run(ctx, e, []string{"chat", "room"}))
	assert.Contains(t, errs.String(), "give -key, -token, or set METERED_API_KEY")
	assert.Equal(t, 1, run(ctx, e, []string{"bridge", "-key", "pk_x", "http://camera/stream", "room"}))
	assert.Contains(t, errs.String(), "not an rtsp:// URL")
	assert.Equal(t, 1, run(ctx, e, []string{"play", "-key", "pk_x", "/no/such/file.webm", "room"}))
	assert.Contains(t, errs.String(), "want 1 argument, got 0")
}

// Flags may follow the arguments, as users of other CLIs write them; "--"
// ends the flags.
func TestFlagsAfterArguments(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	key := fs.String("key", "", "")
	e, _, _ := testEnv(nil)
	pos, err := parse(fs, e, []string{"clip.webm", "room", "-key", "pk_x"}, 2)
	require.NoError(t, err)
	assert.Equal(t, []string{"clip.webm", "room"}, pos)
	assert.Equal(t, "pk_x", *key)
	pos, err = parse(fs, e, []string{"-key", "pk_y", "--", "-odd-name.webm", "room"}, 2)
	require.NoError(t, err)
	assert.Equal(t, []string{"-odd-name.webm", "room"}, pos)
	assert.Equal(t, "pk_y", *key)
	_, err = parse(fs, e, []string{"a", "b", "c"}, 2)
	assert.ErrorContains(t, err, "want 2 arguments, got 3")
}

func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	e, _, errs := testEnv(nil)
	cancel, wait := background(t, e, "serve", "-addr", addr)
	c, err := signalling.New(signalling.Options{URL: "ws://" + addr, APIKey: "pk_test"})
	require.NoError(t, err)
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	require.Eventually(t, func() bool { return c.Connect(ctx) == nil }, 5*time.Second, 50*time.Millisecond)
	require.NoError(t, c.Close())
	cancel()
	assert.Equal(t, 130, wait(), "stopped as by Ctrl-C: %s", errs.String())
	assert.Contains(t, errs.String(), "local RMS server on ws://"+addr)
}

func TestChat(t *testing.T) {
	srv := newServer(t)
	stdin, feed := io.Pipe()
	e, out, errs := testEnv(stdin)
	_, wait := background(t, e, "chat", "-url", srv.URL(), "-key", "pk_test", "room")

	ctx, stop := context.WithTimeout(context.Background(), 20*time.Second)
	defer stop()
	other, err := signalling.New(signalling.Options{URL: srv.URL(), APIKey: "pk_test"})
	require.NoError(t, err)
	defer other.Close()
	messages := make(chan signalling.Message, 4)
	directs := make(chan signalling.Direct, 4)
	signalling.On(other, func(m signalling.Message) { messages <- m })
	signalling.On(other, func(d signalling.Direct) { directs <- d })
	require.NoError(t, other.Connect(ctx))
	require.NoError(t, other.Subscribe(ctx, "room"))

	require.Eventually(t, func() bool { return strings.Contains(out.String(), "+ "+other.PeerID()+" joined") }, 10*time.Second, 20*time.Millisecond, errs.String())
	require.NoError(t, other.Publish(ctx, "room", map[string]string{"text": "hi from the other side"}))
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "> hi from the other side") }, 10*time.Second, 20*time.Millisecond)

	_, err = io.WriteString(feed, "hello room\n")
	require.NoError(t, err)
	select {
	case m := <-messages:
		assert.JSONEq(t, `{"text":"hello room"}`, string(m.Data))
	case <-ctx.Done():
		t.Fatal("the stdin line was not broadcast")
	}
	// Commands are commands: none of these reaches the room.
	for _, line := range []string{"/help", "/who", "/dm", "/dm " + other.PeerID()[:8], "/dance", "/dm zzz hello"} {
		_, err = io.WriteString(feed, line+"\n")
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return strings.Contains(errs.String(), `no peer in the channel has an id starting "zzz"`) }, 10*time.Second, 20*time.Millisecond, errs.String())
	assert.Contains(t, errs.String(), "/quit         leave")
	assert.Contains(t, errs.String(), "in room: "+other.PeerID())
	assert.Contains(t, errs.String(), "not sent: usage: /dm PEER text")
	assert.Contains(t, errs.String(), "not sent: unknown command /dance")
	// A unique start of the id is enough; //text is text.
	_, err = io.WriteString(feed, "/dm "+other.PeerID()[:8]+" just you\n//shrug\n")
	require.NoError(t, err)
	select {
	case d := <-directs:
		assert.JSONEq(t, `{"text":"just you"}`, string(d.Data))
	case <-ctx.Done():
		t.Fatal("/dm was not sent")
	}
	select {
	case m := <-messages:
		assert.JSONEq(t, `{"text":"/shrug"}`, string(m.Data), "the first message after hello room: no command reached the room")
	case <-ctx.Done():
		t.Fatal("//shrug was not sent")
	}
	_, err = io.WriteString(feed, "/quit\n")
	require.NoError(t, err)
	assert.Equal(t, 0, wait(), errs.String())
	require.NoError(t, feed.Close())
}

// TestChatInterruptedAndFailing: Ctrl-C exits 130, also while connecting;
// a connect that fails prints one error and nothing about a disconnection.
func TestChatInterruptedAndFailing(t *testing.T) {
	srv := newServer(t)
	stdin, feed := io.Pipe()
	defer feed.Close()
	e, _, errs := testEnv(stdin)
	cancel, wait := background(t, e, "chat", "-url", srv.URL(), "-key", "pk_test", "room")
	require.Eventually(t, func() bool { return strings.Contains(errs.String(), "joined room as") }, 10*time.Second, 20*time.Millisecond, errs.String())
	cancel()
	assert.Equal(t, 130, wait(), errs.String())

	// Ctrl-C while the server never answers the handshake.
	hole, err := testserver.NewBlackHole()
	require.NoError(t, err)
	defer hole.Close()
	e, _, errs = testEnv(nil)
	cancel, wait = background(t, e, "chat", "-url", hole.URL(), "-key", "pk_test", "room")
	require.Eventually(t, func() bool { return hole.Accepted() > 0 }, 10*time.Second, 10*time.Millisecond)
	start := time.Now()
	cancel()
	assert.Equal(t, 130, wait(), errs.String())
	assert.Less(t, time.Since(start), time.Second, "not the handshake timeout")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	refused := "ws://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	e, _, errs = testEnv(nil)
	assert.Equal(t, 1, run(context.Background(), e, []string{"chat", "-url", refused, "-key", "pk_test", "room"}))
	assert.Equal(t, 1, strings.Count(errs.String(), "\n"), "one line: %q", errs.String())
	assert.Contains(t, errs.String(), "metered chat: connecting to")
	assert.NotContains(t, errs.String(), "disconnected")
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "-version", "--version"} {
		e, out, _ := testEnv(nil)
		assert.Equal(t, 0, run(context.Background(), e, []string{arg}))
		assert.Regexp(t, `^metered (\(devel\)|v\d+\.\d+\.\d+\S*)\n$`, out.String())
	}
}

// peerLine is the line per peer that play, bridge, record and agent print
// while they run: path, round trip, rates, estimate, loss. On loopback the
// remote end is a host candidate, or peer-reflexive when the connectivity
// check came before the candidate did.
const peerLine = `(?m)^  \S+: host/udp(↔prflx)? rtt \d+(\.\d+)?[mµ]?s out \S+ in \S+ est \S+ loss \S+$`

// play sends a clip; record, in the same channel, writes it to a file that
// decodes.
func TestPlayAndRecord(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.webm")
	require.NoError(t, media.WriteTestClip(clip, 3*time.Second))

	re, rout, rerrs := testEnv(nil)
	re.progressEvery = 200 * time.Millisecond
	stopRecording, recorded := background(t, re, "record", "-url", srv.URL(), "-key", "pk_test", "room", filepath.Join(dir, "out"))
	require.Eventually(t, func() bool { return strings.Contains(rerrs.String(), "joined room") }, 10*time.Second, 20*time.Millisecond)

	pe, _, perrs := testEnv(nil)
	pe.progressEvery = 200 * time.Millisecond
	ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	assert.Equal(t, 0, run(ctx, pe, []string{"play", "-url", srv.URL(), "-key", "pk_test", clip, "room"}), perrs.String())
	assert.Regexp(t, peerLine, perrs.String())
	assert.Contains(t, perrs.String(), "\n+ ", "play saw the recorder")
	assert.NotContains(t, perrs.String(), " left", "play's own leaving is not the recorder leaving")
	time.Sleep(300 * time.Millisecond)
	stopRecording()
	assert.Equal(t, 130, recorded(), rerrs.String())
	assert.Contains(t, rerrs.String(), "recording ")
	assert.Regexp(t, peerLine, rerrs.String())
	assert.Regexp(t, `\.mkv: .*vp8 320x240 \(\d+ frames\)`, rout.String())
	assert.Regexp(t, `\.mkv: .*opus 48000 Hz 2 ch \(\d+ frames\)`, rout.String())
}

// A recording survives the server restarting mid-call: one file per peer,
// continued by the tracks of the connection made after the restart.
func TestRecordSurvivesAServerRestart(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	addr := srv.Addr()
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.webm")
	require.NoError(t, media.WriteTestClip(clip, 8*time.Second))
	token := func(sub string) string {
		tok, err := testserver.MintToken(testserver.DevKeyID, testserver.DevKeySecret, testserver.Claims{Sub: sub}, time.Hour)
		require.NoError(t, err)
		return tok
	}

	re, rout, rerrs := testEnv(nil)
	re.progressEvery = 200 * time.Millisecond
	stopRecording, recorded := background(t, re, "record", "-url", srv.URL(), "-token", token("recorder"), "room", filepath.Join(dir, "out"))
	require.Eventually(t, func() bool { return strings.Contains(rerrs.String(), "joined room") }, 10*time.Second, 20*time.Millisecond)
	pe, _, perrs := testEnv(nil)
	pe.progressEvery = 200 * time.Millisecond
	_, played := background(t, pe, "play", "-url", srv.URL(), "-token", token("player"), clip, "room")
	require.Eventually(t, func() bool { return strings.Contains(rerrs.String(), "recording player") }, 10*time.Second, 20*time.Millisecond)

	time.Sleep(2 * time.Second)
	require.NoError(t, srv.Close())
	restarted, err := testserver.New(testserver.Options{Addr: addr, RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = restarted.Close() })

	assert.Equal(t, 0, played(), perrs.String())
	time.Sleep(300 * time.Millisecond)
	stopRecording()
	assert.Equal(t, 130, recorded(), rerrs.String())
	assert.NotContains(t, rerrs.String(), "not recorded", "the new connection's tracks are taken")
	assert.Equal(t, 1, strings.Count(rerrs.String(), "recording player to "), "one file: %s", rerrs.String())
	files, err := filepath.Glob(filepath.Join(dir, "out", "player-*.mkv"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	info, err := media.Probe(files[0])
	require.NoError(t, err)
	t.Log(info)
	// The restart came 2 s into the 8 s clip: without the later tracks the
	// recording ends there.
	assert.Greater(t, info.Duration, 5*time.Second, "%s", info)
	assert.Regexp(t, `\.mkv: .*vp8 320x240`, rout.String())
}

// agentUser is the person who talks to the agent: a peer with a 16 kHz
// microphone of generated audio.
func agentUser(t *testing.T, srv *testserver.Server) (*peer.MeteredPeer, *media.AudioSource) {
	user, err := peer.New(peer.Options{URL: srv.URL(), APIKey: "pk_test"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = user.Close("") })
	mic, err := media.NewAudioSource(media.AudioFormat{SampleRate: 16000, Channels: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = mic.Close() })
	require.NoError(t, user.AddTrack(mic, nil, nil))
	return user, mic
}

// say has the user say text (offline speech, 16 kHz), then a second of
// silence.
func say(ctx context.Context, t *testing.T, mic *media.AudioSource, text string) {
	pcm, _, err := media.Speak(ctx, text, media.SpeakOptions{})
	require.NoError(t, err)
	require.NoError(t, mic.Push(ctx, toolkit.PCMBytes(pcm)))
	require.NoError(t, mic.Push(ctx, make([]byte, 2*16000)))
}

// audible signals once the user hears the agent.
func audible(ctx context.Context, user *peer.MeteredPeer) <-chan struct{} {
	heard := make(chan struct{})
	peer.On(user, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(tr peer.Track) {
			go func() {
				for f, err := range media.Frames(ctx, tr.Track) {
					if err != nil {
						return
					}
					if toolkit.LevelDB(f.PCM) > -30 {
						close(heard)
						return
					}
				}
			}()
		})
	})
	return heard
}

// With no flags the agent runs offline: it recognises the question,
// answers from its script, and says where the reply's time went.
func TestAgentAnswers(t *testing.T) {
	srv := newServer(t)
	e, _, errs := testEnv(nil)
	e.progressEvery = 200 * time.Millisecond
	_, _ = background(t, e, "agent", "-url", srv.URL(), "-key", "pk_test", "call")

	ctx, stop := context.WithTimeout(context.Background(), 40*time.Second)
	defer stop()
	user, mic := agentUser(t, srv)
	heard := audible(ctx, user)
	require.NoError(t, user.Join(ctx, "call"))
	require.Eventually(t, func() bool { return len(user.RemotePeers()) == 1 }, 10*time.Second, 20*time.Millisecond)
	time.Sleep(time.Second) // connected and listening
	say(ctx, t, mic, "What is your name.")
	select {
	case <-heard:
	case <-ctx.Done():
		t.Fatal("the agent never answered; its log:\n" + errs.String())
	}
	require.Eventually(t, func() bool { return strings.Contains(errs.String(), "reply to ") }, 10*time.Second, 20*time.Millisecond, errs.String())
	assert.Contains(t, errs.String(), `said "what is your name"`)
	assert.Regexp(t, `reply to \S+: model's first token \S+, first sentence \S+, its audio \S+, first packet \S+`, errs.String())
	assert.Regexp(t, peerLine, errs.String())
	assert.Contains(t, errs.String(), "a scripted offline dialogue")
}

// The user speaks over the agent's answer: the agent stops talking and
// says how much of its answer went out.
func TestAgentStopsWhenSpokenOver(t *testing.T) {
	srv := newServer(t)
	e, _, errs := testEnv(nil)
	_, _ = background(t, e, "agent", "-url", srv.URL(), "-key", "pk_test", "call")

	ctx, stop := context.WithTimeout(context.Background(), 40*time.Second)
	defer stop()
	user, mic := agentUser(t, srv)
	answering := audible(ctx, user)
	require.NoError(t, user.Join(ctx, "call"))
	require.Eventually(t, func() bool { return len(user.RemotePeers()) == 1 }, 10*time.Second, 20*time.Millisecond)
	time.Sleep(time.Second)             // connected and listening
	say(ctx, t, mic, "Tell me a joke.") // a long answer
	select {
	case <-answering:
	case <-ctx.Done():
		t.Fatal("the agent never answered; its log:\n" + errs.String())
	}
	say(ctx, t, mic, "Stop talking please.") // the user cuts in
	require.Eventually(t, func() bool { return strings.Contains(errs.String(), "speaks: the agent stops talking") }, 10*time.Second, 20*time.Millisecond,
		"the agent talked on; its log:\n%s", errs.String())
	assert.Regexp(t, `the agent stops talking \((\d+(\.\d+)?m?s) of its answer went out\)`, errs.String())
}

// -h and --help answer on stdout with exit status 0, for the CLI and for
// each command; errors name what they are about.
func TestHelpAndErrorsNameTheirSubject(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}} {
		e, out, errs := testEnv(nil)
		assert.Equal(t, 0, run(ctx, e, args), args)
		assert.Contains(t, out.String(), "usage: metered COMMAND")
		assert.Empty(t, errs.String())
	}
	e, out, errs := testEnv(nil)
	assert.Equal(t, 0, run(ctx, e, []string{"play", "--help"}))
	assert.Contains(t, out.String(), "usage: metered play [flags] FILE CHANNEL")
	assert.Contains(t, out.String(), "-loop")
	assert.Contains(t, out.String(), "METERED_API_KEY")
	assert.Empty(t, errs.String())

	e, _, errs = testEnv(nil)
	assert.Equal(t, 1, run(ctx, e, []string{"play", "-key", "pk_x", "/no/such/file.webm", "room"}))
	assert.Contains(t, errs.String(), "/no/such/file.webm")
	e, _, errs = testEnv(nil)
	assert.Equal(t, 1, run(ctx, e, []string{"bridge", "-key", "pk_x", "rtsp://admin:hunter2@127.0.0.1:1/cam", "room"}))
	assert.Contains(t, errs.String(), "127.0.0.1:1/cam")
	assert.NotContains(t, errs.String(), "hunter2")
	e, _, errs = testEnv(nil)
	assert.Equal(t, 1, run(ctx, e, []string{"chat", "-url", "ws://127.0.0.1:1", "-key", "pk_x", "room"}))
	assert.Contains(t, errs.String(), "ws://127.0.0.1:1")
	assert.Contains(t, errs.String(), "connection refused")
}

// Client commands read METERED_URL and METERED_API_KEY, and progress is
// plain lines (no carriage returns) when stderr is not a terminal.
func TestEnvironmentAndPlainProgress(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.webm")
	require.NoError(t, media.WriteTestClip(clip, 2*time.Second))
	e, _, errs := testEnv(nil)
	e.getenv = func(k string) string {
		return map[string]string{"METERED_URL": srv.URL(), "METERED_API_KEY": "pk_env"}[k]
	}
	e.progressEvery = time.Millisecond
	ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	assert.Equal(t, 0, run(ctx, e, []string{"play", clip, "room"}), errs.String())
	assert.Contains(t, errs.String(), "playing clip.webm")
	assert.NotContains(t, errs.String(), "\r")
	assert.GreaterOrEqual(t, strings.Count(errs.String(), "playing clip.webm"), 1)
}
