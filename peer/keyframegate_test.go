package peer

import (
	"io"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rtcpQueue is an RTCP reader handing out prepared compound packets.
type rtcpQueue [][]rtcp.Packet

func (q *rtcpQueue) Read(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
	if len(*q) == 0 {
		return 0, nil, errClosedForTest
	}
	raw, err := rtcp.Marshal((*q)[0])
	if err != nil {
		return 0, nil, err
	}
	*q = (*q)[1:]
	return copy(b, raw), a, nil
}

var errClosedForTest = io.EOF

// TestKeyframeRequestsOncePerRoundTrip: the application reading a
// sender's RTCP sees a keyframe request only when the last one it saw for
// the stream is a round trip (at least minKeyframeInterval) old; the rest
// of each compound packet reaches it unchanged.
func TestKeyframeRequestsOncePerRoundTrip(t *testing.T) {
	t.Parallel()
	path := newPathFeedback()
	g := &keyframeGate{path: path, last: map[uint32]time.Time{}}
	rr := &rtcp.ReceiverReport{SSRC: 9, Reports: []rtcp.ReceptionReport{{SSRC: 1, FractionLost: 3}}, ProfileExtensions: []byte{}}
	pli := func(ssrc uint32) *rtcp.PictureLossIndication {
		return &rtcp.PictureLossIndication{SenderSSRC: 9, MediaSSRC: ssrc}
	}
	q := rtcpQueue{
		{rr, pli(1)},
		{pli(1)}, // too soon: the read goes on to the next
		{rr, pli(1), pli(5)},
		{&rtcp.FullIntraRequest{MediaSSRC: 1, FIR: []rtcp.FIREntry{{SSRC: 1}}}},
	}
	r := g.BindRTCPReader(&q)
	read := func() []rtcp.Packet {
		b := make([]byte, 1500)
		n, _, err := r.Read(b, nil)
		require.NoError(t, err)
		pkts, err := rtcp.Unmarshal(b[:n])
		require.NoError(t, err)
		return pkts
	}
	assert.Equal(t, []rtcp.Packet{rr, pli(1)}, read(), "the first request goes up")
	assert.Equal(t, []rtcp.Packet{rr, pli(5)}, read(), "the repeats are left out; another stream's request goes up")
	_, _, err := r.Read(make([]byte, 1500), nil)
	assert.ErrorIs(t, err, errClosedForTest, "a FIR for the stream is a repeat too")

	// Time, through filter: the window is the round trip, at least minKeyframeInterval.
	now := time.Now().Add(time.Hour)
	assert.Len(t, g.filter([]rtcp.Packet{pli(7)}, now), 1)
	assert.Empty(t, g.filter([]rtcp.Packet{pli(7)}, now.Add(minKeyframeInterval-time.Millisecond)))
	assert.Len(t, g.filter([]rtcp.Packet{pli(7)}, now.Add(minKeyframeInterval)), 1)
	path.rtt.Store(int64(time.Second))
	later := now.Add(minKeyframeInterval)
	assert.Empty(t, g.filter([]rtcp.Packet{pli(7)}, later.Add(999*time.Millisecond)), "a round trip longer than the interval")
	assert.Len(t, g.filter([]rtcp.Packet{pli(7)}, later.Add(time.Second)), 1)
}
