package peer

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Interceptors above readHeaders find each packet's header parsed, the
// right one, without a map or a header made per packet; a packet pion
// cannot parse is left for them to refuse, and attributes a reader passes
// in are its own.
func TestReadHeadersParseOnce(t *testing.T) {
	require.NotNil(t, pionHeaderKey, "pion's header key found")
	var next []byte
	inner := interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, next), a, nil
	})
	r := (&readHeaders{}).BindRemoteStream(&interceptor.StreamInfo{}, inner)
	buf := make([]byte, 1500)
	for seq := uint16(7); seq < 10; seq++ {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: 960 * uint32(seq), SSRC: 42}, Payload: []byte{1, 2, 3}}
		require.NoError(t, p.Header.SetExtension(3, []byte{0, byte(seq)}))
		next, _ = p.Marshal()
		n, attrs, err := r.Read(buf, nil)
		require.NoError(t, err)
		h, err := attrs.GetRTPHeader(buf[:n])
		require.NoError(t, err)
		assert.Equal(t, seq, h.SequenceNumber)
		assert.Equal(t, 960*uint32(seq), h.Timestamp)
		assert.Equal(t, []byte{0, byte(seq)}, h.GetExtension(3))
	}
	allocs := testing.AllocsPerRun(100, func() {
		n, attrs, _ := r.Read(buf, nil)
		_, _ = attrs.GetRTPHeader(buf[:n])
	})
	assert.Zero(t, allocs, "no map or header per packet")

	next = []byte{0x80, 1, 2} // shorter than a header
	n, attrs, err := r.Read(buf, nil)
	require.NoError(t, err)
	assert.Nil(t, attrs)
	_, err = interceptor.Attributes{}.GetRTPHeader(buf[:n])
	assert.Error(t, err, "left for pion's interceptors to refuse")

	own := interceptor.Attributes{"mine": 1}
	next = []byte{0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}
	_, attrs, err = r.Read(buf, own)
	require.NoError(t, err)
	assert.Equal(t, interceptor.Attributes{"mine": 1}, attrs)
}
