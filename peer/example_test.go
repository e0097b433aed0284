package peer_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/testserver"
	"github.com/metered-ca/realtime-go/testserver/turnserver"
)

// Two peers meet in a channel; one opens a data channel to the other and
// says hello over it.
func Example() {
	srv, _ := testserver.New(testserver.Options{})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	newPeer := func(id string) *peer.MeteredPeer {
		p, _ := peer.New(peer.Options{
			URL:           srv.URL(),
			TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: id}),
		})
		return p
	}
	alice, bob := newPeer("alice"), newPeer("bob")
	defer alice.Close("done")
	defer bob.Close("done")

	got := make(chan string, 1)
	peer.On(bob, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(ev peer.DataChannelOpened) {
			dc := peer.WrapDataChannel(ev.Channel, peer.DataChannelOptions{})
			peer.On(dc, func(m peer.ChannelMessage) { got <- string(m.Data) })
		})
	})
	peer.On(alice, func(ev peer.PeerJoined) {
		dc, _ := ev.Peer.CreateDataChannel("chat", peer.DataChannelOptions{})
		peer.On(dc, func(peer.ChannelOpen) { _ = dc.SendText(ctx, "hello from "+alice.PeerID()) })
	})

	_ = alice.Join(ctx, "lobby")
	_ = bob.Join(ctx, "lobby")
	fmt.Println(<-got)
	// Output: hello from alice
}

// examplePeer makes a MeteredPeer with a chosen id on srv.
func examplePeer(srv *testserver.Server, id string) *peer.MeteredPeer {
	p, _ := peer.New(peer.Options{
		URL:           srv.URL(),
		TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: id}),
	})
	return p
}

// Server-routed messages: Send reaches everyone in the channel, SendTo one
// peer; both arrive as Data events with their Kind.
func ExampleMeteredPeer_Send() {
	srv, _ := testserver.New(testserver.Options{})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	alice, bob := examplePeer(srv, "alice"), examplePeer(srv, "bob")
	defer alice.Close("")
	defer bob.Close("")
	got := make(chan peer.Data, 2)
	peer.On(bob, func(d peer.Data) { got <- d })
	met := make(chan struct{})
	peer.Once(alice, func(peer.PeerJoined) { close(met) })
	_ = alice.Join(ctx, "lobby")
	_ = bob.Join(ctx, "lobby")
	<-met

	_ = alice.Send(ctx, map[string]string{"text": "hi all"})
	_ = alice.SendTo(ctx, "bob", "just you")
	for i := 0; i < 2; i++ {
		d := <-got
		fmt.Println(d.Kind, d.SenderPeerID, string(d.Data))
	}
	// Output:
	// broadcast alice {"text":"hi all"}
	// direct alice "just you"
}

// A track added with metadata reaches every peer with it; the receiver
// tells streams apart by their metadata.
func ExampleMeteredPeer_AddTrack() {
	srv, _ := testserver.New(testserver.Options{})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	alice, bob := examplePeer(srv, "alice"), examplePeer(srv, "bob")
	defer alice.Close("")
	defer bob.Close("")

	track, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "alice-mic")
	_ = alice.AddTrack(track, nil, peer.StreamMetadata{"label": "Alice's microphone"})
	stop := make(chan struct{})
	defer close(stop)
	go func() { // a track is reported once packets arrive: send some
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				_ = track.WriteSample(media.Sample{Data: []byte{0xf8, 0xff, 0xfe}, Duration: 20 * time.Millisecond})
			}
		}
	}()
	got := make(chan peer.Track, 1)
	peer.On(bob, func(ev peer.PeerJoined) { peer.On(ev.Peer, func(t peer.Track) { got <- t }) })
	_ = alice.Join(ctx, "room")
	_ = bob.Join(ctx, "room")
	t := <-got
	fmt.Println(t.Track.Kind(), t.Track.ID(), t.Metadata["label"])
	// Output: audio mic Alice's microphone
}

// Swapping a camera for a screen share without renegotiating: every peer's
// sender takes the new track; the tracking (and metadata) moves to it.
func ExampleMeteredPeer_ReplaceTrack() {
	srv, _ := testserver.New(testserver.Options{})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	alice, bob := examplePeer(srv, "alice"), examplePeer(srv, "bob")
	defer alice.Close("")
	defer bob.Close("")
	vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	camera, _ := webrtc.NewTrackLocalStaticSample(vp8, "camera", "alice")
	screen, _ := webrtc.NewTrackLocalStaticSample(vp8, "screen", "alice")
	_ = alice.AddTrack(camera, nil, peer.StreamMetadata{"label": "main video"})
	connected := make(chan struct{})
	peer.On(alice, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(s peer.PeerStateChange) {
			if s.To == peer.PeerConnected {
				close(connected)
			}
		})
	})
	_ = alice.Join(ctx, "room")
	_ = bob.Join(ctx, "room")
	<-connected

	if err := alice.ReplaceTrack(ctx, camera, screen); err != nil {
		var partial *peer.ReplaceTrackError
		if errors.As(err, &partial) {
			fmt.Println("failed for", len(partial.Failed), "peer(s)")
		}
		return
	}
	_, stillCamera := alice.TrackMetadata(camera)
	meta, _ := alice.TrackMetadata(screen)
	fmt.Println(stillCamera, meta["label"])
	// Output: false main video
}

// Events as a stream: range over one event type with a buffer of your
// own, instead of a handler that would delay the source's other events.
func ExampleEvents() {
	srv, _ := testserver.New(testserver.Options{})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	alice, bob := examplePeer(srv, "alice"), examplePeer(srv, "bob")
	defer alice.Close("")
	defer bob.Close("")
	joined := peer.Events[peer.PeerJoined](ctx, alice, peer.WithBuffer(16))
	_ = alice.Join(ctx, "room")
	_ = bob.Join(ctx, "room")
	for ev := range joined {
		fmt.Println("met", ev.Peer.ID())
		break // leaving the loop ends the stream
	}
	// Output: met bob
}

// A DataChannel sends in order with backpressure: Send waits while the
// channel's buffer is full, and a queue over its bound fails at once with
// *DataChannelOverflowError instead of growing.
func ExampleDataChannel() {
	srv, _ := testserver.New(testserver.Options{})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	alice, bob := examplePeer(srv, "alice"), examplePeer(srv, "bob")
	defer alice.Close("")
	defer bob.Close("")
	received := make(chan int, 100)
	peer.On(bob, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(o peer.DataChannelOpened) {
			dc := peer.WrapDataChannel(o.Channel, peer.DataChannelOptions{})
			peer.On(dc, func(m peer.ChannelMessage) { received <- len(m.Data) })
		})
	})
	open := make(chan *peer.DataChannel, 1)
	peer.On(alice, func(ev peer.PeerJoined) {
		dc, _ := ev.Peer.CreateDataChannel("bulk", peer.DataChannelOptions{})
		peer.On(dc, func(peer.ChannelOpen) { open <- dc })
	})
	_ = alice.Join(ctx, "room")
	_ = bob.Join(ctx, "room")
	dc := <-open
	chunk := make([]byte, 16<<10)
	for i := 0; i < 64; i++ { // 1 MiB in 16 KiB messages
		if err := dc.Send(ctx, chunk); err != nil {
			var full *peer.DataChannelOverflowError
			fmt.Println(errors.As(err, &full), err)
			return
		}
	}
	total := 0
	for total < 64*len(chunk) {
		total += <-received
	}
	fmt.Println("bob received", total, "bytes")
	// Output: bob received 1048576 bytes
}

// A call that may only go through a TURN relay: the local server hands out
// short-lived credentials for its loopback relay in every welcome, as the
// real service does; Stats tells which path the call took.
func ExampleRemotePeer_Stats() {
	relay, _ := turnserver.Start(turnserver.Options{})
	defer relay.Close()
	srv, _ := testserver.New(testserver.Options{ICE: relay.ICEServers})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	newPeer := func(id string) *peer.MeteredPeer {
		p, _ := peer.New(peer.Options{
			URL:           srv.URL(),
			TokenProvider: testserver.DevTokenProvider(testserver.Claims{Sub: id}),
			Configuration: webrtc.Configuration{ICETransportPolicy: webrtc.ICETransportPolicyRelay},
		})
		return p
	}
	alice, bob := newPeer("alice"), newPeer("bob")
	defer alice.Close("done")
	defer bob.Close("done")
	open := make(chan *peer.RemotePeer, 1)
	peer.On(alice, func(ev peer.PeerJoined) {
		dc, _ := ev.Peer.CreateDataChannel("chat", peer.DataChannelOptions{})
		peer.On(dc, func(peer.ChannelOpen) { open <- ev.Peer })
	})
	_ = alice.Join(ctx, "lobby")
	_ = bob.Join(ctx, "lobby")

	st, err := (<-open).Stats(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("path:", st.Path.Local.Type, st.Path.Local.Protocol, "relayed:", st.Path.Relayed())
	// Output: path: relay udp relayed: true
}
