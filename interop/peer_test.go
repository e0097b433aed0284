package interop

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/interop/internal/jsdriver"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
	"github.com/metered-ca/realtime-go/protocol"
	"github.com/metered-ca/realtime-go/testserver"
)

func mint(t *testing.T, sub, meta string) string {
	tok, err := testserver.MintToken(testserver.DevKeyID, testserver.DevKeySecret, testserver.Claims{Sub: sub, PeerMetadata: json.RawMessage(meta)}, time.Hour)
	require.NoError(t, err)
	return tok
}

type jsEvent struct {
	PeerID   string          `json:"peerId"`
	TrackID  string          `json:"trackId"`
	StreamID string          `json:"streamId"`
	Kind     string          `json:"kind"`
	Label    string          `json:"label"`
	Data     json.RawMessage `json:"data"`
	Metadata json.RawMessage `json:"metadata"`
	Name     string          `json:"name"`
	Message  string          `json:"message"`
	// data events
	SenderPeerID   string          `json:"senderPeerId"`
	SenderMetadata json.RawMessage `json:"senderMetadata"`
}

func nextJS(t *testing.T, ctx context.Context, d *jsdriver.Driver, name string, ok func(jsEvent) bool) jsEvent {
	t.Helper()
	for {
		ev, err := d.Next(ctx, name)
		require.NoError(t, err)
		var e jsEvent
		require.NoError(t, json.Unmarshal(ev.Payload, &e))
		if ok == nil || ok(e) {
			return e
		}
	}
}

// TestPeerInterop puts the JS SDK's MeteredPeer (Node 20, @roamhq/wrtc) and
// a Go MeteredPeer in one channel. Both hold an audio track at first
// contact, so both offer at once (Go is the polite side here; @roamhq/wrtc
// cannot roll back, so it must be the impolite one). Then: presence, server
// data both ways, audio both ways with metadata, a data channel from each
// side, and a Go-side signalling drop the JS side survives.
func TestPeerInterop(t *testing.T) {
	srv, err := testserver.New(testserver.Options{RateLimit: testserver.RateLimit{Disabled: true}})
	require.NoError(t, err)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	js, err := jsdriver.Start("peer-driver.mjs")
	require.NoError(t, err)
	defer js.Close()
	defer func() {
		if t.Failed() {
			t.Log("JS peer's log:\n" + js.Stderr())
			for _, ev := range js.Pending() {
				t.Log("JS event not consumed: ", ev.Event, string(ev.Payload))
			}
		}
	}()
	_, err = js.Do(ctx, "join", map[string]any{"url": srv.URL(), "token": mint(t, "z-js", `{"name":"js"}`), "channel": "interop"})
	require.NoError(t, err)
	_, err = js.Do(ctx, "addAudio", map[string]any{"metadata": map[string]string{"role": "mic", "label": "js"}})
	require.NoError(t, err)

	goPeer, err := peer.New(peer.Options{URL: srv.URL(), TokenProvider: func(context.Context) (string, error) {
		return mint(t, "a-go", `{"name":"go"}`), nil
	}})
	require.NoError(t, err)
	defer goPeer.Close("")
	goTrack := peertest.OpusTrack(t, "go-mic", "go-stream")
	require.NoError(t, goPeer.AddTrack(goTrack, nil, peer.StreamMetadata{"role": "mic", "label": "go"}))

	joined := make(chan *peer.RemotePeer, 4)
	data := make(chan peer.Data, 16)
	tracks := make(chan peer.Track, 16)
	var rtp atomic.Int64
	peer.On(goPeer, func(ev peer.Data) { data <- ev })
	peer.On(goPeer, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(tr peer.Track) {
			tracks <- tr
			go func() {
				for {
					if _, _, err := tr.Track.ReadRTP(); err != nil {
						return
					}
					rtp.Add(1)
				}
			}()
		})
		joined <- ev.Peer
	})
	// The collision this test is about needs the JS peer's offer to leave
	// before Go's reaches it. Go sees the JS peer in its subscribe snapshot
	// and offers at once; on a fast machine that offer arrived before the
	// JS SDK (told of Go by presence) had made its own, and libwebrtc
	// answered it on the transceiver the SDK's addTrack had just made
	// (JSEP associates them): the remote track then has that receiver's
	// random id, and the JS SDK, which keys track metadata by track id,
	// has none for it (by the JS SDK's code, two of its peers would meet the
	// same way in that order: it attaches tracks, then offers, as Go does).
	// Directs to the JS peer are held 250 ms until the audio flows.
	srv.DelayFrames("z-js", protocol.TypeDirect, -1, 250*time.Millisecond)
	require.NoError(t, goPeer.Join(ctx, "interop"))

	// Presence both ways.
	var jsAtGo *peer.RemotePeer
	select {
	case jsAtGo = <-joined:
	case <-ctx.Done():
		t.Fatal("the Go peer never saw the JS peer")
	}
	assert.Equal(t, "z-js", jsAtGo.ID())
	assert.JSONEq(t, `{"name":"js"}`, string(jsAtGo.Metadata()))
	assert.True(t, jsAtGo.Polite(), "a-go < z-js: Go is polite")
	pj := nextJS(t, ctx, js, "peer-joined", nil)
	assert.Equal(t, "a-go", pj.PeerID)

	// Audio both ways, with metadata, through the first-contact collision.
	tr := <-tracks
	assert.Equal(t, "js", tr.Metadata["label"])
	require.Eventually(t, func() bool { return rtp.Load() > 10 }, 20*time.Second, 50*time.Millisecond, "RTP from the JS peer")
	jt := nextJS(t, ctx, js, "track", nil)
	assert.Equal(t, "go-mic", jt.TrackID)
	assert.JSONEq(t, `{"role":"mic","label":"go"}`, string(jt.Metadata))
	sa := nextJS(t, ctx, js, "stream-added", nil)
	assert.Equal(t, "go-stream", sa.StreamID)
	assert.JSONEq(t, `{"role":"mic","label":"go"}`, string(sa.Metadata))
	require.Eventually(t, func() bool { return jsFrames(ctx, js, "go-mic") > 10 }, 20*time.Second, 100*time.Millisecond, "audio frames from Go decoded by the JS peer")
	srv.ClearFaults()

	// Server-routed data both ways.
	require.NoError(t, goPeer.Send(ctx, map[string]string{"from": "go"}))
	d := nextJS(t, ctx, js, "data", nil)
	assert.Equal(t, "a-go", d.SenderPeerID)
	require.NoError(t, goPeer.SendTo(ctx, "z-js", "direct from go"))
	d = nextJS(t, ctx, js, "data", nil)
	assert.JSONEq(t, `"direct from go"`, string(d.Data))
	_, err = js.Do(ctx, "sendTo", map[string]any{"to": "a-go", "data": map[string]int{"n": 7}})
	require.NoError(t, err)
	got := <-data
	assert.Equal(t, peer.KindDirect, got.Kind)
	assert.JSONEq(t, `{"n":7}`, string(got.Data))
	assert.JSONEq(t, `{"name":"js"}`, string(got.SenderMetadata))
	_, err = js.Do(ctx, "send", map[string]any{"data": "broadcast from js"})
	require.NoError(t, err)
	got = <-data
	assert.Equal(t, peer.KindBroadcast, got.Kind)

	// A data channel from the Go side.
	dc, err := jsAtGo.CreateDataChannel("from-go", peer.DataChannelOptions{})
	require.NoError(t, err)
	goMsgs := make(chan string, 8)
	peer.On(dc, func(m peer.ChannelMessage) { goMsgs <- string(m.Data) })
	nextJS(t, ctx, js, "channel-open", func(e jsEvent) bool { return e.Label == "from-go" })
	require.NoError(t, dc.SendText(ctx, "hi js"))
	m := nextJS(t, ctx, js, "channel-message", func(e jsEvent) bool { return e.Label == "from-go" })
	assert.JSONEq(t, `"hi js"`, string(m.Data))
	_, err = js.Do(ctx, "channelSend", map[string]any{"to": "a-go", "label": "from-go", "text": "hi go"})
	require.NoError(t, err)
	assert.Equal(t, "hi go", waitStr(t, goMsgs))

	// A data channel from the JS side.
	opened := make(chan *webrtc.DataChannel, 1)
	peer.On(jsAtGo, func(ev peer.DataChannelOpened) { opened <- ev.Channel })
	_, err = js.Do(ctx, "openChannel", map[string]any{"to": "a-go", "label": "from-js"})
	require.NoError(t, err)
	var raw *webrtc.DataChannel
	select {
	case raw = <-opened:
	case <-ctx.Done():
		t.Fatal("no DataChannelOpened")
	}
	wrapped := peer.WrapDataChannel(raw, peer.DataChannelOptions{})
	jsMsgs := make(chan string, 8)
	peer.On(wrapped, func(m peer.ChannelMessage) { jsMsgs <- string(m.Data) })
	nextJS(t, ctx, js, "channel-open", func(e jsEvent) bool { return e.Label == "from-js" })
	_, err = js.Do(ctx, "channelSend", map[string]any{"to": "a-go", "label": "from-js", "text": "ping"})
	require.NoError(t, err)
	assert.Equal(t, "ping", waitStr(t, jsMsgs))
	require.Eventually(t, func() bool { return wrapped.SendText(ctx, "pong") == nil }, 5*time.Second, 50*time.Millisecond)
	m = nextJS(t, ctx, js, "channel-message", func(e jsEvent) bool { return e.Label == "from-js" })
	assert.JSONEq(t, `"pong"`, string(m.Data))

	// The Go side's WebSocket drops; the JS side survives and media returns.
	resets := make(chan struct{}, 1)
	peer.On(jsAtGo, func(peer.ConnectionReset) { resets <- struct{}{} })
	_, err = js.Do(ctx, "resetStats", nil)
	require.NoError(t, err)
	rtp.Store(0)
	// Both sides make a new connection after the reconnect and offer on
	// it: the same race as at first contact, held the same way.
	srv.DelayFrames("z-js", protocol.TypeDirect, -1, 250*time.Millisecond)
	require.Equal(t, 1, srv.DropConnections("a-go"))
	select {
	case <-resets:
	case <-ctx.Done():
		t.Fatal("no ConnectionReset")
	}
	assert.Same(t, jsAtGo, goPeer.RemotePeers()[0], "identity kept")
	require.Eventually(t, func() bool { return jsFrames(ctx, js, "go-mic") > 10 }, 30*time.Second, 100*time.Millisecond, "audio flows to JS again")
	require.Eventually(t, func() bool { return rtp.Load() > 10 }, 30*time.Second, 100*time.Millisecond, "audio flows to Go again")
}

func jsFrames(ctx context.Context, js *jsdriver.Driver, trackID string) int {
	raw, err := js.Do(ctx, "stats", nil)
	if err != nil {
		return 0
	}
	var m map[string]int
	_ = json.Unmarshal(raw, &m)
	return m[trackID]
}

func waitStr(t *testing.T, ch chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(15 * time.Second):
		t.Fatal("no message within 15s")
		return ""
	}
}
