package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/media"
)

// The decode row: media.Frames in a process of its own (the media test
// binary in its receiving mode, media/benchsubject_test.go) receiving a
// file's video from this process over loopback at the file's pace and
// decoding every frame, against the same work done without the SDK (the
// floor: the same binary receiving with bare pion's sample builder and
// decoding with FFmpeg) and against the ffmpeg CLI reading and decoding
// the same file (`-threads 1 -f null -`), which does no receiving. Every
// process's whole CPU from wait4.

// decodeCase is one video-only file both sides decode.
type decodeCase struct{ name, file string }

type decodeRows struct {
	runs   int
	cases  []decodeCase
	sdk    map[string][]playRun
	floor  map[string][]playRun
	cli    map[string][]playRun
	frames map[string][]int // frames Frames delivered per run
}

const decodeBaseline = "-hide_banner -loglevel error -threads 1 -i FILE -f null -"

func benchDecode(dir, bin string, runs int) (decodeRows, error) {
	r := decodeRows{runs: runs, sdk: map[string][]playRun{}, floor: map[string][]playRun{}, cli: map[string][]playRun{}, frames: map[string][]int{}}
	progress("decode: writing video-only test files with the ffmpeg CLI…")
	h264 := []string{"-an", "-c:v", "libx264", "-profile:v", "high", "-preset", "medium", "-bf", "0", "-g", "30"}
	for _, c := range []struct{ name, file, size string }{
		{"720p VP8", "vp8-720p.webm", "1280x720"},
		{"720p H.264", "h264-720p.mp4", "1280x720"},
		{"1080p H.264", "h264-1080p.mp4", "1920x1080"},
	} {
		codec := h264
		if strings.HasSuffix(c.file, ".webm") {
			codec = []string{"-an", "-c:v", "libvpx", "-deadline", "realtime", "-b:v", "1500k", "-g", "30"}
		}
		f, err := makeTestFile(dir, c.file, c.size, codec...)
		if err != nil {
			return r, err
		}
		r.cases = append(r.cases, decodeCase{c.name, f})
	}
	for i := range runs {
		for _, c := range r.cases {
			// The three subjects in a rotating order from run to run.
			for k := range 3 {
				switch (i + k) % 3 {
				case 0:
					run, n, err := decodeReceiver(bin, c.file, "MEDIA_BENCH_FRAMES")
					if err != nil {
						return r, fmt.Errorf("decode %s: %w", c.name, err)
					}
					r.sdk[c.name], r.frames[c.name] = append(r.sdk[c.name], run), append(r.frames[c.name], n)
					progress("decode run %d/%d, %s: Frames %v CPU, %d frames", i+1, runs, c.name, run.cpu.Round(time.Millisecond), n)
				case 1:
					run, n, err := decodeReceiver(bin, c.file, "MEDIA_BENCH_FLOOR")
					if err != nil {
						return r, fmt.Errorf("decode %s, the floor: %w", c.name, err)
					}
					if want := r.frames[c.name]; len(want) > 0 && n < want[len(want)-1]*9/10 {
						return r, fmt.Errorf("decode %s: the floor decoded %d frames, Frames %d", c.name, n, want[len(want)-1])
					}
					r.floor[c.name] = append(r.floor[c.name], run)
					progress("decode run %d/%d, %s: bare pion + FFmpeg %v CPU, %d frames", i+1, runs, c.name, run.cpu.Round(time.Millisecond), n)
				default:
					run, _, err := runMeasured(exec.Command("ffmpeg", strings.Fields(strings.ReplaceAll(decodeBaseline, "FILE", c.file))...))
					if err != nil {
						return r, err
					}
					r.cli[c.name] = append(r.cli[c.name], run)
					progress("decode run %d/%d, %s: ffmpeg CLI %v CPU", i+1, runs, c.name, run.cpu.Round(time.Millisecond))
				}
			}
		}
	}
	return r, nil
}

// decodeReceiver plays file's video from this process to the media
// subject in the receiving mode env names, at real time over a default
// pion connection, and returns the subject's CPU and the frames it decoded.
func decodeReceiver(bin, file, env string) (playRun, int, error) {
	p, err := media.FromFile(file)
	if err != nil {
		return playRun{}, 0, err
	}
	defer p.Close()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return playRun{}, 0, err
	}
	defer pc.Close()
	connected := make(chan struct{})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			close(connected)
		}
	})
	if _, err := pc.AddTrack(p.Video); err != nil {
		return playRun{}, 0, err
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return playRun{}, 0, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return playRun{}, 0, err
	}
	<-gathered

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return playRun{}, 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return playRun{}, 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return playRun{}, 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }() // after an error only: Wait below reaps it
	lines := bufio.NewReader(stdout)
	b, _ := json.Marshal(pc.LocalDescription())
	if _, err := fmt.Fprintf(stdin, "%s\n", b); err != nil {
		return playRun{}, 0, err
	}
	var answer webrtc.SessionDescription
	if err := readJSONLine(lines, &answer); err != nil {
		return playRun{}, 0, fmt.Errorf("media subject's answer: %w", err)
	}
	if err := pc.SetRemoteDescription(answer); err != nil {
		return playRun{}, 0, err
	}
	select {
	case <-connected: // what is written before is lost
	case <-time.After(10 * time.Second):
		return playRun{}, 0, fmt.Errorf("the media subject never connected")
	}
	if err := p.Start(); err != nil {
		return playRun{}, 0, err
	}
	<-p.Done()
	time.Sleep(300 * time.Millisecond) // the last packets' way over loopback
	_ = stdin.Close()
	var rep struct{ Frames int }
	if err := readJSONLine(lines, &rep); err != nil {
		return playRun{}, 0, fmt.Errorf("media subject's count: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		return playRun{}, 0, err
	}
	return playRun{cpu: cpuOf(cmd.ProcessState.SysUsage().(*syscall.Rusage)), wall: time.Since(start)}, rep.Frames, nil
}

func readJSONLine(r *bufio.Reader, v any) error {
	line, err := r.ReadBytes('\n')
	if err != nil && (err != io.EOF || len(line) == 0) {
		return err
	}
	return json.Unmarshal(line, v)
}

func writeDecode(b *strings.Builder, r decodeRows) {
	fmt.Fprintf(b, "### Decoding received video: `media.Frames` against bare pion with FFmpeg, and the ffmpeg CLI\n\n")
	fmt.Fprintf(b, "%d s video-only files of the test pattern at 30 fps (VP8 at 1.5 Mb/s; H.264 High without B-frames, x264 medium). `Frames` runs in a process of its own (the media test binary in its receiving mode) and decodes every frame of the file's video, sent to it from the benchmark process at the file's pace over a loopback pion connection. The floor is the same work without the SDK, in the same process layout: the same binary receiving the same stream on a default pion connection, frames assembled by pion's sample builder and decoded by FFmpeg (the decoder `Frames` uses, pictures borrowed as `Frames` lends them), what an application would write without us. The ffmpeg CLI reads and decodes the same file: `ffmpeg %s`, no receiving. One decoding thread each. Every process's whole CPU from wait4. %d runs, the three in a rotating order; medians with ranges.\n\n", playSeconds, decodeBaseline, r.runs)
	fmt.Fprintf(b, "| video | `Frames` CPU | bare pion + FFmpeg CPU | Frames / floor | ffmpeg CLI CPU | Frames / CLI | frames decoded | goal |\n|---|---|---|---|---|---|---|---|\n")
	for _, c := range r.cases {
		s, fl, f := cpuSpread(r.sdk[c.name]), cpuSpread(r.floor[c.name]), cpuSpread(r.cli[c.name])
		n := make([]float64, len(r.frames[c.name]))
		for i, v := range r.frames[c.name] {
			n[i] = float64(v)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %.2f× | %s | %.2f× | %s | ≤ 1.1× the floor |\n", c.name, s.format("ms", 0), fl.format("ms", 0), s.med/fl.med, f.format("ms", 0), s.med/f.med, spreadOf(n).format("", 0))
	}
	b.WriteString("\n")
}
