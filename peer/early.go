package peer

import (
	"sync"
	"time"
)

// earlySignals holds the offers, answers, candidates and track metadata
// of peers that presence has not shown us yet: the server may route a
// newcomer's offer before the presence frame that names it (the JS SDK drops such a signal
// and leaves the sender to time out). They are handed to the peer's
// connection when it joins; they expire after earlyTTL and are bounded in
// bytes, since any peer can send us directs.
type earlySignals struct {
	mu     sync.Mutex
	bytes  int
	byPeer map[string][]earlySignal
}

type earlySignal struct {
	at   time.Time
	c    classified
	size int
}

const (
	earlyTTL      = 10 * time.Second
	maxEarlyBytes = 1 << 20
)

func (e *earlySignals) hold(from string, c classified) {
	size := len(c.description.SDP) + len(c.trackID) + len(c.metadata) + 64
	if c.candidate != nil {
		size += len(c.candidate.Candidate)
	}
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expireLocked(now)
	if e.bytes+size > maxEarlyBytes {
		return
	}
	if e.byPeer == nil {
		e.byPeer = map[string][]earlySignal{}
	}
	e.byPeer[from] = append(e.byPeer[from], earlySignal{at: now, c: c, size: size})
	e.bytes += size
}

// take removes and returns from's signals that have not expired, in the
// order they came.
func (e *earlySignals) take(from string) []classified {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expireLocked(time.Now())
	held := e.byPeer[from]
	delete(e.byPeer, from)
	out := make([]classified, len(held))
	for i, s := range held {
		e.bytes -= s.size
		out[i] = s.c
	}
	return out
}

func (e *earlySignals) clear() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.byPeer, e.bytes = nil, 0
}

func (e *earlySignals) expireLocked(now time.Time) {
	for from, held := range e.byPeer {
		keep := held[:0]
		for _, s := range held {
			if now.Sub(s.at) < earlyTTL {
				keep = append(keep, s)
			} else {
				e.bytes -= s.size
			}
		}
		if len(keep) == 0 {
			delete(e.byPeer, from)
		} else {
			e.byPeer[from] = keep
		}
	}
}
