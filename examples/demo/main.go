// Command demo is realtime-go's first run: it starts the local RMS server
// in-process, has one Go peer play a generated clip (colour bars and a tone)
// into a channel and another Go peer record what it receives, with live
// progress, and ends with the recording's path and a probe of it. While it
// runs it prints the address of the server's demo page: open it in a
// browser to watch the clip and send your camera. With METERED_API_KEY set
// it uses the Metered service instead (no demo page then).
//
//	make demo        # or: go run ./examples/demo [-seconds 20] [-out DIR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

func main() {
	seconds := flag.Int("seconds", 20, "length of the clip played")
	out := flag.String("out", os.TempDir(), "folder for the clip and the recording")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, time.Duration(*seconds)*time.Second, *out, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, length time.Duration, dir string, w *os.File) error {
	say := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	channel := fmt.Sprintf("demo-%d", time.Now().Unix())
	opts := signalling.Options{APIKey: os.Getenv("METERED_API_KEY")}
	if opts.APIKey == "" {
		sdk := testserver.FindDemoSDK()
		srv, err := testserver.New(testserver.Options{DemoSDK: sdk})
		if err != nil {
			return err
		}
		defer srv.Close()
		opts.URL, opts.APIKey = srv.URL(), "pk_demo"
		say("local RMS server on %s", srv.URL())
		if sdk != "" {
			say("watch in a browser:  %s", srv.DemoURL(channel))
		} else {
			say("(run `make setup` for the browser demo page)")
		}
	} else {
		say("using the Metered service (METERED_API_KEY is set)")
	}

	clip := filepath.Join(dir, "realtime-go-demo-clip.webm")
	say("making a %s test clip: %s", length, clip)
	if err := media.WriteTestClip(clip, length); err != nil {
		return err
	}
	player, err := media.FromFile(clip)
	if err != nil {
		return err
	}
	defer player.Close()

	sender, err := peer.New(peer.Options{URL: opts.URL, APIKey: opts.APIKey, TokenProvider: opts.TokenProvider, Logger: opts.Logger})
	if err != nil {
		return err
	}
	defer sender.Close("demo over")
	if err := sender.AddStream(peer.NewMediaStream(player.Video, player.Audio), peer.StreamMetadata{"label": "Go test clip"}); err != nil {
		return err
	}
	receiver, err := peer.New(peer.Options{URL: opts.URL, APIKey: opts.APIKey, TokenProvider: opts.TokenProvider, Logger: opts.Logger})
	if err != nil {
		return err
	}
	defer receiver.Close("demo over")

	recording := filepath.Join(dir, "realtime-go-demo-recording.webm")
	var mu sync.Mutex
	var rec *media.Recorder
	var recErr error
	// The clip starts once the recorder is connected, so the recording
	// starts with it.
	connected := make(chan struct{})
	var once sync.Once
	peer.On(sender, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(s peer.PeerStateChange) {
			if s.To == peer.PeerConnected && ev.Peer.ID() == receiver.PeerID() {
				once.Do(func() { close(connected) })
			}
		})
	})
	if err := sender.Join(ctx, channel); err != nil {
		return err
	}
	peer.On(receiver, func(ev peer.PeerJoined) {
		if ev.Peer.ID() != sender.PeerID() {
			return // a browser on the demo page: watched, not recorded
		}
		remote := ev.Peer
		peer.On(remote, func(tr peer.Track) {
			mu.Lock()
			defer mu.Unlock()
			if rec == nil {
				rec, recErr = media.NewRecorder(recording)
			}
			if recErr == nil {
				recErr = rec.AddTrack(tr.Track)
			}
		})
	})
	if err := receiver.Join(ctx, channel); err != nil {
		return err
	}
	say("sender %s and recorder %s joined %s", sender.PeerID(), receiver.PeerID(), channel)
	select {
	case <-connected:
	case <-time.After(20 * time.Second):
		return errors.New("the two peers never connected")
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := player.Start(); err != nil {
		return err
	}

	stats := func() media.RecorderStats {
		mu.Lock()
		defer mu.Unlock()
		if rec == nil {
			return media.RecorderStats{}
		}
		return rec.Stats()
	}
	started := time.Now()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var lastBytes int64
	lastAt := started
	bitrate := 0.0
	// A live line on a terminal; off one (a pipe, a CI log), a plain line
	// every 5 s so the log stays readable.
	live := isTerminal(w)
	var lastLine time.Time
progress:
	for {
		select {
		case <-player.Done():
			break progress
		case <-ctx.Done():
			if live {
				fmt.Fprintln(w)
			}
			return errors.New("interrupted")
		case now := <-tick.C:
			st := stats()
			if dt := now.Sub(lastAt).Seconds(); dt >= 1 {
				bitrate = float64(st.Bytes-lastBytes) * 8 / dt / 1000
				lastBytes, lastAt = st.Bytes, now
			}
			done := min(1, now.Sub(started).Seconds()/length.Seconds())
			bar := strings.Repeat("█", int(done*30)) + strings.Repeat("·", 30-int(done*30))
			line := fmt.Sprintf("%s %3.0f%%  peers %d  %5.0f kb/s  frames %4d video %4d audio",
				bar, done*100, len(sender.RemotePeers()), bitrate, st.VideoFrames, st.AudioFrames)
			switch {
			case live:
				fmt.Fprintf(w, "\r%s ", line)
			case now.Sub(lastLine) >= 5*time.Second:
				fmt.Fprintln(w, line)
				lastLine = now
			}
		}
	}
	if live {
		fmt.Fprintln(w)
	}
	if err := player.Err(); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond) // the last packets in flight
	mu.Lock()
	r, err := rec, recErr
	mu.Unlock()
	if err != nil {
		return err
	}
	if r == nil {
		return errors.New("the recorder never received the clip")
	}
	if err := r.Close(); err != nil {
		return err
	}
	info, err := media.Probe(recording)
	if err != nil {
		return err
	}
	say("recorded %s", recording)
	say("probe: %s", info)
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
