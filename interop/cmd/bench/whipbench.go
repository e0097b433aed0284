package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"

	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
)

// The forwarding benchmark: a WHIP publisher's 720p H.264 (2.5 Mb/s) into a
// room of fwdOutputs members, and one member's stream out to fwdOutputs
// WHEP players, each against bare pion forwarding the same stream to as
// many connections (interop/cmd/forwarder), the subject's CPU time read
// from /proc over fwdWindow of steady forwarding, interleaved runs. And
// the time from a WHIP publisher's POST to a room member's first decoded
// picture.
const (
	fwdOutputs = 4
	fwdWindow  = 8 * time.Second
	fwdTrials  = 20
)

type whipRows struct {
	whipOurs, whipPion, whepOurs, whepPion []float64 // subject CPU, ms per second
	firstFrame                             []time.Duration
}

// fwdClip is the stream: H.264 constrained baseline, access units split by
// AUDs, read once, and which of them start with a keyframe.
type fwdClip struct {
	units [][]byte
	keys  []int
}

func makeFwdClip(dir string) (*fwdClip, error) {
	path := filepath.Join(dir, "fwd.h264")
	out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "10",
		"-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-b:v", "2500k", "-maxrate", "2500k", "-bufsize", "2500k",
		"-x264-params", "aud=1:keyint=60:scenecut=0", "-f", "h264", path).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg: %v: %s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := h264reader.NewReader(f)
	if err != nil {
		return nil, err
	}
	c := &fwdClip{}
	var unit []byte
	for {
		nal, err := r.NextNAL()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if nal.UnitType == h264reader.NalUnitTypeAUD {
			if len(unit) > 0 {
				c.units = append(c.units, unit)
			}
			unit = nil
			continue
		}
		if nal.UnitType == h264reader.NalUnitTypeSPS && len(unit) == 0 {
			c.keys = append(c.keys, len(c.units))
		}
		unit = append(unit, 0, 0, 0, 1)
		unit = append(unit, nal.Data...)
	}
	if len(unit) > 0 {
		c.units = append(c.units, unit)
	}
	return c, nil
}

// play writes the clip to track at 30 frames/s, looping, until ctx ends;
// a receive on key (nil: none) jumps to the next keyframe, as an encoder
// answers a keyframe request.
func (c *fwdClip) play(ctx context.Context, track *webrtc.TrackLocalStaticSample, key <-chan struct{}) {
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-key:
			i = c.keys[sort.SearchInts(c.keys, i%len(c.units)+1)%len(c.keys)]
		case <-tick.C:
		}
		_ = track.WriteSample(pionmedia.Sample{Data: c.units[i%len(c.units)], Duration: time.Second / 30})
	}
}

func h264Track(id string) (*webrtc.TrackLocalStaticSample, error) {
	return webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, id, "bench")
}

// pionClient is a bare pion connection that sends track (when not nil) or
// receives video, signalled by one POST to url.
func pionClient(ctx context.Context, api *webrtc.API, url string, track webrtc.TrackLocal, received *atomic.Int64) (*webrtc.PeerConnection, string, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", err
	}
	if track != nil {
		_, err = pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	} else {
		_, err = pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			buf := make([]byte, 1600)
			for {
				if _, _, err := tr.Read(buf); err != nil {
					return
				}
				received.Add(1)
			}
		})
	}
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		pc.Close()
		return nil, "", err
	}
	<-gathered
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(pc.LocalDescription().SDP))
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		pc.Close()
		return nil, "", fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, body)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		pc.Close()
		return nil, "", err
	}
	return pc, resp.Header.Get("Location"), nil
}

// fwdSubject is a running forwarder.
type fwdSubject struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	base  string // http://addr
}

func startForwarder(bin string, args ...string) (*fwdSubject, error) {
	cmd := exec.Command(bin, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line := make([]byte, 64)
	n, err := stdout.Read(line)
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("forwarder: %w", err)
	}
	return &fwdSubject{cmd: cmd, stdin: stdin, base: "http://" + strings.TrimSpace(string(line[:n]))}, nil
}

// cpu is the subject's CPU time so far (user and system), from /proc.
func (s *fwdSubject) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name (in parentheses, which may hold
	// spaces): utime and stime are the 12th and 13th, in clock ticks.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil // USER_HZ is 100 on Linux
}

func (s *fwdSubject) stop() {
	s.stdin.Close()
	_ = s.cmd.Wait()
}

// measure waits until every output has received packets, then reads the
// subject's CPU over fwdWindow, checking the outputs go on receiving.
func measure(s *fwdSubject, outputs []*atomic.Int64) (float64, error) {
	deadline := time.Now().Add(20 * time.Second)
	for _, o := range outputs {
		for o.Load() < 100 {
			if time.Now().After(deadline) {
				return 0, errors.New("an output never received the stream")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	time.Sleep(time.Second) // past the start-up
	before, err := s.cpu()
	if err != nil {
		return 0, err
	}
	counts := make([]int64, len(outputs))
	for i, o := range outputs {
		counts[i] = o.Load()
	}
	time.Sleep(fwdWindow)
	after, err := s.cpu()
	if err != nil {
		return 0, err
	}
	for i, o := range outputs {
		if got := o.Load() - counts[i]; got < int64(fwdWindow/time.Second)*100 {
			return 0, fmt.Errorf("output %d received only %d packets in the window", i, got)
		}
	}
	return float64(after-before) / float64(time.Millisecond) / fwdWindow.Seconds(), nil
}

// fwdRun is one measured run of one subject and role.
func fwdRun(bin, url, impl, role string, clip *fwdClip, run int) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	channel := fmt.Sprintf("fwd-%s-%s-%d", impl, role, run)
	s, err := startForwarder(bin, "-impl", impl, "-role", role, "-url", url, "-channel", channel)
	if err != nil {
		return 0, err
	}
	defer s.stop()
	api, err := defaultPionAPI()
	if err != nil {
		return 0, err
	}
	var pcs []*webrtc.PeerConnection
	var peers []*peer.MeteredPeer
	defer func() {
		for _, pc := range pcs {
			pc.Close()
		}
		for _, p := range peers {
			p.Close("")
		}
	}()
	outputs := make([]*atomic.Int64, fwdOutputs)
	for i := range outputs {
		outputs[i] = &atomic.Int64{}
	}
	track, err := h264Track("video")
	if err != nil {
		return 0, err
	}
	go clip.play(ctx, track, nil)

	switch {
	case impl == "ours" && role == "whip":
		for _, o := range outputs {
			p, err := peer.New(peer.Options{URL: url, APIKey: "pk_bench"})
			if err != nil {
				return 0, err
			}
			peers = append(peers, p)
			peer.On(p, func(ev peer.PeerJoined) {
				peer.On(ev.Peer, func(tr peer.Track) { go countRTP(tr.Track, o) })
			})
			if err := p.Join(ctx, channel); err != nil {
				return 0, err
			}
		}
		pc, _, err := pionClient(ctx, api, s.base+"/whip/bench", track, nil)
		if err != nil {
			return 0, err
		}
		pcs = append(pcs, pc)
	case impl == "ours" && role == "whep":
		p, err := peer.New(peer.Options{URL: url, APIKey: "pk_bench"})
		if err != nil {
			return 0, err
		}
		peers = append(peers, p)
		if err := p.AddTrack(track, peer.NewMediaStreamWithID("bench"), peer.StreamMetadata{"label": "bench"}); err != nil {
			return 0, err
		}
		if err := p.Join(ctx, channel); err != nil {
			return 0, err
		}
		for _, o := range outputs {
			var pc *webrtc.PeerConnection
			for pc == nil {
				if pc, _, err = pionClient(ctx, api, s.base+"/whep/?label=bench", nil, o); err != nil {
					if ctx.Err() != nil {
						return 0, err
					}
					time.Sleep(100 * time.Millisecond) // the stream is not listed yet
				}
			}
			pcs = append(pcs, pc)
		}
	default: // bare pion: the same stream in, the same number out
		pc, _, err := pionClient(ctx, api, s.base+"/in", track, nil)
		if err != nil {
			return 0, err
		}
		pcs = append(pcs, pc)
		for _, o := range outputs {
			pc, _, err := pionClient(ctx, api, s.base+"/out", nil, o)
			if err != nil {
				return 0, err
			}
			pcs = append(pcs, pc)
		}
	}
	return measure(s, outputs)
}

func countRTP(tr *webrtc.TrackRemote, n *atomic.Int64) {
	buf := make([]byte, 1600)
	for {
		if _, _, err := tr.Read(buf); err != nil {
			return
		}
		n.Add(1)
	}
}

// firstFrames times, over fwdTrials publishes (after one not counted),
// from a WHIP publisher's POST to the room member's first decoded picture.
func firstFrames(bin, url string, clip *fwdClip) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := startForwarder(bin, "-impl", "ours", "-role", "whip", "-url", url, "-channel", "fwd-first")
	if err != nil {
		return nil, err
	}
	defer s.stop()
	member, err := peer.New(peer.Options{URL: url, APIKey: "pk_bench"})
	if err != nil {
		return nil, err
	}
	defer member.Close("")
	pictures := make(chan time.Time, 4)
	var decoders sync.WaitGroup
	defer decoders.Wait()
	peer.On(member, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(tr peer.Track) {
			decoders.Add(1)
			go func() {
				defer decoders.Done()
				for _, err := range media.Frames(ctx, tr.Track) {
					if err != nil {
						return
					}
					pictures <- time.Now()
					return
				}
			}()
		})
	})
	if err := member.Join(ctx, "fwd-first"); err != nil {
		return nil, err
	}
	api, err := defaultPionAPI()
	if err != nil {
		return nil, err
	}
	var out []time.Duration
	for i := -1; i < fwdTrials; i++ {
		track, err := h264Track(fmt.Sprintf("video-%d", i+1))
		if err != nil {
			return nil, err
		}
		play, stop := context.WithCancel(ctx)
		key := make(chan struct{}, 1)
		go clip.play(play, track, key)
		start := time.Now()
		pc, location, err := pionClient(ctx, api, s.base+"/whip/bench", track, nil)
		if err != nil {
			stop()
			return nil, err
		}
		// The publisher answers keyframe requests, as a browser or
		// GStreamer does (the bridge passes the member's on).
		for _, sender := range pc.GetSenders() {
			go func() {
				for {
					pkts, _, err := sender.ReadRTCP()
					if err != nil {
						return
					}
					for _, p := range pkts {
						if _, ok := p.(*rtcp.PictureLossIndication); ok {
							select {
							case key <- struct{}{}:
							default:
							}
						}
					}
				}
			}()
		}
		select {
		case at := <-pictures:
			if i >= 0 {
				out = append(out, at.Sub(start))
			}
			progress("  trial %d: %v", i+1, at.Sub(start).Round(time.Millisecond))
		case <-time.After(20 * time.Second):
			stop()
			pc.Close()
			return nil, fmt.Errorf("trial %d: the member never decoded a picture", i+1)
		}
		req, _ := http.NewRequest(http.MethodDelete, s.base+location, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		stop()
		pc.Close()
	}
	return out, nil
}

func benchWHIP(dir, url string, runs int) (whipRows, error) {
	var rows whipRows
	bin := filepath.Join(dir, "forwarder")
	build := exec.Command("go", "build", "-o", bin, "./interop/cmd/forwarder")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return rows, fmt.Errorf("build forwarder: %w", err)
	}
	clip, err := makeFwdClip(dir)
	if err != nil {
		return rows, err
	}
	progress("WHIP publish to first decoded picture, %d trials…", fwdTrials)
	if rows.firstFrame, err = firstFrames(bin, url, clip); err != nil {
		return rows, err
	}
	for r := range runs {
		for _, c := range []struct {
			impl, role string
			into       *[]float64
		}{
			{"ours", "whip", &rows.whipOurs}, {"pion", "whip", &rows.whipPion},
			// bare pion's subject is the same for both rows: it runs again
			// so that each row's pair is interleaved alike
			{"ours", "whep", &rows.whepOurs}, {"pion", "whep", &rows.whepPion},
		} {
			progress("forwarding run %d/%d: %s %s…", r+1, runs, c.impl, c.role)
			v, err := fwdRun(bin, url, c.impl, c.role, clip, r)
			if err != nil {
				return rows, fmt.Errorf("%s %s: %w", c.impl, c.role, err)
			}
			*c.into = append(*c.into, v)
			progress("  %.0f ms of CPU a second", v)
		}
	}
	return rows, nil
}

func writeWHIP(b *strings.Builder, r whipRows, runs int) {
	section(b, "WHIP and WHEP bridges")
	fmt.Fprintf(b, "One 720p H.264 stream (constrained baseline, 2.5 Mb/s, 30 frames/s) forwarded by a process of its own (`interop/cmd/forwarder`) to %d connections, its CPU time read from `/proc` over %s of steady forwarding after every output has received the stream; %d runs of each, interleaved. "+
		"WHIP: a pion publisher into the bridge's room, out to %d MeteredPeer members. WHEP: a member's stream in through the bridge's MeteredPeer, out to %d pion players. "+
		"The floor for both is bare pion doing the same forwarding: one `TrackLocalStaticRTP` fed from the incoming track and added to every outgoing connection, pion's default interceptors (what an application would write; it does not keep pictures for late viewers, strip the publisher's header extensions or limit keyframe requests).\n\n",
		fwdOutputs, fwdWindow, runs, fwdOutputs, fwdOutputs)
	if len(r.whipOurs) > 0 {
		writeForwarding(b, r)
	}
	d := append([]time.Duration(nil), r.firstFrame...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	if len(d) > 0 {
		p95 := d[min(len(d)-1, len(d)*95/100)]
		fmt.Fprintf(b, "\nWHIP publish to first decoded picture at a room member (the publisher's POST, ICE, DTLS, the bridge's tracks negotiated into the room, the member's first keyframe decoded with `media.Frames`; the publisher answers keyframe requests, as browsers and GStreamer do), %d trials after one not counted: median %s, p95 %s, range %s–%s.\n\n",
			len(d), ms(d[len(d)/2]), ms(p95), ms(d[0]), ms(d[len(d)-1]))
	}
}

func writeForwarding(b *strings.Builder, r whipRows) {
	fmt.Fprintf(b, "| | CPU ms per second, median | range | per output connection | vs bare pion |\n|---|---|---|---|---|\n")
	row := func(name string, v, floor []float64) {
		s := spreadOf(v)
		fmt.Fprintf(b, "| %s | %.0f | %.0f–%.0f | %.1f | %.2f× |\n", name, s.med, s.lo, s.hi, s.med/fwdOutputs, s.med/medianOf(floor))
	}
	row(fmt.Sprintf("bare pion, 1 in → %d out (floor; WHIP runs)", fwdOutputs), r.whipPion, r.whipPion)
	row(fmt.Sprintf("WHIP bridge, publisher → %d members", fwdOutputs), r.whipOurs, r.whipPion)
	row(fmt.Sprintf("bare pion, 1 in → %d out (floor; WHEP runs)", fwdOutputs), r.whepPion, r.whepPion)
	row(fmt.Sprintf("WHEP bridge, member → %d players", fwdOutputs), r.whepOurs, r.whepPion)
	fmt.Fprintf(b, "\nWhere the extra goes, from the subjects' CPU profiles (`FWD_CPUPROFILE=DIR`): the packets out cost the same (the `sendto` calls and SRTP of four copies are most of both). "+
		"The WHIP bridge sends to its members through MeteredPeer connections, each with its estimator and pacer, which hold video packets and release them spread over the frame (a timer and a wakeup per packet). "+
		"The WHEP bridge's input is a room member's stream, which arrives paced in the same way, so its reading goroutine wakes once per packet where bare pion's input, a frame's packets back to back, wakes it once per burst (`runtime.futex` 17 %% of the subject's CPU, 2 %% in bare pion), and it goes through the MeteredPeer's receiving side (feedback, NACKs, counters) before the four copies. "+
		"The kept pictures cost a copy of each video packet.\n")
}
