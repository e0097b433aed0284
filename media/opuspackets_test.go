package media

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An Opus track's packets are what pion's sample track would send: the
// same payloads, markers and steps of sequence number and timestamp,
// through dropped samples, empty samples and durations of part of a tick.
func TestOpusPacketsAsPionPacketizes(t *testing.T) {
	t.Parallel()
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	ours, err := newTrack(codec, "a", "s")
	require.NoError(t, err)
	require.NotNil(t, ours.opus, "an Opus track packetizes itself")
	pions, err := webrtc.NewTrackLocalStaticSample(codec, "a", "s")
	require.NoError(t, err)
	oursOut, pionsOut := &binding{codec: codec, keep: true}, &binding{codec: codec, keep: true}
	_, err = ours.Bind(oursOut)
	require.NoError(t, err)
	_, err = pions.Bind(pionsOut)
	require.NoError(t, err)

	samples := []pionmedia.Sample{
		{Data: []byte{1, 2, 3}, Duration: 20 * time.Millisecond},
		{Data: []byte{4}, Duration: 20 * time.Millisecond},
		{Data: []byte{5, 6}, Duration: 20 * time.Millisecond, PrevDroppedPackets: 2},
		{Duration: 20 * time.Millisecond}, // time without a packet
		{Data: []byte{7}, Duration: 10 * time.Millisecond},
		{Data: []byte{8}, Duration: 2500 * time.Microsecond},
		{Data: []byte{9}, Duration: time.Second / 3}, // not whole ticks
		{Data: []byte{10}, Duration: time.Second / 3},
		{Data: []byte{11}, Duration: 20 * time.Millisecond},
	}
	for _, s := range samples {
		require.NoError(t, ours.write(s))
		require.NoError(t, pions.WriteSample(s))
	}
	require.Equal(t, pionsOut.written(), oursOut.written())
	require.Len(t, oursOut.headers, len(pionsOut.headers))
	o0, p0 := oursOut.headers[0], pionsOut.headers[0]
	for i := range oursOut.headers {
		o, p := oursOut.headers[i], pionsOut.headers[i]
		assert.Equal(t, p.SequenceNumber-p0.SequenceNumber, o.SequenceNumber-o0.SequenceNumber, "packet %d's sequence step", i)
		assert.Equal(t, p.Timestamp-p0.Timestamp, o.Timestamp-o0.Timestamp, "packet %d's timestamp step", i)
		assert.Equal(t, p.Marker, o.Marker, "packet %d's marker", i)
		assert.Equal(t, p.PayloadType, o.PayloadType)
		assert.Equal(t, p.SSRC, o.SSRC)
		assert.Equal(t, p.Extension, o.Extension)
	}
}

// Sending an Opus packet allocates nothing.
func TestOpusPacketsAllocateNothing(t *testing.T) {
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	track, err := newTrack(codec, "a", "s")
	require.NoError(t, err)
	_, err = track.Bind(&binding{codec: codec})
	require.NoError(t, err)
	data := make([]byte, 80)
	allocs := testing.AllocsPerRun(1000, func() {
		_ = track.opus.write(pionmedia.Sample{Data: data, Duration: 20 * time.Millisecond})
	})
	assert.Zero(t, allocs)
}
