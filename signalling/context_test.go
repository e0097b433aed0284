package signalling

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/testserver"
)

// promptly is how soon a blocking call must return once its context ends.
const promptly = 100 * time.Millisecond

// TestConnectEndsWithContextAgainstBlackHole: a server that accepts the
// TCP connection and never answers the upgrade holds Connect only as long
// as its context lasts, whether the context times out or is cancelled,
// and Close after it does not wait for the handshake timeout either.
func TestConnectEndsWithContextAgainstBlackHole(t *testing.T) {
	t.Parallel()
	hole, err := testserver.NewBlackHole()
	require.NoError(t, err)
	t.Cleanup(func() { _ = hole.Close() })
	for _, how := range []string{"deadline", "cancel"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			c, err := New(Options{URL: hole.URL(), APIKey: "pk_test_key"})
			require.NoError(t, err)
			const wait = 300 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if how == "cancel" {
				ctx, cancel = context.WithCancel(context.Background())
				time.AfterFunc(wait, cancel)
			}
			start := time.Now()
			err = c.Connect(ctx)
			took := time.Since(start)
			require.ErrorIs(t, err, ctx.Err())
			assert.Positive(t, hole.Accepted(), "the dial reached the black hole")
			require.Error(t, ctx.Err())
			assert.Less(t, took, wait+promptly, "Connect returned %v after its context ended", took-wait)
			start = time.Now()
			require.NoError(t, c.Close())
			assert.Less(t, time.Since(start), promptly, "Close after it")
			assert.Equal(t, StateClosed, c.State())
		})
	}
}

// TestRequestsEndWithContext: against a server that stops reading, every
// request returns once its context ends, and the connection stays usable.
func TestRequestsEndWithContext(t *testing.T) {
	t.Parallel()
	srv := newServer(t, testserver.Options{})
	c := newClient(t, srv, Options{})
	connect(t, c)
	srv.PauseReading(c.PeerID(), true)
	// The server's reader finishes the frame it is waiting for: one
	// request may still be answered.
	first, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_ = c.Publish(first, "room", "first")
	cancel()
	const wait = 300 * time.Millisecond
	calls := map[string]func(context.Context) error{
		"Subscribe":   func(ctx context.Context) error { return c.Subscribe(ctx, "room") },
		"Unsubscribe": func(ctx context.Context) error { return c.Unsubscribe(ctx, "room") },
		"Publish":     func(ctx context.Context) error { return c.Publish(ctx, "room", "hi") },
		"Send":        func(ctx context.Context) error { return c.Send(ctx, "someone", "hi") },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			start := time.Now()
			err := call(ctx)
			took := time.Since(start)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, took, wait+promptly, "returned %v after its context ended", took-wait)
		})
	}
}

// TestSlowConsumerIsAnEvent: a client whose handlers fall behind says so
// with an event, once per episode.
func TestSlowConsumerIsAnEvent(t *testing.T) {
	t.Parallel()
	srv := newServer(t, testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}})
	c := newClient(t, srv, Options{MaxPendingEvents: 2})
	release := make(chan struct{})
	On(c, func(Message) { <-release })
	slow := record[SlowConsumer](c)
	connect(t, c)
	require.NoError(t, c.Subscribe(ctx5(t), "room"))
	other := newClient(t, srv, Options{})
	connect(t, other)
	for i := range 10 {
		require.NoError(t, other.Publish(ctx5(t), "room", i))
	}
	require.Eventually(t, func() bool { return c.DroppedEvents() > 0 }, 10*time.Second, 10*time.Millisecond)
	close(release)
	assert.Positive(t, slow.next(t).Dropped)
	slow.none(t, 200*time.Millisecond)
}
