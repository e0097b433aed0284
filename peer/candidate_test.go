package peer

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCandidateKindShowsNoAddress(t *testing.T) {
	t.Parallel()
	typ, proto := candidateKind("candidate:1966762134 1 udp 2122260223 192.168.1.7 51234 typ host generation 0 ufrag Xy1 network-id 1")
	assert.Equal(t, "host", typ)
	assert.Equal(t, "udp", proto)
	typ, proto = candidateKind("candidate:3 1 TCP 1518280447 10.0.0.2 9 typ srflx raddr 192.168.1.7 rport 51234 tcptype active")
	assert.Equal(t, "srflx", typ)
	assert.Equal(t, "tcp", proto)
	typ, proto = candidateKind("garbage with typ <script>")
	assert.Equal(t, "unknown", typ, "a malformed line gives nothing of itself to the log")
	assert.Equal(t, "unknown", proto)
}
