package peer_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/testserver"
)

var icePwd = regexp.MustCompile(`a=ice-pwd:(\S+)`)

// A whole session with debug logging on — JWTs from a token provider, an
// API key, TURN credentials from the welcome, media, a data channel,
// failed sends, a signalling drop and reconnect — writes none of its
// secrets to the log or to any error.
func TestNoSecretInLogsOrErrors(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	logs := &peertest.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const turnUser, turnPass, apiKey = "turn-user-7f3a9c", "turn-pass-Q8vZ2mK4", "pk_live_9d8f7e6c5b4a"
	iceMeta := `{"iceServers":[{"urls":"turn:127.0.0.1:3478?transport=udp","username":"` + turnUser + `","credential":"` + turnPass + `"}]}`

	var secretsMu sync.Mutex
	secrets := []string{turnUser, turnPass, apiKey}
	keep := func(s string) {
		secretsMu.Lock()
		secrets = append(secrets, s)
		secretsMu.Unlock()
	}
	alice, err := peer.New(peer.Options{URL: srv.URL(), Logger: logger, TokenProvider: func(context.Context) (string, error) {
		tok, err := testserver.MintToken(testserver.DevKeyID, testserver.DevKeySecret, testserver.Claims{Sub: "alice", Metadata: json.RawMessage(iceMeta)}, time.Hour)
		keep(tok)
		return tok, err
	}})
	require.NoError(t, err)
	defer alice.Close("")
	bob, err := peer.New(peer.Options{URL: srv.URL(), Logger: logger, APIKey: apiKey})
	require.NoError(t, err)
	defer bob.Close("")

	var errsMu sync.Mutex
	var errs []string
	report := func(err error) {
		if err != nil {
			errsMu.Lock()
			errs = append(errs, err.Error())
			errsMu.Unlock()
		}
	}
	for _, p := range []*peer.MeteredPeer{alice, bob} {
		peer.On(p, func(ev peer.FatalError) { report(ev.Err) })
		peer.On(p, func(ev peer.PeerJoined) {
			peer.On(ev.Peer, func(e peer.NegotiationError) { report(e.Err) })
			peer.On(ev.Peer, func(e peer.ICECandidateError) { report(e.Err) })
		})
	}
	ctx := peertest.Context(t, 60*time.Second)
	require.NoError(t, alice.AddTrack(peertest.OpusTrack(t, "a-mic", "a-s"), nil, peer.StreamMetadata{"label": "mic"}))
	require.NoError(t, alice.Join(ctx, "secrets"))
	require.NoError(t, bob.Join(ctx, "secrets"))
	peertest.Connected(t, alice, 1)

	collectPwds := func() {
		for _, p := range []*peer.MeteredPeer{alice, bob} {
			for _, rp := range p.RemotePeers() {
				for _, d := range []string{sdpOf(rp.PC().LocalDescription()), sdpOf(rp.PC().RemoteDescription())} {
					for _, m := range icePwd.FindAllStringSubmatch(d, -1) {
						keep(m[1])
					}
				}
			}
		}
	}
	collectPwds()
	dc, err := alice.RemotePeers()[0].CreateDataChannel("chat", peer.DataChannelOptions{})
	require.NoError(t, err)
	report(dc.SendText(ctx, "too early")) // not open yet: an error
	report(alice.Send(ctx, strings.Repeat("x", 100_000)))
	report(alice.SendTo(ctx, "nobody", "hello"))
	require.NoError(t, bob.Send(ctx, "hello"))

	// The signalling drop: alice mints a new token, both get fresh connections.
	resets := peertest.Watch[peer.ConnectionReset](alice.RemotePeers()[0])
	srv.DropConnections("alice")
	resets.Next(t, nil)
	peertest.Connected(t, alice, 1)
	collectPwds()
	require.NoError(t, alice.Close("done"))
	require.NoError(t, bob.Close("done"))

	out := logs.String()
	require.Contains(t, out, "level=DEBUG", "debug logging was on")
	secretsMu.Lock()
	defer secretsMu.Unlock()
	require.GreaterOrEqual(t, len(secrets), 3+2+4, "TURN user and password, API key, two JWTs, ice-pwds")
	errsMu.Lock()
	defer errsMu.Unlock()
	require.NotEmpty(t, errs)
	for _, s := range secrets {
		assert.NotContains(t, out, s, "a secret in the log")
		for _, e := range errs {
			assert.NotContains(t, e, s, "a secret in an error")
		}
	}
}

func sdpOf(d *webrtc.SessionDescription) string {
	if d == nil {
		return ""
	}
	return d.SDP
}
