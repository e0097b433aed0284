package peer_test

import (
	"context"
	"fmt"
	"time"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

// Two peers meet in a channel; one opens a data channel to the other and
// says hello over it.
func Example() {
	srv, _ := testserver.New(testserver.Options{})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	newPeer := func(id string) *peer.MeteredPeer {
		p, _ := peer.New(peer.Options{Options: signalling.Options{
			URL: srv.URL(),
			TokenProvider: func(context.Context) (string, error) {
				return testserver.MintToken(testserver.DevKeyID, testserver.DevKeySecret, testserver.Claims{Sub: id}, time.Hour)
			},
		}})
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
