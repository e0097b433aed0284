package peer

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// counterFactory makes a streamCounters for each connection: what pion's
// statistics do not count and a browser's getStats does (video frames, by
// the RTP marker bit; retransmissions; the feedback sent).
type counterFactory struct{ m *meters }

func (f counterFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	c := &streamCounters{}
	f.m.mu.Lock()
	f.m.counters[id] = c
	f.m.mu.Unlock()
	return c, nil
}

// streamCounters counts, by SSRC, the video frames one connection sends and
// receives, the retransmissions it sends and receives, and the feedback it
// sends: it sits inside pion's NACK interceptors, so it sees their
// retransmissions and NACKs, which pion's statistics do not.
type streamCounters struct {
	interceptor.NoOp
	sent, received, resent, repaired sync.Map // uint32 → *atomic.Uint64
	nacks, plis, firs                sync.Map // media SSRC → *atomic.Uint64
}

// BindRTCPWriter counts the NACKs, PLIs and FIRs sent.
func (f *streamCounters) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.TransportLayerNack:
				counter(&f.nacks, p.MediaSSRC).Add(1)
			case *rtcp.PictureLossIndication:
				counter(&f.plis, p.MediaSSRC).Add(1)
			case *rtcp.FullIntraRequest:
				counter(&f.firs, p.MediaSSRC).Add(1)
			}
		}
		return w.Write(pkts, a)
	})
}

// feedbackSent is how many NACK, PLI and FIR packets were sent for ssrc.
func (f *streamCounters) feedbackSent(ssrc uint32) (nacks, plis, firs uint32) {
	if f == nil {
		return 0, 0, 0
	}
	return uint32(load(&f.nacks, ssrc)), uint32(load(&f.plis, ssrc)), uint32(load(&f.firs, ssrc))
}

func isVideo(info *interceptor.StreamInfo) bool {
	return strings.HasPrefix(strings.ToLower(info.MimeType), "video/")
}

// isRTX tells whether a stream is the retransmission stream of another.
func isRTX(info *interceptor.StreamInfo) bool { return strings.EqualFold(info.MimeType, "video/rtx") }

func counter(m *sync.Map, ssrc uint32) *atomic.Uint64 {
	v, _ := m.LoadOrStore(ssrc, new(atomic.Uint64))
	return v.(*atomic.Uint64)
}

// BindLocalStream counts the frames sent on a video stream.
func (f *streamCounters) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if !isVideo(info) {
		return w
	}
	n, rtx := counter(&f.sent, info.SSRC), counter(&f.resent, info.SSRC)
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		switch {
		case h.SSRC == info.SSRC && h.Marker:
			n.Add(1)
		case h.SSRC != info.SSRC && h.SSRC == info.SSRCRetransmission:
			rtx.Add(1)
		}
		return w.Write(h, payload, a)
	})
}

// BindRemoteStream counts the frames received on a video stream.
func (f *streamCounters) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	if isRTX(info) {
		n := counter(&f.repaired, info.SSRC)
		return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			i, attr, err := r.Read(b, a)
			if err == nil && i >= 12 {
				n.Add(1)
			}
			return i, attr, err
		})
	}
	if !isVideo(info) {
		return r
	}
	n := counter(&f.received, info.SSRC)
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		i, attr, err := r.Read(b, a)
		// The marker bit is the top bit of the second byte.
		if err == nil && i >= 12 && b[1]&0x80 != 0 {
			n.Add(1)
		}
		return i, attr, err
	})
}

// UnbindLocalStream forgets a sent stream.
func (f *streamCounters) UnbindLocalStream(info *interceptor.StreamInfo) {
	f.sent.Delete(info.SSRC)
	f.resent.Delete(info.SSRC)
}

// UnbindRemoteStream forgets a received stream.
func (f *streamCounters) UnbindRemoteStream(info *interceptor.StreamInfo) {
	f.received.Delete(info.SSRC)
	f.repaired.Delete(info.SSRC)
}

// sentFrames, resentPackets and receivedFrames read the counts (0 without a counter).
func (f *streamCounters) sentFrames(ssrc uint32) uint64 {
	if f == nil {
		return 0
	}
	return load(&f.sent, ssrc)
}

func (f *streamCounters) resentPackets(ssrc uint32) uint64 {
	if f == nil {
		return 0
	}
	return load(&f.resent, ssrc)
}

func (f *streamCounters) repairedPackets(rtxSSRC uint32) uint64 {
	if f == nil {
		return 0
	}
	return load(&f.repaired, rtxSSRC)
}

func (f *streamCounters) receivedFrames(ssrc uint32) uint64 {
	if f == nil {
		return 0
	}
	return load(&f.received, ssrc)
}

func load(m *sync.Map, ssrc uint32) uint64 {
	if v, ok := m.Load(ssrc); ok {
		return v.(*atomic.Uint64).Load()
	}
	return 0
}

// packetSize is the size of an RTP packet on the wire before SRTP: header,
// payload and padding.
func packetSize(h *rtp.Header, payload []byte) int {
	return h.MarshalSize() + len(payload) + int(h.PaddingSize)
}
