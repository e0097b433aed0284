// Package event is the typed event mechanism shared by every realtime-go
// event source (signalling.Client, and later peer.MeteredPeer, RemotePeer
// and DataChannel).
//
// Handlers are keyed by the event's Go type. Each Emitter delivers its
// events one at a time, in emission order, on its own dispatch goroutine,
// which exists only while events are pending, so an idle source holds no
// goroutine; or, through Queue and Drain, on the emitting goroutine itself
// (inline.go). Emit never blocks: a slow handler delays only the later events
// of its own source. A handler that panics is recovered and logged.
//
// Slow consumers are visible, never silent (as in nats.go): the queue
// behind the handlers holds at most a fixed number of events, and an event
// that finds it full is dropped; a stream that falls behind drops its
// oldest. Both count in Dropped and log one warning per episode.
//
// Packages expose this through small generic wrappers constrained to their
// own event types (for example signalling.On), so that registering for a
// type the source never emits fails to compile.
package event

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultBuffer is the number of events a stream holds before it drops the
// oldest.
const DefaultBuffer = 4096

// DefaultPending is the number of events that may wait for the handlers of
// one source before new ones are dropped.
const DefaultPending = 1 << 16

// Emitter fans events out to handlers registered by type.
type Emitter struct {
	log     *slog.Logger
	limit   int // pending events before Emit drops; <= 0: unbounded
	dropped atomic.Uint64

	mu         sync.Mutex
	handlers   map[reflect.Type][]*handler
	queue      []any
	running    bool
	overloaded bool // a drop was logged; reset when the queue drains
	onOverload func(dropped uint64) any
	idle       chan struct{} // closed when the queue drains; nil while idle

	// Inline delivery (inline.go).
	inlineSince        time.Time // when the current Drain began delivering; zero: none
	inlineBudget       time.Duration
	inlineTakeover     func() // nil once called
	inlineFired        bool
	inlineTimer        *time.Timer
	inlineTimerPending bool
}

type handler struct {
	fn   func(any)
	once bool
	dead bool
}

// endStreams is queued by EndStreams so that streams end after every event
// emitted before it has reached them.
type endStreams struct{}

// New returns an Emitter that logs recovered handler panics and slow
// consumers to log (nil discards them) and holds at most pending events
// for its handlers (0: DefaultPending; negative: unbounded).
func New(log *slog.Logger, pending int) *Emitter {
	if log == nil {
		log = DiscardLogger()
	}
	if pending == 0 {
		pending = DefaultPending
	}
	return &Emitter{log: log, limit: pending, handlers: map[reflect.Type][]*handler{}}
}

// OnOverload makes the Emitter queue the event f returns, past the limit,
// when it starts dropping events for slow handlers (once per episode: until
// the handlers catch up), so that an application sees a slow consumer as
// an event, not only as a log line. f gets the drops so far; it runs with
// the Emitter's lock held and must only build the event (or hand it to
// another Emitter and return nil, which queues nothing here).
func (e *Emitter) OnOverload(f func(dropped uint64) any) {
	e.mu.Lock()
	e.onOverload = f
	e.mu.Unlock()
}

// Dropped is how many events were lost to slow consumers so far: dropped
// because the handlers' queue was full, or as the oldest of a full stream.
func (e *Emitter) Dropped() uint64 { return e.dropped.Load() }

// Emit queues ev for its handlers and returns at once. When the handlers
// are already Pending events behind, ev is dropped and counted.
func (e *Emitter) Emit(ev any) { e.emit(ev, true) }

// emit queues ev, dropping it past the limit, and with start set starts
// the dispatcher when none runs.
func (e *Emitter) emit(ev any, start bool) {
	e.mu.Lock()
	if e.limit > 0 && len(e.queue) >= e.limit {
		e.dropped.Add(1)
		first := !e.overloaded
		e.overloaded = true
		if first && e.onOverload != nil {
			// Past the limit on purpose: one per episode, and the
			// application must hear of it.
			if ev := e.onOverload(e.dropped.Load()); ev != nil {
				e.enqueueLocked(ev)
			}
		}
		e.mu.Unlock()
		if first {
			e.log.Warn("slow consumer: event handlers are behind; dropping new events until they catch up",
				"pending", e.limit, "event", reflect.TypeOf(ev).String())
		}
		return
	}
	if start {
		e.enqueueLocked(ev)
	} else {
		e.queue = append(e.queue, ev)
	}
	e.mu.Unlock()
}

// enqueueLocked appends ev and starts the dispatcher; e.mu is held.
func (e *Emitter) enqueueLocked(ev any) {
	e.queue = append(e.queue, ev)
	if !e.running {
		e.running = true
		go e.dispatch()
	}
}

// EndStreams ends every stream opened by Events once the events emitted
// before this call have been delivered to it; it is never dropped.
// Handlers registered with On stay registered.
func (e *Emitter) EndStreams() {
	e.mu.Lock()
	e.enqueueLocked(endStreams{})
	e.mu.Unlock()
}

// After calls fn once every event emitted before this call has been
// handled, on the goroutine that delivers events; it is never dropped.
// fn must not block: later events wait for it.
func (e *Emitter) After(fn func()) {
	e.mu.Lock()
	e.enqueueLocked(afterMark{fn})
	e.mu.Unlock()
}

// afterMark is queued by After.
type afterMark struct{ fn func() }

// Wait blocks until every event emitted so far has been handled, or ctx ends.
func (e *Emitter) Wait(ctx context.Context) error {
	e.mu.Lock()
	if !e.running {
		e.mu.Unlock()
		return nil
	}
	if e.idle == nil {
		e.idle = make(chan struct{})
	}
	idle := e.idle
	e.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Emitter) dispatch() {
	for e.next() {
	}
}

// next delivers the first queued event to its handlers and reports true;
// with the queue empty, it marks the dispatcher stopped and reports false.
func (e *Emitter) next() bool {
	e.mu.Lock()
	if len(e.queue) == 0 {
		e.stoppedLocked()
		e.mu.Unlock()
		return false
	}
	e.deliverFirstLocked()
	return true
}

// stoppedLocked marks the dispatcher stopped; e.mu is held.
func (e *Emitter) stoppedLocked() {
	e.running = false
	e.overloaded = false
	if e.idle != nil {
		close(e.idle)
		e.idle = nil
	}
}

// deliverFirstLocked takes the first queued event and, with e.mu released,
// delivers it to its handlers.
func (e *Emitter) deliverFirstLocked() {
	ev := e.queue[0]
	e.queue[0] = nil
	if len(e.queue) == 1 {
		e.queue = e.queue[:0] // one at a time (the usual case): reuse the array
	} else {
		e.queue = e.queue[1:]
	}
	if m, ok := ev.(afterMark); ok {
		e.mu.Unlock()
		m.fn()
		return
	}
	typ := reflect.TypeOf(ev)
	// No copy: a handler list is never written below its length (add
	// appends past it, remove builds a new one), so this one stays as it
	// is while the handlers run.
	hs := e.handlers[typ]
	e.mu.Unlock()
	for _, h := range hs {
		e.call(h, typ, ev)
	}
}

func (e *Emitter) call(h *handler, typ reflect.Type, ev any) {
	e.mu.Lock()
	if h.dead {
		e.mu.Unlock()
		return
	}
	if h.once {
		h.dead = true
		e.remove(typ, h)
	}
	e.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("event handler panicked", "event", typ.String(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	h.fn(ev)
}

// remove drops h from the handlers of typ; e.mu must be held.
func (e *Emitter) remove(typ reflect.Type, h *handler) {
	list := e.handlers[typ]
	for i, x := range list {
		if x == h {
			e.handlers[typ] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(e.handlers[typ]) == 0 {
		delete(e.handlers, typ)
	}
}

func (e *Emitter) add(typ reflect.Type, h *handler) (off func()) {
	e.mu.Lock()
	e.handlers[typ] = append(e.handlers[typ], h)
	e.mu.Unlock()
	return func() {
		e.mu.Lock()
		if !h.dead {
			h.dead = true
			e.remove(typ, h)
		}
		e.mu.Unlock()
	}
}

// On calls fn for every event of type T emitted by e until off is called.
func On[T any](e *Emitter, fn func(T)) (off func()) {
	return e.add(reflect.TypeFor[T](), &handler{fn: func(v any) { fn(v.(T)) }})
}

// Once calls fn for the next event of type T only.
func Once[T any](e *Emitter, fn func(T)) (off func()) {
	return e.add(reflect.TypeFor[T](), &handler{fn: func(v any) { fn(v.(T)) }, once: true})
}

// Events returns a stream of the events of type T emitted from now on. The
// stream holds up to buffer events (0 means unbounded) and drops the oldest
// when full. It ends when ctx ends, when the source calls EndStreams, or
// when the consumer stops ranging.
func Events[T any](ctx context.Context, e *Emitter, buffer int) iter.Seq[T] {
	s := &stream[T]{limit: buffer, wake: make(chan struct{}, 1), source: e}
	typ := reflect.TypeFor[T]()
	s.offEvent = e.add(typ, &handler{fn: func(v any) { s.push(v.(T)) }})
	s.offEnd = e.add(reflect.TypeFor[endStreams](), &handler{fn: func(any) { s.end() }})
	return func(yield func(T) bool) {
		defer s.close()
		for {
			ev, ok, ended := s.pop()
			if ok {
				if !yield(ev) {
					return
				}
				continue
			}
			if ended {
				return
			}
			select {
			case <-s.wake:
			case <-ctx.Done():
				return
			}
		}
	}
}

type stream[T any] struct {
	source   *Emitter
	mu       sync.Mutex
	items    []T
	limit    int
	dropped  uint64
	ended    bool
	wake     chan struct{}
	offEvent func()
	offEnd   func()
}

func (s *stream[T]) push(v T) {
	s.mu.Lock()
	dropped := false
	if s.limit > 0 && len(s.items) >= s.limit {
		var zero T
		s.items[0] = zero
		s.items = s.items[1:]
		s.dropped++
		dropped = true
	}
	s.items = append(s.items, v)
	first := dropped && s.dropped == 1
	s.mu.Unlock()
	s.signal()
	if dropped {
		s.source.dropped.Add(1)
		if first {
			s.source.log.Warn("slow consumer: an event stream is full; dropping its oldest events",
				"buffer", s.limit, "event", reflect.TypeFor[T]().String())
		}
	}
}

func (s *stream[T]) end() {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	s.signal()
}

func (s *stream[T]) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *stream[T]) pop() (v T, ok, ended bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.items) > 0 {
		v = s.items[0]
		var zero T
		s.items[0] = zero
		s.items = s.items[1:]
		return v, true, s.ended
	}
	return v, false, s.ended
}

func (s *stream[T]) close() {
	s.offEvent()
	s.offEnd()
}

// DiscardLogger returns a logger that writes nothing.
func DiscardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
