package av

import (
	"errors"
	"fmt"
	"strconv"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// Encoder turns frames into packets of one codec.
type Encoder struct {
	cc       *astiav.CodecContext
	frame    *astiav.Frame
	pkt      *astiav.Packet
	channels int
	bitrate  int
	inPlace  bool // the last SetBitrate kept the stream
	// open makes the same encoder at another bitrate (SetBitrate).
	open func(bitrate int) (*Encoder, error)
	// video is what a video encoder was opened with (Resize, Size).
	video *VideoEncoderOptions
}

// Bitrate is the bitrate the encoder runs at, in bits per second.
func (e *Encoder) Bitrate() int { return e.bitrate }

// InPlace tells whether the last SetBitrate changed the rate without a
// new stream.
func (e *Encoder) InPlace() bool { return e.inPlace }

// SetBitrate changes the encoder's rate to bps. A video encoder takes it
// in place, its stream going on with no keyframe (ratecontrol.go); Opus is
// re-opened (FFmpeg's libopus wrapper reads the rate only when it opens),
// starting again with its few milliseconds of look-ahead. InPlace tells
// which happened last. On failure the encoder is left as it was.
func (e *Encoder) SetBitrate(bps int) error {
	if bps == e.bitrate {
		return nil
	}
	if e.cc.MediaType() == astiav.MediaTypeVideo && e.setRateInPlace(max(bps, MinVideoBitrate)) {
		e.bitrate, e.inPlace = max(bps, MinVideoBitrate), true
		return nil
	}
	e.inPlace = false
	n, err := e.open(bps)
	if err != nil {
		return err
	}
	e.replace(n)
	return nil
}

// Size is the picture size a video encoder takes.
func (e *Encoder) Size() (width, height int) { return e.video.Width, e.video.Height }

// Resize opens the video encoder again for w×h pictures at its current
// rate: a new size is a new stream, which starts with a keyframe. On
// failure the encoder is left as it was.
func (e *Encoder) Resize(w, h int) error {
	o := *e.video
	o.Width, o.Height, o.Bitrate = w, h, e.bitrate
	n, err := NewVideoEncoder(o)
	if err != nil {
		return err
	}
	e.replace(n)
	return nil
}

// replace makes e the encoder n and closes the one e was.
func (e *Encoder) replace(n *Encoder) {
	old := *e
	*e = *n
	old.Close()
}

// opusComplexity is libwebrtc's on desktops (5 on phones); libopus's own
// default, 10, costs about a tenth more for no audible gain in speech.
const opusComplexity = 9

// OpusSettings opens an Opus encoder.
type OpusSettings struct {
	Channels int // 1 or 2
	Bitrate  int
	// LowDelay is libopus's restricted low-delay application, CELT only,
	// where the default is its VoIP application (a browser's microphone):
	// 40 % of the CPU and 4 ms less delay, no SILK (so no in-band FEC).
	LowDelay bool
}

// NewOpusEncoder opens libopus for interleaved s16 input at 48 kHz.
func NewOpusEncoder(s OpusSettings) (*Encoder, error) {
	e, err := openOpus(s)
	if err != nil {
		return nil, err
	}
	e.open = func(bps int) (*Encoder, error) {
		s.Bitrate = bps
		return NewOpusEncoder(s)
	}
	return e, nil
}

func openOpus(s OpusSettings) (*Encoder, error) {
	codec := astiav.FindEncoderByName("libopus")
	if codec == nil {
		return nil, errors.New("av: this FFmpeg has no libopus encoder")
	}
	cc := astiav.AllocCodecContext(codec)
	cc.SetSampleRate(48000)
	cc.SetSampleFormat(astiav.SampleFormatS16)
	layout := channelLayout(s.Channels)
	cc.SetChannelLayout(layout)
	cc.SetBitRate(int64(s.Bitrate))
	cc.SetTimeBase(astiav.NewRational(1, 48000))
	opts := astiav.NewDictionary()
	defer opts.Free()
	application := "voip"
	if s.LowDelay {
		application = "lowdelay"
	}
	_ = opts.Set("application", application, 0)
	_ = opts.Set("frame_duration", "20", 0)
	_ = opts.Set("compression_level", strconv.Itoa(opusComplexity), 0)
	if err := cc.Open(codec, opts); err != nil {
		cc.Free()
		return nil, fmt.Errorf("av: opening libopus: %w", err)
	}
	live.Add(1)
	return &Encoder{cc: cc, frame: astiav.AllocFrame(), pkt: astiav.AllocPacket(), channels: channelCount(layout), bitrate: s.Bitrate}, nil
}

// MinVideoBitrate is the lowest rate a video encoder is opened at.
const MinVideoBitrate = 50_000

// keyframeInterval is the most frames between two keyframes, as
// libwebrtc's encoders run (3000): a keyframe comes when a receiver asks
// for one. A keyframe is up to nine frames' worth of bytes at once, and
// the delay detector reads each as congestion on a thin link: with one
// every 2 s the estimate was cut every 2 s, under a 400 kb/s cap to
// 0.69-0.85× the cap, with 14-39 frames dropped at Chromium; on request,
// 0.96-1.12× and 0-7 (docs/guides/networks.md).
const keyframeInterval = 3000

// VideoEncoderOptions sets up a video encoder.
type VideoEncoderOptions struct {
	Codec         Codec // CodecVP8 or CodecH264
	Width, Height int
	FPS           int
	Bitrate       int
}

// NewVideoEncoder opens a real-time VP8 (libvpx) or H.264 (libx264,
// constrained baseline: no B-frames) encoder for I420 input.
func NewVideoEncoder(o VideoEncoderOptions) (*Encoder, error) {
	e, err := openVideo(o)
	if err != nil {
		return nil, err
	}
	e.video = &o
	e.open = func(bps int) (*Encoder, error) {
		o := o
		o.Bitrate = bps
		return NewVideoEncoder(o)
	}
	return e, nil
}

func openVideo(o VideoEncoderOptions) (*Encoder, error) {
	name := map[Codec]string{CodecVP8: "libvpx", CodecH264: "libx264"}[o.Codec]
	codec := astiav.FindEncoderByName(name)
	if codec == nil {
		return nil, fmt.Errorf("av: this FFmpeg has no %s encoder", o.Codec)
	}
	if o.FPS <= 0 {
		o.FPS = 30
	}
	cc := astiav.AllocCodecContext(codec)
	cc.SetWidth(o.Width)
	cc.SetHeight(o.Height)
	cc.SetPixelFormat(astiav.PixelFormatYuv420P)
	cc.SetTimeBase(astiav.NewRational(1, 90000))
	cc.SetFramerate(astiav.NewRational(o.FPS, 1))
	setFrameTicks(cc, 90000/o.FPS)
	cc.SetGopSize(keyframeInterval)
	bitrate := max(o.Bitrate, MinVideoBitrate)
	cc.SetBitRate(int64(bitrate))
	opts := astiav.NewDictionary()
	defer opts.Free()
	// Constant bitrate with a one-second buffer, as a browser's encoder
	// runs: what it sends must fit the link the estimate describes, not
	// average out over a file.
	rate := strconv.Itoa(bitrate)
	_ = opts.Set("maxrate", rate, 0)
	_ = opts.Set("bufsize", rate, 0)
	if o.Codec == CodecH264 {
		_ = opts.Set("preset", "ultrafast", 0)
		_ = opts.Set("tune", "zerolatency", 0)
		_ = opts.Set("profile", "baseline", 0)
		_ = opts.Set("x264-params", "repeat-headers=1", 0) // parameter sets before every keyframe
	} else {
		_ = opts.Set("deadline", "realtime", 0)
		_ = opts.Set("cpu-used", "8", 0)
		_ = opts.Set("lag-in-frames", "0", 0)
		_ = opts.Set("minrate", rate, 0) // with maxrate: libvpx's CBR mode
		// WebRTC's rate-control settings: drop frames rather than overshoot
		// the buffer, keep keyframes within 9 frames' worth of rate, and
		// undershoot freely on easy pictures.
		_ = opts.Set("drop-threshold", "30", 0)
		_ = opts.Set("max-intra-rate", "900", 0)
		_ = opts.Set("undershoot-pct", "100", 0)
		_ = opts.Set("overshoot-pct", "15", 0)
	}
	if err := cc.Open(codec, opts); err != nil {
		cc.Free()
		return nil, fmt.Errorf("av: opening %s: %w", name, err)
	}
	live.Add(1)
	return &Encoder{cc: cc, frame: astiav.AllocFrame(), pkt: astiav.AllocPacket(), bitrate: bitrate}, nil
}

// FrameSize is the number of samples per channel each audio frame must
// hold (960: 20 ms at 48 kHz).
func (e *Encoder) FrameSize() int { return e.cc.FrameSize() }

// EncodeAudio encodes one frame of FrameSize interleaved samples per channel.
func (e *Encoder) EncodeAudio(pcm []int16, pts int64, emit func(Packet)) error {
	n := len(pcm) / e.channels
	e.frame.Unref()
	e.frame.SetNbSamples(n)
	e.frame.SetSampleFormat(astiav.SampleFormatS16)
	e.frame.SetChannelLayout(e.cc.ChannelLayout())
	e.frame.SetSampleRate(48000)
	if err := e.frame.AllocBuffer(0); err != nil {
		return err
	}
	if n > 0 {
		copy(plane(e.frame, 0, len(pcm)*2), unsafe.Slice((*byte)(unsafe.Pointer(&pcm[0])), len(pcm)*2))
	}
	e.frame.SetPts(pts)
	return e.send(e.frame, emit)
}

// EncodeVideo encodes one I420 picture; key asks for a keyframe.
func (e *Encoder) EncodeVideo(f *Frame, pts int64, key bool, emit func(Packet)) error {
	e.frame.Unref()
	if f.pic != nil { // borrowed from a decoder: reference its buffers
		if err := e.frame.Ref(f.pic); err != nil {
			return err
		}
	} else {
		e.frame.SetWidth(f.Width)
		e.frame.SetHeight(f.Height)
		e.frame.SetPixelFormat(astiav.PixelFormatYuv420P)
		if err := e.frame.AllocBuffer(0); err != nil {
			return err
		}
		ch := (f.Height + 1) / 2
		copyPlane(plane(e.frame, 0, linesize(e.frame, 0)*f.Height), linesize(e.frame, 0), f.Y, f.StrideY, f.Width, f.Height)
		copyPlane(plane(e.frame, 1, linesize(e.frame, 1)*ch), linesize(e.frame, 1), f.U, f.StrideU, (f.Width+1)/2, ch)
		copyPlane(plane(e.frame, 2, linesize(e.frame, 2)*ch), linesize(e.frame, 2), f.V, f.StrideV, (f.Width+1)/2, ch)
	}
	e.frame.SetPts(pts)
	e.frame.SetKeyFrame(key)
	if key {
		e.frame.SetPictureType(astiav.PictureTypeI)
	} else {
		e.frame.SetPictureType(astiav.PictureTypeNone)
	}
	return e.send(e.frame, emit)
}

func copyPlane(dst []byte, dstStride int, src []byte, srcStride, width, rows int) {
	for r := 0; r < rows; r++ {
		if (r+1)*srcStride > len(src)+srcStride-width || r*dstStride+width > len(dst) {
			return
		}
		copy(dst[r*dstStride:r*dstStride+width], src[r*srcStride:r*srcStride+width])
	}
}

// Flush drains the encoder at the end of input.
func (e *Encoder) Flush(emit func(Packet)) error { return e.send(nil, emit) }

func (e *Encoder) send(f *astiav.Frame, emit func(Packet)) error {
	if err := e.cc.SendFrame(f); err != nil && !errors.Is(err, astiav.ErrEof) {
		return fmt.Errorf("av: encoding: %w", err)
	}
	for {
		e.pkt.Unref()
		if err := e.cc.ReceivePacket(e.pkt); err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return nil
			}
			return fmt.Errorf("av: encoding: %w", err)
		}
		// Data is astiav's own copy (GoBytes): not copied again.
		emit(Packet{Data: e.pkt.Data(), PTS: e.pkt.Pts(), DTS: e.pkt.Dts(), Duration: e.pkt.Duration(), Key: e.pkt.Flags().Has(astiav.PacketFlagKey)})
	}
}

// Close frees the encoder.
func (e *Encoder) Close() {
	if e == nil || e.cc == nil {
		return
	}
	e.frame.Free()
	e.pkt.Free()
	e.cc.Free()
	e.cc = nil
	live.Add(-1)
}
