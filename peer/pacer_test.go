package peer

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pacedConn is an estimator at a fixed estimate (no probes) with one video
// and one audio stream writing to w.
func pacedConn(t *testing.T, bw Bandwidth) (e *estimator, video, audio interceptor.RTPWriter, w *wire) {
	t.Helper()
	e, err := newEstimator(bw.withDefaults(), logging.NewDefaultLoggerFactory())
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	e.prober.close()
	ext := []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 5}}
	w = &wire{}
	video = e.AddStream(&interceptor.StreamInfo{SSRC: 1, SSRCRetransmission: 2, PayloadType: 96, PayloadTypeRetransmission: 97, MimeType: "video/VP8", RTPHeaderExtensions: ext}, w)
	audio = e.AddStream(&interceptor.StreamInfo{SSRC: 3, PayloadType: 111, MimeType: "audio/opus", RTPHeaderExtensions: ext}, w)
	return e, video, audio, w
}

// burst writes n video packets of size bytes at once, as an encoder hands
// over a keyframe.
func burst(t *testing.T, video interceptor.RTPWriter, n, size int) time.Time {
	t.Helper()
	start := time.Now()
	for i := range n {
		_, err := video.Write(&rtp.Header{Version: 2, SSRC: 1, PayloadType: 96, SequenceNumber: uint16(i), Timestamp: 3000}, make([]byte, size), nil)
		require.NoError(t, err)
	}
	return start
}

// TestPacerSpreadsAKeyframe: a burst of video leaves at 2.5× the
// estimate, not at once.
func TestPacerSpreadsAKeyframe(t *testing.T) {
	t.Parallel()
	_, video, _, w := pacedConn(t, Bandwidth{Initial: 1_000_000})
	const n, size = 60, 1000 // 60 kB: 192 ms at 2.5 Mb/s
	burst(t, video, n, size)
	require.Eventually(t, func() bool { return len(w.of(1)) == n }, 10*time.Second, time.Millisecond)
	w.mu.Lock()
	span := w.times[n-1].Sub(w.times[0])
	w.mu.Unlock()
	paced := time.Duration(float64((n*size-int(pacingFactor*1_000_000/8*pacingBurst.Seconds()))*8) / (pacingFactor * 1_000_000) * float64(time.Second))
	t.Logf("%d kB left over %v (paced: %v)", n*size/1000, span.Round(time.Millisecond), paced.Round(time.Millisecond))
	assert.GreaterOrEqual(t, span, paced/2, "spread at the pacing rate")
}

// TestPacerBoundsTheWait: under an estimate far too low for what the
// source sends, the queue still empties within maxQueueDelay of its oldest
// packet, spread over that time.
func TestPacerBoundsTheWait(t *testing.T) {
	t.Parallel()
	_, video, _, w := pacedConn(t, Bandwidth{Initial: 30_000})
	const n, size = 100, 1000 // 100 kB: 10 s at 2.5× 30 kb/s
	start := burst(t, video, n, size)
	require.Eventually(t, func() bool { return len(w.of(1)) == n }, 10*time.Second, time.Millisecond)
	w.mu.Lock()
	first, last := w.times[0], w.times[n-1]
	w.mu.Unlock()
	t.Logf("the last of %d kB left %v after the burst", n*size/1000, last.Sub(start).Round(time.Millisecond))
	assert.Less(t, last.Sub(start), 4*maxQueueDelay, "no packet waits much past maxQueueDelay")
	assert.GreaterOrEqual(t, last.Sub(first), maxQueueDelay/2, "yet the burst is spread")
}

// TestPacerLetsAudioPass: audio does not wait behind queued video, and the
// transport-wide sequence follows the order packets reach the wire.
func TestPacerLetsAudioPass(t *testing.T) {
	t.Parallel()
	_, video, audio, w := pacedConn(t, Bandwidth{Initial: 300_000})
	const n = 40 // 40 kB: 427 ms at 2.5× 300 kb/s
	burst(t, video, n, 1000)
	_, err := audio.Write(&rtp.Header{Version: 2, SSRC: 3, PayloadType: 111, SequenceNumber: 7, Timestamp: 960}, make([]byte, 80), nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(w.of(1)) == n }, 10*time.Second, time.Millisecond)
	all := w.of(0)
	audioAt := -1
	for i, h := range all {
		if h.SSRC == 3 {
			audioAt = i
		}
	}
	assert.Less(t, audioAt, n/2, "audio leaves before most of the queued video")
	var prev uint16
	for i, h := range all {
		var ext rtp.TransportCCExtension
		require.NoError(t, ext.Unmarshal(h.GetExtension(5)))
		if i > 0 {
			assert.Equal(t, prev+1, ext.TransportSequence, "numbered in the order sent")
		}
		prev = ext.TransportSequence
	}
}
