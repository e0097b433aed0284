package event

import "time"

// A source that reads events off a connection can deliver them on its
// reading goroutine, as a browser's single thread does, and save the
// hand-off to a dispatcher goroutine: at a few thousand messages a second
// that hand-off (a goroutine made runnable, another thread woken to run it)
// costs more than the message itself. The reader must not stall behind a
// handler, though (acks and pings wait behind it), so reading moves to a
// new goroutine when a handler is about to wait (Handoff) or has run past a
// budget. The budget's timer is armed once and re-armed only while
// deliveries go on, so that steady traffic does not reset a timer per
// message (each reset can wake the runtime's poller).

// Queue queues ev as Emit does but starts no dispatcher: the caller calls
// Drain next, once it holds no lock a handler might need.
func (e *Emitter) Queue(ev any) { e.emit(ev, false) }

// Drain delivers the queued events on the calling goroutine when no
// dispatcher is running (else that dispatcher delivers them, and Drain
// returns false at once). If a handler calls Handoff, or the delivery is
// still going after budget, takeover is called, once, on another
// goroutine, so that the caller's other work (reading) carries on there;
// the calling goroutine then goes on delivering until the queue is empty,
// and Drain returns true: the caller must leave that work to whatever
// takeover started.
func (e *Emitter) Drain(budget time.Duration, takeover func()) (replaced bool) {
	e.mu.Lock()
	if e.running || len(e.queue) == 0 {
		e.mu.Unlock()
		return false
	}
	e.running = true
	e.inlineSince, e.inlineBudget, e.inlineTakeover, e.inlineFired = time.Now(), budget, takeover, false
	if !e.inlineTimerPending {
		e.inlineTimerPending = true
		if e.inlineTimer == nil {
			e.inlineTimer = time.AfterFunc(budget, e.inlineCheck)
		} else {
			e.inlineTimer.Reset(budget)
		}
	}
	for len(e.queue) > 0 {
		e.deliverFirstLocked()
		e.mu.Lock()
	}
	replaced = e.inlineFired
	e.inlineSince, e.inlineTakeover = time.Time{}, nil
	e.stoppedLocked()
	e.mu.Unlock()
	return replaced
}

// Handoff is for a handler about to wait (for an ack only the reader can
// read, say): when events are being delivered inline, reading moves to
// another goroutine now rather than after the budget.
func (e *Emitter) Handoff() {
	e.mu.Lock()
	takeover := e.takeoverLocked()
	e.mu.Unlock()
	if takeover != nil {
		takeover()
	}
}

// takeoverLocked claims the pending takeover, if any; e.mu is held.
func (e *Emitter) takeoverLocked() func() {
	takeover := e.inlineTakeover
	if takeover != nil {
		e.inlineTakeover, e.inlineFired = nil, true
	}
	return takeover
}

// inlineCheck is the budget's timer: it takes over a delivery that has run
// too long, waits out the rest of a younger one, and stops when none runs.
func (e *Emitter) inlineCheck() {
	e.mu.Lock()
	e.inlineTimerPending = false
	var takeover func()
	if !e.inlineSince.IsZero() && e.inlineTakeover != nil {
		if left := e.inlineBudget - time.Since(e.inlineSince); left > 0 {
			e.inlineTimerPending = true
			e.inlineTimer.Reset(left)
		} else {
			takeover = e.takeoverLocked()
		}
	}
	e.mu.Unlock()
	if takeover != nil {
		takeover()
	}
}
