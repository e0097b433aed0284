package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/metered-ca/realtime-go/peer"
)

// Rates come from the bytes counted between two samples; counters that went
// down belong to a new connection (a reconnect) and give no rate, never a
// wrapped-around one.
func TestNetStatusRates(t *testing.T) {
	t.Parallel()
	at := time.Unix(1000, 0)
	sample := func(d time.Duration, out, in uint64) peer.Stats {
		return peer.Stats{Time: at.Add(d), Outbound: []peer.OutboundTrackStats{{BytesSent: out}}, Inbound: []peer.InboundTrackStats{{BytesReceived: in}}}
	}
	var n netStatus
	n.prev = map[string]netSample{}
	assert.Contains(t, n.line("p", sample(0, 1000, 5000)), "out - in -", "one sample gives no rate")
	assert.Contains(t, n.line("p", sample(time.Second, 2000, 30000)), "out 8kb/s in 200kb/s")
	assert.Contains(t, n.line("p", sample(2*time.Second, 100, 900)), "out - in -", "a new connection's counters")
	assert.Contains(t, n.line("p", sample(3*time.Second, 1100, 1900)), "out 8kb/s in 8kb/s")
}
