package agent

import (
	"sync"
	"time"
)

// Output is where the agent's voice goes; *media.AudioSource is one.
type Output interface {
	// Pause holds the queued audio (silence goes out) until Resume.
	Pause()
	// Resume goes on from the sample Pause held.
	Resume()
	// Flush drops what is queued.
	Flush() time.Duration
	// Played is how much pushed audio has gone out so far.
	Played() time.Duration
	// Queued is how much pushed audio has not gone out yet.
	Queued() time.Duration
}

// TurnOptions are the knobs of turn-taking, named as LiveKit's users know
// them. The zero value of each field is its default.
type TurnOptions struct {
	// MinEndpointingDelay is the silence after the user's speech that ends
	// their turn (default 500 ms).
	MinEndpointingDelay time.Duration
	// MaxEndpointingDelay bounds the delay when it adapts, and is the
	// delay while the recogniser has no final words for what was said
	// (default 3 s).
	MaxEndpointingDelay time.Duration
	// AdaptEndpointing makes the delay follow the user: one and a half
	// times their usual pause between phrases, within the bounds.
	AdaptEndpointing bool
	// MinInterruptionDuration is how much speech over the agent pauses
	// it (default 150 ms). Pausing is undone if no words follow.
	MinInterruptionDuration time.Duration
	// MinInterruptionWords is how many words confirm an interruption and
	// flush the agent's reply (default 0: the speech alone does; 2 keeps
	// "mm-hm" and "okay" from cutting the agent off).
	MinInterruptionWords int
	// FalseInterruptionTimeout: a paused agent whose interrupter fell
	// silent this long without enough words resumes (default 1 s).
	FalseInterruptionTimeout time.Duration
}

func (o TurnOptions) withDefaults() TurnOptions {
	if o.MinEndpointingDelay <= 0 {
		o.MinEndpointingDelay = 500 * time.Millisecond
	}
	if o.MaxEndpointingDelay <= 0 {
		o.MaxEndpointingDelay = 3 * time.Second
	}
	o.MaxEndpointingDelay = max(o.MaxEndpointingDelay, o.MinEndpointingDelay)
	if o.MinInterruptionDuration <= 0 {
		o.MinInterruptionDuration = 150 * time.Millisecond
	}
	if o.FalseInterruptionTimeout <= 0 {
		o.FalseInterruptionTimeout = time.Second
	}
	return o
}

// TurnEvent is what the turn engine decided: one of UserStarted,
// UserEnded, AgentPaused, AgentResumed, AgentInterrupted; and from a
// Listener with an STT, UserSaid and STTFailed.
type TurnEvent interface{ turnEvent() }

// UserStarted: the user began to speak.
type UserStarted struct{ At time.Time }

// UserEnded: the user's turn is over; the agent replies now. Words is
// what the recogniser counted in it (final or not); Waited is the silence
// the turn engine waited out after the last speech (the end-of-utterance
// delay, the first part of the agent's reply time). Text is what the
// Listener's STT heard in the turn (empty without one).
type UserEnded struct {
	At     time.Time
	Words  int
	Waited time.Duration
	Text   string
}

// UserSaid: the Listener's STT recognised part of the user's turn. Delay,
// for final text, is from the end of the speech to the text: the STT's
// share of the agent's reply time. Hum: the utterance was a closed-mouth
// hum ("mm-hm"), whatever words the recogniser heard in it; they count
// for nothing (see Articulation).
type UserSaid struct {
	At    time.Time
	Text  string
	Final bool
	Delay time.Duration
	Hum   bool
}

// STTFailed: the Listener's STT returned an error; the utterance it was
// given is lost, the next one is tried again.
type STTFailed struct {
	At  time.Time
	Err error
}

// AgentPaused: speech over the agent paused it; words decide what next.
type AgentPaused struct{ At time.Time }

// AgentResumed: the speech that paused the agent was not an interruption
// (a cough, "mm-hm"); its reply goes on from where it stopped.
type AgentResumed struct{ At time.Time }

// AgentInterrupted: the user took the turn; the agent's reply was
// flushed. Heard is how much of the reply went out (HeardPrefix turns it
// into the text the conversation keeps).
type AgentInterrupted struct {
	At    time.Time
	Heard time.Duration
}

func (UserStarted) turnEvent()      {}
func (UserEnded) turnEvent()        {}
func (AgentPaused) turnEvent()      {}
func (AgentResumed) turnEvent()     {}
func (AgentInterrupted) turnEvent() {}
func (UserSaid) turnEvent()         {}
func (STTFailed) turnEvent()        {}

// speechHangover: a gap in speech shorter than this is within a word or
// between two, and does not start the speech count over.
const speechHangover = 200 * time.Millisecond

// Turns is the turn engine: it is told, frame by frame, whether the user
// is speaking (after echo: EchoGuard), and what the recogniser heard, and
// says when the user's turn ends and when the agent must stop, pause or
// go on. Time comes from its callers, so it runs the same on a real clock
// and in a test. It is safe for concurrent use: the goroutine reading the
// user's audio calls Frame, the one making a reply calls Replying and
// Reply.
type Turns struct {
	opts TurnOptions
	out  Output
	mu   sync.Mutex

	// the user
	inTurn     bool          // speech heard and the turn not yet ended
	lastSpeech time.Time     // the last frame of speech
	run        time.Duration // speech since the last gap over speechHangover
	words      int           // in this turn
	pending    bool          // the recogniser has speech it has not finalised
	pauseEMA   time.Duration // the user's pauses within a turn

	// the agent
	speaking   bool          // a reply is going out
	producing  bool          // and more of it is being made
	replyStart time.Duration // Played when it began
	paused     bool
}

// NewTurns returns a turn engine driving out.
func NewTurns(out Output, opts TurnOptions) *Turns {
	return &Turns{opts: opts.withDefaults(), out: out}
}

// Replying tells the engine the agent starts a reply whose audio is still
// being made (a TTS sentence by sentence): the reply is not over while
// the Output runs dry between sentences, until Reply.
func (t *Turns) Replying() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.start()
	t.producing = true
}

// Reply tells the engine the agent's reply is all pushed to the Output
// (after Replying, or at once); it is over when the Output has sent it.
func (t *Turns) Reply() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.start()
	t.producing = false
}

func (t *Turns) start() {
	if !t.speaking {
		t.speaking, t.paused = true, false
		t.replyStart = t.out.Played()
	}
}

// Speaking reports whether a reply of the agent's is going out or paused.
func (t *Turns) Speaking() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.speaking
}

// Frame takes one frame's verdict (the user speaking or not) at now, and
// returns what follows from it.
func (t *Turns) Frame(now time.Time, userSpeech bool) []TurnEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []TurnEvent
	if t.speaking && !t.paused && !t.producing && t.out.Queued() == 0 {
		t.speaking = false // the reply has gone out
	}
	if userSpeech {
		if !t.lastSpeech.IsZero() && t.inTurn {
			if gap := now.Sub(t.lastSpeech) - FrameDuration; gap >= speechHangover {
				t.learnPause(gap)
			}
		}
		if now.Sub(t.lastSpeech) > speechHangover+FrameDuration {
			t.run = 0
		}
		t.run += FrameDuration
		t.lastSpeech = now
		if !t.inTurn {
			t.inTurn, t.words, t.pending = true, 0, false
			out = append(out, UserStarted{At: now})
		}
		if t.speaking && !t.paused && t.run >= t.opts.MinInterruptionDuration {
			t.out.Pause()
			t.paused = true
			out = append(out, AgentPaused{At: now})
		}
		return append(out, t.confirm(now)...)
	}
	if !t.inTurn {
		return out
	}
	quiet := now.Sub(t.lastSpeech)
	if t.paused {
		// An interrupter that fell silent without the words: the agent
		// goes on, and what was heard was not a turn.
		if quiet >= t.opts.FalseInterruptionTimeout {
			t.out.Resume()
			t.paused, t.inTurn = false, false
			return append(out, AgentResumed{At: now})
		}
		return out
	}
	if t.speaking {
		// Speech too short to pause the agent, now over: not a turn.
		if quiet >= speechHangover {
			t.inTurn = false
		}
		return out
	}
	if quiet >= t.endpointingDelay() {
		t.inTurn = false
		out = append(out, UserEnded{At: now, Words: t.words, Waited: quiet})
	}
	return out
}

// Words tells the engine what the recogniser has heard of the current
// turn so far: n words, final or interim. An interim count, even 0, holds
// the turn open (MaxEndpointingDelay) until final words come.
func (t *Turns) Words(now time.Time, n int, final bool) []TurnEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.inTurn {
		return nil
	}
	t.words, t.pending = n, !final
	return t.confirm(now)
}

// confirm flushes a paused reply once the interruption holds: enough
// words, or speech long enough when no words are asked for.
func (t *Turns) confirm(now time.Time) []TurnEvent {
	if !t.paused || t.words < t.opts.MinInterruptionWords {
		return nil
	}
	heard := t.out.Played() - t.replyStart
	t.out.Flush()
	t.out.Resume() // the queue is empty: nothing more goes out
	t.paused, t.speaking, t.producing = false, false, false
	return []TurnEvent{AgentInterrupted{At: now, Heard: heard}}
}

// endpointingDelay is the silence that ends the user's turn now.
func (t *Turns) endpointingDelay() time.Duration {
	lo, hi := t.opts.MinEndpointingDelay, t.opts.MaxEndpointingDelay
	if t.pending {
		return hi // the recogniser is not done with what was said
	}
	if !t.opts.AdaptEndpointing || t.pauseEMA == 0 {
		return lo
	}
	return min(max(t.pauseEMA*3/2, lo), hi)
}

// learnPause takes a pause between two stretches of the user's speech in
// one turn.
func (t *Turns) learnPause(gap time.Duration) {
	if t.pauseEMA == 0 {
		t.pauseEMA = gap
		return
	}
	t.pauseEMA += (gap - t.pauseEMA) / 4
}
