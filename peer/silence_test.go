package peer

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const silentChild = "REALTIME_GO_SILENT_CHILD"

// TestNilLoggerIsSilent: with Options.Logger nil, nothing of the peer's or
// of pion's reaches stderr, however a call ends. pion's components log to
// stderr unless each is given a logger factory, and loggers are made when
// a component is, so the calls run in a process of their own whose stderr
// is read whole.
func TestNilLoggerIsSilent(t *testing.T) {
	if os.Getenv(silentChild) == "1" {
		silentCalls(t)
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestNilLoggerIsSilent$", "-test.count=1")
	cmd.Env = append(os.Environ(), silentChild+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "the calls: %s%s", stdout.String(), stderr.String())
	assert.Empty(t, stderr.String(), "written to stderr")
}

// silentCalls runs calls with audio and video both ways, ended in turn by
// either side while media flows, the first with its transport gone
// under it.
func silentCalls(t *testing.T) {
	srv := newServer(t)
	for round := range 4 {
		alice, bob := newPeer(t, srv, fmt.Sprint("alice", round)), newPeer(t, srv, fmt.Sprint("bob", round))
		for _, p := range []*MeteredPeer{alice, bob} {
			require.NoError(t, p.AddStream(NewMediaStream(audioTrack(t, "mic", "s"), flowingVideo(t)), StreamMetadata{"label": "cam"}))
		}
		ctx := ctxT(t, 30*time.Second)
		room := fmt.Sprint("quiet", round)
		require.NoError(t, alice.Join(ctx, room))
		require.NoError(t, bob.Join(ctx, room))
		connected(t, alice, 1)
		time.Sleep(500 * time.Millisecond)
		if round == 0 {
			// The transport goes while the interceptors still run: each
			// one's next write fails, which pion logs.
			require.NoError(t, alice.RemotePeers()[0].PC().SCTP().Transport().ICETransport().Stop())
			time.Sleep(1500 * time.Millisecond)
		}
		first, second := alice, bob
		if round%2 == 1 {
			first, second = bob, alice
		}
		require.NoError(t, first.Close("bye"))
		time.Sleep(200 * time.Millisecond)
		require.NoError(t, second.Close("bye"))
	}
}

// flowingVideo is a VP8 track written 30 times a second until the test
// ends (the payload is not a picture; the transport does not care).
func flowingVideo(t *testing.T) *webrtc.TrackLocalStaticSample {
	t.Helper()
	tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "s")
	require.NoError(t, err)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(33 * time.Millisecond)
		defer tick.Stop()
		frame := make([]byte, 3000)
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			_ = tr.WriteSample(media.Sample{Data: frame, Duration: 33 * time.Millisecond})
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return tr
}

// heardLogs is a pion LoggerFactory that keeps what each scope logged.
type heardLogs struct {
	mu    sync.Mutex
	lines map[string][]string
}

func (h *heardLogs) NewLogger(scope string) logging.LeveledLogger {
	return heardLogger{h: h, scope: scope}
}

func (h *heardLogs) said(scope string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.lines[scope]...)
}

type heardLogger struct {
	h     *heardLogs
	scope string
}

func (l heardLogger) add(format string, args ...any) {
	l.h.mu.Lock()
	defer l.h.mu.Unlock()
	if l.h.lines == nil {
		l.h.lines = map[string][]string{}
	}
	l.h.lines[l.scope] = append(l.h.lines[l.scope], fmt.Sprintf(format, args...))
}

func (l heardLogger) Trace(msg string)                  { l.add("%s", msg) }
func (l heardLogger) Tracef(format string, args ...any) { l.add(format, args...) }
func (l heardLogger) Debug(msg string)                  { l.add("%s", msg) }
func (l heardLogger) Debugf(format string, args ...any) { l.add(format, args...) }
func (l heardLogger) Info(msg string)                   { l.add("%s", msg) }
func (l heardLogger) Infof(format string, args ...any)  { l.add(format, args...) }
func (l heardLogger) Warn(msg string)                   { l.add("%s", msg) }
func (l heardLogger) Warnf(format string, args ...any)  { l.add(format, args...) }
func (l heardLogger) Error(msg string)                  { l.add("%s", msg) }
func (l heardLogger) Errorf(format string, args ...any) { l.add(format, args...) }

// TestInterceptorsLogThroughTheFactory: the interceptors that report a
// failed RTCP write (a transport closed under them: the stderr line users
// saw with a nil Logger) log through the API's factory, not pion's default.
func TestInterceptorsLogThroughTheFactory(t *testing.T) {
	t.Parallel()
	heard := &heardLogs{}
	media := &webrtc.MediaEngine{}
	require.NoError(t, media.RegisterDefaultCodecs())
	reg, err := newInterceptors(media, heard, Bandwidth{}.withDefaults(), &meters{})
	require.NoError(t, err)
	i, err := reg.Build("pc")
	require.NoError(t, err)
	defer i.Close()
	i.BindRTCPWriter(interceptor.RTCPWriterFunc(func([]rtcp.Packet, interceptor.Attributes) (int, error) {
		return 0, io.ErrClosedPipe
	}))
	info := &interceptor.StreamInfo{
		SSRC: 5, ClockRate: 90000, MimeType: webrtc.MimeTypeVP8,
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 3}},
	}
	var seq uint16
	reader := i.BindRemoteStream(info, interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		seq++
		h := rtp.Header{Version: 2, SSRC: 5, PayloadType: 96, SequenceNumber: seq, Timestamp: 3000 * uint32(seq)}
		ext, err := (&rtp.TransportCCExtension{TransportSequence: seq}).Marshal()
		if err != nil {
			return 0, nil, err
		}
		if err := h.SetExtension(3, ext); err != nil {
			return 0, nil, err
		}
		n, err := (&rtp.Packet{Header: h, Payload: make([]byte, 100)}).MarshalTo(b)
		return n, a, err
	}))
	buf := make([]byte, 1500)
	for range 20 {
		_, _, err := reader.Read(buf, nil)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		return len(heard.said("twcc_sender_interceptor")) > 0 && len(heard.said("receiver_interceptor")) > 0
	}, 10*time.Second, 10*time.Millisecond, "the feedback and report writers' failures were heard")
	assert.Contains(t, heard.said("twcc_sender_interceptor")[0], io.ErrClosedPipe.Error())
}
