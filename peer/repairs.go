package peer

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// A receiver asks for a lost packet again on a timer of its own, not after
// a round trip as libwebrtc's does: pion's NACK generator every 100 ms, five
// times, and since it does not watch the RTX stream, even after the repair
// arrived. Each ask was answered with one more copy: under a 300 kb/s cap
// repairs reached 270 kb/s, most of them copies already on their way, and
// the queue they kept full lost the keyframes asked for meanwhile, for
// seconds. So a packet is resent only once a round trip has passed since
// its last copy left (libwebrtc's packet history does the same), and never
// once the transport-wide feedback has reported a copy received.

// repairLog is one RTX stream's recent repairs.
type repairLog struct {
	start time.Time
	mu    sync.Mutex
	// By original sequence, seq % repairTimes: the packet, when its last
	// repair left (since start; 0: never) and whether one arrived.
	seq     [repairTimes]uint16
	at      [repairTimes]time.Duration
	arrived [repairTimes]bool
}

// repairTimes is how many packets' last repair a stream remembers: a
// packet forgotten is repaired when asked, as before.
const repairTimes = 256

// allow tells whether original packet seq may be repaired at now, and
// records it when it may.
func (l *repairLog) allow(seq uint16, rtt time.Duration, now time.Time) bool {
	i, t := int(seq)%repairTimes, max(now.Sub(l.start), 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seq[i] == seq && l.at[i] != 0 && (l.arrived[i] || t-l.at[i] < rtt) {
		return false
	}
	l.seq[i], l.at[i], l.arrived[i] = seq, t, false
	return true
}

// delivered marks packet seq's last repair as received.
func (l *repairLog) delivered(seq uint16) {
	i := int(seq) % repairTimes
	l.mu.Lock()
	if l.seq[i] == seq && l.at[i] != 0 {
		l.arrived[i] = true
	}
	l.mu.Unlock()
}

// repairGateFactory puts a repairGate on each connection, reading the
// feedback through the connection's estimator.
type repairGateFactory struct{ m *meters }

func (f repairGateFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	path := f.m.path(id)
	if path == nil {
		return &interceptor.NoOp{}, nil
	}
	return &repairGate{path: path}, nil
}

// repairGate sits between pion's NACK responder and the wire: it drops a
// repair of a packet whose last copy arrived, or left less than a round
// trip ago.
type repairGate struct {
	interceptor.NoOp
	path *pathFeedback
}

// BindLocalStream gates the repairs of a stream with an RTX stream.
func (g *repairGate) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if info.SSRCRetransmission == 0 {
		return w
	}
	rtx := info.SSRCRetransmission
	log := g.path.logFor(rtx)
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		// An RTX payload starts with the original sequence number
		// (RFC 4588); padding-only packets (probes) have none.
		if h.SSRC != rtx || len(payload) < 2 {
			return w.Write(h, payload, a)
		}
		if !log.allow(binary.BigEndian.Uint16(payload), g.path.roundTrip(), time.Now()) {
			return h.MarshalSize() + len(payload), nil
		}
		return w.Write(h, payload, a)
	})
}

// UnbindLocalStream forgets the stream's repairs.
func (g *repairGate) UnbindLocalStream(info *interceptor.StreamInfo) {
	if info.SSRCRetransmission != 0 {
		g.path.forget(info.SSRCRetransmission)
	}
}
