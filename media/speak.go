package media

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/metered-ca/realtime-go/media/internal/av"
)

// ErrNoSpeechSynthesis: this FFmpeg was built without flite, which Speak
// uses (Debian's and most distributions' FFmpeg have it).
var ErrNoSpeechSynthesis = errors.New("media: this FFmpeg has no flite filter (text to speech): build FFmpeg with --enable-libflite")

// MaxSpeakText is the longest text Speak takes, in bytes: a reply a
// minute or two long.
const MaxSpeakText = 16 << 10

// SpeakOptions choose how Speak sounds.
type SpeakOptions struct {
	// Voice is one of flite's voices: "slt" (default, a US English female
	// voice, the clearest to speech recognisers), "kal", "kal16", "awb",
	// "rms".
	Voice string
}

// Speak synthesizes text on this machine, with no model to download:
// FFmpeg's flite filter. It returns mono 16-bit PCM (8 kHz for "kal", 16
// kHz for the others) and its format, ready for an AudioSource. It takes
// about a twentieth of the speech's length here. Calls in a process run one
// at a time: libflite is not safe for concurrent use. The same text and
// voice give the same samples every time (each call reseeds the C
// library's rand(), which flite draws its noise from).
func Speak(ctx context.Context, text string, o SpeakOptions) ([]int16, AudioFormat, error) {
	voice := o.Voice
	if voice == "" {
		voice = "slt"
	}
	switch {
	case text == "":
		return nil, AudioFormat{}, errors.New("media: Speak: no text")
	case len(text) > MaxSpeakText:
		return nil, AudioFormat{}, fmt.Errorf("media: Speak: %d bytes of text, over %d", len(text), MaxSpeakText)
	case !utf8.ValidString(text):
		return nil, AudioFormat{}, errors.New("media: Speak: the text is not UTF-8")
	case !av.FliteVoices[voice]:
		return nil, AudioFormat{}, fmt.Errorf("media: Speak: no voice %q (slt, kal, kal16, awb, rms)", voice)
	}
	// The text goes to flite through a file: nothing in it can reach the
	// filter description.
	dir, err := os.MkdirTemp("", "speak")
	if err != nil {
		return nil, AudioFormat{}, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "text")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		return nil, AudioFormat{}, err
	}
	pcm, rate, err := av.Synthesize(file, voice, ctx.Done())
	switch {
	case errors.Is(err, av.ErrNoFlite):
		return nil, AudioFormat{}, ErrNoSpeechSynthesis
	case ctx.Err() != nil:
		return nil, AudioFormat{}, ctx.Err()
	case err != nil:
		return nil, AudioFormat{}, fmt.Errorf("media: Speak: %w", err)
	}
	return pcm, AudioFormat{SampleRate: rate, Channels: 1}, nil
}
