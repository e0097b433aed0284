package event

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type evA struct{ N int }
type evB struct{ S string }

func TestOrderAndTypes(t *testing.T) {
	e := New(nil, 0)
	var got []int
	var bs []string
	On(e, func(a evA) { got = append(got, a.N) })
	On(e, func(b evB) { bs = append(bs, b.S) })
	for i := 0; i < 1000; i++ {
		e.Emit(evA{i})
	}
	e.Emit(evB{"x"})
	require.NoError(t, e.Wait(context.Background()))
	require.Len(t, got, 1000)
	for i, n := range got {
		require.Equal(t, i, n)
	}
	assert.Equal(t, []string{"x"}, bs)
}

func TestOnceAndOff(t *testing.T) {
	e := New(nil, 0)
	var once, all int
	Once(e, func(evA) { once++ })
	off := On(e, func(evA) { all++ })
	e.Emit(evA{})
	e.Emit(evA{})
	require.NoError(t, e.Wait(context.Background()))
	off()
	e.Emit(evA{})
	require.NoError(t, e.Wait(context.Background()))
	assert.Equal(t, 1, once)
	assert.Equal(t, 2, all)
}

func TestPanickingHandlerIsRecoveredAndLogged(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	e := New(slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil)), 0)
	var after int
	On(e, func(evA) { panic("boom") })
	On(e, func(evA) { after++ })
	e.Emit(evA{})
	e.Emit(evA{})
	require.NoError(t, e.Wait(context.Background()))
	assert.Equal(t, 2, after, "sibling handlers still run")
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, buf.String(), "boom")
}

func TestStreamDropsOldestAndEnds(t *testing.T) {
	e := New(nil, 0)
	ctx := context.Background()
	seq := Events[evA](ctx, e, 3)
	for i := 0; i < 10; i++ {
		e.Emit(evA{i})
	}
	e.EndStreams()
	require.NoError(t, e.Wait(ctx)) // everything is queued in the stream before it is read
	var got []int
	for ev := range seq {
		got = append(got, ev.N)
	}
	assert.Equal(t, []int{7, 8, 9}, got)
}

func TestStreamUnboundedAndCtx(t *testing.T) {
	e := New(nil, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seq := Events[evA](ctx, e, 0)
	for i := 0; i < 5000; i++ {
		e.Emit(evA{i})
	}
	n := 0
	for ev := range seq {
		require.Equal(t, n, ev.N)
		n++
		if n == 5000 {
			cancel()
		}
	}
	assert.Equal(t, 5000, n)
	// Breaking out unregisters the stream.
	seq2 := Events[evA](context.Background(), e, 0)
	go func() { time.Sleep(10 * time.Millisecond); e.Emit(evA{1}) }()
	for range seq2 {
		break
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	assert.Empty(t, e.handlers[reflectTypeOf[evA]()])
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A blocked handler cannot grow its source without bound: past the
// pending limit new events are dropped, counted and warned about once.
func TestSlowHandlerIsBoundedAndVisible(t *testing.T) {
	var logs bytes.Buffer
	e := New(slog.New(slog.NewTextHandler(&logs, nil)), 100)
	release := make(chan struct{})
	var seen []int
	On(e, func(a evA) {
		if a.N == 0 {
			<-release
		}
		seen = append(seen, a.N)
	})
	e.Emit(evA{0})
	require.Eventually(t, func() bool { e.mu.Lock(); defer e.mu.Unlock(); return len(e.queue) == 0 }, time.Second, time.Millisecond)
	for i := 1; i <= 1000; i++ {
		e.Emit(evA{i})
	}
	assert.EqualValues(t, 900, e.Dropped())
	close(release)
	require.NoError(t, e.Wait(context.Background()))
	assert.Len(t, seen, 101, "the first event and the 100 that fitted")
	assert.Equal(t, 100, seen[100])
	assert.Equal(t, 1, bytes.Count(logs.Bytes(), []byte("slow consumer")), "one warning per episode")
}

// A stream that falls behind drops its oldest, and says so.
func TestStreamDropsAreCounted(t *testing.T) {
	var logs bytes.Buffer
	e := New(slog.New(slog.NewTextHandler(&logs, nil)), 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := Events[evA](ctx, e, 10)
	for i := range 50 {
		e.Emit(evA{i})
	}
	require.NoError(t, e.Wait(ctx))
	assert.EqualValues(t, 40, e.Dropped())
	for a := range stream {
		assert.Equal(t, 40, a.N, "the oldest were dropped")
		break
	}
	assert.Equal(t, 1, bytes.Count(logs.Bytes(), []byte("slow consumer")))
}

// After runs once the events before it are handled, even with the
// handlers' queue full (it is never dropped).
func TestAfterFollowsEarlierEvents(t *testing.T) {
	e := New(nil, 2)
	release := make(chan struct{})
	var handled []int
	On(e, func(a evA) {
		<-release
		handled = append(handled, a.N)
	})
	e.Emit(evA{1})
	e.Emit(evA{2})
	done := make(chan []int, 1)
	e.After(func() { done <- append([]int(nil), handled...) })
	select {
	case <-done:
		t.Fatal("After ran before the events ahead of it")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	assert.Equal(t, []int{1, 2}, <-done)
	require.NoError(t, e.Wait(context.Background()))
}

type overloaded struct{ Dropped uint64 }

// OnOverload's event arrives once per episode of drops, after the events
// queued before it, though the queue was full.
func TestOverloadIsAnEvent(t *testing.T) {
	e := New(nil, 2)
	e.OnOverload(func(n uint64) any { return overloaded{n} })
	release := make(chan struct{})
	var got []any
	var mu sync.Mutex
	On(e, func(a evA) {
		<-release
		mu.Lock()
		got = append(got, a)
		mu.Unlock()
	})
	On(e, func(o overloaded) {
		mu.Lock()
		got = append(got, o)
		mu.Unlock()
	})
	for i := range 6 {
		e.Emit(evA{i})
	}
	close(release)
	require.NoError(t, e.Wait(context.Background()))
	mu.Lock()
	defer mu.Unlock()
	var told []overloaded
	for _, g := range got {
		if o, ok := g.(overloaded); ok {
			told = append(told, o)
		}
	}
	require.Len(t, told, 1, "one event for the episode: %v", got)
	assert.Equal(t, uint64(1), told[0].Dropped, "told at the first drop")
	// Whether the first event left the queue before the rest arrived
	// decides whether 3 or 4 were dropped.
	assert.Contains(t, []uint64{3, 4}, e.Dropped())
}
