package peer

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer/internal/probe"
)

// wire records what reaches the transport.
type wire struct {
	mu      sync.Mutex
	packets []rtp.Header
	sizes   []int
	times   []time.Time
}

func (w *wire) Write(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.packets = append(w.packets, h.Clone())
	w.sizes = append(w.sizes, packetSize(h, payload))
	w.times = append(w.times, time.Now())
	return len(payload), nil
}

func (w *wire) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.packets, w.sizes, w.times = nil, nil, nil
}

// of returns what was written on ssrc (0: everything), in order.
func (w *wire) of(ssrc uint32) []rtp.Header {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []rtp.Header
	for _, h := range w.packets {
		if ssrc == 0 || h.SSRC == ssrc {
			out = append(out, h)
		}
	}
	return out
}

// TestEstimatorNumbersEverything: the transport-wide sequence runs through
// media, retransmissions and probes without a gap, and the RTX stream's
// own sequence through retransmissions and probes; probe packets are
// padding-only RTX packets at the media's latest timestamp.
func TestEstimatorNumbersEverything(t *testing.T) {
	t.Parallel()
	e, err := newEstimator(Bandwidth{}.withDefaults(), logging.NewDefaultLoggerFactory())
	require.NoError(t, err)
	defer e.Close()
	e.prober.close() // numbering only: no probes of its own
	info := &interceptor.StreamInfo{
		SSRC: 1111, SSRCRetransmission: 2222, PayloadType: 96, PayloadTypeRetransmission: 97, MimeType: "video/VP8",
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 5}},
	}
	var w wire
	out := e.AddStream(info, &w)
	s := e.streams()[0]
	stored := &rtp.Header{Version: 2, SSRC: 2222, PayloadType: 97, SequenceNumber: 40000} // the NACK responder's copy
	for i := range 10 {
		_, err := out.Write(&rtp.Header{Version: 2, SSRC: 1111, PayloadType: 96, SequenceNumber: uint16(i), Timestamp: 9000 + uint32(i)}, make([]byte, 900), nil)
		require.NoError(t, err)
		if i%3 == 0 {
			_, err = out.Write(stored, make([]byte, 902), nil)
			require.NoError(t, err)
		}
	}
	assert.Equal(t, uint16(40000), stored.SequenceNumber, "the responder's stored header is left as it was")
	require.Eventually(t, func() bool { return len(w.of(1111)) == 10 }, 10*time.Second, time.Millisecond, "the pacer lets the media go")
	for range 3 {
		_, err := e.pad(s)
		require.NoError(t, err)
	}

	var seqs []uint16
	for _, h := range w.of(0) {
		var ext rtp.TransportCCExtension
		require.NoError(t, ext.Unmarshal(h.GetExtension(5)))
		seqs = append(seqs, ext.TransportSequence)
	}
	for i := 1; i < len(seqs); i++ {
		assert.Equal(t, seqs[i-1]+1, seqs[i], "transport-wide sequence without gaps")
	}
	rtx := w.of(2222)
	require.Len(t, rtx, 4+3)
	for i := 1; i < len(rtx); i++ {
		assert.Equal(t, rtx[i-1].SequenceNumber+1, rtx[i].SequenceNumber, "one RTX sequence for repairs and probes")
	}
	for _, h := range rtx[4:] {
		assert.True(t, h.Padding)
		assert.Equal(t, byte(probe.PaddingSize), h.PaddingSize)
		assert.Equal(t, uint8(97), h.PayloadType)
		assert.Equal(t, uint32(9009), h.Timestamp)
	}
}

// TestProbeRaisesEstimate: on an open path the first media starts probing,
// and a result well above the estimate becomes the estimate at once.
func TestProbeRaisesEstimate(t *testing.T) {
	t.Parallel()
	e, err := newEstimator(Bandwidth{Initial: 300_000}.withDefaults(), logging.NewDefaultLoggerFactory())
	require.NoError(t, err)
	defer e.Close()
	e.raise(250_000)
	assert.Equal(t, 300_000, e.GetTargetBitrate(), "a result under the estimate changes nothing")
	e.raise(310_000)
	assert.Equal(t, 300_000, e.GetTargetBitrate(), "nor one within 5 % of it")
	var changed []int
	var mu sync.Mutex
	e.OnTargetBitrateChange(func(bps int) {
		mu.Lock()
		changed = append(changed, bps)
		mu.Unlock()
	})
	e.raise(2_000_000)
	assert.Equal(t, 2_000_000, e.GetTargetBitrate())
	mu.Lock()
	assert.Contains(t, changed, 2_000_000, "the change is told")
	mu.Unlock()
	e.raise(50_000_000)
	assert.Equal(t, Bandwidth{}.withDefaults().Max, e.GetTargetBitrate(), "within the configured maximum")
}

// TestProberPacesClusters: a cluster goes out at its rate, padding only
// what the media sent meanwhile did not cover.
func TestProberPacesClusters(t *testing.T) {
	t.Parallel()
	e, w := newProbingEstimator(t) // no media written: the prober's own loop has nothing to probe on
	c, took, before := sendWholeCluster(t, e, w, 1)
	w.mu.Lock()
	bytes, packets := 0, len(w.packets)
	for _, n := range w.sizes {
		bytes += n
	}
	w.mu.Unlock()
	assert.GreaterOrEqual(t, bytes, c.MinBytes())
	assert.GreaterOrEqual(t, packets, probe.MinPackets)
	assert.GreaterOrEqual(t, took, probe.MinDuration*9/10, "paced over the cluster's duration, not sent at once")
	st := e.probingStats()
	assert.Equal(t, uint64(packets), st.PacketsSent-before.PacketsSent)
	assert.Equal(t, uint64(bytes), st.BytesSent-before.BytesSent)
}

// newProbingEstimator is an estimator with one VP8 stream and its RTX
// stream (SSRCs 1 and 2, transport-wide numbers in extension 3), written to
// the wire it returns; it closes with the test.
func newProbingEstimator(t *testing.T) (*estimator, *wire) {
	t.Helper()
	e, err := newEstimator(Bandwidth{}.withDefaults(), logging.NewDefaultLoggerFactory())
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	w := &wire{}
	e.AddStream(&interceptor.StreamInfo{
		SSRC: 1, SSRCRetransmission: 2, PayloadTypeRetransmission: 97, MimeType: "video/VP8",
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 3}},
	}, w)
	return e, w
}

// sendWholeCluster sends a 4 Mb/s cluster on e's first stream, whose
// packets w records, with ids from firstID on: a machine that falls behind
// by maxClusterTime cuts a cluster (its measurement would be worthless), so
// it sends until one goes out whole. It returns that cluster, how long it
// took and the probing counts before it; w holds its packets.
func sendWholeCluster(t *testing.T, e *estimator, w *wire, firstID int) (probe.Cluster, time.Duration, ProbingStats) {
	t.Helper()
	s := e.streams()[0]
	pause := time.NewTimer(time.Hour)
	defer pause.Stop()
	for id, cut := firstID, 0; ; id++ {
		c := probe.Cluster{ID: id, Bitrate: 4_000_000}
		w.reset()
		before := e.probingStats()
		start := time.Now()
		outcome := e.send(s, c, pause)
		took := time.Since(start)
		if outcome == clusterSent {
			return c, took, before
		}
		require.Equal(t, clusterCut, outcome)
		require.GreaterOrEqual(t, took, maxClusterTime, "cut only when it fell behind")
		cut++
		require.Less(t, cut, 20, "no cluster went out whole")
	}
}

// TestLateFeedbackCounts: feedback that comes over a second after its
// cluster (behind a relay's half-second queue, which holds the cluster and
// then the feedback: 1.0-1.2 s behind Chromium) still counts the cluster's
// packets acknowledged and gives its result; only feedback later than the
// estimator waits (probe.KeepClusters) is forgotten.
func TestLateFeedbackCounts(t *testing.T) {
	t.Parallel()
	e, w := newProbingEstimator(t)
	// arrivedAll is feedback reporting w's packets received, one every
	// 2 ms (4 Mb/s is ~1 ms apart: the path carried half of it).
	arrivedAll := func() *rtcp.TransportLayerCC {
		rec := twcc.NewRecorder(9)
		at := time.Now().UnixMicro()
		for i, h := range w.of(2) {
			var ext rtp.TransportCCExtension
			require.NoError(t, ext.Unmarshal(h.GetExtension(3)))
			rec.Record(2, ext.TransportSequence, at+int64(i)*2000)
		}
		for _, pkt := range rec.BuildFeedbackPacket() {
			if fb, ok := pkt.(*rtcp.TransportLayerCC); ok {
				return fb
			}
		}
		return nil
	}
	overdue := func(after time.Duration) {
		e.prober.mu.Lock()
		e.prober.finish(time.Now().Add(after))
		e.prober.mu.Unlock()
	}

	c, _, before := sendWholeCluster(t, e, w, 1)
	overdue(1500 * time.Millisecond) // its due (a second) has passed
	e.prober.feedback(arrivedAll())
	st := e.probingStats()
	assert.Equal(t, uint64(len(w.of(2))), st.PacketsReceived-before.PacketsReceived, "every packet acknowledged, late")
	assert.Equal(t, 1, st.Results-before.Results, "and the cluster measured")

	_, _, before = sendWholeCluster(t, e, w, c.ID+1)
	overdue(probe.KeepClusters + time.Second)
	e.prober.feedback(arrivedAll())
	st = e.probingStats()
	assert.Zero(t, st.PacketsReceived-before.PacketsReceived, "feedback the estimator no longer waits for counts nothing")
	assert.Zero(t, st.Results-before.Results)
}

// TestProbesWaitForTheRemote: media alone starts no probe; the first
// feedback that reports a packet of ours received does. Until the remote's
// SRTP is up it drops what we send unseen (Chromium acknowledged none of
// the start-up probes sent at once).
func TestProbesWaitForTheRemote(t *testing.T) {
	t.Parallel()
	e, err := newEstimator(Bandwidth{}.withDefaults(), logging.NewDefaultLoggerFactory())
	require.NoError(t, err)
	defer e.Close()
	info := &interceptor.StreamInfo{
		SSRC: 1, SSRCRetransmission: 2, PayloadType: 96, PayloadTypeRetransmission: 97, MimeType: "video/VP8",
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 3}},
	}
	var w wire
	out := e.AddStream(info, &w)
	for i := range 5 {
		_, err := out.Write(&rtp.Header{Version: 2, SSRC: 1, PayloadType: 96, SequenceNumber: uint16(i), Timestamp: 3000 * uint32(i)}, make([]byte, 900), nil)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return len(w.of(1)) == 5 }, 10*time.Second, time.Millisecond, "the pacer lets the media go")
	time.Sleep(3 * probeStep)
	assert.Empty(t, w.of(2), "no probe before the remote reported a packet")

	var first rtp.TransportCCExtension
	require.NoError(t, first.Unmarshal(w.of(1)[0].GetExtension(3)))
	e.prober.feedback(received(first.TransportSequence))
	require.Eventually(t, func() bool { return len(w.of(2)) >= probe.MinPackets }, 10*time.Second, time.Millisecond, "the start-up probe goes once the remote is heard")
}

// TestFeedbackGoesToAMediaStream: transport-wide feedback that pion
// addressed to an RTX stream (the last packet it recorded) is re-addressed
// to a media stream of the remote's, which its sender reads.
func TestFeedbackGoesToAMediaStream(t *testing.T) {
	t.Parallel()
	f := &feedbackAddress{media: map[uint32]bool{}}
	f.BindRemoteStream(&interceptor.StreamInfo{SSRC: 10, MimeType: "audio/opus"}, nil)
	f.BindRemoteStream(&interceptor.StreamInfo{SSRC: 20, MimeType: "video/VP8"}, nil)
	f.BindRemoteStream(&interceptor.StreamInfo{SSRC: 21, MimeType: "video/rtx"}, nil)
	var sent []rtcp.Packet
	w := f.BindRTCPWriter(interceptor.RTCPWriterFunc(func(p []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		sent = append(sent, p...)
		return 0, nil
	}))
	_, err := w.Write([]rtcp.Packet{
		&rtcp.TransportLayerCC{MediaSSRC: 21},
		&rtcp.TransportLayerCC{MediaSSRC: 20},
		&rtcp.PictureLossIndication{MediaSSRC: 21},
	}, nil)
	require.NoError(t, err)
	assert.Equal(t, uint32(10), sent[0].(*rtcp.TransportLayerCC).MediaSSRC, "to a media stream")
	assert.Equal(t, uint32(20), sent[1].(*rtcp.TransportLayerCC).MediaSSRC, "a media stream's address is kept")
	assert.Equal(t, uint32(21), sent[2].(*rtcp.PictureLossIndication).MediaSSRC, "only transport-wide feedback is touched")
	f.UnbindRemoteStream(&interceptor.StreamInfo{SSRC: 10})
	_, err = w.Write([]rtcp.Packet{&rtcp.TransportLayerCC{MediaSSRC: 21}}, nil)
	require.NoError(t, err)
	assert.Equal(t, uint32(20), sent[3].(*rtcp.TransportLayerCC).MediaSSRC, "to another when the first goes")
}

// TestLatestResultCounts: of the clusters of one probe, the latest's
// result is the measurement: an earlier one that read higher (it rode a
// router's bucket) neither sets the estimate nor keeps it.
func TestLatestResultCounts(t *testing.T) {
	t.Parallel()
	newProber := func() *estimator {
		e, err := newEstimator(Bandwidth{Initial: 1_000_000}.withDefaults(), logging.NewDefaultLoggerFactory())
		require.NoError(t, err)
		t.Cleanup(func() { _ = e.Close() })
		e.prober.close()
		return e
	}
	c1, c2, c3 := probe.Cluster{ID: 1, Bitrate: 3_000_000}, probe.Cluster{ID: 2, Bitrate: 5_000_000}, probe.Cluster{ID: 3, Bitrate: 5_000_000}
	now := time.Now()

	e := newProber()
	e.take([]probe.Result{{Cluster: c1, Bitrate: 3_000_000}, {Cluster: c2, Bitrate: 2_260_000}}, now)
	assert.Equal(t, 2_260_000, e.GetTargetBitrate(), "in one feedback")

	e = newProber()
	e.take([]probe.Result{{Cluster: c1, Bitrate: 3_000_000}}, now)
	require.Equal(t, 3_000_000, e.GetTargetBitrate())
	e.take([]probe.Result{{Cluster: c2, Bitrate: 2_260_000}}, now.Add(80*time.Millisecond))
	assert.Equal(t, 2_260_000, e.GetTargetBitrate(), "in the next feedback: the estimate is corrected")
	e.take([]probe.Result{{Cluster: c3, Bitrate: 1_500_000}}, now.Add(160*time.Millisecond))
	assert.Equal(t, 2_260_000, e.GetTargetBitrate(), "a correction is not corrected again")

	e = newProber()
	e.take([]probe.Result{{Cluster: c1, Bitrate: 3_000_000}}, now)
	e.take([]probe.Result{{Cluster: c2, Bitrate: 500_000}}, now.Add(80*time.Millisecond))
	assert.Equal(t, 1_000_000, e.GetTargetBitrate(), "never below the estimate before the probe")

	e = newProber()
	e.take([]probe.Result{{Cluster: c1, Bitrate: 3_000_000}}, now)
	e.take([]probe.Result{{Cluster: c2, Bitrate: 2_260_000}}, now.Add(correctWithin))
	assert.Equal(t, 3_000_000, e.GetTargetBitrate(), "a result of a later probe is no correction")
}
