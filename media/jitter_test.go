package media

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test stream's first packet: both its numbers wrap within the test.
const (
	firstSeq uint16 = 65530
	firstTS  uint32 = 1<<32 - 3*960
)

// opusPacket is the kth 20 ms packet of the test stream.
func opusPacket(k int) *rtp.Packet {
	return &rtp.Packet{Header: rtp.Header{SequenceNumber: firstSeq + uint16(k), Timestamp: firstTS + 960*uint32(k)}, Payload: []byte{byte(k)}}
}

// popAll pops what is ready: which packets (k), and the drops before each.
func popAll(j jitterBuffer) (out []int, dropped []uint16) {
	for s := j.Pop(); s != nil; s = j.Pop() {
		out = append(out, int((s.PacketTimestamp-firstTS)/960))
		dropped = append(dropped, s.PrevDroppedPackets)
	}
	return out, dropped
}

// TestAudioJitterReorders: packets come out in order; a missing one is
// waited for until 200 ms of later audio has arrived, then skipped and
// counted; late, duplicate and padding packets are dropped; the sequence
// wraps.
func TestAudioJitterReorders(t *testing.T) {
	t.Parallel()
	j := newJitterBuffer(webrtc.RTPCodecTypeAudio, 16, nil, 48000)
	push := func(k int) { j.Push(opusPacket(k)) }
	seqs := func(ks ...int) []int { return ks }

	push(0)
	push(2)
	push(1)
	got, _ := popAll(j)
	assert.Equal(t, seqs(0, 1, 2), got, "reordered")

	push(1)                                                               // a duplicate of one released
	j.Push(&rtp.Packet{Header: rtp.Header{SequenceNumber: firstSeq + 3}}) // padding
	got, _ = popAll(j)
	assert.Empty(t, got)

	// 3 is lost: 4.. wait for it until 200 ms (10 packets) of audio after it.
	for k := 4; k < 14; k++ {
		push(k)
		got, _ = popAll(j)
		require.Empty(t, got, "still waiting for the missing packet (at %d)", k)
	}
	push(14)
	got, dropped := popAll(j)
	assert.Equal(t, seqs(4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14), got, "given up on after 200 ms")
	assert.Equal(t, uint16(1), dropped[0], "and counted")
	push(3) // too late
	got, _ = popAll(j)
	assert.Empty(t, got)

	// An outage longer than the buffer: the stream goes on from where it is.
	push(200)
	got, dropped = popAll(j)
	assert.Equal(t, seqs(200), got)
	assert.Positive(t, dropped[0])
}

// TestAudioJitterKeepsCopies: Frames reads every audio packet into one
// buffer, so what the jitter buffer holds must be its own.
func TestAudioJitterKeepsCopies(t *testing.T) {
	t.Parallel()
	j := newJitterBuffer(webrtc.RTPCodecTypeAudio, 16, nil, 48000)
	require.True(t, j.Owns())
	reused := opusPacket(0)
	reused.Payload = []byte{0xa0, 0xa1}
	j.Push(reused)
	reused.Header = opusPacket(2).Header // 1 is late: 2 waits
	reused.Payload[0], reused.Payload[1] = 0xc0, 0xc1
	j.Push(reused)
	s := j.Pop()
	require.NotNil(t, s)
	assert.Equal(t, []byte{0xa0, 0xa1}, s.Data)
	assert.Nil(t, j.Pop(), "1 is still awaited")
	reused.Header = opusPacket(1).Header
	reused.Payload[0], reused.Payload[1] = 0xb0, 0xb1
	j.Push(reused)
	reused.Payload[0] = 0xff
	var got [][]byte
	for s := j.Pop(); s != nil; s = j.Pop() {
		got = append(got, append([]byte(nil), s.Data...))
	}
	assert.Equal(t, [][]byte{{0xb0, 0xb1}, {0xc0, 0xc1}}, got)
	assert.False(t, newJitterBuffer(webrtc.RTPCodecTypeVideo, 16, nil, 90000).Owns(), "the video builder keeps the packets")
}
