package agent

import (
	"context"
	"time"

	"github.com/metered-ca/realtime-go/media"
)

// TTS turns text into speech: mono 16-bit PCM in the format it returns.
type TTS interface {
	Speak(ctx context.Context, text string) ([]int16, media.AudioFormat, error)
}

// Flite is the offline TTS: FFmpeg's flite filter through media.Speak,
// with no model to download. Voice is one of flite's ("slt" by default).
type Flite struct{ Voice string }

// Speak implements TTS.
func (f Flite) Speak(ctx context.Context, text string) ([]int16, media.AudioFormat, error) {
	return media.Speak(ctx, text, media.SpeakOptions{Voice: f.Voice})
}

// Voice is the agent's voice: text in, through a TTS, out of an
// AudioSource at 16 kHz mono (add Source to the peer). Its Say is what a
// Dialogue's Turn needs.
type Voice struct {
	tts TTS
	src *media.AudioSource
	// OnSent, when set, is told each reply's audio and when it will go
	// out: an EchoGuard's Sent.
	OnSent func(at time.Time, pcm []int16)
}

// NewVoice returns a voice speaking through tts; Close it when done.
func NewVoice(tts TTS, opts ...media.AudioSourceOption) (*Voice, error) {
	src, err := media.NewAudioSource(media.AudioFormat{SampleRate: SampleRate, Channels: 1}, opts...)
	if err != nil {
		return nil, err
	}
	return &Voice{tts: tts, src: src}, nil
}

// Source is the track to send; it is also the Output for Turns.
func (v *Voice) Source() *media.AudioSource { return v.src }

// Say synthesizes text and queues it; it returns once the audio is
// queued, with how long it lasts.
func (v *Voice) Say(ctx context.Context, text string) (Spoken, error) {
	pcm, f, err := v.tts.Speak(ctx, text)
	if err != nil {
		return Spoken{}, err
	}
	ready := time.Now()
	pcm = ToFrames(nil, pcm, f.SampleRate, f.Channels)
	if v.OnSent != nil {
		v.OnSent(time.Now().Add(v.src.Queued()), pcm)
	}
	if err := v.src.Push(ctx, PCMBytes(pcm)); err != nil {
		return Spoken{}, err
	}
	return Spoken{Text: text, Audio: time.Duration(len(pcm)) * time.Second / SampleRate, Ready: ready}, nil
}

// Close stops the voice and frees its encoder.
func (v *Voice) Close() error { return v.src.Close() }
