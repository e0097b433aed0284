package peer

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

// TestICERestartsWhenNoCandidateComes: a remote that sends no candidate
// and checks nothing (a browser that stopped gathering after rolling its
// offer back) leaves ICE checking for ever; after candidateWait without a
// remote candidate, the connection restarts ICE, and connects once the
// remote, answering the restart, behaves.
func TestICERestartsWhenNoCandidateComes(t *testing.T) {
	t.Parallel()
	// The remote ignores the first offer's candidates and sends none of
	// its own.
	srv, remote, sig := newBareRemote(t, "z")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var offers atomic.Int32
	var mu sync.Mutex // orders the remote's handling of signals
	signalling.On(sig, func(ev signalling.Direct) {
		mu.Lock()
		defer mu.Unlock()
		var s struct {
			Type        string                     `json:"type"`
			Description *webrtc.SessionDescription `json:"description"`
			Candidate   *webrtc.ICECandidateInit   `json:"candidate"`
		}
		if json.Unmarshal(ev.Data, &s) != nil {
			return
		}
		switch {
		case s.Type == signalDescription && s.Description != nil && s.Description.Type == webrtc.SDPTypeOffer:
			n := offers.Add(1)
			if remote.SetRemoteDescription(*s.Description) != nil {
				return
			}
			answer, err := remote.CreateAnswer(nil)
			if err != nil || remote.SetLocalDescription(answer) != nil {
				return
			}
			if n > 1 { // from the restart on, with its candidates
				<-webrtc.GatheringCompletePromise(remote)
				answer = *remote.LocalDescription()
			}
			_ = sig.SendAsync(ev.From, newDescriptionSignal(answer), nil)
		case s.Type == signalICE && s.Candidate != nil && offers.Load() > 1:
			_ = remote.AddICECandidate(*s.Candidate)
		}
	})
	require.NoError(t, sig.Connect(ctx))
	require.NoError(t, sig.Subscribe(ctx, "quiet"))

	p, err := New(Options{URL: srv.URL(), TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: "a"})})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close("") })
	p.timing.candidateWait = 300 * time.Millisecond
	p.timing.iceRestartBase = 50 * time.Millisecond
	On(p, func(ev PeerJoined) { _, _ = ev.Peer.CreateDataChannel("dc", DataChannelOptions{}) })
	require.NoError(t, p.Join(ctx, "quiet"))
	require.Eventually(t, func() bool {
		rps := p.RemotePeers()
		return len(rps) == 1 && rps[0].State() == PeerConnected
	}, 20*time.Second, 20*time.Millisecond, "connected after restarting ICE")
	require.GreaterOrEqual(t, offers.Load(), int32(2), "an ICE restart offer")
}

// newBareRemote is a remote peer made of bare pion and a signalling client
// called id, on a local server of its own; the test drives its signals.
func newBareRemote(t *testing.T, id string) (*testserver.Server, *webrtc.PeerConnection, *signalling.Client) {
	srv, err := testserver.New(testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	sig, err := signalling.New(signalling.Options{URL: srv.URL(), TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: id})})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sig.Close() })
	return srv, pc, sig
}
