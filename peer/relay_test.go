package peer_test

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/protocol"
	"github.com/metered-ca/realtime-go/testserver"
	"github.com/metered-ca/realtime-go/testserver/turnserver"
)

// relayRoom is a server whose welcomes carry credentials for a loopback
// TURN relay, and a record of the credentials each peer was handed.
type relayRoom struct {
	log    *slog.Logger
	buf    *peertest.LogBuffer
	srv    *testserver.Server
	relay  *turnserver.Server
	mu     sync.Mutex
	issued map[string][]string // peer id → usernames, in order
	creds  []string
}

func newRelayRoom(t *testing.T) *relayRoom {
	t.Helper()
	relay, err := turnserver.Start(turnserver.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = relay.Close() })
	room := &relayRoom{relay: relay, issued: map[string][]string{}, buf: &peertest.LogBuffer{}}
	room.log = slog.New(slog.NewTextHandler(room.buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			for _, l := range strings.Split(room.buf.String(), "\n") {
				if strings.Contains(l, "restart") || strings.Contains(l, "ICE") || strings.Contains(l, "ice") {
					t.Log(l)
				}
			}
		}
	})
	room.srv, err = testserver.New(testserver.Options{
		RateLimit: testserver.RateLimit{Disabled: true},
		ICE: func(peerID string) []protocol.ICEServer {
			list := relay.ICEServers(peerID)
			room.mu.Lock()
			room.issued[peerID] = append(room.issued[peerID], list[0].Username)
			room.creds = append(room.creds, list[0].Credential)
			room.mu.Unlock()
			return list
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = room.srv.Close() })
	return room
}

func (r *relayRoom) latest(peerID string) (string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := r.issued[peerID]
	if len(list) == 0 {
		return "", 0
	}
	return list[len(list)-1], len(list)
}

// relayPeer joins with ICE transport policy relay: every path it takes
// goes through the TURN relay.
func (r *relayRoom) relayPeer(t *testing.T, id string) *peer.MeteredPeer {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetICETimeouts(2*time.Second, 5*time.Second, 500*time.Millisecond)
	p, err := peer.New(peer.Options{
		Logger:        r.log,
		URL:           r.srv.URL(),
		TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: id}),
		Configuration: webrtc.Configuration{ICETransportPolicy: webrtc.ICETransportPolicyRelay},
		SettingEngine: &se,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close("test over") })
	peer.SetICERestart(p, 500*time.Millisecond, 2*time.Second, 0)
	return p
}

// TestRelayOnlyCall: two Go peers that may only use the relay send audio
// both ways and open a data channel through it, and Stats says relay. After
// the relay rotates its secret and signalling reconnects with fresh
// credentials, a relay outage makes ICE restart, and the restart takes the
// new credentials (the old ones no longer authenticate).
func TestRelayOnlyCall(t *testing.T) {
	t.Parallel()
	room := newRelayRoom(t)
	a, b := room.relayPeer(t, "relay-a"), room.relayPeer(t, "relay-b")
	ctx := peertest.Context(t, 90*time.Second)
	require.NoError(t, a.AddTrack(peertest.OpusTrack(t, "a-audio", "a"), nil, nil))
	require.NoError(t, b.AddTrack(peertest.OpusTrack(t, "b-audio", "b"), nil, nil))
	// pion reads RTP only when asked: each side reads what it receives.
	for _, p := range []*peer.MeteredPeer{a, b} {
		peer.On(p, func(ev peer.PeerJoined) {
			peer.On(ev.Peer, func(tr peer.Track) { peertest.CountRTP(tr.Track) })
		})
	}
	opened := make(chan struct{}, 1)
	peer.On(a, func(ev peer.PeerJoined) {
		if d, err := ev.Peer.CreateDataChannel("relay", peer.DataChannelOptions{}); err == nil {
			peer.On(d, func(peer.ChannelOpen) { opened <- struct{}{} })
		}
	})
	require.NoError(t, a.Join(ctx, "relay"))
	require.NoError(t, b.Join(ctx, "relay"))
	select {
	case <-opened:
	case <-ctx.Done():
		t.Fatal("the data channel never opened through the relay")
	}
	flowing := func(p *peer.MeteredPeer) func() bool {
		var last uint64
		return func() bool {
			rps := p.RemotePeers()
			if len(rps) != 1 {
				return false
			}
			st, err := rps[0].Stats(ctx)
			if err != nil || len(st.Inbound) == 0 || !st.Path.Relayed() {
				return false
			}
			n := st.Inbound[0].PacketsReceived
			grew := last > 0 && n > last
			last = n
			return grew
		}
	}
	for _, p := range []*peer.MeteredPeer{a, b} {
		require.Eventually(t, flowing(p), 20*time.Second, 200*time.Millisecond, "audio arrives through the relay")
		st, err := p.RemotePeers()[0].Stats(ctx)
		require.NoError(t, err)
		require.NotNil(t, st.Path)
		assert.Equal(t, webrtc.ICECandidateTypeRelay, st.Path.Local.Type, "Stats says relay")
		assert.Equal(t, "udp", st.Path.Local.Protocol)
		assert.True(t, st.Path.Relayed())
		assert.Positive(t, st.AvailableOutgoingBitrate)
		require.Len(t, st.Outbound, 1)
		assert.Positive(t, st.Outbound[0].PacketsSent)
	}
	assert.Positive(t, room.relay.Allocations())

	// Fresh credentials through a signalling reconnect; the old ones die.
	room.relay.Rotate()
	fresh := map[string]string{}
	for id, p := range map[string]*peer.MeteredPeer{"relay-a": a, "relay-b": b} {
		old, _ := room.latest(id)
		rejoined := peertest.Watch[peer.StateChange](p)
		room.srv.DropConnections(id)
		rejoined.Next(t, func(ev peer.StateChange) bool { return ev.From == peer.StateReconnecting && ev.To == peer.StateJoined })
		now, n := room.latest(id)
		require.Equal(t, 2, n, "the reconnect's welcome carried new credentials")
		require.NotEqual(t, old, now)
		fresh[id] = now
	}
	before := room.relay.Used(fresh["relay-a"]) + room.relay.Used(fresh["relay-b"])
	// Each saw the other leave (its socket dropped) and come back: a new
	// RemotePeer, once the presence of the rejoin has arrived.
	require.Eventually(t, func() bool { return len(a.RemotePeers()) == 1 && len(b.RemotePeers()) == 1 }, 10*time.Second, 20*time.Millisecond,
		"each meets the other again after the reconnects")

	// A relay outage: ICE fails, the ladder restarts, and only the new
	// credentials can allocate.
	room.relay.Interrupt(true)
	rb := a.RemotePeers()[0]
	require.Eventually(t, func() bool { return rb.State() == peer.PeerReconnecting }, 20*time.Second, 50*time.Millisecond, "the outage is noticed")
	room.relay.Interrupt(false)
	require.Eventually(t, func() bool { return rb.State() == peer.PeerConnected }, 60*time.Second, 100*time.Millisecond, "an ICE restart brings the call back")
	require.Eventually(t, flowing(a), 20*time.Second, 200*time.Millisecond, "audio flows again through the relay")
	assert.Greater(t, room.relay.Used(fresh["relay-a"])+room.relay.Used(fresh["relay-b"]), before, "the restart allocated with the new credentials")
	st, err := rb.Stats(ctx)
	require.NoError(t, err)
	assert.True(t, st.Path.Relayed())

	logs := room.buf.String()
	require.NotEmpty(t, logs)
	room.mu.Lock()
	defer room.mu.Unlock()
	for _, c := range room.creds {
		assert.NotContains(t, logs, c, "a TURN credential reached the debug log")
	}
}
