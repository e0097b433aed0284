// Command recorder records what other peers send: every remote peer's
// tracks go to one WebM file through media.Recorder, without re-encoding,
// and the file is probed when it is done. A sender peer playing a test clip
// gives it something to record.
//
//	go run ./examples/recorder [-out DIR]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/metered-ca/realtime-go/examples/internal/room"
	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
)

func main() {
	out := flag.String("out", os.TempDir(), "folder for the recordings")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, *out, 4*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "recorder:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir string, clip time.Duration) error {
	opts, stop, err := room.Open()
	if err != nil {
		return err
	}
	defer stop()
	channel := room.Channel("rec")

	// The recording peer: one Recorder per remote peer, fed from Track events.
	rec, err := room.NewPeer(opts)
	if err != nil {
		return err
	}
	defer rec.Close("")
	var mu sync.Mutex
	files := map[string]*media.Recorder{}
	peer.On(rec, func(ev peer.PeerJoined) {
		remote := ev.Peer
		peer.On(remote, func(tr peer.Track) {
			mu.Lock()
			defer mu.Unlock()
			r := files[remote.ID()]
			if r == nil {
				path := filepath.Join(dir, "recording-"+remote.ID()+".webm")
				// With the connection, it asks for a keyframe instead of
				// waiting for the sender's next one.
				if r, err = media.NewRecorder(path); err != nil {
					fmt.Println("recorder:", err)
					return
				}
				files[remote.ID()] = r
			}
			if err := r.AddTrack(tr.Track); err != nil {
				fmt.Println("recorder:", err)
			}
		})
	})
	if err := rec.Join(ctx, channel); err != nil {
		return err
	}

	// Something to record: a test clip from another peer.
	clipPath := filepath.Join(dir, "realtime-go-example-clip.webm")
	if err := media.WriteTestClip(clipPath, clip); err != nil {
		return err
	}
	player, err := media.FromFile(clipPath)
	if err != nil {
		return err
	}
	defer player.Close()
	sender, err := room.NewPeer(opts)
	if err != nil {
		return err
	}
	defer sender.Close("")
	if err := sender.AddStream(peer.NewMediaStream(player.Video, player.Audio), nil); err != nil {
		return err
	}
	if err := sender.Join(ctx, channel); err != nil {
		return err
	}
	if err := player.Start(); err != nil {
		return err
	}
	<-player.Done()
	time.Sleep(300 * time.Millisecond) // the last packets in flight

	// Close finalises each file; Probe decodes it to show what is in it.
	mu.Lock()
	defer mu.Unlock()
	if len(files) == 0 {
		return fmt.Errorf("nothing was recorded")
	}
	for _, r := range files {
		if err := r.Close(); err != nil {
			return err
		}
		info, err := media.Probe(r.Path())
		if err != nil {
			return err
		}
		fmt.Printf("%s: %s\n", r.Path(), info)
	}
	return nil
}
