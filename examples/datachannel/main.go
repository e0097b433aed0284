// Command datachannel opens a peer-to-peer data channel between two peers
// and bounces messages over it: "echo" answers every message it gets, and
// "client" prints each answer with its round-trip time.
//
//	go run ./examples/datachannel
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/examples/internal/room"
	"github.com/metered-ca/realtime-go/peer"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, 5); err != nil {
		fmt.Fprintln(os.Stderr, "datachannel:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, messages int) error {
	opts, stop, err := room.Open()
	if err != nil {
		return err
	}
	defer stop()
	channel := room.Channel("dc")

	// The echo side answers on whatever channel the other side opens.
	echo, err := room.NewPeer(opts)
	if err != nil {
		return err
	}
	defer echo.Close("")
	peer.On(echo, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(opened peer.DataChannelOpened) {
			dc := peer.WrapDataChannel(opened.Channel, peer.DataChannelOptions{})
			peer.On(dc, func(m peer.ChannelMessage) { _ = dc.Send(ctx, m.Data) })
		})
	})
	if err := echo.Join(ctx, channel); err != nil {
		return err
	}

	// The client opens a channel to the echo peer once it meets it.
	client, err := room.NewPeer(opts)
	if err != nil {
		return err
	}
	defer client.Close("")
	met := make(chan *peer.RemotePeer, 1)
	peer.On(client, func(ev peer.PeerJoined) { met <- ev.Peer })
	if err := client.Join(ctx, channel); err != nil {
		return err
	}
	var remote *peer.RemotePeer
	select {
	case remote = <-met:
	case <-ctx.Done():
		return ctx.Err()
	}
	dc, err := remote.CreateDataChannel("echo", peer.DataChannelOptions{})
	if err != nil {
		return err
	}
	replies := make(chan string, messages)
	peer.On(dc, func(m peer.ChannelMessage) { replies <- string(m.Data) })
	opened := make(chan struct{}, 1)
	peer.On(dc, func(peer.ChannelOpen) { opened <- struct{}{} })
	if dc.Raw().ReadyState() != webrtc.DataChannelStateOpen {
		select {
		case <-opened:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for i := 1; i <= messages; i++ {
		sent := time.Now()
		// Send waits its turn and for room in the channel's buffer.
		if err := dc.SendText(ctx, fmt.Sprintf("ping %d", i)); err != nil {
			return err
		}
		select {
		case r := <-replies:
			fmt.Printf("%-8s came back in %s\n", r, time.Since(sent).Round(10*time.Microsecond))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
