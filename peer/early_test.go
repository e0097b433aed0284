package peer

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

// TestEarlySignalsBounded: held signals come back in order, only once,
// stop at the byte cap whatever a sender floods, and expire.
func TestEarlySignalsBounded(t *testing.T) {
	t.Parallel()
	var e earlySignals
	offer := classified{kind: directDescription, description: webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: "v=0 offer"}}
	cand := classified{kind: directICE, candidate: &webrtc.ICECandidateInit{Candidate: "candidate:1"}}
	e.hold("a", offer)
	e.hold("a", cand)
	got := e.take("a")
	require.Len(t, got, 2)
	require.Equal(t, directDescription, got[0].kind)
	require.Equal(t, directICE, got[1].kind)
	require.Empty(t, e.take("a"))
	require.Zero(t, e.bytes)

	big := classified{kind: directDescription, description: webrtc.SessionDescription{SDP: strings.Repeat("x", 60_000)}}
	for range 100 { // 6 MB offered
		e.hold("hostile", big)
	}
	require.LessOrEqual(t, e.bytes, maxEarlyBytes)
	require.Less(t, len(e.take("hostile")), 100)

	e.hold("old", offer)
	e.byPeer["old"][0].at = time.Now().Add(-earlyTTL)
	require.Empty(t, e.take("old"))
	require.Zero(t, e.bytes)
}
