package signalling

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/protocol"
	"github.com/metered-ca/realtime-go/testserver"
)

func TestSnapshotFaults(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	c := newClient(t, srv, Options{})
	pres := record[Presence](c)
	connect(t, c)
	ctx := ctx5(t)

	srv.DropSnapshots(c.PeerID(), 1)
	require.NoError(t, c.Subscribe(ctx, "a"))
	pres.none(t, 100*time.Millisecond)

	srv.DuplicateSnapshots(c.PeerID(), 1)
	require.NoError(t, c.Subscribe(ctx, "b"))
	assert.Equal(t, "b", pres.next(t).Channel)
	assert.Equal(t, "b", pres.next(t).Channel)

	// Snapshot before ack: the client still gets both, in that order.
	srv.SnapshotBeforeAck(c.PeerID(), 1)
	require.NoError(t, c.Subscribe(ctx, "c"))
	assert.Equal(t, "c", pres.next(t).Channel)
}

func TestUncorrelatedForcedError(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	c := fast(newClient(t, srv, Options{}))
	errs := record[ServerErrorReceived](c)
	connect(t, c)
	srv.ForceError("", protocol.TypePublish, 1, testserver.ForcedError{Code: protocol.CodeChannelNotAuthorized, WithoutRequestID: true})
	var at *AckTimeoutError
	require.ErrorAs(t, c.Publish(ctx5(t), "room", 1), &at, "an error without requestId settles nothing")
	ev := errs.next(t)
	assert.Equal(t, protocol.CodeChannelNotAuthorized, ev.Code)
	assert.Empty(t, ev.RequestID)
	srv.ForceError("", protocol.TypePublish, 1, testserver.ForcedError{Code: "internal_error", RequestID: "someone-else"})
	require.ErrorAs(t, c.Publish(ctx5(t), "room", 1), &at)
	assert.Equal(t, "someone-else", errs.next(t).RequestID)
}

func TestPausedServerBacksUpWrites(t *testing.T) {
	srv := newServer(t, testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}})
	c := newClient(t, srv, Options{})
	connect(t, c)
	srv.PauseReading(c.PeerID(), true)
	// 2 MB of publishes fill the socket buffers; none is lost or acked yet.
	const n = 64
	pad := make([]byte, 32<<10)
	for i := range pad {
		pad[i] = 'x'
	}
	errc := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() { errc <- c.Publish(context.Background(), "room", string(pad)) }()
	}
	// The server's reader finishes the frame it was already reading, then
	// stops: at most one publish can complete while paused.
	done := 0
	for wait := time.After(300 * time.Millisecond); ; {
		select {
		case err := <-errc:
			require.NoError(t, err)
			done++
			continue
		case <-wait:
		}
		break
	}
	assert.LessOrEqual(t, done, 1, "publishes completed while the server was not reading")
	srv.PauseReading(c.PeerID(), false)
	for i := done; i < n; i++ {
		require.NoError(t, <-errc)
	}
}

func TestSeveralConnectionsOnePeerID(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	provider := func(sub string) TokenProvider {
		return testserver.DevTokenProvider(testserver.Claims{Sub: sub})
	}
	a1 := newClient(t, srv, Options{TokenProvider: provider("alice")})
	a2 := newClient(t, srv, Options{TokenProvider: provider("alice")})
	bob := newClient(t, srv, Options{TokenProvider: provider("bob")})
	d1, d2 := record[Direct](a1), record[Direct](a2)
	for _, c := range []*Client{a1, a2, bob} {
		connect(t, c)
	}
	assert.Equal(t, a1.PeerID(), a2.PeerID())
	require.NoError(t, bob.Send(ctx5(t), "alice", "to every alice"))
	assert.Equal(t, "bob", d1.next(t).From)
	assert.Equal(t, "bob", d2.next(t).From)
	// Kicking alice closes both with 4020, a terminal code.
	assert.Equal(t, 2, srv.Kick("", "alice"))
	for _, c := range []*Client{a1, a2} {
		require.Eventually(t, func() bool { return c.State() == StateClosed }, 3*time.Second, 10*time.Millisecond)
	}
}
