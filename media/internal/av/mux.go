package av

import (
	"errors"
	"fmt"
	"time"

	"github.com/asticode/go-astiav"
)

// StreamSpec describes one stream of a file being written.
type StreamSpec struct {
	Codec                Codec
	SampleRate, Channels int // audio
	Width, Height        int // video
	Extradata            []byte
}

// Muxer writes compressed packets to a file without re-encoding.
type Muxer struct {
	fc      *astiav.FormatContext
	io      *astiav.IOContext
	pkt     *astiav.Packet
	streams []*astiav.Stream
	closed  bool
}

var micro = astiav.NewRational(1, 1_000_000)

// CreateMuxer creates path in container format (an FFmpeg muxer name:
// "webm", "matroska", "ogg") with one stream per spec, and writes its header.
func CreateMuxer(path, format string, specs []StreamSpec) (*Muxer, error) {
	of := astiav.FindOutputFormat(format)
	if of == nil {
		return nil, fmt.Errorf("av: no %q muxer in this FFmpeg", format)
	}
	fc, err := astiav.AllocOutputFormatContext(of, "", path)
	if err != nil {
		return nil, fmt.Errorf("av: creating %s output: %w", format, err)
	}
	live.Add(1)
	m := &Muxer{fc: fc, pkt: astiav.AllocPacket()}
	for _, sp := range specs {
		st := fc.NewStream(nil)
		if st == nil {
			m.free()
			return nil, errors.New("av: cannot add a stream")
		}
		cp := st.CodecParameters()
		cp.SetCodecID(sp.Codec.id())
		if sp.SampleRate > 0 {
			cp.SetMediaType(astiav.MediaTypeAudio)
			cp.SetSampleRate(sp.SampleRate)
			cp.SetChannelLayout(channelLayout(sp.Channels))
		} else {
			cp.SetMediaType(astiav.MediaTypeVideo)
			cp.SetWidth(sp.Width)
			cp.SetHeight(sp.Height)
			cp.SetPixelFormat(astiav.PixelFormatYuv420P)
		}
		if len(sp.Extradata) > 0 {
			if err := cp.SetExtraData(sp.Extradata); err != nil {
				m.free()
				return nil, err
			}
		}
		st.SetTimeBase(micro)
		m.streams = append(m.streams, st)
	}
	if m.io, err = openIOWrite(path); err != nil {
		m.free()
		return nil, fmt.Errorf("av: opening %s: %w", path, err)
	}
	fc.SetPb(m.io)
	if err := fc.WriteHeader(nil); err != nil {
		m.free()
		return nil, fmt.Errorf("av: writing the %s header: %w", format, err)
	}
	return m, nil
}

// Write adds one packet of stream i at media time pts.
func (m *Muxer) Write(i int, data []byte, pts time.Duration, key bool) error {
	if m.closed {
		return errors.New("av: muxer closed")
	}
	m.pkt.Unref()
	if err := m.pkt.FromData(data); err != nil {
		return err
	}
	tb := m.streams[i].TimeBase()
	ts := astiav.RescaleQ(pts.Microseconds(), micro, tb)
	m.pkt.SetPts(ts)
	m.pkt.SetDts(ts)
	m.pkt.SetStreamIndex(i)
	if key {
		m.pkt.SetFlags(astiav.NewPacketFlags(astiav.PacketFlagKey))
	}
	if err := m.fc.WriteInterleavedFrame(m.pkt); err != nil {
		return fmt.Errorf("av: writing a packet: %w", err)
	}
	return nil
}

// Close writes the trailer and closes the file; it is idempotent.
func (m *Muxer) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	err := m.fc.WriteTrailer()
	m.free()
	return err
}

func (m *Muxer) free() {
	if m.io != nil {
		_ = m.io.Close()
		m.io = nil
	}
	if m.pkt != nil {
		m.pkt.Free()
		m.pkt = nil
	}
	if m.fc != nil {
		m.fc.Free()
		m.fc = nil
		live.Add(-1)
	}
}

// OpusHead is the Ogg/Matroska codec header of a 48 kHz Opus stream
// (RFC 7845 §5.1): version 1, pre-skip 312, no gain, mapping family 0.
func OpusHead(channels int) []byte {
	return []byte{'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, byte(channels), 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0}
}
