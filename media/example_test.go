package media_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/testserver"
)

// A voice agent's speech: push PCM as it is synthesized; it goes out as
// Opus in real time. Hand src to MeteredPeer.AddTrack.
func ExampleNewAudioSource() {
	src, err := media.NewAudioSource(media.AudioFormat{SampleRate: 16000, Channels: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	speech := make([]byte, 16000*2/10) // 100 ms of 16 kHz mono s16le
	if err := src.Push(ctx, speech); err != nil {
		fmt.Println(err)
		return
	}
	src.Flush() // the user talked over the agent: drop what is queued
	fmt.Println(src.Kind(), src.Codec().MimeType)
	// Output: audio audio/opus
}

// A phrase said in every call (a greeting, a hold message) is encoded
// once and pushed into each call's source without encoding it again.
func ExampleEncodeAudio() {
	greeting := make([]byte, 16000*2) // 1 s of 16 kHz mono s16le: the phrase
	encoded, err := media.EncodeAudio(greeting, media.AudioFormat{SampleRate: 16000, Channels: 1}, media.WithOpusMode(media.OpusLowDelay))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range 3 { // three calls
		src, err := media.NewAudioSource(media.AudioFormat{SampleRate: 16000, Channels: 1})
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := src.PushEncoded(ctx, encoded); err != nil {
			fmt.Println(err)
		}
		fmt.Println(src.Queued() > 900*time.Millisecond)
		src.Close()
	}
	fmt.Println(encoded.Duration())
	// Output:
	// true
	// true
	// true
	// 1.02s
}

// Recording the tracks another peer sends: add each from the Track
// handler; the file is finalised on Close or when every track ends.
func ExampleNewRecorder() {
	rec, err := media.NewRecorder("call.mp3")
	fmt.Println(rec == nil, err)
	// Output: true media: recorder: "call.mp3": use .webm, .mkv, .ogg or .opus
}

// A camera that is not there is a clear error.
func ExampleFromCamera() {
	_, err := media.FromCamera(media.WithDevice("/dev/video-none"))
	fmt.Println(err != nil)
	// Output: true
}

// A file becomes tracks: WebRTC codecs pass through, others are
// transcoded. WriteTestClip makes a file to try it with; Probe checks one.
func ExampleFromFile() {
	clip := filepath.Join(os.TempDir(), "example-clip.webm")
	if err := media.WriteTestClip(clip, time.Second); err != nil {
		fmt.Println(err)
		return
	}
	player, err := media.FromFile(clip, media.WithLoop(true))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer player.Close()
	fmt.Println(player.Video.Codec().MimeType, player.Audio.Codec().MimeType)
	info, _ := media.Probe(clip)
	fmt.Println(info)
	// Output:
	// video/VP8 audio/opus
	// vp8 320x240 (30 frames) + opus 48000 Hz 2 ch (50 frames), 1.0 s
}

// FromRTSP checks its URL before FFmpeg sees it, and keeps credentials out
// of errors.
func ExampleFromRTSP() {
	_, err := media.FromRTSP(context.Background(), "http://admin:secret@camera.local/stream")
	fmt.Println(err)
	// Output: media: "http://***@camera.local/stream" is not an rtsp:// URL
}

// Frames decodes a received track. Here one peer plays a clip and another
// looks at the first picture.
func ExampleFrames() {
	srv, _ := testserver.New(testserver.Options{})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	clip := filepath.Join(os.TempDir(), "example-frames.webm")
	_ = media.WriteTestClip(clip, 3*time.Second)
	player, _ := media.FromFile(clip)
	defer player.Close()

	opts := peer.Options{URL: srv.URL(), APIKey: "pk_example"}
	sender, _ := peer.New(opts)
	defer sender.Close("")
	viewer, _ := peer.New(opts)
	defer viewer.Close("")
	_ = sender.AddTrack(player.Video, nil, nil)
	size := make(chan string, 1)
	peer.On(viewer, func(ev peer.PeerJoined) {
		remote := ev.Peer
		peer.On(remote, func(t peer.Track) {
			go func() {
				for f, err := range media.Frames(ctx, t.Track) {
					if err == nil {
						size <- fmt.Sprintf("%dx%d", f.Width, f.Height)
					}
					return
				}
			}()
		})
	})
	_ = sender.Join(ctx, "frames")
	_ = viewer.Join(ctx, "frames")
	_ = player.Start()
	fmt.Println(<-size)
	// Output: 320x240
}

// Turn-taking: push an answer, then Wait until it has all been sent
// before listening again. WithStartOnBind holds the clock until a peer
// connection takes the track, so nothing pushed early is lost; here no
// peer ever binds, so the example uses the default, real-time clock.
func ExampleAudioSource_Wait() {
	src, err := media.NewAudioSource(media.AudioFormat{SampleRate: 16000, Channels: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	answer := make([]byte, 16000*2/5) // 200 ms of 16 kHz mono s16le
	if err := src.Push(ctx, answer); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("queued", src.Queued() > 0)
	if err := src.Wait(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("sent; queued", src.Queued(), "err", src.Err())
	// Output:
	// queued true
	// sent; queued 0s err <nil>
}
