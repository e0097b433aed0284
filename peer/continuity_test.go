package peer

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
)

func TestSenderSeqContinuesAcrossReplacement(t *testing.T) {
	t.Parallel()
	s := &senderSeq{clock: 48000}
	a, b := &boundTrack{}, &boundTrack{}
	h := rtp.Header{SequenceNumber: 60000, Timestamp: 1000}
	s.rewrite(a, &h)
	assert.Equal(t, uint16(60000), h.SequenceNumber, "the first source passes unchanged")
	h = rtp.Header{SequenceNumber: 60001, Timestamp: 1960}
	s.rewrite(a, &h)
	assert.Equal(t, uint16(60001), h.SequenceNumber)
	// b starts far behind: it continues at 60002, the timestamp moves forward.
	h = rtp.Header{SequenceNumber: 17, Timestamp: 5}
	s.rewrite(b, &h)
	assert.Equal(t, uint16(60002), h.SequenceNumber)
	assert.Greater(t, h.Timestamp, uint32(1960))
	ts := h.Timestamp
	h = rtp.Header{SequenceNumber: 18, Timestamp: 965}
	s.rewrite(b, &h)
	assert.Equal(t, uint16(60003), h.SequenceNumber)
	assert.Equal(t, ts+960, h.Timestamp, "b's own spacing is kept")
	// Wrapping past 65535 stays continuous.
	for i := 0; i < 6000; i++ {
		h = rtp.Header{SequenceNumber: uint16(19 + i)}
		s.rewrite(b, &h)
	}
	assert.Equal(t, uint16((60003+6000)%65536), h.SequenceNumber)
}
