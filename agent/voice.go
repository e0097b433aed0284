package agent

import (
	"context"
	"sync"
	"sync/atomic"
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
	tts    TTS
	src    *media.AudioSource
	onSent atomic.Pointer[func(at time.Time, pcm []int16)]
	mono   []int16 // the frame going out, for onSent (the pacer's)

	sayMu sync.Mutex
	bytes []byte // Say's s16le copy of a reply, kept between replies
}

// OnSent has f told the agent's audio as it goes out, 20 ms at a time (16
// kHz mono, silence and pauses included): an EchoGuard's Sent. f runs on
// the source's real-time pacer and must return at once.
func (v *Voice) OnSent(f func(at time.Time, pcm []int16)) { v.onSent.Store(&f) }

// NewVoice returns a voice speaking through tts; Close it when done. Its
// Opus encoder runs in media.OpusLowDelay unless opts say otherwise:
// synthesized speech needs no SILK, and an agent fleet spends most of its
// CPU encoding.
func NewVoice(tts TTS, opts ...media.AudioSourceOption) (*Voice, error) {
	v := &Voice{tts: tts}
	opts = append([]media.AudioSourceOption{media.WithOpusMode(media.OpusLowDelay)}, opts...)
	opts = append(opts, media.WithPlayout(v.playout))
	src, err := media.NewAudioSource(media.AudioFormat{SampleRate: SampleRate, Channels: 1}, opts...)
	if err != nil {
		return nil, err
	}
	v.src = src
	return v, nil
}

// playout passes what goes out to OnSent's f.
func (v *Voice) playout(at time.Time, pcm []int16) {
	f := v.onSent.Load()
	if f == nil || *f == nil {
		return
	}
	v.mono = ToFrames(v.mono[:0], pcm, 48000, 2)
	(*f)(at, v.mono)
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
	if f.SampleRate != SampleRate || f.Channels != 1 {
		pcm = ToFrames(nil, pcm, f.SampleRate, f.Channels)
	}
	// Push copies what it takes, so one buffer serves every reply.
	v.sayMu.Lock()
	v.bytes = appendPCMBytes(v.bytes[:0], pcm)
	err = v.src.Push(ctx, v.bytes)
	v.sayMu.Unlock()
	if err != nil {
		return Spoken{}, err
	}
	return Spoken{Text: text, Audio: time.Duration(len(pcm)) * time.Second / SampleRate, Ready: ready}, nil
}

// Close stops the voice and frees its encoder.
func (v *Voice) Close() error { return v.src.Close() }
