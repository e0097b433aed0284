package peer_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/protocol"
	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

// Every source of FatalError in the reference's table.
func TestFatalErrors(t *testing.T) {
	t.Parallel()
	t.Run("terminal close codes end the peer", func(t *testing.T) {
		for code, name := range map[protocol.CloseCode]string{4001: "invalid_token", 4003: "channel_not_authorized", 4012: "account_suspended", 4020: "admin_disconnect"} {
			srv := peertest.NewServer(t)
			p := peertest.NewPeer(t, srv, "x")
			fatal, left := peertest.Watch[peer.FatalError](p), peertest.Watch[peer.Left](p)
			require.NoError(t, p.Join(peertest.Context(t, 10*time.Second), "f"))
			srv.CloseConnections("x", code, "because")
			var ce *peer.CloseError
			require.ErrorAs(t, fatal.Next(t, nil).Err, &ce)
			assert.Equal(t, name, ce.Code.String())
			assert.Equal(t, code, ce.Code)
			assert.Equal(t, "because", left.Next(t, nil).Reason)
			require.Eventually(t, func() bool { return p.State() == peer.StateClosed }, 5*time.Second, 10*time.Millisecond)
		}
	})
	t.Run("uncorrelated fatal server errors", func(t *testing.T) {
		srv := peertest.NewServer(t)
		p := peertest.NewPeer(t, srv, "x")
		fatal := peertest.Watch[peer.FatalError](p)
		require.NoError(t, p.Join(peertest.Context(t, 10*time.Second), "f"))
		srv.SendRaw("x", `{"type":"error","code":"action_not_permitted","message":"no send"}`)
		var se *signalling.ServerError
		require.ErrorAs(t, fatal.Next(t, nil).Err, &se)
		assert.Equal(t, protocol.ErrorCode("action_not_permitted"), se.Code)
		srv.SendRaw("x", `{"type":"error","code":"backend_error"}`) // not fatal
		srv.SendRaw("x", `{"type":"error","code":"channel_not_authorized"}`)
		require.ErrorAs(t, fatal.Next(t, nil).Err, &se)
		assert.Equal(t, protocol.ErrorCode("channel_not_authorized"), se.Code)
		assert.Equal(t, peer.StateJoined, p.State(), "reported, not fatal to the session")
	})
	t.Run("a failing token provider", func(t *testing.T) {
		srv := peertest.NewServer(t)
		var fail atomic.Bool
		p, err := peer.New(peer.Options{URL: srv.URL(), TokenProvider: func(context.Context) (string, error) {
			if fail.Load() {
				return "", errors.New("mint endpoint down")
			}
			return testserver.MintToken(testserver.DevKeyID, testserver.DevKeySecret, testserver.Claims{Sub: "x"}, time.Hour)
		}, Reconnect: signalling.ReconnectOptions{InitialDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Close("") })
		fatal := peertest.Watch[peer.FatalError](p)
		require.NoError(t, p.Join(peertest.Context(t, 10*time.Second), "f"))
		fail.Store(true)
		srv.DropConnections("x")
		var tpe *signalling.TokenProviderError
		require.ErrorAs(t, fatal.Next(t, nil).Err, &tpe)
		assert.GreaterOrEqual(t, tpe.ConsecutiveFailures, 3)
	})
}

func TestReplaceTrackWithNilStopsFanOut(t *testing.T) {
	t.Parallel()
	srv := peertest.NewServer(t)
	alice := peertest.NewPeer(t, srv, "alice")
	tr := peertest.OpusTrack(t, "a1", "s")
	require.NoError(t, alice.AddTrack(tr, nil, peer.StreamMetadata{"role": "mic"}))
	ctx := peertest.Context(t, 20*time.Second)
	// Alone: replacing with nil forgets the track (no peers counts as success).
	require.NoError(t, alice.ReplaceTrack(ctx, tr, nil))
	_, ok := alice.TrackMetadata(tr)
	assert.False(t, ok)
	var ae *peer.ArgumentError
	require.ErrorAs(t, alice.ReplaceTrack(ctx, nil, tr), &ae)
	assert.ErrorIs(t, ae, peer.ErrInvalidArgs)
	require.NoError(t, alice.Close(""))
	var st *peer.StateError
	require.ErrorAs(t, alice.ReplaceTrack(ctx, tr, nil), &st)
	assert.ErrorIs(t, st, peer.ErrInvalidState)
	assert.Equal(t, "invalid_state", st.Code())
}

// Each terminal close, and 4002 with a token provider that keeps failing,
// ends in exactly one FatalError and no further connection attempts.
func TestTerminalClosesStopForGood(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code       protocol.CloseCode
		breakToken bool
	}{{4001, false}, {4003, false}, {4012, false}, {4020, false}, {4002, true}}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.code), func(t *testing.T) {
			srv, err := testserver.New(testserver.Options{Record: true, RateLimit: testserver.RateLimit{Disabled: true}})
			require.NoError(t, err)
			defer srv.Close()
			var broken atomic.Bool
			var mints atomic.Int32
			p, err := peer.New(peer.Options{URL: srv.URL(), TokenProvider: func(context.Context) (string, error) {
				mints.Add(1)
				if broken.Load() {
					return "", errors.New("mint endpoint down")
				}
				return testserver.MintToken(testserver.DevKeyID, testserver.DevKeySecret, testserver.Claims{Sub: "x"}, time.Hour)
			}, Reconnect: signalling.ReconnectOptions{InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}})
			require.NoError(t, err)
			defer p.Close("")
			var fatals atomic.Int32
			peer.On(p, func(peer.FatalError) { fatals.Add(1) })
			require.NoError(t, p.Join(peertest.Context(t, 10*time.Second), "f"))
			handshakes := len(srv.HandshakeURLs())
			broken.Store(c.breakToken)
			srv.CloseConnections("x", c.code, "closing")
			require.Eventually(t, func() bool { return fatals.Load() > 0 }, 10*time.Second, 10*time.Millisecond)
			time.Sleep(1500 * time.Millisecond) // long enough for many reconnect attempts
			assert.Equal(t, int32(1), fatals.Load(), "exactly one FatalError")
			assert.Equal(t, handshakes, len(srv.HandshakeURLs()), "no connection attempt after the close")
			if c.breakToken {
				assert.Greater(t, mints.Load(), int32(3), "4002 asks the provider again")
			}
		})
	}
}
