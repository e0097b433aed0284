package media

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/metered-ca/realtime-go/media/internal/av"
	"github.com/metered-ca/realtime-go/peer"
)

// AudioFormat describes the PCM given to AudioSource.Push: signed 16-bit
// little-endian samples, interleaved, at SampleRate with Channels channels.
type AudioFormat struct {
	SampleRate int
	Channels   int
}

// check refuses a format no resampler takes.
func (f AudioFormat) check() error {
	if f.SampleRate <= 0 || f.Channels < 1 || f.Channels > 8 {
		return fmt.Errorf("%w: %d Hz, %d channels", ErrBadFormat, f.SampleRate, f.Channels)
	}
	return nil
}

// appendS16 appends the s16le samples of b (whole samples only) to dst.
func appendS16(dst []int16, b []byte) []int16 {
	for i := 0; i+1 < len(b); i += 2 {
		dst = append(dst, int16(uint16(b[i])|uint16(b[i+1])<<8))
	}
	return dst
}

// opusFrame is the 20 ms a packet carries; 960 samples per channel.
const (
	opusFrame    = 20 * time.Millisecond
	opusSamples  = 960
	opusChannels = 2
)

// AudioSource is a push-based audio track for synthesized or streamed audio
// (a voice agent's speech, say). Push PCM in any rate and channel count; it
// is resampled to 48 kHz stereo, Opus-encoded in 20 ms packets and sent in
// real time. While nothing is queued it sends silence, so the receiver's
// clock never jumps. Push blocks while more than the queue bound (300 ms;
// WithQueue) is waiting, so a producer never runs ahead and nothing is
// dropped.
//
// It is a webrtc.TrackLocal: hand it to MeteredPeer.AddTrack. Its clock
// runs from construction, bound or not, so audio pushed before a peer is
// connected plays to nobody and is gone; with WithStartOnBind it waits for
// the first binding instead (Bound), and Wait returns once the pushed
// audio has been sent. Close stops it.
type AudioSource struct {
	track  *Track
	format AudioFormat
	bound  time.Duration

	// pushMu serialises Push; it guards rs and pending, so resampling (cgo)
	// never holds mu, which the real-time pacer needs every 20 ms.
	pushMu  sync.Mutex
	rs      *av.Resampler // nil when the input is already 48 kHz stereo
	pending []byte        // an odd trailing byte of the last Push
	// in and resampled are Push's scratch, kept between calls: enqueue
	// copies what it takes.
	in, resampled []int16

	mu      sync.Mutex
	queue   []int16          // 48 kHz stereo, not yet sent
	encoded []queuedEncoding // PushEncoded's, in order, each at its place in queue
	flushed bool             // Flush ran: the next Push drops pending
	flushes uint64           // Flushes so far: a Push under way when one runs stops
	paused  bool             // Pause: the queue waits, silence goes out
	played  int64            // samples per channel of pushed audio sent
	ended   bool
	closed  bool
	err     error         // the first encode or send failure
	space   chan struct{} // a frame left the queue
	emptied chan struct{} // closed when the queue runs dry
	done    chan struct{} // closed when the pacer stops

	enc         *av.Encoder
	startOnBind bool
	playout     func(time.Time, []int16)
	stop        chan struct{}
	wg          sync.WaitGroup

	// sent records when each packet left and what it was, for the pacing
	// benchmark and tests.
	onSend func(time.Time, []byte)
}

// NewAudioSource starts an audio source for PCM in format f.
func NewAudioSource(f AudioFormat, opts ...AudioSourceOption) (*AudioSource, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	o := collect(opts, AudioSourceOption.applyAudioSource)
	if err := o.check(); err != nil {
		return nil, err
	}
	trackID, streamID := o.ids("audio")
	track, err := newTrack(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: opusChannels, SDPFmtpLine: "minptime=10;useinbandfec=1",
	}, trackID, streamID)
	if err != nil {
		return nil, err
	}
	enc, bitrate, err := newSourceEncoder(o)
	if err != nil {
		return nil, err
	}
	track.rate = o.audioRate(bitrate)
	s := &AudioSource{
		track: track, format: f, bound: max(o.queue, opusFrame), enc: enc, startOnBind: o.startOnBind, playout: o.playout,
		space: make(chan struct{}, 1), emptied: make(chan struct{}), done: make(chan struct{}), stop: make(chan struct{}),
	}
	close(s.emptied)
	if f.SampleRate != 48000 || f.Channels != opusChannels {
		if s.rs, err = av.NewResampler(f.SampleRate, f.Channels, 48000, opusChannels); err != nil {
			enc.Close()
			return nil, err
		}
	}
	s.wg.Add(1)
	go s.pace()
	return s, nil
}

// newSourceEncoder is the Opus encoder an AudioSource with options o
// encodes with (48 kb/s unless WithAudioBitrate says), and its bitrate.
func newSourceEncoder(o options) (*av.Encoder, int, error) {
	bitrate := o.audioBitrate
	if bitrate <= 0 {
		bitrate = 48000
	}
	enc, err := av.NewOpusEncoder(av.OpusSettings{Channels: opusChannels, Bitrate: bitrate, LowDelay: o.opusMode == OpusLowDelay})
	return enc, bitrate, err
}

// Format is the input format given to NewAudioSource.
func (s *AudioSource) Format() AudioFormat { return s.format }

// The webrtc.TrackLocal methods, by delegation: only the pacer writes.

// ID is the track id.
func (s *AudioSource) ID() string { return s.track.ID() }

// RID is the simulcast rid; always "".
func (s *AudioSource) RID() string { return s.track.RID() }

// StreamID is the msid stream id.
func (s *AudioSource) StreamID() string { return s.track.StreamID() }

// Kind is webrtc.RTPCodecTypeAudio.
func (s *AudioSource) Kind() webrtc.RTPCodecType { return s.track.Kind() }

// Codec is Opus, 48 kHz stereo.
func (s *AudioSource) Codec() webrtc.RTPCodecCapability { return s.track.Codec() }

// Bind is called by pion when a sender starts.
func (s *AudioSource) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	return s.track.Bind(ctx)
}

// Unbind is called by pion when a sender stops.
func (s *AudioSource) Unbind(ctx webrtc.TrackLocalContext) error { return s.track.Unbind(ctx) }

// Bound is closed once a peer connection has bound the source (its sender
// started). With WithStartOnBind, the clock starts then.
func (s *AudioSource) Bound() <-chan struct{} { return s.track.Bound() }

// FollowBitrate makes the Opus encoder follow a connection's bandwidth
// estimate (peer.RateAdaptive; a MeteredPeer calls it).
func (s *AudioSource) FollowBitrate(estimate func() int) (stop func()) {
	return s.track.FollowBitrate(estimate)
}

// FollowSharedBitrate is FollowBitrate told what else the connection
// sends (peer.RateSharing); audio's share does not depend on it.
func (s *AudioSource) FollowSharedBitrate(estimate func() int, others func() peer.OtherTracks) (stop func()) {
	return s.track.FollowSharedBitrate(estimate, others)
}

// UsableEstimate is the connection estimate at which the Opus encoder
// reaches its highest rate (peer.RateDemand).
func (s *AudioSource) UsableEstimate() int { return s.track.UsableEstimate() }

// Sending reports what the source sends now.
func (s *AudioSource) Sending() Sending { return s.track.Sending() }

// Err is the first failure met while sending (an encode or a write to a
// peer connection); sending goes on regardless. Nil when there was none.
func (s *AudioSource) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Push queues PCM (see AudioFormat). It blocks while the queue is full and
// returns ctx's error if ctx ends first; what was queued before that still
// plays. After End or Close it returns ErrEnded.
func (s *AudioSource) Push(ctx context.Context, pcm []byte) error {
	s.pushMu.Lock()
	defer s.pushMu.Unlock()
	s.mu.Lock()
	if s.ended || s.closed {
		s.mu.Unlock()
		return ErrEnded
	}
	if s.flushed {
		s.pending, s.flushed = nil, false
	}
	gen := s.flushes
	s.mu.Unlock()
	// Whole samples only; an odd byte waits for the next Push.
	var carried []int16 // the sample the last Push's odd byte began
	if len(s.pending) > 0 && len(pcm) > 0 {
		carried = []int16{int16(uint16(s.pending[0]) | uint16(pcm[0])<<8)}
		pcm, s.pending = pcm[1:], s.pending[:0]
	}
	whole := len(pcm) &^ 1
	s.pending = append(s.pending, pcm[whole:]...)
	pcm = pcm[:whole]
	// A chunk at a time, so a long reply is never held whole at 48 kHz
	// stereo beside the queue: the scratch stays a chunk's size however
	// much is pushed.
	step := pushChunk(s.format)
	for len(pcm) > 0 || carried != nil {
		n := min(step, len(pcm))
		s.in = appendS16(append(s.in[:0], carried...), pcm[:n])
		pcm, carried = pcm[n:], nil
		out := s.in
		if s.rs != nil {
			var err error
			if s.resampled, err = s.rs.Convert(s.resampled[:0], s.in); err != nil {
				return fmt.Errorf("media: resampling: %w", err)
			}
			out = s.resampled
		}
		if cut, err := s.enqueue(ctx, gen, out); cut || err != nil {
			return err
		}
	}
	return nil
}

// pushChunk is how many bytes of f Push converts at a time: 100 ms.
func pushChunk(f AudioFormat) int {
	return max(1, f.SampleRate/10) * f.Channels * 2
}

// enqueue appends 48 kHz stereo samples, waiting for room as it goes. A
// Flush since gen drops the rest and reports cut: the room it makes is not
// for the reply it cut off (a barge-in would otherwise let up to the bound
// of it play).
func (s *AudioSource) enqueue(ctx context.Context, gen uint64, out []int16) (cut bool, err error) {
	limit := int(s.bound.Seconds()*48000) * opusChannels
	for len(out) > 0 {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return false, ErrEnded
		}
		if s.flushes != gen {
			s.mu.Unlock()
			return true, nil
		}
		queued := s.queuedLocked()
		room := limit - queued
		if room > 0 {
			n := min(room, len(out))
			if queued == 0 {
				s.emptied = make(chan struct{})
			}
			s.queue = append(s.queue, out[:n]...)
			out = out[n:]
			s.mu.Unlock()
			continue
		}
		s.mu.Unlock()
		if err := s.waitForSpace(ctx); err != nil {
			return false, err
		}
	}
	return false, nil
}

// waitForSpace waits until a frame leaves the queue, ctx ends or the
// source stops.
func (s *AudioSource) waitForSpace(ctx context.Context) error {
	select {
	case <-s.space:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrEnded
	}
}

// PushEncoded queues audio EncodeAudio made, after what is queued, to be
// sent as it was encoded: nothing is resampled or encoded again, so a
// phrase said in many calls is encoded once. It starts on a 20 ms boundary
// (the queue's last part of a frame before it goes out padded with
// silence), and like pushed PCM it waits for room under the queue's bound,
// is held by Pause, dropped by Flush and counted by Queued, Played and
// Wait. It goes at the bitrate it was encoded at, whatever the estimate;
// the source's encoder takes up again after it (an Opus decoder carries on
// across the change).
func (s *AudioSource) PushEncoded(ctx context.Context, e *EncodedAudio) error {
	if e == nil || len(e.packets) == 0 {
		return nil
	}
	limit := int(s.bound.Seconds()*48000) * opusChannels
	s.mu.Lock()
	gen := s.flushes
	s.mu.Unlock()
	for {
		s.mu.Lock()
		switch {
		case s.ended || s.closed:
			s.mu.Unlock()
			return ErrEnded
		case s.flushes != gen:
			s.mu.Unlock()
			return nil
		}
		if queued := s.queuedLocked(); queued < limit {
			if queued == 0 {
				s.emptied = make(chan struct{})
			}
			s.encoded = append(s.encoded, queuedEncoding{audio: e, at: len(s.queue)})
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
		if err := s.waitForSpace(ctx); err != nil {
			return err
		}
	}
}

// queuedEncoding is encoded audio in the queue: it goes out once the
// queue's first at samples have.
type queuedEncoding struct {
	audio *EncodedAudio
	at    int // samples of queue before it
	next  int // its next packet
}

// queuedLocked counts the samples (48 kHz stereo) not yet sent.
func (s *AudioSource) queuedLocked() int {
	n := len(s.queue)
	for _, q := range s.encoded {
		n += (len(q.audio.packets) - q.next) * opusSamples * opusChannels
	}
	return n
}

// Queued is how much pushed audio has not been sent yet.
func (s *AudioSource) Queued() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Duration(s.queuedLocked()/opusChannels) * time.Second / 48000
}

// Flush drops every queued sample (barge-in: the user spoke over the
// agent), and the rest of a Push under way, and returns how much queued
// audio was dropped.
func (s *AudioSource) Flush() time.Duration {
	s.mu.Lock()
	n := s.queuedLocked()
	s.queue = s.queue[:0]
	s.encoded = s.encoded[:0]
	s.flushed = true
	s.flushes++
	s.signalEmptyLocked()
	s.mu.Unlock()
	s.notifySpace()
	return time.Duration(n/opusChannels) * time.Second / 48000
}

// Pause holds the queued audio and sends silence instead, until Resume: a
// voice agent that hears what may be the user speaking over it stops at
// once, and goes on from the same sample if it was only a cough. Push
// still fills the queue up to its bound meanwhile. Pausing a paused source
// does nothing.
func (s *AudioSource) Pause() {
	s.mu.Lock()
	s.paused = true
	s.mu.Unlock()
}

// Resume sends the queued audio again, from where Pause held it.
func (s *AudioSource) Resume() {
	s.mu.Lock()
	s.paused = false
	s.mu.Unlock()
}

// Played is how much pushed audio has been sent so far (the silence sent
// while the queue was empty or paused not counted): the difference between
// two readings is what a listener could have heard of what was pushed in
// between, which is what an interrupted agent keeps of its reply.
func (s *AudioSource) Played() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Duration(s.played) * time.Second / 48000
}

// Wait blocks until everything queued so far has been sent, or ctx ends.
func (s *AudioSource) Wait(ctx context.Context) error {
	s.mu.Lock()
	ch := s.emptied
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// End takes no more input; the queued audio still plays, then the source
// stops sending (Done closes).
func (s *AudioSource) End() {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
}

// Done is closed once the source stops sending: after End and the last
// queued packet, or on Close.
func (s *AudioSource) Done() <-chan struct{} { return s.done }

// Close stops the source at once, dropping what is queued, and frees its
// encoder. It is idempotent.
func (s *AudioSource) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	s.wg.Wait()
	s.enc.Close()
	// A Push still resampling holds pushMu; its enqueue then sees closed.
	s.pushMu.Lock()
	if s.rs != nil {
		s.rs.Close()
		s.rs = nil
	}
	s.pushMu.Unlock()
	return nil
}

// noteErr keeps the first failure for Err.
func (s *AudioSource) noteErr(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

func (s *AudioSource) signalEmptyLocked() {
	select {
	case <-s.emptied:
	default:
		close(s.emptied)
	}
}

func (s *AudioSource) notifySpace() {
	select {
	case s.space <- struct{}{}:
	default:
	}
}

// pace sends one 20 ms packet per tick against a monotonic schedule: queued
// audio if there is some, padded with silence, else silence.
func (s *AudioSource) pace() {
	defer s.wg.Done()
	defer close(s.done)
	frame := make([]int16, opusSamples*opusChannels)
	if s.startOnBind {
		select {
		case <-s.track.Bound():
		case <-s.stop:
			return
		}
	}
	next := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var pts int64
	var silence silentPackets
	for {
		select {
		case <-s.stop:
			return
		case <-timer.C:
		}
		s.mu.Lock()
		n := 0
		var ready []byte // an encoded packet whose turn it is
		switch {
		case s.paused:
		case len(s.encoded) > 0 && s.encoded[0].at == 0:
			q := &s.encoded[0]
			ready = q.audio.packets[q.next]
			n = copy(frame, q.audio.pcm[q.next*len(frame):])
			s.played += opusSamples
			if q.next++; q.next == len(q.audio.packets) {
				s.encoded = s.encoded[:copy(s.encoded, s.encoded[1:])]
			}
		default:
			take := frame
			if len(s.encoded) > 0 {
				take = frame[:min(len(frame), s.encoded[0].at)]
			}
			n = copy(take, s.queue)
			s.queue = s.queue[:copy(s.queue, s.queue[n:])]
			s.played += int64(n / opusChannels)
			for i := range s.encoded {
				s.encoded[i].at -= n
			}
		}
		clear(frame[n:])
		empty := s.queuedLocked() == 0
		last := s.ended && empty
		if empty {
			s.signalEmptyLocked()
		}
		s.mu.Unlock()
		if n > 0 {
			s.notifySpace()
		}
		if s.playout != nil {
			s.playout(time.Now(), frame)
		}
		if _, err := s.track.rate.adapt(s.enc); err != nil {
			s.noteErr(fmt.Errorf("media: changing the audio bitrate: %w", err))
		}
		send := func(data []byte) {
			if err := s.track.write(pionmedia.Sample{Data: data, Duration: opusFrame}); err != nil {
				s.noteErr(fmt.Errorf("media: sending audio: %w", err))
			}
			if s.onSend != nil {
				s.onSend(time.Now(), data)
			}
		}
		// Silence, once the encoder has settled on it, is the same packet
		// every 20 ms: it is sent again rather than encoded again (an agent
		// or a listener is silent most of a call, and libopus costs about
		// 1 % of a core per source).
		silent := n == 0
		if ready != nil {
			send(ready)
		} else if silent && silence.packet != nil {
			send(silence.packet)
		} else if err := s.enc.EncodeAudio(frame, pts, func(p av.Packet) {
			silence.note(silent, p.Data)
			send(p.Data)
		}); err != nil {
			s.noteErr(fmt.Errorf("media: encoding audio: %w", err))
		}
		pts += opusSamples
		if last {
			return
		}
		next = next.Add(opusFrame)
		if behind := time.Since(next); behind > 200*time.Millisecond {
			next = time.Now() // the process stalled: do not burst to catch up
		}
		timer.Reset(time.Until(next))
	}
}

// settleFrames: after this many frames of digital silence the encoder's
// packets are silence too (its look-ahead and the decay of what came
// before are spent).
const settleFrames = 10

// silentPackets keeps the packet the encoder makes of settled silence.
type silentPackets struct {
	run    int    // frames of silence encoded in a row
	packet []byte // of the last one, once run reaches settleFrames
}

// note takes an encoded packet and whether its frame was silence.
func (p *silentPackets) note(silent bool, data []byte) {
	if !silent {
		p.run, p.packet = 0, nil
		return
	}
	if p.run++; p.run >= settleFrames {
		p.packet = append(p.packet[:0], data...)
	}
}
