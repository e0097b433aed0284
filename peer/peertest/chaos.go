package peertest

import (
	"context"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// ChaosFaults is how many faults a chaos test injects: CHAOS_FAULTS when
// set (make soak uses 100), else def.
func ChaosFaults(def int) int {
	if n, err := strconv.Atoi(os.Getenv("CHAOS_FAULTS")); err == nil && n > 0 {
		return n
	}
	return def
}

// Sender sends the numbers 0, 1, 2, … with send, one every interval, and
// keeps which sends were acknowledged: the driver of a chaos test.
type Sender struct {
	stop chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	acked  map[int]bool
	failed int
}

// StartSender starts sending; each send gets 20 s (or ctx's end).
func StartSender(ctx context.Context, every time.Duration, send func(ctx context.Context, n int) error) *Sender {
	s := &Sender{stop: make(chan struct{}), acked: map[int]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for n := 0; ; n++ {
			select {
			case <-s.stop:
				return
			case <-ctx.Done():
				return
			case <-time.After(every):
			}
			sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			err := send(sctx, n)
			cancel()
			s.mu.Lock()
			if err == nil {
				s.acked[n] = true
			} else {
				s.failed++
			}
			s.mu.Unlock()
		}
	}()
	return s
}

// Stop stops sending and returns the acknowledged numbers and how many
// sends returned an error.
func (s *Sender) Stop() (acked map[int]bool, failed int) {
	close(s.stop)
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked, s.failed
}

// Tally counts the numbers a receiver got. It is safe for concurrent use.
type Tally struct {
	mu  sync.Mutex
	got map[int]int
}

// Add counts one arrival of n.
func (t *Tally) Add(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.got == nil {
		t.got = map[int]int{}
	}
	t.got[n]++
}

// Compare reports how many acknowledged numbers never arrived and how
// many numbers arrived more than once.
func (t *Tally) Compare(acked map[int]bool) (vanished, duplicated int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for n := range acked {
		if t.got[n] == 0 {
			vanished++
		}
	}
	for _, c := range t.got {
		if c > 1 {
			duplicated++
		}
	}
	return vanished, duplicated
}

// Percentile is the p-th percentile (0–100) of ds, by the nearest rank
// below; 0 for none.
func Percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)*p/100, len(s)-1)]
}
