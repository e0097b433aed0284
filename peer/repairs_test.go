package peer

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRoundTripFromFeedback: the round trip is from sending the packet a
// feedback reports as the last to arrive to reading that feedback.
func TestRoundTripFromFeedback(t *testing.T) {
	t.Parallel()
	r := newPathFeedback()
	assert.Zero(t, r.roundTrip(), "nothing measured yet")
	sent := r.start.Add(time.Second)
	for i := range 5 {
		r.packetSent(uint16(65534+i), sent.Add(time.Duration(i)*10*time.Millisecond)) // wraps
	}
	rec := twcc.NewRecorder(1)
	// Arrival order is not sending order: 65535 arrives last. 65534+4 is lost.
	rec.Record(9, 65534, 1_000_000)
	rec.Record(9, 0, 1_020_000)
	rec.Record(9, 1, 1_030_000)
	rec.Record(9, 65535, 1_040_000)
	pkts := rec.BuildFeedbackPacket()
	require.Len(t, pkts, 1)
	fb := pkts[0].(*rtcp.TransportLayerCC)
	read := sent.Add(300 * time.Millisecond)
	r.feedback(fb, read)
	assert.Equal(t, 290*time.Millisecond, r.roundTrip(), "from 65535's sending, 10 ms after the first")

	// A packet whose record was overwritten (by one sentTimes away) measures nothing.
	r.packetSent(65535-sentTimes, read)
	r.feedback(fb, read.Add(time.Second))
	assert.Equal(t, 290*time.Millisecond, r.roundTrip())
}

// TestRepairsWaitARoundTrip: a packet is repaired again only once a round
// trip has passed since its last repair left.
func TestRepairsWaitARoundTrip(t *testing.T) {
	t.Parallel()
	l := repairLog{start: time.Now()}
	at := l.start.Add(time.Second)
	rtt := 400 * time.Millisecond
	assert.True(t, l.allow(7, rtt, at), "a first ask")
	assert.False(t, l.allow(7, rtt, at.Add(100*time.Millisecond)), "asked again before the repair could arrive")
	assert.True(t, l.allow(8, rtt, at.Add(100*time.Millisecond)), "another packet")
	assert.True(t, l.allow(7+repairTimes, rtt, at.Add(100*time.Millisecond)), "a packet in the same slot, later")
	assert.True(t, l.allow(7, rtt, at.Add(200*time.Millisecond)), "forgotten for it: repaired when asked")
	assert.False(t, l.allow(7, rtt, at.Add(599*time.Millisecond)))
	assert.True(t, l.allow(7, rtt, at.Add(600*time.Millisecond)), "a round trip after its last repair")
	assert.True(t, l.allow(9, 0, at), "no round trip measured:")
	assert.True(t, l.allow(9, 0, at), "every ask answered")
}

// TestRepairGateHoldsOnlyRepeats: through the gate, the first repair of a
// packet leaves and a repeat within the round trip does not; media and
// padding-only probes pass untouched.
func TestRepairGateHoldsOnlyRepeats(t *testing.T) {
	t.Parallel()
	path := newPathFeedback()
	path.rtt.Store(int64(time.Hour))
	g := &repairGate{path: path}
	var w wire
	out := g.BindLocalStream(&interceptor.StreamInfo{SSRC: 1, SSRCRetransmission: 2}, &w)
	repair := func(osn uint16) {
		payload := binary.BigEndian.AppendUint16(nil, osn)
		_, err := out.Write(&rtp.Header{SSRC: 2}, append(payload, 1, 2, 3), nil)
		require.NoError(t, err, "a held repair reads as written to the responder")
	}
	repair(100)
	repair(100)
	repair(101)
	repair(100)
	_, err := out.Write(&rtp.Header{SSRC: 2, Padding: true, PaddingSize: 224}, nil, nil)
	require.NoError(t, err)
	_, err = out.Write(&rtp.Header{SSRC: 1}, []byte{0, 100}, nil)
	require.NoError(t, err)
	_, err = out.Write(&rtp.Header{SSRC: 1}, []byte{0, 100}, nil)
	require.NoError(t, err)
	assert.Len(t, w.of(2), 3, "two repairs and the probe")
	assert.Len(t, w.of(1), 2, "media is no repair")

	plain := g.BindLocalStream(&interceptor.StreamInfo{SSRC: 3}, &w)
	assert.Equal(t, interceptor.RTPWriter(&w), plain, "a stream without RTX is not wrapped")
}

// TestArrivedRepairsAreNotSentAgain: once the feedback reports a repair
// received, asks for its packet go unanswered (pion's NACK generator asks
// five times, whether or not the repair came); a repair the feedback
// reports lost is sent again after a round trip.
func TestArrivedRepairsAreNotSentAgain(t *testing.T) {
	t.Parallel()
	f := newPathFeedback()
	l := f.logFor(2)
	now := f.start.Add(time.Second)
	rtt := 50 * time.Millisecond
	// Originals 100 and 101 repaired as transport-wide 10 and 11.
	require.True(t, l.allow(100, rtt, now))
	f.packetSent(10, now)
	f.repairSent(10, 2, 100)
	require.True(t, l.allow(101, rtt, now))
	f.packetSent(11, now)
	f.repairSent(11, 2, 101)
	rec := twcc.NewRecorder(1)
	rec.Record(9, 10, 1_000_000) // 11 lost
	rec.Record(9, 12, 1_010_000)
	for _, p := range rec.BuildFeedbackPacket() {
		f.feedback(p.(*rtcp.TransportLayerCC), now.Add(rtt))
	}
	later := now.Add(10 * rtt)
	assert.False(t, l.allow(100, rtt, later), "its repair arrived")
	assert.True(t, l.allow(101, rtt, later), "its repair was lost")
	// A transport-wide number reused for media is no repair.
	f.packetSent(11+sentTimes, later)
	rec = twcc.NewRecorder(1)
	rec.Record(9, 11+sentTimes, 2_000_000)
	for _, p := range rec.BuildFeedbackPacket() {
		f.feedback(p.(*rtcp.TransportLayerCC), later)
	}
	assert.True(t, l.allow(101, rtt, later.Add(rtt)))
	f.forget(2)
	assert.NotSame(t, l, f.logFor(2), "a stream unbound starts afresh")
}
