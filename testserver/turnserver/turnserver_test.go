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
