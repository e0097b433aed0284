package signalling

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/testserver"
)

// TestHandlerThatWaitsForAnAck: the reader delivers messages itself, so a
// handler that publishes and waits for the ack (which only the reader can
// read) must get reading moved elsewhere rather than wait forever; every
// message of a burst is echoed, in order.
func TestHandlerThatWaitsForAnAck(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	echo, sender := newClient(t, srv, Options{}), newClient(t, srv, Options{})
	connect(t, echo)
	connect(t, sender)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	acked := make(chan error, 20)
	On(echo, func(m Message) {
		if m.Channel == "in" {
			acked <- echo.Publish(ctx, "out", m.Data) // waits for its ack
		}
	})
	got := make(chan string, 100)
	On(sender, func(m Message) { got <- string(m.Data) })
	require.NoError(t, echo.Subscribe(ctx, "in"))
	require.NoError(t, sender.Subscribe(ctx, "out"))
	for i := range 20 {
		require.NoError(t, sender.Publish(ctx, "in", i))
	}
	for i := range 20 {
		select {
		case m := <-got:
			require.Equal(t, strconv.Itoa(i), m)
		case <-ctx.Done():
			t.Fatalf("echo %d never came: the handler's ack was not read", i)
		}
	}
	for range 20 {
		require.NoError(t, <-acked)
	}
}

// TestSlowHandlerDoesNotStallReading: a handler that blocks (on something
// of the application's) holds delivery, not reading: an ack the main
// goroutine waits for arrives meanwhile, once the budget has passed.
func TestSlowHandlerDoesNotStallReading(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	c, other := newClient(t, srv, Options{}), newClient(t, srv, Options{})
	connect(t, c)
	connect(t, other)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	release := make(chan struct{})
	entered := make(chan struct{})
	On(c, func(m Message) {
		close(entered)
		<-release
	})
	require.NoError(t, c.Subscribe(ctx, "slow"))
	require.NoError(t, other.Publish(ctx, "slow", "hold"))
	select {
	case <-entered:
	case <-ctx.Done():
		t.Fatal("the message never came")
	}
	require.NoError(t, c.Publish(ctx, "elsewhere", 1), "an ack must be read while the handler blocks")
	close(release)
}
