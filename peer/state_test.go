package peer_test

import (
	"testing"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/stretchr/testify/assert"
)

func TestStateStringsNeverPanic(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "leaving", peer.StateLeaving.String())
	assert.Equal(t, "State(9)", peer.State(9).String())
	assert.Equal(t, "State(-1)", peer.State(-1).String())
	assert.Equal(t, "connected", peer.PeerConnected.String())
	assert.Equal(t, "PeerState(7)", peer.PeerState(7).String())
}
