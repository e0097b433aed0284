// Command firstmedia is the subject of the first-media benchmark (make
// bench): two Go peers join one channel at the same moment, one sending
// audio and video; it times how long the other takes to receive the first
// packet of each. The bench builds it twice, against this checkout and
// against the revision before the metadata rule (docs/design.md), from
// this one file, so both sides do the same work through the public API.
//
// It reads its settings as flags and writes one JSON line:
// {"first_ms": [...]}, one figure per trial. FM_DEBUG=1 logs both peers'
// negotiation at debug level to stderr; FM_CPUPROFILE=FILE writes a CPU
// profile of the whole run.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/testserver"
)

func main() {
	url := flag.String("url", "", "the local server's WebSocket URL")
	trials := flag.Int("trials", 10, "trials, alternating which side is polite")
	remoteTracks := flag.Bool("remote-tracks", false, "the receiving peer sends audio and video too")
	flag.Parse()
	if f := os.Getenv("FM_CPUPROFILE"); f != "" {
		out, err := os.Create(f)
		if err == nil && pprof.StartCPUProfile(out) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	// A first join that is not counted warms the process up (its first
	// connection built pion's and the runtime's caches: 2-3× slower).
	if _, err := trial(*url, -1, *remoteTracks); err != nil {
		fmt.Fprintln(os.Stderr, "firstmedia:", err)
		os.Exit(1)
	}
	var firsts []float64
	for n := range *trials {
		d, err := trial(*url, n, *remoteTracks)
		if err != nil {
			fmt.Fprintln(os.Stderr, "firstmedia:", err)
			os.Exit(1)
		}
		firsts = append(firsts, float64(d)/float64(time.Millisecond))
	}
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"first_ms": firsts})
}

// trial joins a sender and a receiver at once and returns the time from
// the joins to the receiver's first packet of the sender's last track.
func trial(url string, n int, remoteTracks bool) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Politeness follows the ids' order: alternate it.
	sid, rid := fmt.Sprintf("a-%d-%d", os.Getpid(), n), fmt.Sprintf("b-%d-%d", os.Getpid(), n)
	if n%2 == 1 {
		sid, rid = rid, sid
	}
	sender, err := join(url, sid)
	if err != nil {
		return 0, err
	}
	defer sender.Close("")
	receiver, err := join(url, rid)
	if err != nil {
		return 0, err
	}
	defer receiver.Close("")
	if err := sendAV(ctx, sender, "sender"); err != nil {
		return 0, err
	}
	if remoteTracks {
		if err := sendAV(ctx, receiver, "receiver"); err != nil {
			return 0, err
		}
	}
	firsts := make(chan time.Time, 4)
	peer.On(receiver, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(tr peer.Track) {
			go func() {
				if _, _, err := tr.Track.ReadRTP(); err == nil {
					firsts <- time.Now()
				}
			}()
		})
	})
	channel := fmt.Sprintf("firstmedia-%d-%d-%t", os.Getpid(), n, remoteTracks)
	start := time.Now()
	errs := make(chan error, 2)
	go func() { errs <- sender.Join(ctx, channel) }()
	go func() { errs <- receiver.Join(ctx, channel) }()
	for range 2 {
		if err := <-errs; err != nil {
			return 0, err
		}
	}
	var last time.Time
	for range 2 {
		select {
		case at := <-firsts:
			last = at
		case <-ctx.Done():
			return 0, errors.New("trial " + fmt.Sprint(n) + ": the sender's tracks did not both arrive in 20 s")
		}
	}
	return last.Sub(start), nil
}

func join(url, id string) (*peer.MeteredPeer, error) {
	var log *slog.Logger
	if os.Getenv("FM_DEBUG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("peer", id)
	}
	return peer.New(peer.Options{Logger: log, URL: url, TokenProvider: func(context.Context) (string, error) {
		return testserver.MintToken(testserver.DevKeyID, testserver.DevKeySecret, testserver.Claims{Sub: id}, time.Hour)
	}})
}

// sendAV adds a stream of Opus audio and VP8 video to p and writes a
// frame of each every millisecond until ctx ends: the payloads are filler
// (the receiver reads packets, not pictures), and a short interval keeps
// the wait for the next frame out of the figure (at 30 frames/s it added
// 0-33 ms, and the figures fell on whole frame intervals).
func sendAV(ctx context.Context, p *peer.MeteredPeer, name string) error {
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, name+"-audio", name)
	if err != nil {
		return err
	}
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, name+"-video", name)
	if err != nil {
		return err
	}
	if err := p.AddStream(peer.NewMediaStream(audio, video), peer.StreamMetadata{"name": name}); err != nil {
		return err
	}
	go write(ctx, audio, time.Millisecond, []byte{0xf8, 0xff, 0xfe})
	go write(ctx, video, time.Millisecond, make([]byte, 100))
	return nil
}

func write(ctx context.Context, t *webrtc.TrackLocalStaticSample, every time.Duration, frame []byte) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			_ = t.WriteSample(media.Sample{Data: frame, Duration: every})
		}
	}
}
