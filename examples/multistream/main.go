// Command multistream sends two streams from one peer, a camera and a
// screen, each with its own metadata, and shows a viewer telling them apart
// by that metadata. It uses the real camera (/dev/video0) and display
// ($DISPLAY) when they exist, and generated clips otherwise.
//
//	go run ./examples/multistream
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/metered-ca/realtime-go/examples/internal/room"
	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "multistream:", err)
		os.Exit(1)
	}
}

// source opens a capture device, or a looping test clip when it is absent.
func source(name string, open func() (*media.Player, error)) (*media.Player, error) {
	p, err := open()
	if err == nil {
		return p, nil
	}
	fmt.Printf("%s: %v; using a test clip\n", name, err)
	clip := filepath.Join(os.TempDir(), "realtime-go-example-"+name+".webm")
	if err := media.WriteTestClip(clip, 3*time.Second); err != nil {
		return nil, err
	}
	return media.FromFile(clip, media.WithLoop(true))
}

func run(ctx context.Context) error {
	opts, stop, err := room.Open()
	if err != nil {
		return err
	}
	defer stop()
	channel := room.Channel("multi")

	camera, err := source("camera", func() (*media.Player, error) { return media.FromCamera() })
	if err != nil {
		return err
	}
	defer camera.Close()
	screen, err := source("screen", func() (*media.Player, error) {
		if os.Getenv("DISPLAY") == "" {
			return nil, media.ErrDeviceNotFound
		}
		return media.ScreenShare(media.WithFrameRate(10))
	})
	if err != nil {
		return err
	}
	defer screen.Close()

	presenter, err := room.NewPeer(opts)
	if err != nil {
		return err
	}
	defer presenter.Close("")
	// One MediaStream per source; the metadata rides with each stream.
	if err := presenter.AddStream(peer.NewMediaStream(camera.Video), peer.StreamMetadata{"kind": "camera", "label": "Presenter"}); err != nil {
		return err
	}
	if err := presenter.AddStream(peer.NewMediaStream(screen.Video), peer.StreamMetadata{"kind": "screen", "label": "Slides"}); err != nil {
		return err
	}
	if err := presenter.Join(ctx, channel); err != nil {
		return err
	}

	viewer, err := room.NewPeer(opts)
	if err != nil {
		return err
	}
	defer viewer.Close("")
	kinds := make(chan string, 2)
	peer.On(viewer, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(s peer.StreamAdded) {
			fmt.Printf("viewer: stream %s is the %v (%v)\n", s.Stream.ID(), s.Metadata["kind"], s.Metadata["label"])
			kinds <- fmt.Sprint(s.Metadata["kind"])
		})
	})
	if err := viewer.Join(ctx, channel); err != nil {
		return err
	}
	for _, p := range []*media.Player{camera, screen} {
		if err := p.Start(); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for len(seen) < 2 {
		select {
		case k := <-kinds:
			seen[k] = true
		case <-ctx.Done():
			return fmt.Errorf("the viewer saw %v: %w", seen, ctx.Err())
		}
	}
	return nil
}
