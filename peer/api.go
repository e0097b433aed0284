package peer

import (
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/peer/internal/codec"
)

// Bandwidth tunes the send-side bandwidth estimator every connection runs
// (Google Congestion Control over transport-wide feedback, as a browser).
// Zero fields take the defaults.
type Bandwidth struct {
	// Initial is the estimate a new connection starts from (0: 1 Mb/s).
	Initial int
	// Min and Max bound the estimate (0: 30 kb/s and 20 Mb/s).
	Min, Max int
}

func (b Bandwidth) withDefaults() Bandwidth {
	if b.Initial <= 0 {
		b.Initial = 1_000_000
	}
	if b.Min <= 0 {
		b.Min = 30_000
	}
	if b.Max <= 0 {
		b.Max = 20_000_000
	}
	b.Initial = min(max(b.Initial, b.Min), b.Max)
	return b
}

// meters holds what the interceptors of the MeteredPeer's API measure for
// each connection, keyed by the pion connection's ID: its bandwidth
// estimator and its RTP statistics. A connection takes its own out when it
// is made (claim).
type meters struct {
	mu         sync.Mutex
	estimators map[string]*estimator
	getters    map[string]stats.Getter
	counters   map[string]*streamCounters
}

// connMeters is one connection's: either may be nil (an API of the
// application's own).
type connMeters struct {
	bwe      *estimator
	stats    stats.Getter
	counters *streamCounters
}

// path is the feedback record of connection id's estimator; nil before
// the estimator is made (it is the chain's first interceptor).
func (m *meters) path(id string) *pathFeedback {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.estimators[id]; e != nil {
		return e.path
	}
	return nil
}

func (m *meters) claim(id string) connMeters {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := connMeters{bwe: m.estimators[id], stats: m.getters[id], counters: m.counters[id]}
	delete(m.estimators, id)
	delete(m.getters, id)
	delete(m.counters, id)
	return out
}

// newAPI is the API a MeteredPeer builds when Options.API is nil: our
// codecs (codec.All: pion's defaults less H.264's mode 0) and pion's
// interceptors (NACK both ways with RTX, RTCP reports, TWCC feedback for
// what we receive), plus the transport-cc header on what we
// send and a bandwidth estimator per connection (GCC with a prober:
// bwe.go), whose target drives the encoders of rate-adaptive tracks
// (RateAdaptive).
//
// The estimator paces video itself (pacer.go): pion's leaky-bucket pacer
// queues without bound behind a source that cannot slow down (a
// passthrough file on a thin link), which turns a congested link into
// ever-growing delay.
func newAPI(se webrtc.SettingEngine, lf logging.LoggerFactory, bw Bandwidth, m *meters) (*webrtc.API, error) {
	if se.LoggerFactory != nil {
		lf = se.LoggerFactory
	}
	se.LoggerFactory = lf
	// Every m-line of ours and of a browser's lists the same codecs: match
	// them once per kind, not again for each m-line (receive slots triple
	// the m-lines of a first offer).
	se.DisableMediaEngineMultipleCodecs(true)
	bw = bw.withDefaults()
	media := &webrtc.MediaEngine{}
	if err := codec.Register(media, codec.All); err != nil {
		return nil, err
	}
	reg, err := newInterceptors(media, lf, bw, m)
	if err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(media), webrtc.WithInterceptorRegistry(reg)), nil
}

// newInterceptors is the API's interceptor registry; every interceptor in
// it logs through lf (pion's default for one not told is stderr).
func newInterceptors(media *webrtc.MediaEngine, lf logging.LoggerFactory, bw Bandwidth, m *meters) (*interceptor.Registry, error) {
	reg := &interceptor.Registry{}
	// First, so that it is the innermost reader: every interceptor above
	// finds each packet's header parsed (readheaders.go).
	reg.Add(readHeadersFactory{})
	m.estimators = map[string]*estimator{}
	m.getters = map[string]stats.Getter{}
	m.counters = map[string]*streamCounters{}

	// The estimator first: interceptors added later wrap it, so it sees
	// every packet last, NACK retransmissions included, and numbers the
	// transport-wide sequence itself (in place of pion's header
	// interceptor) for its probes and the media alike.
	reg.Add(estimatorFactory{bw: bw, lf: lf, m: m})
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if err := media.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return nil, err
		}
	}
	// The counters inside the NACK responder, to see its retransmissions.
	reg.Add(counterFactory{m})
	// Outside the counters, which count only the repairs that leave.
	reg.Add(repairGateFactory{m})
	// Before pion's TWCC feedback sender (added last), to address what it
	// writes (feedback.go).
	reg.Add(feedbackAddressFactory{})
	// Repairs come back on the RTX stream, which pion's NACK generator does
	// not watch: it would ask for a repaired packet again every 100 ms for
	// as long as the packet stays in its log (seconds), each answered. Five
	// asks cover half a second, the time Frames waits for a packet.
	nackGen := []nack.GeneratorOption{nack.GeneratorMaxNacksPerPacket(5), nack.WithGeneratorLoggerFactory(lf)}
	if err := webrtc.ConfigureNackWithOptions(media, reg, nackGen, nack.WithResponderLoggerFactory(lf)); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureRTCPReportsWithOptions(reg, []report.ReceiverOption{report.WithReceiverLoggerFactory(lf)}, report.WithSenderLoggerFactory(lf)); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(media); err != nil {
		return nil, err
	}
	recorders, err := stats.NewInterceptor(stats.WithLoggerFactory(lf))
	if err != nil {
		return nil, err
	}
	recorders.OnNewPeerConnection(func(id string, g stats.Getter) {
		m.mu.Lock()
		m.getters[id] = g
		m.mu.Unlock()
	})
	reg.Add(closeGuardFactory{recorders})
	if err := webrtc.ConfigureTWCCSenderWithOptions(media, reg, twcc.WithLoggerFactory(lf)); err != nil {
		return nil, err
	}
	// Last, so that it filters only what the application reads.
	reg.Add(keyframeGateFactory{m})
	outer := &interceptor.Registry{}
	outer.Add(ownStreamsFactory{inner: reg, m: m})
	return outer, nil
}
