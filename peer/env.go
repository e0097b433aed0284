package peer

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// env is what the pieces under a MeteredPeer (its RemotePeers, their
// connections and tracks) need from it. It is handed down when they are
// made, so that no lower piece reaches back up to the MeteredPeer.
type env struct {
	log         *slog.Logger
	eventBuffer int // default size of Events streams
	maxPending  int // bound of each source's handler queue
	gates       *sendGates
	timing      *timings
	// tasks owns the goroutines started on the MeteredPeer's behalf
	// (re-subscribes, leaving a failed join, handler waits): they end with
	// its Close, which waits for them.
	tasks *tasks
	// signal sends a control payload to a peer without waiting; failures
	// are logged, as in JS.
	signal func(to string, payload any) error
	// slow tells the MeteredPeer that a source of its drops events.
	slow func(source string, dropped uint64)
	// sendTo is MeteredPeer.SendTo.
	sendTo func(ctx context.Context, to string, data any) error
	// rtt is the latest subscribe's round trip to the server (first.go).
	rtt *roundTrip
}

// timings are the waits of the protocol. They live on each MeteredPeer, not
// in package variables, so that a test can shorten them for one peer and
// still run in parallel with others.
type timings struct {
	offerResend    time.Duration // an unanswered offer is sent again
	iceRestartBase time.Duration // the ICE-restart ladder's first delay
	iceRestartMax  time.Duration // and its cap
	iceAnswer      time.Duration // how long a restart offer waits for its answer
	reconcile      time.Duration // presence must be restored within this after a reconnect
	handlerWait    time.Duration // DataChannelOpened handlers may hold a channel's messages this long
	candidateWait  time.Duration // ICE checking with no remote candidate this long restarts
	firstOffer     time.Duration // the impolite side's first offer waits a round trip and this (0: not at all)
}

func defaultTimings() timings {
	return timings{
		offerResend:    2500 * time.Millisecond,
		iceRestartBase: ICERestartBaseDelay,
		iceRestartMax:  ICERestartMaxDelay,
		iceAnswer:      ICERestartAnswerWindow,
		reconcile:      ReconcileDeadline,
		handlerWait:    5 * time.Second,
		candidateWait:  candidateWait,
		firstOffer:     firstOfferMargin,
	}
}

// tasks is a set of goroutines with one owner: a lifetime context that
// ends on stop, and a WaitGroup that stop waits on (the house pattern of
// signalling.Client and coder/websocket).
type tasks struct {
	life context.Context
	end  context.CancelFunc

	mu      sync.Mutex
	stopped bool
	wg      sync.WaitGroup
}

func newTasks() *tasks {
	t := &tasks{}
	t.life, t.end = context.WithCancel(context.Background())
	return t
}

// do runs fn on a goroutine that stop waits for; fn must return soon after
// its context ends. After stop, fn is not run, and do reports false.
func (t *tasks) do(fn func(life context.Context)) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		fn(t.life)
	}()
	return true
}

// stop ends the lifetime context and waits for every goroutine.
func (t *tasks) stop() {
	t.mu.Lock()
	t.stopped = true
	t.mu.Unlock()
	t.end()
	t.wg.Wait()
}
