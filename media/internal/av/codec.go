package av

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// Codec names the codecs realtime-go moves between WebRTC and files.
type Codec int

// The codecs.
const (
	CodecUnknown Codec = iota
	CodecOpus
	CodecVP8
	CodecVP9
	CodecH264
	CodecAAC
	CodecOther
)

func (c Codec) String() string {
	switch c {
	case CodecOpus:
		return "opus"
	case CodecVP8:
		return "vp8"
	case CodecVP9:
		return "vp9"
	case CodecH264:
		return "h264"
	case CodecAAC:
		return "aac"
	case CodecOther:
		return "other"
	}
	return "unknown"
}

func (c Codec) id() astiav.CodecID {
	switch c {
	case CodecOpus:
		return astiav.CodecIDOpus
	case CodecVP8:
		return astiav.CodecIDVp8
	case CodecVP9:
		return astiav.CodecIDVp9
	case CodecH264:
		return astiav.CodecIDH264
	case CodecAAC:
		return astiav.CodecIDAac
	}
	return astiav.CodecIDNone
}

func codecOf(id astiav.CodecID) Codec {
	switch id {
	case astiav.CodecIDOpus:
		return CodecOpus
	case astiav.CodecIDVp8:
		return CodecVP8
	case astiav.CodecIDVp9:
		return CodecVP9
	case astiav.CodecIDH264:
		return CodecH264
	case astiav.CodecIDAac:
		return CodecAAC
	}
	return CodecOther
}

// NoTimestamp is a packet time the input did not give.
const NoTimestamp = astiav.NoPtsValue

// Packet is one compressed frame.
type Packet struct {
	Data     []byte // from Demuxer.Read: lent until the next Read; an encoder's: the caller's
	PTS, DTS int64  // in the stream's time base
	Duration int64
	Key      bool
	Stream   int
}

// Frame is one decoded frame: copied out of FFmpeg (Decode), or borrowed
// for the length of a callback (DecodeBorrowed).
type Frame struct {
	PTS int64
	// Audio: interleaved signed 16-bit samples.
	PCM                  []int16
	SampleRate, Channels int
	// Video: I420 planes.
	Width, Height             int
	Y, U, V                   []byte
	StrideY, StrideU, StrideV int

	pic *astiav.Frame // a borrowed I420 picture, for an encoder to reference
}

// channelLayout is mono for one channel, else stereo: the two layouts
// Opus and this package's streams use.
func channelLayout(channels int) astiav.ChannelLayout {
	if channels == 1 {
		return astiav.ChannelLayoutMono
	}
	return astiav.ChannelLayoutStereo
}

// Decoder turns packets of one codec into frames.
type Decoder struct {
	cc    *astiav.CodecContext
	pkt   *astiav.Packet
	frame *astiav.Frame
	scale *astiav.SoftwareScaleContext
	i420  *astiav.Frame
	pcm   []int16 // a borrowed audio frame's samples, reused
	audio Frame   // a borrowed audio frame, reused
}

// NewDecoder opens a decoder for codec c; extradata may be nil. Opus is
// decoded to 48 kHz stereo.
func NewDecoder(c Codec, extradata []byte) (*Decoder, error) {
	return newDecoder(c, extradata, 2)
}

// NewMonoDecoder is NewDecoder for Opus decoded to one channel.
func NewMonoDecoder(c Codec) (*Decoder, error) { return newDecoder(c, nil, 1) }

func newDecoder(c Codec, extradata []byte, opusChannels int) (*Decoder, error) {
	// For Opus this is FFmpeg's own decoder, not libopus's: half the CPU
	// here (36 against 78 µs a 20 ms stereo frame, with the conversion to
	// 16-bit), and nothing it lacks is used (in-band FEC, concealment).
	codec := astiav.FindDecoder(c.id())
	if codec == nil {
		return nil, fmt.Errorf("av: no %s decoder in this FFmpeg", c)
	}
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return nil, errors.New("av: cannot allocate a decoder")
	}
	if c == CodecOpus {
		cc.SetSampleRate(48000)
		cc.SetChannelLayout(channelLayout(opusChannels))
	}
	if len(extradata) > 0 {
		if err := cc.SetExtraData(extradata); err != nil {
			cc.Free()
			return nil, err
		}
	}
	if err := cc.Open(codec, nil); err != nil {
		cc.Free()
		return nil, fmt.Errorf("av: opening the %s decoder: %w", c, err)
	}
	live.Add(1)
	return &Decoder{cc: cc, pkt: astiav.AllocPacket(), frame: astiav.AllocFrame()}, nil
}

// NewDecoderFrom opens a decoder for a demuxed stream.
func newDecoderFromParams(cp *astiav.CodecParameters) (*Decoder, error) {
	codec := astiav.FindDecoder(cp.CodecID())
	if codec == nil {
		return nil, fmt.Errorf("av: no decoder for %s", cp.CodecID())
	}
	cc := astiav.AllocCodecContext(codec)
	if err := cp.ToCodecContext(cc); err != nil {
		cc.Free()
		return nil, err
	}
	if err := cc.Open(codec, nil); err != nil {
		cc.Free()
		return nil, fmt.Errorf("av: opening the %s decoder: %w", cp.CodecID(), err)
	}
	live.Add(1)
	return &Decoder{cc: cc, pkt: astiav.AllocPacket(), frame: astiav.AllocFrame()}, nil
}

// Decode feeds one packet (nil data flushes) and passes every frame it
// yields to emit. A packet the decoder rejects returns its error; the
// decoder stays usable.
func (d *Decoder) Decode(data []byte, pts int64, emit func(*Frame)) error {
	return d.decode(data, pts, false, emit)
}

// DecodeBorrowed is Decode without copying pictures out of FFmpeg: each
// frame, its planes and samples included, is valid only until emit
// returns, and an Encoder given it references the picture instead of
// copying it (at 1080p, two 3 MB copies and a 3 MB allocation less per
// frame). Audio samples land in one buffer the decoder reuses.
func (d *Decoder) DecodeBorrowed(data []byte, pts int64, emit func(*Frame)) error {
	return d.decode(data, pts, true, emit)
}

func (d *Decoder) decode(data []byte, pts int64, borrow bool, emit func(*Frame)) error {
	d.pkt.Unref()
	if data != nil {
		if err := d.pkt.FromData(data); err != nil {
			return err
		}
		d.pkt.SetPts(pts)
		if err := d.cc.SendPacket(d.pkt); err != nil && !errors.Is(err, astiav.ErrEagain) {
			return fmt.Errorf("av: decoding: %w", err)
		}
	} else if err := d.cc.SendPacket(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
		return err
	}
	for {
		if err := d.cc.ReceiveFrame(d.frame); err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return nil
			}
			return fmt.Errorf("av: decoding: %w", err)
		}
		f, err := d.frameOf(d.frame, borrow)
		if err == nil {
			emit(f)
		}
		d.frame.Unref()
		if err != nil {
			return err
		}
	}
}

func (d *Decoder) frameOf(src *astiav.Frame, borrow bool) (*Frame, error) {
	if d.cc.MediaType() == astiav.MediaTypeAudio {
		if !borrow {
			return audioFrame(&Frame{}, src, nil)
		}
		f, err := audioFrame(&d.audio, src, d.pcm)
		if err == nil {
			d.pcm = f.PCM
		}
		return f, err
	}
	return d.videoFrame(src, borrow)
}

// audioFrame copies any s16/flt layout, packed or planar, to interleaved
// s16, into buf when it is large enough, and describes it in out.
func audioFrame(out *Frame, src *astiav.Frame, buf []int16) (*Frame, error) {
	n, ch := src.NbSamples(), channelCount(src.ChannelLayout())
	if ch < 1 {
		return nil, errors.New("av: audio frame without channels")
	}
	if cap(buf) < n*ch {
		buf = make([]int16, n*ch)
	}
	*out = Frame{PTS: src.Pts(), SampleRate: src.SampleRate(), Channels: ch, PCM: buf[:n*ch]}
	switch src.SampleFormat() {
	case astiav.SampleFormatS16:
		b := plane(src, 0, n*ch*2)
		for i := range out.PCM {
			out.PCM[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
		}
	case astiav.SampleFormatS16P:
		for c := 0; c < ch; c++ {
			b := plane(src, c, n*2)
			for i := 0; i < n; i++ {
				out.PCM[i*ch+c] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
			}
		}
	case astiav.SampleFormatFlt:
		for i, v := range floats(plane(src, 0, n*ch*4)) {
			out.PCM[i] = floatToS16(v)
		}
	case astiav.SampleFormatFltp: // FFmpeg's Opus decoder
		if ch == 2 {
			l, r := floats(plane(src, 0, n*4)), floats(plane(src, 1, n*4))
			for i := range n {
				out.PCM[2*i], out.PCM[2*i+1] = floatToS16(l[i]), floatToS16(r[i])
			}
			break
		}
		for c := 0; c < ch; c++ {
			for i, v := range floats(plane(src, c, n*4)) {
				out.PCM[i*ch+c] = floatToS16(v)
			}
		}
	default:
		return nil, fmt.Errorf("av: unsupported sample format %s", src.SampleFormat())
	}
	return out, nil
}

// floats reads FFmpeg's samples in place: its buffers are aligned, and
// the byte order is the machine's.
func floats(b []byte) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

// floatToS16 scales, clamps and rounds half up (shifted to be positive,
// where a conversion's truncation is the floor): no branch on the sign.
func floatToS16(v float32) int16 {
	v = max(-32768, min(32767, v*32767))
	if v != v { // NaN
		return 0
	}
	return int16(int32(v+32768.5) - 32768)
}

// videoFrame copies (or borrows) a picture as I420, converting other
// layouts.
func (d *Decoder) videoFrame(src *astiav.Frame, borrow bool) (*Frame, error) {
	pic := src
	if src.PixelFormat() != astiav.PixelFormatYuv420P {
		if d.scale == nil || d.scale.SourceWidth() != src.Width() || d.scale.SourceHeight() != src.Height() || d.scale.SourcePixelFormat() != src.PixelFormat() {
			d.freeScale()
			s, err := astiav.CreateSoftwareScaleContext(src.Width(), src.Height(), src.PixelFormat(), src.Width(), src.Height(), astiav.PixelFormatYuv420P, astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBilinear))
			if err != nil {
				return nil, fmt.Errorf("av: converting %s: %w", src.PixelFormat(), err)
			}
			d.scale, d.i420 = s, astiav.AllocFrame()
		}
		d.i420.Unref()
		if err := d.scale.ScaleFrame(src, d.i420); err != nil {
			return nil, err
		}
		pic = d.i420
	}
	w, h := pic.Width(), pic.Height()
	ch := (h + 1) / 2
	out := &Frame{PTS: src.Pts(), Width: w, Height: h, StrideY: linesize(pic, 0), StrideU: linesize(pic, 1), StrideV: linesize(pic, 2)}
	if borrow {
		out.Y, out.U, out.V = plane(pic, 0, out.StrideY*h), plane(pic, 1, out.StrideU*ch), plane(pic, 2, out.StrideV*ch)
		out.pic = pic
		return out, nil
	}
	out.Y = append([]byte(nil), plane(pic, 0, out.StrideY*h)...)
	out.U = append([]byte(nil), plane(pic, 1, out.StrideU*ch)...)
	out.V = append([]byte(nil), plane(pic, 2, out.StrideV*ch)...)
	return out, nil
}

func (d *Decoder) freeScale() {
	if d.scale != nil {
		d.scale.Free()
		d.i420.Free()
		d.scale, d.i420 = nil, nil
	}
}

// Close frees the decoder.
func (d *Decoder) Close() {
	if d == nil || d.cc == nil {
		return
	}
	d.freeScale()
	d.frame.Free()
	d.pkt.Free()
	d.cc.Free()
	d.cc = nil
	live.Add(-1)
}
