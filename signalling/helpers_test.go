package signalling

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/metered-ca/realtime-go/testserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newServer starts a recording local server that the test closes.
func newServer(t *testing.T, opts testserver.Options) *testserver.Server {
	t.Helper()
	opts.Record = true
	srv, err := testserver.New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// fast shortens every timer so fault tests run in well under a second.
func fast(c *Client) *Client {
	c.cfg.welcomeTimeout = 400 * time.Millisecond
	c.cfg.ackTimeout = 400 * time.Millisecond
	c.cfg.slowFloor = 600 * time.Millisecond
	c.cfg.replayDelay = 50 * time.Millisecond
	c.cfg.initialDelay = 20 * time.Millisecond
	c.cfg.maxDelay = 100 * time.Millisecond
	return c
}

// newClient builds a client for srv with a pk_ key (unless opts says
// otherwise) and closes it at the end of the test.
func newClient(t *testing.T, srv *testserver.Server, opts Options) *Client {
	t.Helper()
	opts.URL = srv.URL()
	if opts.APIKey == "" && opts.TokenProvider == nil {
		opts.APIKey = "pk_test_key"
	}
	c, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func connect(t *testing.T, c *Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, c.Connect(ctx))
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// recorder collects every event of type T.
type recorder[T any] struct {
	mu  sync.Mutex
	evs []T
	ch  chan T
}

func record[T Event](c *Client) *recorder[T] {
	r := &recorder[T]{ch: make(chan T, 1024)}
	On(c, func(ev T) {
		r.mu.Lock()
		r.evs = append(r.evs, ev)
		r.mu.Unlock()
		r.ch <- ev
	})
	return r
}

// next waits for the next event.
func (r *recorder[T]) next(t *testing.T) T {
	t.Helper()
	select {
	case ev := <-r.ch:
		return ev
	case <-time.After(5 * time.Second):
		var zero T
		t.Fatalf("no %T event within 5s", zero)
		return zero
	}
}

// waitFor waits for an event matching ok.
func (r *recorder[T]) waitFor(t *testing.T, ok func(T) bool) T {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-r.ch:
			if ok(ev) {
				return ev
			}
		case <-deadline:
			var zero T
			t.Fatalf("no matching %T event within 5s", zero)
			return zero
		}
	}
}

func (r *recorder[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.evs...)
}

// none asserts no event arrives for d.
func (r *recorder[T]) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case ev := <-r.ch:
		t.Fatalf("unexpected event %#v", ev)
	case <-time.After(d):
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func debugLogger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
