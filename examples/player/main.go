// Command player plays a media file into a channel and has a second peer
// watch it: the viewer decodes the video with media.Frames and prints what
// it sees. Without an argument it plays a generated test clip.
//
//	go run ./examples/player [FILE]
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/examples/internal/room"
	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	file := ""
	if len(os.Args) > 1 {
		file = os.Args[1]
	}
	if err := run(ctx, file, 5*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "player:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, file string, clip time.Duration) error {
	if file == "" {
		file = filepath.Join(os.TempDir(), "realtime-go-example-clip.webm")
		if err := media.WriteTestClip(file, clip); err != nil {
			return err
		}
	}
	opts, stop, err := room.Open()
	if err != nil {
		return err
	}
	defer stop()
	channel := room.Channel("player")

	// FromFile passes WebRTC codecs through and transcodes the rest.
	player, err := media.FromFile(file)
	if err != nil {
		return err
	}
	defer player.Close()
	host, err := room.NewPeer(opts)
	if err != nil {
		return err
	}
	defer host.Close("")
	stream := peer.NewMediaStream()
	for _, t := range []*media.Track{player.Video, player.Audio} {
		if t != nil { // nil when the file has no such stream
			stream.AddTrack(t)
		}
	}
	if err := host.AddStream(stream, peer.StreamMetadata{"label": filepath.Base(file)}); err != nil {
		return err
	}
	if err := host.Join(ctx, channel); err != nil {
		return err
	}

	viewer, err := room.NewPeer(opts)
	if err != nil {
		return err
	}
	defer viewer.Close("")
	seen := make(chan int, 1)
	peer.On(viewer, func(ev peer.PeerJoined) {
		remote := ev.Peer
		peer.On(remote, func(tr peer.Track) {
			fmt.Printf("viewer: %s track %q of stream %v\n", tr.Track.Kind(), tr.Track.Codec().MimeType, tr.Metadata["label"])
			if tr.Track.Kind() != webrtc.RTPCodecTypeVideo {
				return
			}
			go func() {
				n := 0
				defer func() { seen <- n }()
				for f, err := range media.Frames(ctx, tr.Track) {
					if err != nil {
						return
					}
					if n++; n%30 == 1 {
						fmt.Printf("viewer: frame %d, %dx%d at %s\n", n, f.Width, f.Height, f.Timestamp.Round(time.Millisecond))
					}
				}
			}()
		})
	})
	if err := viewer.Join(ctx, channel); err != nil {
		return err
	}
	if err := player.Start(); err != nil {
		return err
	}
	select {
	case <-player.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	fmt.Println("player: the file ended")
	return player.Err()
}
