// Package probe finds out how much a path can carry by sending short
// clusters of packets above the current bandwidth estimate and measuring
// how fast they arrive, from transport-wide congestion-control feedback.
//
// It follows the rules libwebrtc documents for its own prober (when to
// probe, how a cluster is shaped, when a result counts), so that a Go
// sender recovers from a congested link as a browser does. Nothing here
// reads a clock: every call takes the time, so the tests run on a made-up
// one.
package probe

import "time"

// The shape of a cluster (libwebrtc's bitrate_prober).
const (
	// MinPackets is the fewest packets a cluster sends.
	MinPackets = 5
	// MinDuration is the shortest a cluster lasts: its bytes are its rate
	// over this long.
	MinDuration = 15 * time.Millisecond
	// MaxSpacing is the longest wait between two sends of a cluster.
	MaxSpacing = 2 * time.Millisecond
	// PaddingSize is the padding one probe packet carries: libwebrtc's
	// largest, a multiple of 32 for SRTP ciphers with blocks.
	PaddingSize = 224
)

// Cluster is one probe: packets sent at Bitrate for at least MinDuration.
type Cluster struct {
	ID      int
	Bitrate int // bits per second
}

// MinBytes is the fewest bytes the cluster sends: its rate over MinDuration.
func (c Cluster) MinBytes() int {
	return int(int64(c.Bitrate) * int64(MinDuration) / int64(8*time.Second))
}

// Due is how many bytes the cluster should have sent by elapsed after its
// first packet: its rate over that time, and at least one packet's worth at
// once so that the first send starts the clock.
func (c Cluster) Due(elapsed time.Duration) int {
	return max(int(int64(c.Bitrate)*int64(elapsed)/int64(8*time.Second)), 1)
}

// Complete tells whether a cluster that has sent packets and bytes is done.
func (c Cluster) Complete(packets, bytes int) bool {
	return packets >= MinPackets && bytes >= c.MinBytes()
}
