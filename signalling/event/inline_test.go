package event

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDrainDeliversOnTheCaller: with nothing running, Drain runs the
// handlers before it returns, in order, and keeps the caller.
func TestDrainDeliversOnTheCaller(t *testing.T) {
	e := New(nil, 0)
	var got []int
	On(e, func(v int) { got = append(got, v) })
	e.Queue(1)
	e.Queue(2)
	require.False(t, e.Drain(time.Second, func() { t.Error("taken over") }))
	require.Equal(t, []int{1, 2}, got) // delivered before Drain returned
	require.False(t, e.Drain(time.Second, func() { t.Error("taken over") }), "nothing queued")
}

// TestDrainHandsOverPastItsBudget: a handler that outlasts the budget gets
// takeover called once, on another goroutine, while it still runs; the
// caller then delivers what was queued meanwhile, in order, and reports
// that it was replaced.
func TestDrainHandsOverPastItsBudget(t *testing.T) {
	e := New(nil, 0)
	release := make(chan struct{})
	var mu sync.Mutex
	var got []int
	On(e, func(v int) {
		if v == 1 {
			<-release // slow: waits for the takeover
		}
		mu.Lock()
		got = append(got, v)
		mu.Unlock()
	})
	takeovers := 0
	e.Queue(1)
	replaced := e.Drain(5*time.Millisecond, func() {
		takeovers++
		e.Queue(2) // what the new reader would read meanwhile
		if e.Drain(time.Second, func() { t.Error("second takeover") }) {
			t.Error("the new reader was replaced")
		}
		close(release)
	})
	require.True(t, replaced)
	require.Equal(t, 1, takeovers)
	require.Equal(t, []int{1, 2}, got)
}

// TestDrainLeavesARunningDispatcher: events emitted elsewhere have a
// dispatcher running; Drain leaves them to it and returns at once, and
// order holds.
func TestDrainLeavesARunningDispatcher(t *testing.T) {
	e := New(nil, 0)
	block := make(chan struct{})
	var mu sync.Mutex
	var got []string
	On(e, func(v string) {
		if v == "a" {
			<-block
		}
		mu.Lock()
		got = append(got, v)
		mu.Unlock()
	})
	e.Emit("a") // the dispatcher goroutine holds "a"
	e.Queue("b")
	require.False(t, e.Drain(time.Millisecond, func() { t.Error("taken over") }))
	close(block)
	require.NoError(t, e.Wait(context.Background()))
	require.Equal(t, []string{"a", "b"}, got)
}
