package signalling

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/testserver"
)

// Close writes its close frame on the writer goroutine, never under the
// client's lock: with the server not reading and the socket's buffers
// full, State and Publish still answer at once while Close waits out the
// close handshake.
func TestCloseDoesNotStallOtherCalls(t *testing.T) {
	srv := newServer(t, testserver.Options{})
	c := newClient(t, srv, Options{})
	connect(t, c)
	require.Equal(t, 1, srv.PauseReading("", true))
	defer srv.PauseReading("", false)
	chunk := strings.Repeat("x", 60_000)
	for range 400 { // 24 MB: far more than loopback buffers hold
		require.NoError(t, c.SendAsync("nobody", chunk, nil))
	}
	time.Sleep(100 * time.Millisecond) // let the writer block on a full socket

	closed := make(chan struct{})
	go func() { _ = c.Close(); close(closed) }()
	time.Sleep(20 * time.Millisecond) // Close is under way
	start := time.Now()
	st := c.State()
	elapsed := time.Since(start)
	assert.Equal(t, StateClosed, st)
	assert.Less(t, elapsed, 500*time.Millisecond, "State waited on a network write")
	<-closed
}
