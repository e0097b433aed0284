package peer

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStateStringsNeverPanic(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "leaving", StateLeaving.String())
	assert.Equal(t, "State(9)", State(9).String())
	assert.Equal(t, "State(-1)", State(-1).String())
	assert.Equal(t, "connected", PeerConnected.String())
	assert.Equal(t, "PeerState(7)", PeerState(7).String())
}
