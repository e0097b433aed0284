package av

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/asticode/go-astiav"
)

// StreamInfo describes one stream of an input.
type StreamInfo struct {
	Index                int
	Codec                Codec
	Audio                bool
	SampleRate, Channels int
	Width, Height        int
	Extradata            []byte
	Duration             time.Duration
}

// InputOptions opens an input.
type InputOptions struct {
	// Format forces an input format (a demuxer or a libavdevice name such
	// as "v4l2", "alsa", "x11grab"); empty probes.
	Format string
	// Options are FFmpeg format options ("rtsp_transport": "tcp", …).
	Options map[string]string
	// Protocols is FFmpeg's protocol_whitelist ("file", "rtsp,rtp,udp,tcp");
	// empty leaves FFmpeg's default, which opens anything it knows.
	Protocols string
	// Cancel, when closed, aborts a blocked open or read (a live input that
	// stalls): they return an error.
	Cancel <-chan struct{}
}

// Demuxer reads compressed packets from a file, stream or device.
type Demuxer struct {
	fc      *astiav.FormatContext
	pkt     *astiav.Packet
	reader  *packetReader // reads into pkt
	streams []StreamInfo
	tbs     []astiav.Rational
	annexB  map[int]*astiav.BitStreamFilterContext
	pending []Packet
	watch   chan struct{} // closed by Close: ends the Cancel watcher
	intr    *interrupter  // nil without InputOptions.Cancel
	wg      sync.WaitGroup
}

var registerDevices sync.Once

// OpenInput opens url for reading.
func OpenInput(url string, o InputOptions) (*Demuxer, error) {
	registerDevices.Do(astiav.RegisterAllDevices)
	fc := astiav.AllocFormatContext()
	if fc == nil {
		return nil, errors.New("av: cannot allocate an input")
	}
	var inFormat *astiav.InputFormat
	if o.Format != "" {
		if inFormat = astiav.FindInputFormat(o.Format); inFormat == nil {
			fc.Free()
			return nil, fmt.Errorf("av: no %q input format in this FFmpeg", o.Format)
		}
	}
	watch := make(chan struct{})
	var wg sync.WaitGroup
	var intr *interrupter
	if o.Cancel != nil {
		intr = newInterrupter(fc)
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-o.Cancel:
				intr.interrupt()
			case <-watch:
			}
		}()
	}
	stopWatch := func() { close(watch); wg.Wait() }
	opts := astiav.NewDictionary()
	defer opts.Free()
	for k, v := range o.Options {
		_ = opts.Set(k, v, 0)
	}
	if o.Protocols != "" {
		_ = opts.Set("protocol_whitelist", o.Protocols, 0)
	}
	if err := fc.OpenInput(url, inFormat, opts); err != nil {
		stopWatch()
		fc.Free() // FFmpeg freed the context and astiav cleared its pointer: this is a no-op
		if intr != nil {
			intr.free()
		}
		return nil, fmt.Errorf("av: opening input: %w", err)
	}
	live.Add(1)
	pkt := astiav.AllocPacket()
	d := &Demuxer{fc: fc, pkt: pkt, reader: newPacketReader(fc, pkt), annexB: map[int]*astiav.BitStreamFilterContext{}, watch: watch, intr: intr}
	d.wg.Add(1)
	go func() { defer d.wg.Done(); wg.Wait() }()
	if err := fc.FindStreamInfo(nil); err != nil {
		d.Close()
		return nil, fmt.Errorf("av: reading stream info: %w", err)
	}
	for _, st := range fc.Streams() {
		cp := st.CodecParameters()
		info := StreamInfo{Index: st.Index(), Codec: codecOf(cp.CodecID()), Extradata: append([]byte(nil), cp.ExtraData()...)}
		switch cp.MediaType() {
		case astiav.MediaTypeAudio:
			info.Audio, info.SampleRate, info.Channels = true, cp.SampleRate(), channelCount(cp.ChannelLayout())
		case astiav.MediaTypeVideo:
			info.Width, info.Height = cp.Width(), cp.Height()
		default:
			info.Codec = CodecUnknown
		}
		if dur := st.Duration(); dur > 0 {
			info.Duration = time.Duration(astiav.RescaleQ(dur, st.TimeBase(), micro)) * time.Microsecond
		}
		d.streams = append(d.streams, info)
		d.tbs = append(d.tbs, st.TimeBase())
	}
	return d, nil
}

// Streams describes the input's streams.
func (d *Demuxer) Streams() []StreamInfo { return d.streams }

// Duration is the input's duration when known.
func (d *Demuxer) Duration() time.Duration {
	if v := d.fc.Duration(); v > 0 {
		return time.Duration(v) * time.Microsecond // AV_TIME_BASE
	}
	return 0
}

// Time converts a timestamp of stream i to a duration.
func (d *Demuxer) Time(i int, ts int64) time.Duration {
	return time.Duration(astiav.RescaleQ(ts, d.tbs[i], micro)) * time.Microsecond
}

// AnnexB makes Read return H.264 stream i in Annex B form (start codes,
// parameter sets in band), as WebRTC carries it.
func (d *Demuxer) AnnexB(i int) error {
	f := astiav.FindBitStreamFilterByName("h264_mp4toannexb")
	if f == nil {
		return errors.New("av: no h264_mp4toannexb filter in this FFmpeg")
	}
	bsf, err := astiav.AllocBitStreamFilterContext(f)
	if err != nil {
		return err
	}
	if err := d.fc.Streams()[i].CodecParameters().Copy(bsf.InputCodecParameters()); err != nil {
		bsf.Free()
		return err
	}
	bsf.SetInputTimeBase(d.tbs[i])
	if err := bsf.Initialize(); err != nil {
		bsf.Free()
		return err
	}
	d.annexB[i] = bsf
	return nil
}

// Read returns the next packet; io.EOF at the end. The packet's Data is
// valid until the next Read, Rewind or Close: a caller that keeps it
// copies it.
func (d *Demuxer) Read() (Packet, error) {
	for {
		if len(d.pending) > 0 {
			p := d.pending[0]
			d.pending = d.pending[1:]
			return p, nil
		}
		p, err := d.reader.read()
		if err != nil {
			if errors.Is(err, astiav.ErrEof) {
				return Packet{}, io.EOF
			}
			return Packet{}, fmt.Errorf("av: reading: %w", err)
		}
		i := p.Stream
		if i >= len(d.streams) || d.streams[i].Codec == CodecUnknown {
			continue
		}
		bsf := d.annexB[i]
		if bsf == nil {
			return p, nil
		}
		if err := bsf.SendPacket(d.pkt); err != nil {
			return Packet{}, err
		}
		for {
			d.pkt.Unref()
			if err := bsf.ReceivePacket(d.pkt); err != nil {
				break
			}
			d.pkt.SetStreamIndex(i)
			f := d.pkt // a copy of each payload: several wait in pending
			d.pending = append(d.pending, Packet{Data: f.Data(), PTS: f.Pts(), DTS: f.Dts(), Duration: f.Duration(),
				Key: f.Flags().Has(astiav.PacketFlagKey), Stream: i})
		}
	}
}

// Rewind goes back to the start (for looping).
func (d *Demuxer) Rewind() error {
	d.pending = nil
	for i := range d.streams {
		if d.streams[i].Codec != CodecUnknown {
			return d.fc.SeekFrame(i, 0, astiav.NewSeekFlags(astiav.SeekFlagBackward))
		}
	}
	return nil
}

// NewDecoder opens a decoder for stream i.
func (d *Demuxer) NewDecoder(i int) (*Decoder, error) {
	return newDecoderFromParams(d.fc.Streams()[i].CodecParameters())
}

// Close frees the input.
func (d *Demuxer) Close() {
	if d.fc == nil {
		return
	}
	close(d.watch)
	d.wg.Wait()
	for _, b := range d.annexB {
		b.Free()
	}
	d.pkt.Free()
	d.fc.CloseInput()
	d.fc.Free()
	d.fc = nil
	if d.intr != nil {
		d.intr.free()
	}
	live.Add(-1)
}
