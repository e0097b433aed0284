package agent

import (
	"strings"
	"sync"
	"time"
)

// Listener is the agent's ear for one peer: decoded audio in, turn events
// out. It cuts the audio into the toolkit's frames, asks the VAD and the
// echo guard about each, and tells the turn engine. With an STT it also
// hands the recogniser the user's utterances, cut by the VAD (never the
// agent's own voice coming back), tells the turn engine the words, and
// puts the turn's text in UserEnded. Hear and the Turns are for one
// goroutine (the one reading the peer's audio); Sent may come from any.
type Listener struct {
	VAD   VAD
	Turns *Turns
	// STT, when set, transcribes the user; the Listener does not close it.
	STT STT

	mu     sync.Mutex
	guard  *EchoGuard
	frames []int16 // 16 kHz mono not yet judged

	utt utterance
	run int // speech frames in a row
}

// The VAD's cut of an utterance for the STT.
const (
	// preRoll: the frames before the VAD's first speech frame that go to
	// the STT too (a word's soft onset).
	preRoll = 200 * time.Millisecond
	// utteranceEnd: this much silence after speech ends the utterance for
	// the STT; under the turn engine's least endpointing delay, so that
	// the final text is in before the turn ends.
	utteranceEnd = 300 * time.Millisecond
	// minSpeechFrames: speech is this many speech frames in a row (40 ms,
	// LiveKit's least speech is 50 ms).
	minSpeechFrames = 2
	// maxUtterance: a longer utterance is ended and a new one begun
	// (pocketsphinx loses what follows in a long run-on one).
	maxUtterance = 15 * time.Second
)

// utterance is what the Listener has given the STT of the current one.
type utterance struct {
	open       bool
	began      time.Time
	lastSpeech time.Time
	recent     [][]int16 // the last preRoll of frames, outside an utterance
	words      int       // final words in the turn
	text       []string  // final texts in the turn
	// articulated: a speech frame of the utterance was (or the VAD cannot
	// tell); words heard in one that was not are a hum's
	articulated bool
}

// NewListener returns a listener with a SpectralVAD, an EchoGuard and a
// turn engine driving out.
func NewListener(out Output, opts TurnOptions) *Listener {
	return &Listener{VAD: NewSpectralVAD(), Turns: NewTurns(out, opts), guard: NewEchoGuard()}
}

// Sent tells the echo guard what the agent says, going out from at (16
// kHz mono), as it goes out: Voice.OnSent.
func (l *Listener) Sent(at time.Time, pcm []int16) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.guard.Sent(at, pcm)
}

// Hear takes decoded audio (interleaved, at rate) that ends at now and
// returns the turn events it leads to. now is best on a steady clock for
// the audio (a received track's media time, offset by its least delay:
// what Agent passes), not when a jitter buffer handed it over: the echo
// guard places the audio by it, and a gap of a block or more in it is
// audio that never came.
func (l *Listener) Hear(now time.Time, pcm []int16, rate, channels int) []TurnEvent {
	l.frames = ToFrames(l.frames, pcm, rate, channels)
	var out []TurnEvent
	n := 0
	for ; n+FrameSamples <= len(l.frames); n += FrameSamples {
		frame := l.frames[n : n+FrameSamples]
		// The audio ends at now: each frame starts its share before.
		at := now.Add(-time.Duration(len(l.frames)-n) * time.Second / SampleRate)
		l.mu.Lock()
		echo := l.guard.Heard(at, frame)
		l.mu.Unlock()
		// A lone frame is no speech: a click, or the first frame of an
		// echo, which the echo guard knows only once it has more.
		if l.VAD.Speech(frame) >= 0.5 && !echo {
			l.run++
		} else {
			l.run = 0
		}
		speech := l.run >= minSpeechFrames
		var evs []TurnEvent
		if l.run == minSpeechFrames {
			// The run's earlier frames were speech too: the turn
			// engine counts them now, as they came.
			for range minSpeechFrames - 1 {
				evs = append(evs, l.Turns.Frame(now, true)...)
			}
		}
		evs = append(evs, l.Turns.Frame(now, speech)...)
		if l.STT != nil {
			evs = l.transcribe(now, frame, speech, evs)
		}
		out = append(out, evs...)
	}
	l.frames = append(l.frames[:0], l.frames[n:]...)
	return out
}

// transcribe feeds the STT one frame, cutting utterances by the VAD, and
// adds what it recognised to evs (the frame's turn events).
func (l *Listener) transcribe(now time.Time, frame []int16, speech bool, evs []TurnEvent) []TurnEvent {
	u := &l.utt
	for _, ev := range evs {
		if _, ok := ev.(UserStarted); ok {
			u.words, u.text = 0, nil
		}
	}
	if !u.open {
		if !speech {
			if len(u.recent) == int(preRoll/FrameDuration) {
				u.recent = u.recent[1:]
			}
			u.recent = append(u.recent, append([]int16(nil), frame...))
			return l.withText(evs)
		}
		u.open, u.began, u.lastSpeech, u.articulated = true, now, now, articulated(l.VAD)
		var pre []int16
		for _, f := range u.recent {
			pre = append(pre, f...)
		}
		u.recent = u.recent[:0]
		evs = append(evs, l.Turns.Words(now, u.words, false)...)
		ts, err := l.STT.Write(pre)
		evs = l.heard(now, evs, ts, err)
	}
	if speech {
		u.lastSpeech = now
		u.articulated = u.articulated || articulated(l.VAD)
	}
	if !u.open { // the STT failed on the pre-roll
		return l.withText(evs)
	}
	ts, err := l.STT.Write(frame)
	evs = l.heard(now, evs, ts, err)
	if u.open && (now.Sub(u.lastSpeech) >= utteranceEnd || now.Sub(u.began) >= maxUtterance) {
		u.open = false
		t0 := time.Now()
		ts, err := l.STT.End()
		// The text is there once the recogniser is done with it.
		evs = l.heard(now.Add(time.Since(t0)), evs, ts, err)
		if err == nil && !u.open {
			// The recogniser may have ended it itself, in an earlier
			// Write: the words are final now in any case.
			evs = append(evs, l.Turns.Words(now, u.words, true)...)
		}
		if u.open = speech; speech { // a long one goes on in a new utterance
			u.began = now
		}
	}
	return l.withText(evs)
}

// heard turns what the STT returned into events and tells the turn engine
// the words.
func (l *Listener) heard(now time.Time, evs []TurnEvent, ts []Transcript, err error) []TurnEvent {
	u := &l.utt
	if err != nil {
		if u.open {
			u.open = false
			_, _ = l.STT.End() // start the next utterance afresh
		}
		evs = append(evs, STTFailed{At: now, Err: err})
		return append(evs, l.Turns.Words(now, u.words, true)...)
	}
	for _, t := range ts {
		ev := UserSaid{At: now, Text: t.Text, Final: t.Final, Hum: !u.articulated}
		words := t.Words()
		if ev.Hum {
			words = 0 // a recogniser's words in a hum
		}
		if !t.Final {
			evs = append(evs, ev)
			evs = append(evs, l.Turns.Words(now, u.words+words, false)...)
			continue
		}
		ev.Delay = now.Sub(u.lastSpeech)
		if t.Text != "" && !ev.Hum {
			u.text = append(u.text, t.Text)
		}
		u.words += words
		evs = append(evs, ev)
		evs = append(evs, l.Turns.Words(now, u.words, !u.open)...)
	}
	return evs
}

// withText puts the turn's text into a UserEnded among evs.
func (l *Listener) withText(evs []TurnEvent) []TurnEvent {
	for i, ev := range evs {
		if e, ok := ev.(UserEnded); ok {
			e.Text = strings.Join(l.utt.text, " ")
			evs[i] = e
		}
	}
	return evs
}

// articulated tells whether the speech frame vad last judged was
// articulated; true when vad cannot tell.
func articulated(vad VAD) bool {
	a, ok := vad.(Articulation)
	return !ok || a.Articulated()
}
