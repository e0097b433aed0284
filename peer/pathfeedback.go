package peer

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"

	"github.com/metered-ca/realtime-go/peer/internal/probe"
)

// sentTimes is how many recent packets the feedback is matched with: more
// than are in flight on the paths calls take (at 5 Mb/s over a 200 ms
// round trip, about 110); one overwritten only goes unmeasured.
const sentTimes = 256

// pathFeedback is what a connection's transport-wide feedback tells of the
// packets it sent: the round trip, and which repairs arrived.
type pathFeedback struct {
	start time.Time
	// By transport-wide sequence, seq % sentTimes:
	sent    [sentTimes]atomic.Uint64 // microseconds since start << 16 | seq
	repairs [sentTimes]atomic.Uint64 // RTX SSRC << 32 | original seq << 16 | seq; 0: no repair
	rtt     atomic.Int64             // the latest round trip; 0 before the first

	mu   sync.Mutex
	logs map[uint32]*repairLog // by RTX SSRC
}

func newPathFeedback() *pathFeedback {
	return &pathFeedback{start: time.Now(), logs: map[uint32]*repairLog{}}
}

// packetSent records that the packet of transport-wide sequence seq left now.
func (f *pathFeedback) packetSent(seq uint16, now time.Time) {
	us := uint64(now.Sub(f.start) / time.Microsecond)
	f.sent[int(seq)%sentTimes].Store(us<<16 | uint64(seq))
	f.repairs[int(seq)%sentTimes].Store(0)
}

// repairSent records that the packet of transport-wide sequence seq (just
// recorded by packetSent) repairs original packet osn of an RTX stream.
func (f *pathFeedback) repairSent(seq uint16, rtx uint32, osn uint16) {
	f.repairs[int(seq)%sentTimes].Store(uint64(rtx)<<32 | uint64(osn)<<16 | uint64(seq))
}

// feedback reads one transport-wide feedback, read at now. The round trip
// runs from sending the packet it reports as the last to arrive to now:
// it holds the queue on the path, which a repair waits behind, and up to
// one feedback interval.
func (f *pathFeedback) feedback(fb *rtcp.TransportLayerCC, now time.Time) {
	var latest time.Duration
	last, found := uint16(0), false
	probe.Arrivals(fb, func(seq uint16, at time.Duration, received bool) {
		if !received {
			return
		}
		if !found || at >= latest {
			latest, last, found = at, seq, true
		}
		if r := f.repairs[int(seq)%sentTimes].Load(); r != 0 && uint16(r) == seq {
			f.delivered(uint32(r>>32), uint16(r>>16))
		}
	})
	if !found {
		return
	}
	v := f.sent[int(last)%sentTimes].Load()
	if v == 0 || uint16(v) != last {
		return // not recorded, or overwritten since
	}
	if d := now.Sub(f.start) - time.Duration(v>>16)*time.Microsecond; d > 0 {
		f.rtt.Store(int64(d))
	}
}

// roundTrip is the latest round trip, 0 before one was measured.
func (f *pathFeedback) roundTrip() time.Duration { return time.Duration(f.rtt.Load()) }

// delivered marks a repair the feedback reported received.
func (f *pathFeedback) delivered(rtx uint32, osn uint16) {
	f.mu.Lock()
	l := f.logs[rtx]
	f.mu.Unlock()
	if l != nil {
		l.delivered(osn)
	}
}

// logFor is the repair log of an RTX stream, made on first use.
func (f *pathFeedback) logFor(rtx uint32) *repairLog {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.logs[rtx]
	if l == nil {
		l = &repairLog{start: f.start}
		f.logs[rtx] = l
	}
	return l
}

// forget drops the repair log of an RTX stream that went.
func (f *pathFeedback) forget(rtx uint32) {
	f.mu.Lock()
	delete(f.logs, rtx)
	f.mu.Unlock()
}
