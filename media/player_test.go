package media

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/media/internal/av"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// probe decodes a finished recording with Probe and returns its codecs and
// duration; every stream must yield frames.
func probe(t *testing.T, path string) (codecs []string, d time.Duration) {
	t.Helper()
	info, err := Probe(path)
	require.NoError(t, err)
	for _, s := range info.Streams {
		codecs = append(codecs, s.Codec)
		assert.Positive(t, s.Frames, "%s decodes", s.Codec)
	}
	t.Log(info)
	return codecs, info.Duration
}

// playAndRecord: A plays file into the room, B records what it receives to
// out; it returns once the recording is finalised.
func playAndRecord(t *testing.T, file, out string, opts ...FileOption) *Player {
	ctx := peertest.Context(t, 60*time.Second)
	player, err := FromFile(file, opts...)
	require.NoError(t, err)
	rec, err := NewRecorder(out)
	require.NoError(t, err)
	want := 0
	for _, tr := range []*Track{player.Audio, player.Video} {
		if tr != nil {
			want++
		}
	}
	added := make(chan struct{}, 4)
	intoRoom(t, ctx, player, func(_ *peer.RemotePeer, tr peer.Track) {
		assert.NoError(t, rec.AddTrack(tr.Track))
		added <- struct{}{}
	})
	for i := 0; i < want; i++ {
		select {
		case <-added:
		case <-ctx.Done():
			t.Fatal("the recorder never got every track")
		}
	}
	select {
	case <-player.Done():
	case <-ctx.Done():
		t.Fatal("the player never finished")
	}
	require.NoError(t, player.Err())
	time.Sleep(300 * time.Millisecond) // the last packets in flight
	require.NoError(t, rec.Close())
	st := rec.Stats()
	assert.Positive(t, st.Bytes)
	if player.Video != nil {
		assert.Positive(t, st.VideoFrames)
	}
	return player
}

func TestPlayWebMRecordWebM(t *testing.T) {
	file := testMedia(t, "vp8-opus.webm", "3")
	out := t.TempDir() + "/rec.webm"
	playAndRecord(t, file, out)
	codecs, d := probe(t, out)
	assert.ElementsMatch(t, []string{"opus", "vp8"}, codecs)
	assertRecordedLength(t, out, d, 3.0)
	audio := spans(t, out)["opus"]
	assert.InDelta(t, 3.0, (audio[1] - audio[0]).Seconds(), 0.15, "the audio itself lasts the file's length: %v", audio)
}

func TestPlayMP4PassthroughH264RecordMKV(t *testing.T) {
	file := testMedia(t, "h264-aac.mp4", "3")
	out := t.TempDir() + "/rec.mkv"
	p := playAndRecord(t, file, out)
	assert.True(t, p.video.passthrough, "baseline H.264 passes through")
	assert.False(t, p.audio.passthrough, "AAC is transcoded to Opus")
	codecs, d := probe(t, out)
	assert.ElementsMatch(t, []string{"opus", "h264"}, codecs)
	assertRecordedLength(t, out, d, 3.0)
}

func TestPlayBFramesTranscodedToVP8(t *testing.T) {
	file := testMedia(t, "h264-bframes.mp4", "3")
	out := t.TempDir() + "/rec.webm"
	p := playAndRecord(t, file, out)
	assert.False(t, p.video.passthrough, "H.264 with B-frames is transcoded")
	codecs, d := probe(t, out)
	assert.ElementsMatch(t, []string{"opus", "vp8"}, codecs)
	assertRecordedLength(t, out, d, 3.0)
}

// assertRecordedLength: each stream of a recording of a played file lasts
// the file's length (seconds), within 5 %. The file as a whole (d) also
// holds how far apart the streams' first frames arrived, and for a
// transcoded file the video transcoder's latency (the decoder reorders the
// B-frames, then the encoder runs): 0.1 s here, 0.15–0.18 s seen on a
// loaded machine, so the whole gets 10 %.
func assertRecordedLength(t *testing.T, out string, d time.Duration, seconds float64) {
	t.Helper()
	for codec, s := range spans(t, out) {
		assert.InDelta(t, seconds, (s[1] - s[0]).Seconds(), seconds*0.05, "%s lasts the file's length: %v", codec, s)
	}
	assert.InDelta(t, seconds, d.Seconds(), seconds*0.1, "duration: %s", d)
}

func TestFromFileRefusesOtherProtocols(t *testing.T) {
	_, err := FromFile("http://127.0.0.1:1/x.webm")
	require.Error(t, err)
	_, err = FromFile(t.TempDir() + "/missing.webm")
	require.Error(t, err)
	_, err = NewRecorder("out.mp3")
	require.Error(t, err)
}

// spans returns the media time of the first and last packet of each stream
// of a recording, by codec name.
func spans(t *testing.T, path string) map[string][2]time.Duration {
	t.Helper()
	in, err := av.OpenInput(path, av.InputOptions{Protocols: "file"})
	require.NoError(t, err)
	defer in.Close()
	out := map[string][2]time.Duration{}
	for {
		p, err := in.Read()
		if err != nil {
			return out
		}
		name := in.Streams()[p.Stream].Codec.String()
		at := in.Time(p.Stream, p.PTS)
		sp, ok := out[name]
		if !ok {
			sp[0] = at
		}
		sp[1] = max(sp[1], at)
		out[name] = sp
	}
}

// The recorder puts all tracks on one clock: audio and video that were sent
// together end together, even though video can only start at a keyframe
// (here up to a second after the audio).
func TestRecordingKeepsAudioAndVideoAligned(t *testing.T) {
	file := testMedia(t, "vp8-opus.webm", "3")
	out := t.TempDir() + "/rec.webm"
	playAndRecord(t, file, out)
	s := spans(t, out)
	gap := s["opus"][1] - s["vp8"][1]
	assert.Less(t, max(gap, -gap), 100*time.Millisecond, "audio %v, video %v", s["opus"], s["vp8"])
}

// A WAV file is transcoded to Opus and recorded to Ogg; the file ends up
// finalised when the sending peer leaves (its track ends), no Close needed.
func TestWAVToOggFinalisedOnTrackEnd(t *testing.T) {
	file := testMedia(t, "tone.wav", "2")
	srv := peertest.NewServer(t)
	a, b := peertest.NewPeer(t, srv, "wav"), peertest.NewPeer(t, srv, "ogg")
	ctx := peertest.Context(t, 60*time.Second)
	player, err := FromFile(file)
	require.NoError(t, err)
	defer player.Close()
	require.Nil(t, player.Video)
	require.NoError(t, a.AddTrack(player.Audio, nil, nil))
	out := t.TempDir() + "/tone.ogg"
	rec, err := NewRecorder(out)
	require.NoError(t, err)
	peer.On(b, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(tr peer.Track) { assert.NoError(t, rec.AddTrack(tr.Track)) })
	})
	require.NoError(t, a.Join(ctx, "wav"))
	require.NoError(t, b.Join(ctx, "wav"))
	require.NoError(t, player.Start())
	<-player.Done()
	require.NoError(t, a.Close("done"))
	require.NoError(t, rec.Wait(ctx), "finalised when the track ended")
	codecs, d := probe(t, out)
	assert.Equal(t, []string{"opus"}, codecs)
	assert.InDelta(t, 2.0, d.Seconds(), 0.2)
}

// Loop plays the file again and again; Stop stops it, Start plays again
// from the start.
func TestLoopStopStart(t *testing.T) {
	file := testMedia(t, "vp8-opus.webm", "1")
	p, err := FromFile(file, WithLoop(true))
	require.NoError(t, err)
	defer p.Close()
	var sent atomic.Int64
	p.video.onSample = func([]byte) { sent.Add(1) }
	require.NoError(t, p.Start())
	time.Sleep(2500 * time.Millisecond)
	select {
	case <-p.Done():
		t.Fatal("a looping player ended")
	default:
	}
	p.Stop()
	<-p.Done()
	assert.Greater(t, sent.Load(), int64(60), "more than one pass of a 1 s, 30 fps file")
	first := sent.Load()
	require.NoError(t, p.Start())
	time.Sleep(300 * time.Millisecond)
	p.Stop()
	assert.Greater(t, sent.Load(), first, "Start after Stop plays again")
	require.NoError(t, p.Close())
	assert.ErrorIs(t, p.Start(), ErrEnded)
}

func TestPlayVP9PassthroughRecordWebM(t *testing.T) {
	file := testMedia(t, "vp9-opus.webm", "3")
	out := t.TempDir() + "/rec.webm"
	p := playAndRecord(t, file, out)
	assert.True(t, p.video.passthrough)
	codecs, d := probe(t, out)
	assert.ElementsMatch(t, []string{"opus", "vp9"}, codecs)
	assertRecordedLength(t, out, d, 3.0)
}

func TestTranscodeToH264RecordMKV(t *testing.T) {
	file := testMedia(t, "h264-bframes.mp4", "3")
	out := t.TempDir() + "/rec.mkv"
	p := playAndRecord(t, file, out, WithVideoCodec(H264))
	assert.False(t, p.video.passthrough)
	assert.Equal(t, webrtc.MimeTypeH264, p.Video.Codec().MimeType)
	codecs, d := probe(t, out)
	assert.ElementsMatch(t, []string{"opus", "h264"}, codecs)
	assertRecordedLength(t, out, d, 3.0)
}

// A recorder given the connection asks a transcoding sender for a keyframe
// at once, so the video starts with the audio, not at the sender's next
// regular keyframe two seconds on.
func TestRecorderAsksForKeyframe(t *testing.T) {
	file := testMedia(t, "h264-bframes.mp4", "3")
	ctx := peertest.Context(t, 60*time.Second)
	player, err := FromFile(file)
	require.NoError(t, err)
	out := t.TempDir() + "/rec.webm"
	var once sync.Once
	var rec *Recorder
	added := make(chan struct{}, 2)
	var mu sync.Mutex
	intoRoom(t, ctx, player, func(remote *peer.RemotePeer, tr peer.Track) {
		go func() {
			// Join late: the sender's first keyframe goes by unrecorded.
			for start := time.Now(); time.Since(start) < 700*time.Millisecond; {
				if _, _, err := tr.Track.ReadRTP(); err != nil {
					return
				}
			}
			mu.Lock()
			defer mu.Unlock()
			once.Do(func() {
				rec, err = NewRecorder(out)
				require.NoError(t, err)
			})
			assert.NoError(t, rec.AddTrack(tr.Track))
			added <- struct{}{}
		}()
	})
	<-added
	<-added
	<-player.Done()
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, rec.Close())
	s := spans(t, out)
	gap := s["vp8"][0] - s["opus"][0]
	assert.Less(t, gap, 500*time.Millisecond, "audio %v, video %v", s["opus"], s["vp8"])
}

// A recording survives a signalling reconnect: the receiver's new
// connection brings new tracks, which continue the ended ones in the same
// file instead of being refused (metered record stopped recording there).
func TestRecordingSurvivesAReconnect(t *testing.T) {
	t.Parallel()
	clip := t.TempDir() + "/clip.webm"
	require.NoError(t, WriteTestClip(clip, 6*time.Second))
	player, err := FromFile(clip)
	require.NoError(t, err)
	out := t.TempDir() + "/call.webm"
	rec, err := NewRecorder(out, WithResumeWindow(10*time.Second))
	require.NoError(t, err)
	ctx := peertest.Context(t, 60*time.Second)
	added := make(chan error, 8)
	srv := intoRoom(t, ctx, player, func(_ *peer.RemotePeer, tr peer.Track) { added <- rec.AddTrack(tr.Track) })
	for range 2 {
		require.NoError(t, <-added)
	}
	time.Sleep(2 * time.Second)
	require.Equal(t, 1, srv.DropConnections("receiver"))
	for i := range 2 {
		select {
		case err := <-added:
			require.NoError(t, err, "a track of the new connection")
		case <-ctx.Done():
			t.Fatalf("%d of 2 tracks came back after the reconnect", i)
		}
	}
	<-player.Done()
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, rec.Close())
	s := spans(t, out)
	for _, codec := range []string{"vp8", "opus"} {
		// Dropped at 2 s: without the new tracks a stream ends there.
		assert.Greater(t, s[codec][1]-s[codec][0], 4*time.Second, "%s spans %v", codec, s[codec])
	}
	info, err := Probe(out)
	require.NoError(t, err)
	t.Log(info)
}

func TestWriteTestClip(t *testing.T) {
	out := t.TempDir() + "/clip.webm"
	require.NoError(t, WriteTestClip(out, 2*time.Second))
	info, err := Probe(out)
	require.NoError(t, err)
	t.Log(info)
	require.Len(t, info.Streams, 2)
	assert.Equal(t, "vp8", info.Streams[0].Codec)
	assert.Equal(t, 60, info.Streams[0].Frames)
	assert.Equal(t, "opus", info.Streams[1].Codec)
	assert.InDelta(t, 2.0, info.Duration.Seconds(), 0.1)
}

// What the H.264 passthrough hands pion never aliases the demuxer's
// buffer when pion keeps part of it: its payloader holds the last SPS and
// PPS it saw, and the buffer holds the next packet by then.
func TestParameterSetsLeaveTheReadBuffer(t *testing.T) {
	t.Parallel()
	nal := func(typ byte, n int) []byte { return append([]byte{0, 0, 0, 1, typ}, make([]byte, n)...) }
	sps, pps, idr, slice := nal(0x67, 8), nal(0x68, 4), nal(0x65, 32), nal(0x41, 32)
	s := &playStream{info: av.StreamInfo{Codec: av.CodecH264}}
	for _, c := range []struct {
		name  string
		data  []byte
		alias bool
	}{
		{"SPS, PPS and a keyframe", append(append(append([]byte(nil), sps...), pps...), idr...), false},
		{"a keyframe without them", append([]byte(nil), idr...), false}, // the sets kept go before it
		{"an SPS alone", append([]byte(nil), sps...), false},
		{"a PPS with a slice", append(append([]byte(nil), pps...), slice...), false},
		{"a slice", append([]byte(nil), slice...), true},
	} {
		out := s.withParameterSets(c.data)
		assert.Equal(t, c.alias, unsafe.SliceData(out) == unsafe.SliceData(c.data), c.name)
	}
}
