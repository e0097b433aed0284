package media

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/media/internal/av"
)

// ErrRecorderStarted: a track was added after the file's header was written
// and no ended track of its kind and codec was there for it to continue
// (every track must be added before its first keyframe is due).
var ErrRecorderStarted = errors.New("media: recorder already started")

// recorderSettle is how long after its first frame a recording waits for
// the rest of its tracks.
const recorderSettle = 500 * time.Millisecond

// Recorder writes received tracks to one file without re-encoding: WebM
// (.webm: Opus, VP8, VP9), Matroska (.mkv: also H.264) or Ogg (.ogg/.opus:
// Opus only). Add every track of the recording with AddTrack (a MeteredPeer
// reports tracks as their first packets arrive, so add them from the Track
// handler); the header is written once every track added has delivered its
// first frame (a keyframe for video) and half a second has passed since the
// first one did, or two seconds after the first one at the latest. Timestamps share
// one clock, so audio and video stay aligned. The file is finalised when
// every track has ended (after WithResumeWindow's wait), or on Close.
//
// A track added after the header continues a track of its kind and codec
// that has ended (a reconnect's new connection, a replaced track): its
// frames go on in the same stream from the moment they arrive, so the file
// keeps the gap as it was lived.
type Recorder struct {
	path, format string
	pc           *webrtc.PeerConnection // for keyframe requests; may be nil
	resumeWindow time.Duration

	mu       sync.Mutex
	tracks   []*recTrack
	mux      *av.Muxer
	base     time.Time // the recording's time zero
	held     []recSample
	started  bool
	closed   bool
	firstAt  time.Time
	err      error
	done     chan struct{}
	wg       sync.WaitGroup
	deadline *time.Timer
	linger   *time.Timer // armed while every track has ended (WithResumeWindow)
	stats    RecorderStats
}

// RecorderStats counts what a Recorder has written so far.
type RecorderStats struct {
	VideoFrames, AudioFrames int64
	Bytes                    int64
}

// Stats is what has been written to the file so far.
func (r *Recorder) Stats() RecorderStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

type recTrack struct {
	remote  *webrtc.TrackRemote
	codec   av.Codec
	audio   bool
	ready   bool
	spec    av.StreamSpec
	stream  int // index in the file; -1 when left out
	ended   bool
	resumed bool // a later track continues its stream
	firstTS uint32
	offset  time.Duration // arrival of the first frame after base
	last    time.Duration // the latest time written to its stream
	after   time.Duration // a continuing track starts later than this
}

type recSample struct {
	t    *recTrack
	data []byte
	pts  time.Duration
	key  bool
}

// NewRecorder prepares a recording at path; the container follows the
// extension. While a video track waits for its first keyframe the
// recorder asks that track's sender for one, over the track's own
// connection when a MeteredPeer received it (a recorder may hold tracks of
// many peers), otherwise through WithKeyframeRequests' connection.
func NewRecorder(path string, opts ...RecorderOption) (*Recorder, error) {
	format := map[string]string{".webm": "webm", ".mkv": "matroska", ".ogg": "ogg", ".opus": "ogg"}[strings.ToLower(filepath.Ext(path))]
	if format == "" {
		return nil, fmt.Errorf("media: recorder: %q: use .webm, .mkv, .ogg or .opus", filepath.Base(path))
	}
	o := collect(opts, RecorderOption.applyRecorder)
	return &Recorder{path: path, format: format, pc: o.pc, resumeWindow: o.resumeWindow, done: make(chan struct{}), base: time.Now()}, nil
}

// resumableLocked is the ended track of the file that a new track of
// codec continues, or nil.
func (r *Recorder) resumableLocked(codec av.Codec, audio bool) *recTrack {
	for _, o := range r.tracks {
		if o.ended && !o.resumed && o.stream >= 0 && o.codec == codec && o.audio == audio {
			return o
		}
	}
	return nil
}

// AddTrack records a received track; it reads the track until it ends or
// the recorder closes. After the header is written, only a track that
// continues an ended one is taken (see Recorder).
func (r *Recorder) AddTrack(track *webrtc.TrackRemote) error {
	depack, codec, window, err := rtpCodec(track.Codec().MimeType)
	if err != nil {
		return err
	}
	audio := track.Kind() == webrtc.RTPCodecTypeAudio
	if r.format == "webm" && codec == av.CodecH264 || r.format == "ogg" && codec != av.CodecOpus {
		return fmt.Errorf("%w: %s cannot hold %s", ErrUnsupportedCodec, r.format, codec)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrEnded
	}
	t := &recTrack{remote: track, codec: codec, audio: audio, stream: -1}
	if r.started {
		prev := r.resumableLocked(codec, audio)
		if prev == nil {
			return ErrRecorderStarted
		}
		prev.resumed = true
		t.stream, t.spec, t.ready, t.after = prev.stream, prev.spec, true, prev.last
	}
	if r.linger != nil {
		r.linger.Stop() // a track again: the recording goes on
		r.linger = nil
	}
	r.tracks = append(r.tracks, t)
	r.wg.Add(1)
	go r.read(t, newJitterBuffer(track.Kind(), window, depack, track.Codec().ClockRate, pathRoundTrip(track)))
	return nil
}

func (r *Recorder) read(t *recTrack, sb jitterBuffer) {
	defer r.wg.Done()
	defer r.trackEnded(t)
	clock := t.remote.Codec().ClockRate
	if clock == 0 {
		clock = 90000
	}
	first, ready, damaged := true, false, false
	keyframes := newKeyframeRequester(r.pc, t.remote, t.remote.Kind())
	keyframes.request()
	read := packetReader(t.remote, sb)
	for {
		pkt, err := read()
		if err != nil {
			return
		}
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			key := isKeyframe(t.codec, s.Data)
			// A packet nothing repaired in time: the pictures after it are
			// damaged until the next keyframe, asked for at once. They are
			// still written; a recording keeps what arrived.
			if !t.audio && s.PrevDroppedPackets > 0 {
				damaged = true
			}
			if damaged {
				damaged = !key
				if damaged {
					keyframes.request()
				}
			}
			if first {
				if !t.audio && !key {
					keyframes.request()
					continue // nothing decodes before the first keyframe
				}
				first = false
				r.mu.Lock()
				// A continuing track starts where it arrives, and after the
				// last frame of the track it continues (whose times come
				// from the sender's clock, which may run ahead of ours).
				t.firstTS, t.offset = s.PacketTimestamp, max(time.Since(r.base), t.after+time.Millisecond)
				r.mu.Unlock()
			}
			pts := t.offset + time.Duration(s.PacketTimestamp-t.firstTS)*time.Second/time.Duration(clock)
			if !ready {
				// Decoding the first frame (cgo) holds no lock: the other
				// tracks' readers go on meanwhile.
				if err := r.describe(t, s.Data); err != nil {
					continue // not yet describable (no parameter sets): wait for the next keyframe
				}
				ready = true
			}
			if !r.sample(recSample{t: t, data: s.Data, pts: pts, key: key}) {
				return
			}
		}
	}
}

// sample files one frame: held until the header is written, then muxed.
// It reports false once the recorder no longer wants frames.
func (r *Recorder) sample(s recSample) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.err != nil {
		return false
	}
	if r.started {
		if s.t.stream >= 0 {
			r.write(s)
		}
		return true
	}
	s.t.ready = true              // its reader described it (t.spec) before the first sample
	s.data = slices.Clone(s.data) // the audio jitter buffer reuses its memory
	r.held = append(r.held, s)
	if r.firstAt.IsZero() {
		r.firstAt = time.Now()
		r.deadline = time.AfterFunc(2*time.Second, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.startLocked()
		})
	}
	if time.Since(r.firstAt) < recorderSettle {
		return true // other tracks of the stream may still be on their way
	}
	for _, t := range r.tracks {
		if !t.ready && !t.ended {
			return true
		}
	}
	r.startLocked()
	return true
}

// describe fills a track's stream parameters from its first frame.
func (r *Recorder) describe(t *recTrack, data []byte) error {
	if t.audio {
		t.spec = av.StreamSpec{Codec: t.codec, SampleRate: 48000, Channels: 2, Extradata: av.OpusHead(2)}
		return nil
	}
	t.spec = av.StreamSpec{Codec: t.codec}
	if t.codec == av.CodecH264 {
		if t.spec.Extradata = h264ParameterSets(data); t.spec.Extradata == nil {
			return errors.New("no parameter sets yet")
		}
	}
	dec, err := av.NewDecoder(t.codec, t.spec.Extradata)
	if err != nil {
		return err
	}
	defer dec.Close()
	err = dec.DecodeBorrowed(data, 0, func(f *av.Frame) { t.spec.Width, t.spec.Height = f.Width, f.Height })
	if err == nil && t.spec.Width == 0 {
		_ = dec.DecodeBorrowed(nil, 0, func(f *av.Frame) { t.spec.Width, t.spec.Height = f.Width, f.Height })
	}
	if t.spec.Width == 0 {
		return errors.New("first keyframe did not decode")
	}
	return nil
}

// startLocked writes the header with the tracks that are ready and flushes
// the frames held so far, in time order.
func (r *Recorder) startLocked() {
	if r.started || r.closed {
		return
	}
	r.started = true
	var specs []av.StreamSpec
	for _, t := range r.tracks {
		if t.ready {
			t.stream = len(specs)
			specs = append(specs, t.spec)
		}
	}
	if len(specs) == 0 {
		return
	}
	mux, err := av.CreateMuxer(r.path, r.format, specs)
	if err != nil {
		r.err = err
		return
	}
	r.mux = mux
	sort.SliceStable(r.held, func(i, j int) bool { return r.held[i].pts < r.held[j].pts })
	for _, s := range r.held {
		if s.t.stream >= 0 {
			r.write(s)
		}
	}
	r.held = nil
}

func (r *Recorder) write(s recSample) {
	if err := r.mux.Write(s.t.stream, s.data, s.pts, s.key); err != nil {
		if r.err == nil {
			r.err = err
		}
		return
	}
	s.t.last = max(s.t.last, s.pts)
	r.stats.Bytes += int64(len(s.data))
	if s.t.audio {
		r.stats.AudioFrames++
	} else {
		r.stats.VideoFrames++
	}
}

// trackEnded runs as a reader stops; the last one to stop finalises the
// file itself (every other reader has returned by then).
func (r *Recorder) trackEnded(t *recTrack) {
	r.mu.Lock()
	t.ended = true
	all := true
	for _, o := range r.tracks {
		all = all && o.ended
	}
	if all && r.resumeWindow > 0 && !r.closed {
		// Every reader has returned or is returning: the one the timer
		// finalises with has no reader to wait for.
		var linger *time.Timer
		linger = time.AfterFunc(r.resumeWindow, func() {
			r.mu.Lock()
			current := r.linger == linger
			r.mu.Unlock()
			if current {
				_ = r.shutdown(false)
			}
		})
		r.linger = linger
		all = false
	}
	r.mu.Unlock()
	if all {
		_ = r.shutdown(false)
	}
}

// Done is closed once the file is finalised.
func (r *Recorder) Done() <-chan struct{} { return r.done }

// Path is where the recording is written.
func (r *Recorder) Path() string { return r.path }

// Close stops reading, writes what is held and the file's trailer, and
// returns the first error met while recording. It waits for the
// recorder's goroutines and is idempotent.
func (r *Recorder) Close() error { return r.shutdown(true) }

// shutdown finalises the file. Close waits for the readers; the last
// reader, finalising after every track ended, must not wait for itself.
func (r *Recorder) shutdown(waitReaders bool) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		if !waitReaders {
			return nil // the Close under way waits for this reader
		}
		<-r.done
		return r.err
	}
	if r.deadline != nil {
		r.deadline.Stop()
	}
	if r.linger != nil {
		r.linger.Stop()
		r.linger = nil
	}
	r.startLocked()
	r.closed = true
	tracks := append([]*recTrack(nil), r.tracks...)
	r.mu.Unlock()
	for _, t := range tracks {
		_ = t.remote.SetReadDeadline(time.Now())
	}
	if waitReaders {
		r.wg.Wait()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mux != nil {
		if err := r.mux.Close(); err != nil && r.err == nil {
			r.err = err
		}
	}
	close(r.done)
	return r.err
}

// Wait blocks until the recording is finalised or ctx ends.
func (r *Recorder) Wait(ctx context.Context) error {
	select {
	case <-r.done:
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
