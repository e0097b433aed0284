package peer

import (
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// A keyframe request is passed on once per round trip, as a repair is
// sent (repairs.go): the receiver asks again on a timer (media.Frames every 300 ms, Chromium
// every 200 ms) for as long as no keyframe has arrived, and behind a full
// queue each ask made one more keyframe, a burst several times a frame's
// share that kept the queue full and lost the keyframes before it (seven
// in three seconds under a 300 kb/s cap, none decoded). A request that
// reaches the sender less than a round trip after the last one it passed
// on was sent before that keyframe could have arrived.

// minKeyframeInterval is the least time between two keyframe requests
// passed on, whatever the round trip (libwebrtc's sender waits as long).
const minKeyframeInterval = 300 * time.Millisecond

// keyframeGateFactory puts a keyframeGate on each connection, reading the
// round trip from the connection's estimator.
type keyframeGateFactory struct{ m *meters }

func (f keyframeGateFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	path := f.m.path(id)
	if path == nil {
		return &interceptor.NoOp{}, nil
	}
	return &keyframeGate{path: path, last: map[uint32]time.Time{}}, nil
}

// keyframeGate drops, from the RTCP the application reads for what it
// sends, the keyframe requests (PLI, FIR) that arrive within a round trip
// of the last one passed on for the same stream. It sits outside every
// other interceptor: statistics still count every request.
type keyframeGate struct {
	interceptor.NoOp
	path *pathFeedback

	mu   sync.Mutex
	last map[uint32]time.Time // media SSRC → when a request last went up
}

// BindRTCPReader filters what the application reads; a read left with no
// packet reads on.
func (g *keyframeGate) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := r.Read(b, a)
			if err != nil {
				return n, attr, err
			}
			if attr == nil {
				attr = interceptor.Attributes{}
			}
			pkts, err := attr.GetRTCPPackets(b[:n])
			if err != nil {
				return n, attr, nil // the application's to report
			}
			kept := g.filter(pkts, time.Now())
			if len(kept) == len(pkts) {
				return n, attr, nil
			}
			if len(kept) == 0 {
				continue
			}
			out, err := rtcp.Marshal(kept)
			if err != nil || len(out) > len(b) {
				return n, attr, nil
			}
			// Fresh attributes: the old ones cache the packets as read.
			return copy(b, out), interceptor.Attributes{}, nil
		}
	})
}

// filter returns pkts without the keyframe requests that came too soon.
func (g *keyframeGate) filter(pkts []rtcp.Packet, now time.Time) []rtcp.Packet {
	soon := func(ssrc uint32) bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		if last, ok := g.last[ssrc]; ok && now.Sub(last) < max(minKeyframeInterval, g.path.roundTrip()) {
			return true
		}
		g.last[ssrc] = now
		return false
	}
	var kept []rtcp.Packet
	for i, p := range pkts {
		drop := false
		switch p := p.(type) {
		case *rtcp.PictureLossIndication:
			drop = soon(p.MediaSSRC)
		case *rtcp.FullIntraRequest:
			drop = len(p.FIR) > 0 && soon(p.FIR[0].SSRC)
		}
		switch {
		case drop && kept == nil:
			kept = append(make([]rtcp.Packet, 0, len(pkts)), pkts[:i]...)
		case !drop && kept != nil:
			kept = append(kept, p)
		}
	}
	if kept == nil {
		return pkts
	}
	return kept
}

// UnbindLocalStream forgets a stream's last request.
func (g *keyframeGate) UnbindLocalStream(info *interceptor.StreamInfo) {
	g.mu.Lock()
	delete(g.last, info.SSRC)
	g.mu.Unlock()
}
