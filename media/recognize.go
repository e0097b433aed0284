package media

import (
	"errors"
	"fmt"
	"sync"

	"github.com/metered-ca/realtime-go/media/internal/av"
)

// ErrNoSpeechRecognition: this FFmpeg was built without pocketsphinx (no
// asr filter; Debian 12's FFmpeg 5.1 has it, Debian 13's FFmpeg 7.1 does
// not), or the model it reads is not installed.
var ErrNoSpeechRecognition = errors.New("media: no speech recognition: this FFmpeg needs its asr filter (--enable-pocketsphinx) and a pocketsphinx model (Debian: pocketsphinx-en-us)")

// RecognizerRate is the sample rate a Recognizer takes: 16 kHz mono.
const RecognizerRate = av.RecognizerRate

// RecognizerOptions choose the pocketsphinx model; empty fields are
// Debian's US English model (package pocketsphinx-en-us).
type RecognizerOptions struct {
	// Model is the acoustic model's directory.
	Model string
	// Dictionary is the pronunciation dictionary.
	Dictionary string
	// LanguageModel is the language model (ARPA or binary).
	LanguageModel string
}

// endSilence closes an utterance for pocketsphinx, whose endpointer waits
// for half a second of silence: zeros cost it next to nothing to decode.
const endSilence = 600 * RecognizerRate / 1000

// Recognizer turns speech into text on this machine, with no model to
// download: FFmpeg's asr filter (pocketsphinx). Text comes out per
// utterance, once it is over; pocketsphinx works at about three times
// real time on one core, as the audio arrives. Its methods are safe for
// concurrent use.
type Recognizer struct {
	mu sync.Mutex
	r  *av.Recognizer
}

// NewRecognizer starts a recognizer. It fails with ErrNoSpeechRecognition
// where FFmpeg cannot recognize speech.
func NewRecognizer(o RecognizerOptions) (*Recognizer, error) {
	r, err := av.NewRecognizer(av.RecognizerOptions{HMM: o.Model, Dict: o.Dictionary, LM: o.LanguageModel})
	if errors.Is(err, av.ErrNoASR) {
		return nil, fmt.Errorf("%w (%v)", ErrNoSpeechRecognition, err)
	}
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	return &Recognizer{r: r}, nil
}

// Write takes 16 kHz mono PCM and returns the text of each utterance that
// pocketsphinx heard end in it.
func (r *Recognizer) Write(pcm []int16) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.r == nil {
		return nil, ErrClosed
	}
	return r.r.Push(pcm)
}

// End ends the utterance under way, whatever pocketsphinx's endpointer
// makes of the audio, and returns its text with any other that ended:
// call it when a VAD has heard the speech end.
func (r *Recognizer) End() ([]string, error) {
	return r.Write(make([]int16, endSilence))
}

// Close frees the recognizer.
func (r *Recognizer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.r != nil {
		r.r.Close()
		r.r = nil
	}
	return nil
}
