package peer

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

// TestAnnouncedTrackHoldsFirstOffer: a polite remote shaped like the JS
// SDK in a browser sends its track's metadata as soon as it learns of us
// and its offer later (a slow browser: 300 ms, far past the round-trip
// wait). The impolite Go peer, holding a track, must wait for that offer
// and answer it rather than offer too: a browser rolls back an offer
// that collides, and Chromium may never gather again after it.
func TestAnnouncedTrackHoldsFirstOffer(t *testing.T) {
	t.Parallel()
	srv, remote, sig := newBareRemote(t, "a")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	var got []string // the description types the remote received, in order
	first := make(chan string, 1)
	signalling.On(sig, func(ev signalling.Direct) {
		var s struct {
			Type        string                     `json:"type"`
			Description *webrtc.SessionDescription `json:"description"`
		}
		if json.Unmarshal(ev.Data, &s) != nil || s.Type != signalDescription || s.Description == nil {
			return
		}
		mu.Lock()
		got = append(got, s.Description.Type.String())
		if len(got) == 1 {
			first <- got[0]
		}
		mu.Unlock()
		if s.Description.Type == webrtc.SDPTypeAnswer {
			_ = remote.SetRemoteDescription(*s.Description)
		}
	})
	signalling.On(sig, func(ev signalling.Presence) {
		for _, j := range ev.Joined {
			if j.PeerID != "z" {
				continue
			}
			track := opusTrack(t, "browser-mic", "browser")
			meta := trackMetaSignal{Meta: trackMetaBody{TrackID: track.ID(), Metadata: json.RawMessage(`{"who":"browser"}`)}}
			_ = sig.SendAsync(j.PeerID, meta, nil)
			go func() {
				time.Sleep(300 * time.Millisecond) // the browser makes its offer
				if _, err := remote.AddTrack(track); err != nil {
					return
				}
				offer, err := remote.CreateOffer(nil)
				if err != nil || remote.SetLocalDescription(offer) != nil {
					return
				}
				_ = sig.SendAsync(j.PeerID, newDescriptionSignal(offer), nil)
			}()
		}
	})

	p, err := New(Options{URL: srv.URL(), TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: "z"})})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close("") })
	require.NoError(t, p.AddTrack(opusTrack(t, "go-mic", "go"), nil, StreamMetadata{"who": "go"}))
	require.NoError(t, p.Join(ctx, "announced"))
	require.NoError(t, sig.Connect(ctx))
	require.NoError(t, sig.Subscribe(ctx, "announced"))
	select {
	case typ := <-first:
		assert.Equal(t, "answer", typ, "the Go peer offered while the remote's announced offer was on its way")
	case <-ctx.Done():
		t.Fatal("no description reached the remote")
	}
}

// opusTrack is a track that sends nothing: negotiation is all this needs.
func opusTrack(t *testing.T, id, stream string) *webrtc.TrackLocalStaticSample {
	tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, id, stream)
	require.NoError(t, err)
	return tr
}
