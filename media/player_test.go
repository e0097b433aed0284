package media

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/media/internal/av"
	"github.com/metered-ca/realtime-go/peer"
)

// probe opens a finished recording and returns its codecs and duration.
func probe(t *testing.T, path string) (codecs []string, d time.Duration) {
	t.Helper()
	in, err := av.OpenInput(path, av.InputOptions{Protocols: "file"})
	require.NoError(t, err)
	defer in.Close()
	for _, s := range in.Streams() {
		codecs = append(codecs, s.Codec.String())
	}
	return codecs, in.Duration()
}

// playAndRecord: A plays file into the room, B records what it receives to
// out; it returns once the recording is finalised.
func playAndRecord(t *testing.T, file, out string, opts ...Option) *Player {
	srv := newServer(t)
	a, b := newPeer(t, srv, "player"), newPeer(t, srv, "recorder")
	ctx := ctxT(t, 60*time.Second)
	player, err := FromFile(file, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = player.Close() })
	stream := peer.NewMediaStream()
	for _, tr := range []*webrtc.TrackLocalStaticSample{player.Audio, player.Video} {
		if tr != nil {
			stream.AddTrack(tr)
		}
	}
	require.NoError(t, a.AddStream(stream, peer.StreamMetadata{"source": "file"}))

	rec, err := NewRecorder(out)
	require.NoError(t, err)
	want := len(stream.Tracks())
	added := make(chan struct{}, 4)
	peer.On(b, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(tr peer.Track) {
			assert.NoError(t, rec.AddTrack(tr.Track))
			added <- struct{}{}
		})
	})
	require.NoError(t, a.Join(ctx, "play"))
	require.NoError(t, b.Join(ctx, "play"))
	require.NoError(t, player.Start()) // pion reports a track once its first packet arrives
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
	return player
}

func TestPlayWebMRecordWebM(t *testing.T) {
	file := testMedia(t, "vp8-opus.webm", "3")
	out := t.TempDir() + "/rec.webm"
	playAndRecord(t, file, out)
	codecs, d := probe(t, out)
	assert.ElementsMatch(t, []string{"opus", "vp8"}, codecs)
	assert.InDelta(t, 3.0, d.Seconds(), 0.15, "duration within 5%%: %s", d)
}

func TestPlayMP4PassthroughH264RecordMKV(t *testing.T) {
	file := testMedia(t, "h264-aac.mp4", "3")
	out := t.TempDir() + "/rec.mkv"
	p := playAndRecord(t, file, out)
	assert.True(t, p.video.passthrough, "baseline H.264 passes through")
	assert.False(t, p.audio.passthrough, "AAC is transcoded to Opus")
	codecs, d := probe(t, out)
	assert.ElementsMatch(t, []string{"opus", "h264"}, codecs)
	assert.InDelta(t, 3.0, d.Seconds(), 0.15, "duration within 5%%: %s", d)
}

func TestPlayBFramesTranscodedToVP8(t *testing.T) {
	file := testMedia(t, "h264-bframes.mp4", "3")
	out := t.TempDir() + "/rec.webm"
	p := playAndRecord(t, file, out)
	assert.False(t, p.video.passthrough, "H.264 with B-frames is transcoded")
	codecs, d := probe(t, out)
	assert.ElementsMatch(t, []string{"opus", "vp8"}, codecs)
	assert.InDelta(t, 3.0, d.Seconds(), 0.15, "duration within 5%%: %s", d)
}

func TestFromFileRefusesOtherProtocols(t *testing.T) {
	_, err := FromFile("http://127.0.0.1:1/x.webm")
	require.Error(t, err)
	_, err = FromFile(t.TempDir() + "/missing.webm")
	require.Error(t, err)
	_, err = NewRecorder("out.mp3")
	require.Error(t, err)
}
