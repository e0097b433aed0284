package media

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/media/internal/av"
)

// Each constructor takes options of its own type, and each With… function
// returns a type that only the constructors that read it accept: passing
// WithResumeWindow keeps a recording open for d once every track it
// records has ended, for tracks that continue them: after a signalling
// reconnect a MeteredPeer receives a surviving peer's media on new tracks,
// and a track added within d continues the ended track of its kind in the
// same file. Without it (d = 0) the file is finalised as soon as every
// track has ended. Close finalises it at once either way.
func WithResumeWindow(d time.Duration) RecorderOption {
	return opt(func(o *options) { o.resumeWindow = d })
}

// WithLoop to FromRTSP does not compile.
type (
	// FileOption tunes FromFile.
	FileOption interface{ applyFile(*options) }
	// RTSPOption tunes FromRTSP.
	RTSPOption interface{ applyRTSP(*options) }
	// VideoDeviceOption tunes FromCamera and ScreenShare.
	VideoDeviceOption interface{ applyVideoDevice(*options) }
	// MicrophoneOption tunes FromMicrophone.
	MicrophoneOption interface{ applyMicrophone(*options) }
	// AudioSourceOption tunes NewAudioSource.
	AudioSourceOption interface{ applyAudioSource(*options) }
	// FramesOption tunes Frames.
	FramesOption interface{ applyFrames(*options) }
	// RecorderOption tunes NewRecorder.
	RecorderOption interface{ applyRecorder(*options) }
)

// Options that several constructors read are of these types.
type (
	// SourceOption is read by every source: FromFile, FromRTSP, the device
	// sources and NewAudioSource.
	SourceOption interface {
		FileOption
		RTSPOption
		VideoDeviceOption
		MicrophoneOption
		AudioSourceOption
	}
	// AudioEncoderOption is read by every source that encodes Opus:
	// FromFile, FromRTSP, FromMicrophone and NewAudioSource.
	AudioEncoderOption interface {
		FileOption
		RTSPOption
		MicrophoneOption
		AudioSourceOption
	}
	// VideoEncoderOption is read by every source that encodes video:
	// FromFile, FromRTSP, FromCamera and ScreenShare.
	VideoEncoderOption interface {
		FileOption
		RTSPOption
		VideoDeviceOption
	}
	// InputOption is read by the sources that open a URL: FromFile and
	// FromRTSP.
	InputOption interface {
		FileOption
		RTSPOption
	}
	// LiveOption is read by the live sources: FromRTSP and the devices.
	LiveOption interface {
		RTSPOption
		VideoDeviceOption
		MicrophoneOption
	}
	// DeviceOption is read by every device source.
	DeviceOption interface {
		VideoDeviceOption
		MicrophoneOption
	}
	// KeyframeOption is read by Frames and NewRecorder.
	KeyframeOption interface {
		FramesOption
		RecorderOption
	}
)

// opt is one option; the set of constructors that accept it is the set of
// interfaces its With… function returns it as.
type opt func(*options)

func (f opt) applyFile(o *options)        { f(o) }
func (f opt) applyRTSP(o *options)        { f(o) }
func (f opt) applyVideoDevice(o *options) { f(o) }
func (f opt) applyMicrophone(o *options)  { f(o) }
func (f opt) applyAudioSource(o *options) { f(o) }
func (f opt) applyFrames(o *options)      { f(o) }
func (f opt) applyRecorder(o *options)    { f(o) }

type options struct {
	trackID, streamID string
	queue             time.Duration
	startOnBind       bool
	playout           func(time.Time, []int16)
	audioBitrate      int
	opusMode          OpusMode
	videoBitrate      int
	minAudioBitrate   int
	minVideoBitrate   int
	pc                *webrtc.PeerConnection
	monoAudio         bool
	loop              bool
	videoCodec        VideoCodec
	protocols         string
	transport         Transport
	reconnect         []time.Duration
	device            string
	width, height     int
	fps               int
	audioSystem       AudioSystem
	deviceOpts        map[string]string
	resumeWindow      time.Duration
}

func defaults() options {
	return options{queue: 300 * time.Millisecond, transport: TCP, audioSystem: Pulse,
		reconnect: []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}}
}

// collect applies opts, whatever their option type, over the defaults.
func collect[O any](opts []O, apply func(O, *options)) options {
	o := defaults()
	for _, f := range opts {
		apply(f, &o)
	}
	return o
}

// check refuses option values no encoder would take, with the limits in
// the message.
func (o *options) check() error {
	if o.audioBitrate != 0 && (o.audioBitrate < MinAudioBitrate || o.audioBitrate > MaxAudioBitrate) {
		return fmt.Errorf("media: audio bitrate %d b/s: Opus takes %d to %d", o.audioBitrate, MinAudioBitrate, MaxAudioBitrate)
	}
	if o.minAudioBitrate != 0 && (o.minAudioBitrate < MinAudioBitrate || o.minAudioBitrate > MaxAudioBitrate) {
		return fmt.Errorf("media: minimum audio bitrate %d b/s: Opus takes %d to %d", o.minAudioBitrate, MinAudioBitrate, MaxAudioBitrate)
	}
	if o.opusMode != OpusVoIP && o.opusMode != OpusLowDelay {
		return fmt.Errorf("media: Opus mode %d is neither OpusVoIP nor OpusLowDelay", o.opusMode)
	}
	if o.videoBitrate < 0 || o.minVideoBitrate < 0 {
		return fmt.Errorf("media: video bitrate %d b/s (minimum %d) is negative", o.videoBitrate, o.minVideoBitrate)
	}
	return nil
}

// Opus's bitrate range, for WithAudioBitrate.
const (
	MinAudioBitrate = 6_000
	MaxAudioBitrate = 510_000
)

// WithTrackID sets the id of the tracks a source makes (its msid track id;
// a random one by default). A player's video track gets the id with
// "-video" appended.
func WithTrackID(id string) SourceOption { return opt(func(o *options) { o.trackID = id }) }

// WithStreamID sets the msid stream id of the tracks a source makes.
func WithStreamID(id string) SourceOption { return opt(func(o *options) { o.streamID = id }) }

// WithQueue bounds how much audio AudioSource.Push may queue ahead of real
// time before it blocks (300 ms by default).
func WithQueue(d time.Duration) AudioSourceOption { return opt(func(o *options) { o.queue = d }) }

// WithStartOnBind holds an AudioSource's real-time clock until a peer
// connection binds its track (see AudioSource), so that what is pushed
// before anyone listens is queued, not played to nobody.
func WithStartOnBind() AudioSourceOption { return opt(func(o *options) { o.startOnBind = true }) }

// WithPlayout has an AudioSource tell f each 20 ms frame as it goes out:
// when, and its samples (48 kHz stereo, interleaved; silence included,
// paused or not). It is what the far end hears, to the sample and the
// moment: an echo canceller's reference. f runs on the source's real-time
// pacer and must return at once; pcm is reused after it returns.
func WithPlayout(f func(at time.Time, pcm []int16)) AudioSourceOption {
	return opt(func(o *options) { o.playout = f })
}

// WithAudioBitrate sets the Opus bitrate in bits per second where a source
// encodes audio (MinAudioBitrate to MaxAudioBitrate; by default 48 kb/s
// for AudioSource, 64 kb/s for transcoded files and devices). Sent through
// a MeteredPeer, the encoder starts there and follows the connections'
// bandwidth estimates beneath it, down to WithMinAudioBitrate.
// Track.FollowBitrate states the rule.
func WithAudioBitrate(bps int) AudioEncoderOption {
	return opt(func(o *options) { o.audioBitrate = bps })
}

// OpusMode is what an Opus encoder is tuned for (WithOpusMode).
type OpusMode int

// The Opus modes.
const (
	// OpusVoIP is libopus's VoIP application, the mode a browser sends a
	// microphone in: SILK for speech, CELT for music. The default.
	OpusVoIP OpusMode = iota
	// OpusLowDelay is libopus's restricted low-delay application, CELT
	// only: 40 % of the CPU (120 against 310 µs a 20 ms frame of speech,
	// `go test -bench OpusEncode` in media/internal/av), 4 ms less delay,
	// and no SILK, so no in-band FEC. Any Opus decoder plays it. For many
	// sources in one process, such as a fleet of voice agents.
	OpusLowDelay
)

// WithOpusMode sets what a source's Opus encoder is tuned for (OpusVoIP
// by default; agent.Voice takes OpusLowDelay).
func WithOpusMode(m OpusMode) AudioEncoderOption {
	return opt(func(o *options) { o.opusMode = m })
}

// WithVideoBitrate sets the video encoder's bitrate in bits per second
// where a source transcodes video. By default it scales with the picture:
// about 0.05 bit per pixel per frame, at least 100 kb/s and at most 4 Mb/s
// (about 115 kb/s at 320x240, 1.4 Mb/s at 720p, 3.1 Mb/s at 1080p, at 30
// fps). Sent through a MeteredPeer, the encoder starts there and follows
// the connections' bandwidth estimates beneath it, down to
// WithMinVideoBitrate.
func WithVideoBitrate(bps int) VideoEncoderOption {
	return opt(func(o *options) { o.videoBitrate = bps })
}

// WithMinVideoBitrate is the lowest rate bandwidth adaptation takes a
// video encoder to (100 kb/s by default, never above WithVideoBitrate's).
// Set it equal to WithVideoBitrate for a fixed rate.
func WithMinVideoBitrate(bps int) VideoEncoderOption {
	return opt(func(o *options) { o.minVideoBitrate = bps })
}

// WithMinAudioBitrate is the lowest rate bandwidth adaptation takes an
// Opus encoder to (16 kb/s by default, never above WithAudioBitrate's).
// Set it equal to WithAudioBitrate for a fixed rate.
func WithMinAudioBitrate(bps int) AudioEncoderOption {
	return opt(func(o *options) { o.minAudioBitrate = bps })
}

// audioRate and videoRate are the rate controls for an encoder whose
// starting (top) rate is hi.
func (o *options) audioRate(hi int) *rateControl {
	lo := o.minAudioBitrate
	if lo == 0 {
		lo = minAudioDefault
	}
	return newRateControl(lo, hi, audioShare)
}

func (o *options) videoRate(hi int) *rateControl {
	lo := o.minVideoBitrate
	if lo == 0 {
		lo = minVideoDefault
	}
	return newRateControl(lo, hi, videoShare)
}

// defaultVideoBitrate is WithVideoBitrate's default for a picture size.
func defaultVideoBitrate(width, height, fps int) int {
	if fps <= 0 {
		fps = 30
	}
	return min(max(width*height*fps/20, 100_000), 4_000_000)
}

// WithKeyframeRequests lets Frames (or a Recorder) ask the sender of a
// track that no MeteredPeer received (one of a bare pion connection) for a
// keyframe (RTCP PLI) through pc when it starts and after a loss. Tracks a
// MeteredPeer received need no option: they are asked over their own
// connection.
func WithKeyframeRequests(pc *webrtc.PeerConnection) KeyframeOption {
	return opt(func(o *options) { o.pc = pc })
}

// WithMonoAudio has Frames decode Opus to one channel instead of two
// (a stereo stream is mixed down by the decoder): for a listener that
// mixes down anyway, such as a voice agent's, a third less decoding (30
// against 45 µs a 20 ms frame on the benchmark machine) and half the
// samples.
func WithMonoAudio() FramesOption { return opt(func(o *options) { o.monoAudio = true }) }

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
func WithLoop(loop bool) FileOption { return opt(func(o *options) { o.loop = loop }) }

// WithVideoCodec chooses what a source encodes video to when the input is
// not already a WebRTC codec (VP8 by default).
func WithVideoCodec(c VideoCodec) VideoEncoderOption {
	return opt(func(o *options) { o.videoCodec = c })
}

// WithProtocols replaces the FFmpeg protocols a source may open (its
// protocol_whitelist). By default FromFile opens only "file" and FromRTSP
// only "rtsp,rtp,udp,tcp,tls": FFmpeg follows references inside media (HLS
// playlists, concat lists, redirects), so opening more lets a crafted file
// read other local files or reach internal hosts (SSRF). Widen it only for
// inputs you trust.
func WithProtocols(list string) InputOption { return opt(func(o *options) { o.protocols = list }) }

// Transport is how RTSP carries the media.
type Transport string

// RTSP transports for WithTransport.
const (
	// TCP interleaves RTP on the RTSP connection: through firewalls and NAT
	// (the default).
	TCP Transport = "tcp"
	// UDP sends RTP on UDP ports of its own: less delay on a clean LAN.
	UDP Transport = "udp"
)

// WithTransport chooses RTSP's transport for FromRTSP (TCP by default).
func WithTransport(t Transport) RTSPOption { return opt(func(o *options) { o.transport = t }) }

// WithReconnect sets how a live source (FromRTSP, devices) is opened again
// after it drops: one attempt after each delay, in order (by default 0.5 s,
// 1 s, 2 s, 4 s, 8 s). When all fail the player stops with ErrSourceLost.
// No delays: never reconnect.
func WithReconnect(delays ...time.Duration) LiveOption {
	return opt(func(o *options) { o.reconnect = delays })
}

// SetFFmpegLogger sends FFmpeg's own warnings and errors to l, with
// credentials in URLs masked; nil (the default) drops them. Failures always
// reach callers as returned errors.
func SetFFmpegLogger(l *slog.Logger) { av.SetLogger(l) }
