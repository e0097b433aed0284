package media

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
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
	j := newJitterBuffer(webrtc.RTPCodecTypeAudio, 16, nil, 48000, nil)
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
	j := newJitterBuffer(webrtc.RTPCodecTypeAudio, 16, nil, 48000, nil)
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
	assert.False(t, newJitterBuffer(webrtc.RTPCodecTypeVideo, 16, nil, 90000, nil).Owns(), "the video builder keeps the packets")
}

// TestVideoWaitFollowsTheRoundTrip: a video frame missing a packet is
// waited for as long as a repair takes on its path, in media time: 500 ms
// of later video on a short path or one whose round trip is unknown, twice
// the round trip and 200 ms on a long one, 3 s at most; then it is skipped
// and the drop counted.
func TestVideoWaitFollowsTheRoundTrip(t *testing.T) {
	t.Parallel()
	const frame = 3000 // 30 frames a second at 90 kHz
	for _, c := range []struct {
		rtt  time.Duration
		err  error
		wait time.Duration
	}{
		{err: errors.New("not a MeteredPeer's track"), wait: 500 * time.Millisecond},
		{rtt: 0, wait: 500 * time.Millisecond}, // not measured yet
		{rtt: 100 * time.Millisecond, wait: 500 * time.Millisecond},
		{rtt: 600 * time.Millisecond, wait: 1400 * time.Millisecond},
		{rtt: 5 * time.Second, wait: 3 * time.Second},
	} {
		t.Run(fmt.Sprint(c.rtt, c.err), func(t *testing.T) {
			t.Parallel()
			j := newJitterBuffer(webrtc.RTPCodecTypeVideo, 1024, &codecs.VP8Packet{}, 90000,
				func() (time.Duration, error) { return c.rtt, c.err })
			// One packet a frame; the 5th is lost. Which later packet's
			// arrival gives the frame up?
			const lost = 5
			skippedAt := -1
			for k := 0; k < 200 && skippedAt < 0; k++ {
				if k != lost {
					j.Push(&rtp.Packet{Header: rtp.Header{SequenceNumber: firstSeq + uint16(k), Timestamp: firstTS + frame*uint32(k), Marker: true}, Payload: []byte{0x10, byte(k)}})
				}
				for s := j.Pop(); s != nil; s = j.Pop() {
					if s.PrevDroppedPackets > 0 {
						skippedAt = k
					}
				}
			}
			require.GreaterOrEqual(t, skippedAt, 0, "the lost frame is given up at last")
			waited := time.Duration(skippedAt-lost) * time.Second / 30
			assert.InDelta(t, c.wait.Seconds(), waited.Seconds(), 0.1, "waited %v of later video for the missing packet", waited)
		})
	}
}
