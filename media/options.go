package media

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/media/internal/av"
)

// Option adjusts a constructor of this package. Each option says which
// constructors read it; the others ignore it.
type Option func(*options)

type options struct {
	trackID, streamID string
	queue             time.Duration
	bitrate           int
	pc                *webrtc.PeerConnection
	loop              bool
	videoCodec        VideoCodec
	protocols         string
	transport         string
	reconnect         []time.Duration
	device            string
	width, height     int
	fps               int
	audioSystem       string
	deviceOpts        map[string]string
}

func collect(opts []Option) options {
	o := options{queue: 300 * time.Millisecond, transport: "tcp",
		reconnect: []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// WithTrackID sets the id of the tracks a source makes (its msid track id;
// a random one by default). AudioSource, FromFile, FromRTSP, devices.
func WithTrackID(id string) Option { return func(o *options) { o.trackID = id } }

// WithStreamID sets the msid stream id of the tracks a source makes.
func WithStreamID(id string) Option { return func(o *options) { o.streamID = id } }

// WithQueue bounds how much audio AudioSource.Push may queue ahead of real
// time before it blocks (300 ms by default).
func WithQueue(d time.Duration) Option { return func(o *options) { o.queue = d } }

// WithBitrate sets the encoder bitrate in bits per second where this
// package encodes.
func WithBitrate(bps int) Option { return func(o *options) { o.bitrate = bps } }

// WithKeyframeRequests lets Frames ask the sender for a keyframe (RTCP PLI)
// through pc when it starts and after a loss.
func WithKeyframeRequests(pc *webrtc.PeerConnection) Option {
	return func(o *options) { o.pc = pc }
}

func randomID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func (o *options) ids(kind string) (string, string) {
	track, stream := o.trackID, o.streamID
	if track == "" {
		track = randomID(kind + "-")
	}
	if stream == "" {
		stream = randomID("stream-")
	}
	return track, stream
}

// VideoCodec is the codec a transcoding source encodes video to.
type VideoCodec int

// Video codecs for WithVideoCodec.
const (
	VP8 VideoCodec = iota
	H264
)

// WithLoop makes FromFile start over at the end instead of ending.
func WithLoop(loop bool) Option { return func(o *options) { o.loop = loop } }

// WithVideoCodec chooses what FromFile and the device sources encode video
// to when the input is not already a WebRTC codec (VP8 by default).
func WithVideoCodec(c VideoCodec) Option { return func(o *options) { o.videoCodec = c } }

// WithProtocols replaces the FFmpeg protocols a source may open (its
// protocol_whitelist). By default FromFile opens only "file" and FromRTSP
// only "rtsp,rtp,udp,tcp": FFmpeg follows references inside media (HLS
// playlists, concat lists, redirects), so opening more lets a crafted file
// read other local files or reach internal hosts (SSRF). Widen it only for
// inputs you trust.
func WithProtocols(list string) Option { return func(o *options) { o.protocols = list } }

// WithTransport chooses RTSP's transport for FromRTSP: "tcp" (the default;
// RTP interleaved on the RTSP connection, through firewalls) or "udp".
func WithTransport(t string) Option { return func(o *options) { o.transport = t } }

// WithReconnect sets how a live source (FromRTSP, devices) is opened again
// after it drops: one attempt after each delay, in order (by default 0.5 s,
// 1 s, 2 s, 4 s, 8 s). When all fail the player stops with ErrSourceLost.
// No delays: never reconnect.
func WithReconnect(delays ...time.Duration) Option {
	return func(o *options) { o.reconnect = delays }
}

// SetFFmpegLogger sends FFmpeg's own warnings and errors to l, with
// credentials in URLs masked; nil (the default) drops them. Failures always
// reach callers as returned errors.
func SetFFmpegLogger(l *slog.Logger) { av.SetLogger(l) }
