package media_test

import (
	"context"
	"fmt"
	"time"

	"github.com/metered-ca/realtime-go/media"
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
