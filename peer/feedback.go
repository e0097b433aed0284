package peer

import (
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// feedbackAddressFactory makes a feedbackAddress for each connection.
type feedbackAddressFactory struct{}

func (feedbackAddressFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &feedbackAddress{media: map[uint32]bool{}}, nil
}

// feedbackAddress addresses the transport-wide feedback a connection sends
// to one of the remote's media streams. pion's feedback carries the SSRC
// of whatever packet it recorded last, often an RTX packet (a repair, a
// bandwidth probe); a pion sender reads RTCP only for its media SSRCs, so
// that feedback was dropped unread, and the packets it reported were never
// reported again: the sender's estimator lost those acknowledgements and
// every probe result that ended a feedback interval. The feedback is
// transport-wide, so any media stream of the connection will do.
type feedbackAddress struct {
	interceptor.NoOp
	mu    sync.Mutex
	media map[uint32]bool // the remote's media SSRCs
	first uint32          // the one feedback goes to
}

// BindRemoteStream records a media stream of the remote's.
func (f *feedbackAddress) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	if !isRTX(info) {
		f.mu.Lock()
		f.media[info.SSRC] = true
		if f.first == 0 {
			f.first = info.SSRC
		}
		f.mu.Unlock()
	}
	return r
}

// UnbindRemoteStream forgets a stream.
func (f *feedbackAddress) UnbindRemoteStream(info *interceptor.StreamInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.media, info.SSRC)
	if f.first == info.SSRC {
		f.first = 0
		for ssrc := range f.media {
			f.first = ssrc
			break
		}
	}
}

// BindRTCPWriter re-addresses feedback sent to anything but a media stream.
func (f *feedbackAddress) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			if fb, ok := p.(*rtcp.TransportLayerCC); ok {
				f.mu.Lock()
				if !f.media[fb.MediaSSRC] && f.first != 0 {
					fb.MediaSSRC = f.first
				}
				f.mu.Unlock()
			}
		}
		return w.Write(pkts, a)
	})
}
