package peer

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type countingWriter struct{ packets int }

func (w *countingWriter) WriteRTP(*rtp.Header, []byte) (int, error) { w.packets++; return 0, nil }
func (w *countingWriter) Write([]byte) (int, error)                 { w.packets++; return 0, nil }

// A sender's packets are held until a remote description accepts its mid,
// and a forgotten sender's SSRC no longer has a gate.
func TestSendGateHoldsUntilAccepted(t *testing.T) {
	t.Parallel()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	defer pc.Close()
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "a", "s")
	require.NoError(t, err)
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	require.NoError(t, err)
	ssrc := tr.Sender().GetParameters().Encodings[0].SSRC

	var gates sendGates
	gates.hold(ssrcs(tr.Sender()))
	inner := &countingWriter{}
	w := &seqWriter{inner: inner, src: &boundTrack{}, seq: &senderSeq{clock: 48000}, gate: gates.lookup(ssrc)}
	require.NotNil(t, w.gate)
	n, err := w.WriteRTP(&rtp.Header{SequenceNumber: 1}, []byte{1, 2, 3})
	assert.NoError(t, err)
	assert.Equal(t, 3, n, "a held packet is reported written")
	assert.Zero(t, inner.packets, "nothing reaches the wire before the remote accepts the m-line")

	gates.open(ssrcs(tr.Sender()))
	_, _ = w.WriteRTP(&rtp.Header{SequenceNumber: 2}, []byte{1})
	assert.Equal(t, 1, inner.packets)

	gates.forget(ssrcs(tr.Sender()))
	assert.Nil(t, gates.lookup(ssrc))
	assert.Nil(t, (&sendGates{}).lookup(ssrc), "a sender never held is never gated")
}
