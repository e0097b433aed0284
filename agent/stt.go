package agent

import (
	"strings"

	"github.com/metered-ca/realtime-go/media"
)

// STT is a speech recogniser fed one utterance at a time, as its audio
// arrives (16 kHz mono PCM): a Listener cuts the utterances by its VAD
// and hands the recogniser only speech. Hosted engines implement it over
// their streaming APIs; Sphinx is the offline one.
type STT interface {
	// Write takes more audio of the utterance under way and returns what
	// was recognised so far: interim text, or the final text of an
	// utterance the recogniser ended by itself.
	Write(pcm []int16) ([]Transcript, error)
	// End ends the utterance under way and returns its final text.
	End() ([]Transcript, error)
	// Close frees the recogniser.
	Close() error
}

// Transcript is text an STT recognised.
type Transcript struct {
	Text  string
	Final bool // the utterance is over and the text will not change
}

// Words counts the words of a transcript.
func (t Transcript) Words() int { return len(strings.Fields(t.Text)) }

// Sphinx is the offline STT: FFmpeg's asr filter (pocketsphinx) through
// media.Recognizer, with Debian's US English model. It gives final text
// only, a few milliseconds after End, and works at about three times real
// time as the audio arrives. It recognises short, clearly spoken
// sentences (4 or more of 6 exact through Opus, with flite's slt voice);
// plug in a hosted STT for open conversation.
type Sphinx struct{ r *media.Recognizer }

// NewSphinx starts one recogniser (one per listener); it fails with
// media.ErrNoSpeechRecognition where FFmpeg cannot recognise speech.
func NewSphinx(o media.RecognizerOptions) (*Sphinx, error) {
	r, err := media.NewRecognizer(o)
	if err != nil {
		return nil, err
	}
	return &Sphinx{r: r}, nil
}

// Write implements STT.
func (s *Sphinx) Write(pcm []int16) ([]Transcript, error) {
	return finals(s.r.Write(pcm))
}

// End implements STT.
func (s *Sphinx) End() ([]Transcript, error) {
	return finals(s.r.End())
}

// Close implements STT.
func (s *Sphinx) Close() error { return s.r.Close() }

func finals(texts []string, err error) ([]Transcript, error) {
	if err != nil {
		return nil, err
	}
	out := make([]Transcript, 0, len(texts))
	for _, t := range texts {
		out = append(out, Transcript{Text: strings.TrimSpace(t), Final: true})
	}
	return out, nil
}
