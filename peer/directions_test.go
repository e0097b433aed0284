package peer

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRewriteDirections(t *testing.T) {
	t.Parallel()
	sdp := "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\na=group:BUNDLE 0 1 2\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=recvonly\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\na=mid:1\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\n"
	got := rewriteDirections(sdp, func(mid, dir string) string {
		switch mid {
		case "1":
			return "inactive"
		case "2":
			assert.Equal(t, "sendrecv", dir, "no attribute is sendrecv")
			return "sendonly"
		}
		return dir
	})
	assert.Equal(t, "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\na=group:BUNDLE 0 1 2\r\n"+
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=recvonly\r\n"+
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=inactive\r\na=mid:1\r\n"+
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=sendonly\r\n", got)
	assert.Equal(t, sdp, rewriteDirections(sdp, func(_, dir string) string { return dir }), "unchanged when nothing changes")
}
