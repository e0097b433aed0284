package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
	peerbridge "github.com/metered-ca/realtime-go/peer/bridge"
)

// play plays a media file into a channel until it ends (or forever with
// -loop).
func play(ctx context.Context, e *env, args []string) error {
	var cf connFlags
	fs := flag.NewFlagSet("play", flag.ContinueOnError)
	cf.register(fs, e)
	loop := fs.Bool("loop", false, "start over at the end")
	label := fs.String("label", "", "the stream's label metadata (default: the file name)")
	h264 := fs.Bool("h264", false, "transcode video to H.264 instead of VP8 when it must be transcoded")
	pos, err := parse(fs, e, args, 2)
	if err != nil {
		return err
	}
	opts := []media.FileOption{media.WithLoop(*loop)}
	if *h264 {
		opts = append(opts, media.WithVideoCodec(media.H264))
	}
	player, err := media.FromFile(pos[0], opts...)
	if err != nil {
		return err // names the file
	}
	if *label == "" {
		*label = filepath.Base(pos[0])
	}
	return sendPlayer(ctx, e, &cf, player, pos[1], *label)
}

// bridge puts an RTSP camera into a channel until Ctrl-C or until the
// camera is lost for good; with -whip it takes WHIP publishers (OBS,
// GStreamer, a browser) into the channel, and with -whep it lets WHEP
// players watch the channel's streams.
func bridge(ctx context.Context, e *env, args []string) error {
	var cf connFlags
	fs := flag.NewFlagSet("bridge", flag.ContinueOnError)
	cf.register(fs, e)
	transport := fs.String("transport", "tcp", "RTSP transport: tcp or udp")
	label := fs.String("label", "camera", "the stream's label metadata")
	whip := fs.String("whip", "", "listen on `ADDR` for WHIP publishers (POST http://ADDR/whip/LABEL) instead of reading a camera")
	whep := fs.String("whep", "", "listen on `ADDR` for WHEP players (the streams: GET http://ADDR/whep/)")
	token := fs.String("bearer", e.getenv("METERED_BRIDGE_TOKEN"), "the Bearer token WHIP publishers and WHEP players present (default $METERED_BRIDGE_TOKEN; none needed on a loopback address)")
	n := 2
	for _, a := range args {
		for _, f := range []string{"whip", "whep"} {
			if a == "-"+f || a == "--"+f || strings.HasPrefix(a, "-"+f+"=") || strings.HasPrefix(a, "--"+f+"=") {
				n = 1
			}
		}
	}
	pos, err := parse(fs, e, args, n)
	if err != nil {
		return err
	}
	if *whip != "" || *whep != "" {
		return bridgeHTTP(ctx, e, &cf, *whip, *whep, *token, pos[0])
	}
	player, err := media.FromRTSP(ctx, pos[0], media.WithTransport(media.Transport(*transport)))
	if err != nil {
		return err
	}
	return sendPlayer(ctx, e, &cf, player, pos[1], *label)
}

// bridgeHTTP serves WHIP on whipAddr and WHEP on whepAddr (either may be
// "", both may be the same address) for channel, until Ctrl-C.
func bridgeHTTP(ctx context.Context, e *env, cf *connFlags, whipAddr, whepAddr, token, channel string) error {
	muxes := map[string]*http.ServeMux{}
	for _, a := range []string{whipAddr, whepAddr} {
		if a != "" && muxes[a] == nil {
			muxes[a] = http.NewServeMux()
		}
	}
	listeners := map[string]net.Listener{}
	defer func() {
		for _, ln := range listeners {
			ln.Close()
		}
	}()
	for addr := range muxes {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err // names the address
		}
		listeners[addr] = ln
		if tcp, ok := ln.Addr().(*net.TCPAddr); token == "" && (!ok || !tcp.IP.IsLoopback()) {
			return fmt.Errorf("%w: %s reaches beyond this machine: set -bearer or $METERED_BRIDGE_TOKEN", errUsage, ln.Addr())
		}
	}
	opts := peerbridge.Options{Token: token, Anonymous: token == ""}
	var whip *peerbridge.WHIP
	var whep *peerbridge.WHEP
	p, err := cf.joinPeer(ctx, e, channel, func(p *peer.MeteredPeer) error {
		var err error
		if whepAddr != "" {
			// Before Join, so that it sees every track from the start.
			if whep, err = peerbridge.NewWHEP(p, opts); err != nil {
				return err
			}
			muxes[whepAddr].Handle("/whep/", whep)
		}
		if whipAddr != "" {
			if whip, err = peerbridge.NewWHIP(p, opts); err != nil {
				return err
			}
			muxes[whipAddr].Handle("/whip/", whip)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer p.Close("done")
	if whip != nil {
		defer whip.Close()
	}
	if whep != nil {
		defer whep.Close()
	}
	served := make(chan error, len(muxes))
	var servers []*http.Server
	for addr, mux := range muxes {
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() { served <- srv.Serve(listeners[addr]) }()
	}
	auth := "no token (loopback only)"
	if token != "" {
		auth = "Bearer token required"
	}
	if whip != nil {
		fmt.Fprintf(e.stderr, "WHIP endpoint: http://%s/whip/LABEL (%s)\n", listeners[whipAddr].Addr(), auth)
	}
	if whep != nil {
		fmt.Fprintf(e.stderr, "WHEP endpoint: http://%s/whep/ lists the streams (%s)\n", listeners[whepAddr].Addr(), auth)
	}
	failed := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		select {
		case err := <-served:
			failed <- err
		case <-ctx.Done():
		}
		close(done)
	}()
	showStatus(ctx, e, p, done, func() string {
		var parts []string
		if whip != nil {
			parts = append(parts, fmt.Sprintf("%d WHIP publisher(s)", whip.Sessions()))
		}
		if whep != nil {
			parts = append(parts, fmt.Sprintf("%d WHEP player(s)", whep.Sessions()))
		}
		return fmt.Sprintf("bridging %s; %d peer(s)", strings.Join(parts, ", "), len(p.RemotePeers()))
	})
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shut)
	}
	select {
	case err := <-failed:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	default:
	}
	return ctx.Err()
}

// sendPlayer joins channel with player's tracks as one stream and plays
// until the player ends, showing progress on stderr.
func sendPlayer(ctx context.Context, e *env, cf *connFlags, player *media.Player, channel, label string) error {
	defer player.Close()
	var tracks []*media.Track
	for _, t := range []*media.Track{player.Video, player.Audio} {
		if t != nil {
			tracks = append(tracks, t)
		}
	}
	stream := peer.NewMediaStream()
	for _, t := range tracks {
		stream.AddTrack(t)
	}
	p, err := cf.joinPeer(ctx, e, channel, func(p *peer.MeteredPeer) error {
		return p.AddStream(stream, peer.StreamMetadata{"label": label})
	})
	if err != nil {
		return err
	}
	defer p.Close("done")
	if err := player.Start(); err != nil {
		return err
	}
	start := time.Now()
	showStatus(ctx, e, p, player.Done(), func() string {
		return fmt.Sprintf("playing %s  %s  to %d peer(s)%s", label, time.Since(start).Round(time.Second), len(p.RemotePeers()), sending(player))
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	return player.Err()
}

// sending describes what the player's video encoder does now, when it
// encodes ("" for passthrough).
func sending(player *media.Player) string {
	if player.Video == nil {
		return ""
	}
	s := player.Video.Sending()
	if !s.Adaptive {
		return ""
	}
	return fmt.Sprintf("  video %dx%d at %s (target %s)", s.Width, s.Height, bitrate(float64(s.Bitrate)), bitrate(float64(s.TargetBitrate)))
}

// record writes every remote peer's tracks to DIR, one Matroska file per
// peer, until Ctrl-C; then it finalises the files and probes them.
func record(ctx context.Context, e *env, args []string) error {
	var cf connFlags
	fs := flag.NewFlagSet("record", flag.ContinueOnError)
	cf.register(fs, e)
	pos, err := parse(fs, e, args, 2)
	if err != nil {
		return err
	}
	dir := pos[1]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err // an *os.PathError: names the folder
	}
	var mu sync.Mutex
	recs := map[string]*media.Recorder{}
	p, err := cf.joinPeer(ctx, e, pos[0], func(p *peer.MeteredPeer) error {
		peer.On(p, func(ev peer.PeerJoined) {
			remote := ev.Peer
			peer.On(remote, func(tr peer.Track) {
				mu.Lock()
				defer mu.Unlock()
				rec := recs[remote.ID()]
				if rec == nil {
					path := filepath.Join(dir, fmt.Sprintf("%s-%s.mkv", safeName(remote.ID()), time.Now().Format("20060102-150405")))
					// A reconnect's new connection brings new tracks: they
					// continue this file, as the call continues.
					r, err := media.NewRecorder(path, media.WithResumeWindow(peer.ReconcileDeadline))
					if err != nil {
						fmt.Fprintf(e.stderr, "cannot record %s: %v\n", remote.ID(), err)
						return
					}
					fmt.Fprintf(e.stderr, "recording %s to %s\n", remote.ID(), path)
					rec, recs[remote.ID()] = r, r
				}
				if err := rec.AddTrack(tr.Track); err != nil {
					fmt.Fprintf(e.stderr, "track %s of %s not recorded: %v\n", tr.Track.ID(), remote.ID(), err)
				}
			})
		})
		return nil
	})
	if err != nil {
		return err
	}
	defer p.Close("done")
	showStatus(ctx, e, p, nil, func() string {
		mu.Lock()
		defer mu.Unlock()
		var frames, bytes int64
		for _, r := range recs {
			st := r.Stats()
			frames += st.VideoFrames + st.AudioFrames
			bytes += st.Bytes
		}
		return fmt.Sprintf("recording %d peer(s): %d frames, %.1f MB", len(recs), frames, float64(bytes)/1e6)
	})
	mu.Lock()
	defer mu.Unlock()
	for _, r := range recs {
		closeAndProbe(e.stdout, r)
	}
	return ctx.Err()
}

func closeAndProbe(w io.Writer, r *media.Recorder) {
	if err := r.Close(); err != nil {
		fmt.Fprintf(w, "%s: %v\n", r.Path(), err)
		return
	}
	info, err := media.Probe(r.Path())
	if err != nil {
		fmt.Fprintf(w, "%s: %v\n", r.Path(), err)
		return
	}
	fmt.Fprintf(w, "%s: %s\n", r.Path(), info)
}

// safeName keeps a peer id usable as a file name.
func safeName(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, id)
}
