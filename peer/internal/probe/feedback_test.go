package probe

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestArrivalsReadsPionFeedback builds feedback with pion's own recorder
// (run-length and status-vector chunks, small and large deltas, losses)
// and reads back every packet's fate and arrival.
func TestArrivalsReadsPionFeedback(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, pattern := range []string{"all", "sparse", "bursty"} {
		rec := twcc.NewRecorder(5000)
		want := map[uint16]int64{} // seq → arrival µs; absent: lost
		at := int64(1_000_000)
		base := uint16(65000) // wraps
		for i := range 400 {
			seq := base + uint16(i)
			lost := false
			switch pattern {
			case "sparse":
				lost = rng.IntN(10) == 0
			case "bursty":
				lost = i%50 >= 40
			}
			at += int64(rng.IntN(3000)) // up to 3 ms apart
			if i%97 == 0 {
				at += 300_000 // a large delta
			}
			if lost {
				continue
			}
			rec.Record(7, seq, at)
			want[seq] = at
		}
		got := map[uint16]time.Duration{}
		lost := map[uint16]bool{}
		for _, p := range rec.BuildFeedbackPacket() {
			fb, ok := p.(*rtcp.TransportLayerCC)
			require.True(t, ok)
			// Marshalled and read back, as it travels.
			raw, err := fb.Marshal()
			require.NoError(t, err)
			var back rtcp.TransportLayerCC
			require.NoError(t, back.Unmarshal(raw))
			Arrivals(&back, func(seq uint16, arrived time.Duration, received bool) {
				if received {
					got[seq] = arrived
				} else {
					lost[seq] = true
				}
			})
		}
		require.Len(t, got, len(want), pattern)
		// Arrival times are on the receiver's clock in 250 µs steps, from a
		// reference in 64 ms steps: differences are what must hold.
		var first uint16 = base
		for ; ; first++ {
			if _, ok := want[first]; ok {
				break
			}
		}
		for seq, us := range want {
			wantGap := time.Duration(us-want[first]) * time.Microsecond
			gotGap := got[seq] - got[first]
			assert.InDelta(t, wantGap.Microseconds(), gotGap.Microseconds(), 250*2, "%s: seq %d", pattern, seq)
		}
		// Losses between the first and the last received are reported.
		last := base + 399
		for ; ; last-- {
			if _, ok := want[last]; ok {
				break
			}
		}
		for seq := first; seq != last; seq++ {
			if _, ok := want[seq]; !ok {
				assert.True(t, lost[seq], "%s: seq %d reported lost", pattern, seq)
			}
		}
	}
}

// FuzzArrivals reads hostile feedback: it must neither panic nor report
// more packets than the feedback declares.
func FuzzArrivals(f *testing.F) {
	rec := twcc.NewRecorder(1)
	for i := range 30 {
		if i%4 != 0 {
			rec.Record(1, uint16(i), int64(i)*1000)
		}
	}
	for _, p := range rec.BuildFeedbackPacket() {
		raw, err := p.Marshal()
		require.NoError(f, err)
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var fb rtcp.TransportLayerCC
		if fb.Unmarshal(raw) != nil {
			return
		}
		n := 0
		Arrivals(&fb, func(uint16, time.Duration, bool) { n++ })
		if n > int(fb.PacketStatusCount) {
			t.Fatalf("%d statuses read, %d declared", n, fb.PacketStatusCount)
		}
	})
}
