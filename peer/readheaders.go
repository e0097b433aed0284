package peer

import (
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// readHeadersFactory makes a readHeaders for each connection.
type readHeadersFactory struct{}

func (readHeadersFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &readHeaders{}, nil
}

// readHeaders parses each received packet's RTP header once, into a header
// and attributes kept for its stream, before pion's interceptors read it:
// each of them (reports, stats, NACK, transport-wide feedback) asks the
// attributes for the header, and the first to ask, finding none, made new
// ones and a new header for every packet, the largest share of what a
// receiving connection allocates. They are valid until the stream's next
// read, which is as long as anything reads them: pion reads a stream from
// one goroutine, and its interceptors copy what they keep (v0.1.51's TWCC
// sender hands the header's pointer to its loop, which never reads it).
type readHeaders struct{ interceptor.NoOp }

// pionHeaderKey is the key pion's interceptors keep a parsed header under.
// pion does not export it: asking pion to parse one header shows it.
var pionHeaderKey = func() any {
	a := interceptor.Attributes{}
	if _, err := a.GetRTPHeader([]byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		return nil
	}
	for k := range a {
		return k
	}
	return nil
}()

// BindRemoteStream reads the stream's packets through one header.
func (*readHeaders) BindRemoteStream(_ *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	if pionHeaderKey == nil {
		return r
	}
	var header rtp.Header
	attrs := interceptor.Attributes{}
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := r.Read(b, a)
		if err != nil || a != nil {
			return n, a, err
		}
		clear(attrs)
		if _, perr := header.Unmarshal(b[:n]); perr != nil {
			return n, nil, nil // the interceptors above report it as they do
		}
		attrs[pionHeaderKey] = &header
		return n, attrs, nil
	})
}
