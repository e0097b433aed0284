package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/metered-ca/realtime-go/media/internal/av"
)

// Player plays a file or stream into WebRTC tracks in real time. Audio and
// Video are nil when the input has no such stream; add the others to a
// MeteredPeer, then Start. Streams already in a WebRTC codec (Opus, VP8,
// VP9, H.264 without B-frames) pass through untouched; others are
// transcoded (audio to Opus, video to VP8 or H.264, WithVideoCodec).
type Player struct {
	// Audio is the input's audio as an Opus track; nil when the input has
	// no audio stream this package can play. Pass it on as it is:
	// peer.NewMediaStream skips a nil track.
	Audio *Track
	// Video is the input's video track (VP8, VP9 or H.264); nil when the
	// input has no video.
	Video *Track

	demux *av.Demuxer
	loop  bool
	// A live input (RTSP, a device) is not paced by this side and is
	// opened again when it drops.
	live      bool
	url       string
	in        av.InputOptions
	cancelIn  chan struct{}
	reconnect []time.Duration
	speed     float64 // benchmarks: play this many times faster; 0 = real time
	audio     *playStream
	video     *playStream

	mu      sync.Mutex
	running bool
	runs    int
	closed  bool
	err     error
	cancel  context.CancelFunc
	done    chan struct{}
	wg      sync.WaitGroup
}

// playStream is one input stream and what turns its packets into samples.
type playStream struct {
	index       int
	info        av.StreamInfo
	track       *Track
	passthrough bool
	dec         *av.Decoder
	rs          *av.Resampler
	aenc        *av.Encoder
	venc        *av.Encoder
	degrade     degrader   // under a low rate: a smaller picture, then fewer frames
	scaler      *av.Scaler // made when the picture is first made smaller
	pcm         []int16    // 48 kHz stereo awaiting a whole Opus frame
	samples     int64      // Opus samples encoded: the encoder's clock
	lastPTS     time.Duration
	started     bool
	frameDur    time.Duration
	forceKey    atomic.Bool // a receiver asked for a keyframe
	vcount      int64
	paramSets   []byte       // the latest H.264 SPS and PPS, Annex B
	onSample    func([]byte) // tests: called for every sample written
	noteErr     func(error)  // Player.noteErr
}

// write sends one sample; a failure (a peer connection's transport gone,
// say) is noted for Err and playing goes on for the other peers.
func (s *playStream) write(sample pionmedia.Sample) {
	if s.onSample != nil {
		s.onSample(sample.Data)
	}
	if err := s.track.write(sample); err != nil {
		s.noteErr(fmt.Errorf("media: sending %s: %w", s.kind(), err))
	}
}

func (s *playStream) kind() string {
	if s.info.Audio {
		return "audio"
	}
	return "video"
}

// FromFile opens a media file (by default only local files: see
// WithProtocols) for playing. The tracks of one file share one stream id.
func FromFile(path string, opts ...FileOption) (*Player, error) {
	o := collect(opts, FileOption.applyFile)
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.protocols == "" {
		o.protocols = "file"
	}
	p, err := openPlayer(context.Background(), path, av.InputOptions{Protocols: o.protocols}, o, false)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, redactURL(path))
	}
	return p, nil
}

// openPlayer opens url; ending ctx aborts a blocked open (a camera that
// never answers).
func openPlayer(ctx context.Context, url string, in av.InputOptions, o options, live bool) (*Player, error) {
	// cancelIn aborts a blocked open or read: ctx closes it while opening,
	// Close afterwards.
	cancelIn := make(chan struct{})
	in.Cancel = cancelIn
	stop := context.AfterFunc(ctx, func() { close(cancelIn) })
	d, err := av.OpenInput(url, in)
	if !stop() { // ctx ended while opening
		if err == nil {
			d.Close()
		}
		return nil, fmt.Errorf("media: opening %s: %w", redactURL(url), ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	p := &Player{demux: d, loop: o.loop && !live, live: live, url: url, in: in, cancelIn: cancelIn, reconnect: o.reconnect, done: make(chan struct{})}
	_, streamID := o.ids("")
	for _, st := range d.Streams() {
		switch {
		case st.Codec == av.CodecUnknown:
		case st.Audio && p.audio == nil:
			p.audio, err = newAudioPlay(st, o, streamID)
		case !st.Audio && p.video == nil:
			p.video, err = newVideoPlay(d, st, o, streamID, live)
		}
		if err != nil {
			p.free()
			return nil, err
		}
	}
	if p.audio == nil && p.video == nil {
		p.free()
		return nil, fmt.Errorf("%w: no audio or video stream this package can play", ErrUnsupportedCodec)
	}
	for _, s := range []*playStream{p.audio, p.video} {
		if s != nil {
			s.noteErr = p.noteErr
		}
	}
	if p.audio != nil {
		p.Audio = p.audio.track
	}
	if p.video != nil {
		p.Video = p.video.track
		if p.video.passthrough && p.video.info.Codec == av.CodecH264 {
			if err := d.AnnexB(p.video.index); err != nil {
				p.free()
				return nil, err
			}
		}
		if !p.video.passthrough {
			if p.video.dec, err = d.NewDecoder(p.video.index); err != nil {
				p.free()
				return nil, err
			}
		}
	}
	if p.audio != nil && !p.audio.passthrough {
		if p.audio.dec, err = d.NewDecoder(p.audio.index); err != nil {
			p.free()
			return nil, err
		}
	}
	return p, nil
}

func newAudioPlay(st av.StreamInfo, o options, streamID string) (*playStream, error) {
	id := o.trackID
	if id == "" {
		id = randomID("audio-")
	}
	track, err := newTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, id, streamID)
	if err != nil {
		return nil, err
	}
	ps := &playStream{index: st.Index, info: st, track: track, passthrough: st.Codec == av.CodecOpus}
	if !ps.passthrough {
		bitrate := o.audioBitrate
		if bitrate == 0 {
			bitrate = 64000
		}
		if ps.aenc, err = av.NewOpusEncoder(av.OpusSettings{Channels: 2, Bitrate: bitrate, LowDelay: o.opusMode == OpusLowDelay}); err != nil {
			return nil, err
		}
		track.rate = o.audioRate(bitrate)
	}
	return ps, nil
}

func newVideoPlay(d *av.Demuxer, st av.StreamInfo, o options, streamID string, live bool) (*playStream, error) {
	// A live H.264 source (a camera) is taken to have no B-frames: it cannot
	// be read ahead and rewound to check.
	passthrough := st.Codec == av.CodecVP8 || st.Codec == av.CodecVP9 || st.Codec == av.CodecH264 && (live || !hasBFrames(d, st.Index))
	codec := st.Codec
	if !passthrough {
		codec = av.CodecVP8
		if o.videoCodec == H264 {
			codec = av.CodecH264
		}
	}
	mime := map[av.Codec]string{av.CodecVP8: webrtc.MimeTypeVP8, av.CodecVP9: webrtc.MimeTypeVP9, av.CodecH264: webrtc.MimeTypeH264}[codec]
	id := o.trackID
	if id == "" {
		id = randomID("video-")
	} else {
		id += "-video"
	}
	track, err := newTrack(webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000}, id, streamID)
	if err != nil {
		return nil, err
	}
	ps := &playStream{index: st.Index, info: st, track: track, passthrough: passthrough, frameDur: time.Second / 30,
		paramSets: h264ParameterSets(st.Extradata)}
	if !passthrough {
		track.setKeyframeHandler(func() { ps.forceKey.Store(true) })
		bitrate := o.videoBitrate
		if bitrate == 0 {
			bitrate = defaultVideoBitrate(st.Width, st.Height, 30)
		}
		if ps.venc, err = av.NewVideoEncoder(av.VideoEncoderOptions{Codec: codec, Width: st.Width, Height: st.Height, FPS: 30, Bitrate: bitrate}); err != nil {
			return nil, err
		}
		track.rate = o.videoRate(bitrate)
	}
	return ps, nil
}

// hasBFrames reads the first packets of stream i: a presentation time
// below an earlier one means frames are reordered (B-frames), which WebRTC
// receivers do not expect.
func hasBFrames(d *av.Demuxer, i int) bool {
	defer func() { _ = d.Rewind() }()
	var maxPTS int64 = -1 << 62
	for n := 0; n < 60; {
		p, err := d.Read()
		if err != nil {
			return false
		}
		if p.Stream != i {
			continue
		}
		n++
		if p.PTS < maxPTS {
			return true
		}
		maxPTS = max(maxPTS, p.PTS)
	}
	return false
}

// Start begins playing; the tracks may be bound before or after. After
// Stop, or the end of a file, Start plays a file again from its start.
func (p *Player) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return ErrEnded
	case p.running:
		return nil
	}
	if p.runs > 0 {
		if !p.live {
			if err := p.demux.Rewind(); err != nil {
				return fmt.Errorf("media: rewinding: %w", err)
			}
		}
		for _, s := range []*playStream{p.audio, p.video} {
			if s != nil {
				s.started = false
			}
		}
		p.done, p.err = make(chan struct{}), nil
	}
	p.runs++
	p.running = true
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go p.run(ctx, p.done)
	return nil
}

// Stop stops playing; Start plays again. A live source stops at its next
// packet.
func (p *Player) Stop() {
	p.mu.Lock()
	cancel := p.cancel
	p.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	p.wg.Wait()
}

// Done is closed when the current play stops: at the end of a file that
// does not loop, on an error (Err), on Stop or on Close.
func (p *Player) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Err is what stopped the player early or, when nothing did, the first
// failure met while playing that it went on after, degraded (a resampler
// or encoder that failed, a write to a peer connection). Nil when all went
// well. Start clears it.
func (p *Player) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Close stops playing and frees FFmpeg's state; it is idempotent.
func (p *Player) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	runs := p.runs
	p.mu.Unlock()
	close(p.cancelIn) // wakes a blocked read or reconnect
	p.Stop()
	if runs == 0 {
		close(p.done)
	}
	p.free()
	return nil
}

func (p *Player) free() {
	for _, s := range []*playStream{p.audio, p.video} {
		if s != nil {
			s.dec.Close()
			s.aenc.Close()
			s.venc.Close()
			s.scaler.Close()
			s.rs.Close()
		}
	}
	if p.demux != nil {
		p.demux.Close()
	}
}

func (p *Player) run(ctx context.Context, done chan struct{}) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		p.running = false
		p.mu.Unlock()
		close(done)
	}()
	start := time.Now()
	var offset, end time.Duration // loop offset; the latest media time played
	wait := time.NewTimer(0)
	defer wait.Stop()
	for {
		pkt, err := p.demux.Read()
		if ctx.Err() != nil {
			return
		}
		switch {
		case p.live && err != nil:
			// The camera dropped or stalled: open it again.
			if err = p.reopen(ctx, err); err != nil {
				p.fail(err)
				return
			}
			continue
		case errors.Is(err, io.EOF) && !p.loop:
			p.flush()
			return
		case errors.Is(err, io.EOF):
			if err = p.demux.Rewind(); err == nil {
				offset = end + 20*time.Millisecond
				for _, s := range []*playStream{p.audio, p.video} {
					if s != nil {
						s.started = false
					}
				}
				continue
			}
		}
		if err != nil {
			p.fail(err)
			return
		}
		s := p.streamOf(pkt.Stream)
		if s == nil {
			continue
		}
		at := offset + p.demux.Time(pkt.Stream, pkt.PTS)
		end = max(end, at)
		if !p.live { // a file plays at its own pace; a live input arrives at it
			due := at
			if !s.passthrough && pkt.DTS != av.NoTimestamp {
				// A decoder is fed in decoding order: by presentation time,
				// the packet after a keyframe (shown after the B-frames it
				// carries) would wait for its own showing, and every
				// picture would leave frames late.
				due = offset + p.demux.Time(pkt.Stream, pkt.DTS)
			}
			if p.speed > 0 {
				due = time.Duration(float64(due) / p.speed)
			}
			if d := time.Until(start.Add(due)); d > 0 { // behind: no round trip through a timer
				wait.Reset(d)
				select {
				case <-wait.C:
				case <-ctx.Done():
					return
				}
			} else if ctx.Err() != nil {
				return
			}
		}
		timeOf := func(ts int64) time.Duration { return offset + p.demux.Time(s.index, ts) }
		if err := s.play(pkt, at, timeOf); err != nil {
			p.fail(err)
			return
		}
	}
}

// ErrSourceLost: a live source dropped and could not be opened again.
var ErrSourceLost = errors.New("media: live source lost")

// reopen opens a live input again after it failed with cause, waiting
// between attempts (WithReconnect).
func (p *Player) reopen(ctx context.Context, cause error) error {
	p.demux.Close()
	p.demux = nil
	for i, delay := range p.reconnect {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
		d, err := av.OpenInput(p.url, p.in)
		if err == nil {
			p.demux = d
			return nil
		}
		cause = fmt.Errorf("attempt %d: %w", i+1, err)
	}
	return fmt.Errorf("%w after %d reconnect attempts: %w", ErrSourceLost, len(p.reconnect), cause)
}

func (p *Player) streamOf(i int) *playStream {
	for _, s := range []*playStream{p.audio, p.video} {
		if s != nil && s.index == i {
			return s
		}
	}
	return nil
}

// fail records what stopped the player; it wins over a noted failure.
func (p *Player) fail(err error) {
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
}

// noteErr keeps the first failure playing went on after.
func (p *Player) noteErr(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

// flush drains the transcoders at the end of the input.
func (p *Player) flush() {
	for _, s := range []*playStream{p.audio, p.video} {
		if s != nil && s.dec != nil {
			_ = s.decode(nil, 0, func(ts int64) time.Duration { return p.demux.Time(s.index, ts) })
		}
	}
}

// play sends one packet at media time at; timeOf converts the stream's
// timestamps to media time.
func (s *playStream) play(pkt av.Packet, at time.Duration, timeOf func(int64) time.Duration) error {
	if s.passthrough {
		dur := s.frameDur
		if s.info.Audio {
			dur = 20 * time.Millisecond
			if pkt.Duration > 0 { // in the stream's time base, which a container chooses
				dur = timeOf(pkt.Duration) - timeOf(0)
			}
		} else if s.started && at > s.lastPTS {
			dur = at - s.lastPTS
			s.frameDur = dur
		}
		s.started, s.lastPTS = true, at
		data := pkt.Data
		if s.info.Codec == av.CodecH264 {
			data = s.withParameterSets(data)
		}
		s.write(pionmedia.Sample{Data: data, Duration: dur})
		return nil
	}
	return s.decode(pkt.Data, pkt.PTS, timeOf)
}

// withParameterSets puts the latest SPS and PPS before a keyframe that
// lacks them (a camera often sends them once, in its SDP), so a receiver
// that joins late or lost packets can start decoding there.
//
// data is the demuxer's buffer, reused for the next packet; pion's H.264
// payloader keeps the SPS and PPS it is given, so a packet carrying either
// goes out as a copy.
func (s *playStream) withParameterSets(data []byte) []byte {
	var sps, pps, idr bool // one pass over the packet, every packet
	h264NALs(data, func(nal []byte) {
		if len(nal) > 0 {
			switch nal[0] & 0x1f {
			case 5:
				idr = true
			case 7:
				sps = true
			case 8:
				pps = true
			}
		}
	})
	switch {
	case sps && pps:
		s.paramSets = h264ParameterSets(data)
		return append([]byte(nil), data...)
	case idr && s.paramSets != nil:
		return append(append([]byte(nil), s.paramSets...), data...)
	case sps || pps:
		return append([]byte(nil), data...)
	}
	return data
}

// decode transcodes; frames come out in presentation order with their own
// timestamps, whatever order the packets went in.
func (s *playStream) decode(data []byte, pts int64, timeOf func(int64) time.Duration) error {
	return s.dec.DecodeBorrowed(data, pts, func(f *av.Frame) {
		if s.info.Audio {
			s.encodeAudio(f)
		} else {
			s.encodeVideo(f, timeOf(f.PTS))
		}
	})
}

func (s *playStream) encodeAudio(f *av.Frame) {
	if s.rs == nil {
		var err error
		if s.rs, err = av.NewResampler(f.SampleRate, f.Channels, 48000, 2); err != nil {
			s.noteErr(fmt.Errorf("media: resampling %d Hz %d-channel audio: %w", f.SampleRate, f.Channels, err))
			s.aenc.Close() // no audio from here on; a failed resampler is not retried for every frame
			s.aenc = nil
			return
		}
	}
	if s.aenc == nil {
		return
	}
	var err error
	if s.pcm, err = s.rs.Convert(s.pcm, f.PCM); err != nil {
		s.noteErr(fmt.Errorf("media: resampling audio: %w", err))
		return
	}
	for len(s.pcm) >= opusSamples*2 {
		s.adapt(s.aenc)
		err := s.aenc.EncodeAudio(s.pcm[:opusSamples*2], s.samples, func(p av.Packet) {
			s.write(pionmedia.Sample{Data: p.Data, Duration: opusFrame})
		})
		if err != nil {
			s.noteErr(fmt.Errorf("media: encoding audio: %w", err))
		}
		s.pcm = s.pcm[:copy(s.pcm, s.pcm[opusSamples*2:])]
		s.samples += opusSamples
	}
}

func (s *playStream) encodeVideo(f *av.Frame, at time.Duration) {
	// A rate taken in place keeps the stream; a re-opened encoder starts
	// a new one with a keyframe.
	key := s.forceKey.Swap(false) || s.vcount == 0 || (s.adapt(s.venc) && !s.venc.InPlace())
	srcFPS := min(max(float64(time.Second)/float64(s.frameDur), 1), 60)
	w, h, fps := s.degrade.choose(s.venc.Bitrate(), s.track.rate.top(), f.Width, f.Height, srcFPS, time.Now())
	if s.started && fps < srcFPS && float64(at-s.lastPTS) < 0.9*float64(time.Second)/fps && !key {
		return // fewer frames: this one is skipped
	}
	if ew, eh := s.venc.Size(); w != ew || h != eh {
		// A new size is a new stream: the encoder starts it with a keyframe.
		if err := s.venc.Resize(w, h); err != nil {
			s.noteErr(fmt.Errorf("media: resizing video to %dx%d: %w", w, h, err))
			w, h = ew, eh
		} else {
			key = true
		}
	}
	if w != f.Width || h != f.Height {
		if s.scaler == nil {
			s.scaler = av.NewScaler()
		}
		scaled, err := s.scaler.Scale(f, w, h)
		if err != nil {
			s.noteErr(fmt.Errorf("media: scaling video: %w", err))
			return
		}
		f = scaled
	}
	dur := s.frameDur
	if s.started && at > s.lastPTS {
		dur = at - s.lastPTS
	}
	s.started, s.lastPTS = true, at
	s.vcount++
	s.track.meter.picture(f.Width, f.Height)
	err := s.venc.EncodeVideo(f, at.Microseconds()*9/100, key, func(p av.Packet) {
		s.write(pionmedia.Sample{Data: p.Data, Duration: dur})
	})
	if err != nil {
		s.noteErr(fmt.Errorf("media: encoding video: %w", err))
	}
}

// adapt sets enc to the rate the connections' estimates now call for,
// when it is time to change (see rateControl); true when it did.
func (s *playStream) adapt(enc *av.Encoder) bool {
	changed, err := s.track.rate.adapt(enc)
	if err != nil {
		s.noteErr(fmt.Errorf("media: changing the %s bitrate: %w", s.kind(), err))
	}
	return changed
}
