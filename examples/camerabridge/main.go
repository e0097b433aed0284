// Command camerabridge puts an RTSP camera (an IP camera, an NVR channel)
// into a channel: H.264 passes through to browsers untouched, AAC audio is
// turned into Opus, and the bridge reconnects when the camera drops. It runs
// until Ctrl-C, or until the camera is gone for good.
//
//	go run ./examples/camerabridge rtsp://user:pass@camera.local/stream1 [CHANNEL]
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/metered-ca/realtime-go/examples/internal/room"
	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: camerabridge RTSP_URL [CHANNEL]")
		os.Exit(2)
	}
	channel := "cameras"
	if len(os.Args) > 2 {
		channel = os.Args[2]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1], channel); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "camerabridge:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, url, channel string) error {
	// FromRTSP only speaks RTSP and its transports: a URL from elsewhere
	// cannot make FFmpeg open files or other hosts' services.
	camera, err := media.FromRTSP(ctx, url, media.WithTransport(media.TCP),
		media.WithReconnect(time.Second, 2*time.Second, 5*time.Second, 10*time.Second))
	if err != nil {
		return err
	}
	defer camera.Close()
	opts, stop, err := room.Open()
	if err != nil {
		return err
	}
	defer stop()
	bridge, err := room.NewPeer(opts)
	if err != nil {
		return err
	}
	defer bridge.Close("")
	stream := peer.NewMediaStream()
	for _, t := range []*media.Track{camera.Video, camera.Audio} {
		if t != nil {
			stream.AddTrack(t)
		}
	}
	if err := bridge.AddStream(stream, peer.StreamMetadata{"label": "camera", "source": "rtsp"}); err != nil {
		return err
	}
	if err := bridge.Join(ctx, channel); err != nil {
		return err
	}
	if err := camera.Start(); err != nil {
		return err
	}
	fmt.Printf("bridging the camera into %s as %s\n", channel, bridge.PeerID())
	select {
	case <-camera.Done():
		return camera.Err() // ErrSourceLost once every reconnect failed
	case <-ctx.Done():
		return ctx.Err()
	}
}
