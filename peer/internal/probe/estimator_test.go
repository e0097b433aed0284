package probe

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// cluster sends n packets of size bytes every gap and has them arrive
// every arriveGap; keep says which arrive.
func feed(e *Estimator, c Cluster, n, size int, gap, arriveGap time.Duration, keep func(i int) bool) {
	e.Start(c, t0)
	for i := range n {
		if keep != nil && !keep(i) {
			continue
		}
		e.Received(Packet{Cluster: c.ID, Size: size, Padding: true, Sent: t0.Add(time.Duration(i) * gap), Arrived: time.Second + time.Duration(i)*arriveGap})
	}
}

func TestEstimatorRules(t *testing.T) {
	t.Parallel()
	// 20 packets of 250 bytes 1 ms apart: 19 × 2000 bits over 19 ms, 2 Mb/s.
	c := Cluster{ID: 1, Bitrate: 2_000_000}
	for _, tc := range []struct {
		name      string
		arriveGap time.Duration
		keep      func(int) bool
		want      int // 0: no result
	}{
		{"arrives as sent: the sending rate", time.Millisecond, nil, 2_000_000},
		{"arrives slower: a little under the arrival rate", 2 * time.Millisecond, nil, 950_000},
		{"arrives a little slower: the arrival rate", 1050 * time.Microsecond, nil, 1_904_761},
		{"arrives over twice as fast: a measurement error", 400 * time.Microsecond, nil, 0},
		{"arrives at once: no span", 0, nil, 0},
		{"under 80 % of the packets acknowledged", time.Millisecond, func(i int) bool { return i < 3 }, 0},
		{"over a second to arrive", 60 * time.Millisecond, nil, 0},
		{"sent and arrived faster than meant: the cluster's rate", 500 * time.Microsecond, nil, 0},
		{"sent faster than meant, arrived slower: at most the cluster's rate", 900 * time.Microsecond, nil, 0},
	} {
		var e Estimator
		gap := time.Millisecond
		if strings.HasPrefix(tc.name, "sent") {
			// 4 Mb/s sent, 2 or 2.2 Mb/s received: over the cluster's 2.
			gap, tc.want = 250*time.Microsecond, c.Bitrate
		}
		feed(&e, c, 20, 250, gap, tc.arriveGap, tc.keep)
		got := e.Results()
		if tc.want == 0 {
			assert.Empty(t, got, tc.name)
			continue
		}
		if assert.Len(t, got, 1, tc.name) {
			assert.InDelta(t, tc.want, got[0].Bitrate, 2, tc.name)
		}
		assert.Empty(t, e.Results(), "%s: reported once", tc.name)
	}
}

func TestEstimatorForgetsOldClusters(t *testing.T) {
	t.Parallel()
	var e Estimator
	e.Start(Cluster{ID: 1, Bitrate: 1_000_000}, t0)
	e.Start(Cluster{ID: 2, Bitrate: 1_000_000}, t0.Add(KeepClusters+time.Second))
	e.Received(Packet{Cluster: 1, Size: 100, Padding: true, Arrived: time.Millisecond})
	assert.False(t, e.Ignored(1))
	assert.NotContains(t, e.clusters, 1)
	assert.Contains(t, e.clusters, 2)
}
