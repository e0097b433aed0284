package peer

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// binds records the remote streams an interceptor is bound to.
type binds struct {
	interceptor.NoOp
	bound, unbound []uint32
}

func (b *binds) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	b.bound = append(b.bound, info.SSRC)
	return r
}

func (b *binds) UnbindRemoteStream(info *interceptor.StreamInfo) {
	b.unbound = append(b.unbound, info.SSRC)
}

// TestOwnStreamsAreNoRemoteStreams: the reader opened on one of our RTX
// SSRCs for its RTCP binds none of the receiving interceptors (no receiver
// reports, no statistics about a stream we send); a remote's stream does,
// and the estimator announces the RTX stream once the remote has reported
// a packet received, and again when it goes.
func TestOwnStreamsAreNoRemoteStreams(t *testing.T) {
	t.Parallel()
	e, err := newEstimator(Bandwidth{}.withDefaults(), logging.NewDefaultLoggerFactory())
	require.NoError(t, err)
	defer e.Close()
	type change struct {
		ssrc uint32
		on   bool
	}
	var announced []change
	e.watchRTX(func(ssrc uint32, on bool) { announced = append(announced, change{ssrc, on}) })
	info := &interceptor.StreamInfo{SSRC: 1111, SSRCRetransmission: 2222, MimeType: "video/VP8"}
	e.AddStream(info, &wire{})
	assert.Empty(t, announced, "not before the remote reports a packet")

	inner := &binds{}
	o := &ownStreams{Interceptor: inner, e: e}
	for _, ssrc := range []uint32{2222, 1111, 3333} {
		o.BindRemoteStream(&interceptor.StreamInfo{SSRC: ssrc}, nil)
		o.UnbindRemoteStream(&interceptor.StreamInfo{SSRC: ssrc})
	}
	assert.Equal(t, []uint32{3333}, inner.bound, "only the remote's stream is bound")
	assert.Equal(t, []uint32{3333}, inner.unbound)

	e.feedback(received(0))
	assert.Equal(t, []change{{2222, true}}, announced, "announced once the remote is heard")
	e.feedback(received(1))
	assert.Len(t, announced, 1, "once")
	e.removeStream(info)
	assert.Equal(t, []change{{2222, true}, {2222, false}}, announced, "and when it goes")
}

// received is transport-wide feedback reporting packet seq received.
func received(seq uint16) *rtcp.TransportLayerCC {
	rec := twcc.NewRecorder(9)
	rec.Record(1, seq, time.Now().UnixMicro())
	for _, pkt := range rec.BuildFeedbackPacket() {
		if fb, ok := pkt.(*rtcp.TransportLayerCC); ok {
			return fb
		}
	}
	return nil
}
