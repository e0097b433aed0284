package peer

import (
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
