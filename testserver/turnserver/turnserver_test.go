package turnserver

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/metered-ca/realtime-go/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// allocate asks the relay for an allocation with ice's credentials and
// reports whether it got one.
func allocate(t *testing.T, s *Server, ice protocol.ICEServer) error {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer conn.Close()
	c, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: s.Addr().String(), STUNServerAddr: s.Addr().String(),
		Username: ice.Username, Password: ice.Credential, Realm: "realtime-go",
		Conn: conn, RTO: 100 * time.Millisecond, LoggerFactory: silent{},
	})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Listen())
	relay, err := c.Allocate()
	if err == nil {
		assert.True(t, relay.LocalAddr().(*net.UDPAddr).IP.IsLoopback(), "the relay address is on loopback")
		_ = relay.Close()
	}
	return err
}

func TestCredentialsAllocateUntilRotated(t *testing.T) {
	s, err := Start(Options{})
	require.NoError(t, err)
	defer s.Close()

	list := s.ICEServers("peer-1")
	require.Len(t, list, 1)
	ice := list[0]
	assert.Equal(t, []string{s.URL()}, ice.URLs)
	assert.True(t, strings.HasPrefix(ice.URLs[0], "turn:127.0.0.1:"))
	expiry, peer, ok := strings.Cut(ice.Username, ":")
	require.True(t, ok)
	assert.Equal(t, "peer-1", peer)
	unix, err := strconv.ParseInt(expiry, 10, 64)
	require.NoError(t, err)
	assert.InDelta(t, time.Now().Add(10*time.Minute).Unix(), unix, 5, "valid for the lifetime")

	require.NoError(t, allocate(t, s, ice), "fresh credentials allocate")
	wrong := ice
	wrong.Credential = s.ICEServers("peer-2")[0].Credential
	assert.Error(t, allocate(t, s, wrong), "another peer's credential does not fit this username")

	s.Rotate()
	assert.Error(t, allocate(t, s, ice), "credentials from before a rotation are refused")
	require.NoError(t, allocate(t, s, s.ICEServers("peer-1")[0]), "fresh ones work")
}

func TestExpiredCredentialsAreRefused(t *testing.T) {
	s, err := Start(Options{Lifetime: time.Second})
	require.NoError(t, err)
	defer s.Close()
	ice := s.ICEServers("peer-1")[0]
	require.NoError(t, allocate(t, s, ice))
	time.Sleep(2100 * time.Millisecond) // the expiry has whole-second resolution
	assert.Error(t, allocate(t, s, ice))
}

// TestQueueCountsPaddedRTP: the shaped queue counts what it takes and
// refuses, and tells a sender's padded RTP (its probes) from the rest.
func TestQueueCountsPaddedRTP(t *testing.T) {
	t.Parallel()
	onChannel := func(b []byte) []byte { return append([]byte{0x40, 0x00, 0, byte(len(b))}, b...) }
	rtpHeader := func(first, second byte) []byte {
		h := make([]byte, 16)
		h[0], h[1] = first, second
		return h
	}
	assert.True(t, paddedRTP(onChannel(rtpHeader(0xa0, 97))), "RTP with the padding bit")
	assert.True(t, paddedRTP(onChannel(rtpHeader(0xa0, 97|0x80))), "and a marker")
	assert.False(t, paddedRTP(onChannel(rtpHeader(0x80, 96))), "RTP without padding")
	assert.False(t, paddedRTP(onChannel(rtpHeader(0xa0, 200))), "RTCP with padding")
	assert.False(t, paddedRTP(rtpHeader(0xa0, 97)), "not channel data")
	assert.False(t, paddedRTP(onChannel([]byte{0x17, 0xfe, 0xfd})), "DTLS")

	v := &valve{rate: 1_000_000, filled: time.Now()}
	assert.True(t, v.admit(100, true))
	assert.True(t, v.admit(100, false))
	v.tokens = -v.rate*maxQueue.Seconds() - 1e6 // the queue full for a second to come
	assert.False(t, v.admit(100, true))
	assert.False(t, v.admit(100, false))
	assert.False(t, v.admit(100, false))
	assert.Equal(t, QueueCounts{Admitted: 2, Refused: 3, PaddedAdmitted: 1, PaddedRefused: 1}, v.counts)
}
