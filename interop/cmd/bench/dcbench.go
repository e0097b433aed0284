package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/peer"
)

const (
	dcMessage = 16 << 10 // bytes a message
	dcTotal   = 64 << 20 // bytes a run
)

// loopbackAPI keeps both sides of the comparison on the same path: IPv4
// loopback only (this machine's other interfaces may be shaped).
func loopbackAPI() *webrtc.API {
	return webrtc.NewAPI(webrtc.WithSettingEngine(*loopbackSettings()))
}

// loopbackSettings keep ICE to IPv4 loopback.
func loopbackSettings() *webrtc.SettingEngine {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return &se
}

func newLoopbackPeer(url, id string) (*peer.MeteredPeer, error) {
	return newMeteredPeer(url, id, peer.Options{API: loopbackAPI()})
}

// dcThroughputGo: a MeteredPeer sends 64 MiB in 16 KiB messages over a data
// channel with its backpressure-aware Send; MB/s at the receiver.
func dcThroughputGo(ctx context.Context, url string, run int) (float64, error) {
	a, err := newLoopbackPeer(url, fmt.Sprint("dca", run))
	if err != nil {
		return 0, err
	}
	defer a.Close("")
	b, err := newLoopbackPeer(url, fmt.Sprint("dcb", run))
	if err != nil {
		return 0, err
	}
	defer b.Close("")
	received := make(chan time.Time, 1)
	peer.On(b, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(o peer.DataChannelOpened) {
			got := 0
			o.Channel.OnMessage(func(m webrtc.DataChannelMessage) {
				if got += len(m.Data); got >= dcTotal {
					received <- time.Now()
				}
			})
		})
	})
	met := make(chan *peer.RemotePeer, 1)
	peer.On(a, func(ev peer.PeerJoined) { met <- ev.Peer })
	channel := fmt.Sprint("dc-bench-", run)
	if err := a.Join(ctx, channel); err != nil {
		return 0, err
	}
	if err := b.Join(ctx, channel); err != nil {
		return 0, err
	}
	rp := <-met
	dc, err := rp.CreateDataChannel("bulk", peer.DataChannelOptions{})
	if err != nil {
		return 0, err
	}
	open := make(chan struct{})
	peer.Once(dc, func(peer.ChannelOpen) { close(open) })
	select {
	case <-open:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	payload := make([]byte, dcMessage)
	start := time.Now()
	for sent := 0; sent < dcTotal; sent += dcMessage {
		if err := dc.Send(ctx, payload); err != nil {
			return 0, err
		}
	}
	select {
	case end := <-received:
		return float64(dcTotal) / 1e6 / end.Sub(start).Seconds(), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// dcThroughputPion: the floor, two bare pion connections in one process with
// the same messages and the usual buffered-amount-low backpressure.
func dcThroughputPion(ctx context.Context) (float64, error) {
	api := loopbackAPI()
	tx, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return 0, err
	}
	defer tx.Close()
	rx, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return 0, err
	}
	defer rx.Close()
	received := make(chan time.Time, 1)
	rx.OnDataChannel(func(d *webrtc.DataChannel) {
		got := 0
		d.OnMessage(func(m webrtc.DataChannelMessage) {
			if got += len(m.Data); got >= dcTotal {
				received <- time.Now()
			}
		})
	})
	dc, err := tx.CreateDataChannel("bulk", nil)
	if err != nil {
		return 0, err
	}
	const high, low = 1 << 20, 512 << 10
	dc.SetBufferedAmountLowThreshold(low)
	drained := make(chan struct{}, 1)
	dc.OnBufferedAmountLow(func() {
		select {
		case drained <- struct{}{}:
		default:
		}
	})
	open := make(chan struct{})
	dc.OnOpen(func() { close(open) })
	if err := connectPair(tx, rx); err != nil {
		return 0, err
	}
	select {
	case <-open:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	payload := make([]byte, dcMessage)
	start := time.Now()
	for sent := 0; sent < dcTotal; sent += dcMessage {
		for dc.BufferedAmount() > high {
			select {
			case <-drained:
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		if err := dc.Send(payload); err != nil {
			return 0, err
		}
	}
	select {
	case end := <-received:
		return float64(dcTotal) / 1e6 / end.Sub(start).Seconds(), nil
	case <-ctx.Done():
		return 0, errors.New("raw pion data channel: timed out")
	}
}

// connectPair runs a complete offer/answer between two local connections.
func connectPair(tx, rx *webrtc.PeerConnection) error {
	offer, err := tx.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(tx)
	if err := tx.SetLocalDescription(offer); err != nil {
		return err
	}
	<-gathered
	if err := rx.SetRemoteDescription(*tx.LocalDescription()); err != nil {
		return err
	}
	answer, err := rx.CreateAnswer(nil)
	if err != nil {
		return err
	}
	gathered = webrtc.GatheringCompletePromise(rx)
	if err := rx.SetLocalDescription(answer); err != nil {
		return err
	}
	<-gathered
	return tx.SetRemoteDescription(*rx.LocalDescription())
}
