package agent

import (
	"sync"
	"time"
)

// Listener is the agent's ear for one peer: decoded audio in, turn events
// out. It cuts the audio into the toolkit's frames, asks the VAD and the
// echo guard about each, and tells the turn engine. Hear and the Turns
// are for one goroutine (the one reading the peer's audio); Sent may come
// from any.
type Listener struct {
	VAD   VAD
	Turns *Turns

	mu     sync.Mutex
	guard  *EchoGuard
	frames []int16 // 16 kHz mono not yet judged
}

// NewListener returns a listener with an EnergyVAD, an EchoGuard and a
// turn engine driving out.
func NewListener(out Output, opts TurnOptions) *Listener {
	return &Listener{VAD: NewEnergyVAD(), Turns: NewTurns(out, opts), guard: NewEchoGuard()}
}

// Sent tells the echo guard what the agent says, going out from at (16
// kHz mono): Voice.OnSent.
func (l *Listener) Sent(at time.Time, pcm []int16) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.guard.Sent(at, pcm)
}

// Hear takes decoded audio (interleaved, at rate) that arrived at now and
// returns the turn events it leads to.
func (l *Listener) Hear(now time.Time, pcm []int16, rate, channels int) []TurnEvent {
	l.frames = ToFrames(l.frames, pcm, rate, channels)
	var out []TurnEvent
	n := 0
	for ; n+FrameSamples <= len(l.frames); n += FrameSamples {
		frame := l.frames[n : n+FrameSamples]
		l.mu.Lock()
		echo := l.guard.Heard(now, frame)
		l.mu.Unlock()
		out = append(out, l.Turns.Frame(now, l.VAD.Speech(frame) >= 0.5 && !echo)...)
	}
	l.frames = append(l.frames[:0], l.frames[n:]...)
	return out
}
