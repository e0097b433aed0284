package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The file benchmarks run the SDK in a process of its own (the media
// package's test binary in subject mode: media/benchsubject_test.go, which
// plays a file as fast as it goes) and the ffmpeg CLI doing the same work
// with the same settings, and take both processes' whole CPU from wait4's
// rusage: start-up, probing and file opening counted on both sides.

const playSeconds = 10

// playCase is one file and what both sides do with it.
type playCase struct {
	name, file string
	transcode  bool
}

// playRun is one process's cost.
type playRun struct {
	cpu, wall time.Duration
	playWall  time.Duration // the subject's own: playing only
}

type playRows struct {
	runs  int
	late  [][3]float64 // 1080p at real time: video lateness p50 and max, ms, and CPU, s, per run
	cases []playCase
	sdk   map[string][]playRun
	cli   map[string][]playRun
	cmds  map[string]string // the baseline's command line per case

	decode decodeRows // the same subject binary receiving and decoding
}

// makeTestFile writes playSeconds of a 440 Hz tone and a 30 fps test
// pattern with the ffmpeg CLI.
func makeTestFile(dir, name, size string, codec ...string) (string, error) {
	out := filepath.Join(dir, name)
	args := append([]string{"-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-f", "lavfi", "-i", "testsrc=size=" + size + ":rate=30", "-t", strconv.Itoa(playSeconds), "-pix_fmt", "yuv420p"}, codec...)
	if b, err := exec.Command("ffmpeg", append(args, out)...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("ffmpeg %s: %v: %s", name, err, b)
	}
	return out, nil
}

func buildMediaSubject(dir string) (string, error) {
	bin := filepath.Join(dir, "media.test")
	cmd := exec.Command("go", "test", "-c", "-o", bin, ".")
	cmd.Dir = "media"
	cmd.Stderr = os.Stderr
	return bin, cmd.Run()
}

func runMeasured(cmd *exec.Cmd) (playRun, []byte, error) {
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	wall := time.Since(start)
	if err != nil {
		return playRun{}, nil, fmt.Errorf("%s: %v: %s", filepath.Base(cmd.Path), err, stderr.String())
	}
	return playRun{cpu: cpuOf(cmd.ProcessState.SysUsage().(*syscall.Rusage)), wall: wall}, out, nil
}

func benchPlay(dir string, runs int) (playRows, error) {
	r := playRows{runs: runs, sdk: map[string][]playRun{}, cli: map[string][]playRun{}, cmds: map[string]string{}}
	progress("media: writing test files with the ffmpeg CLI…")
	bframes := []string{"-c:v", "libx264", "-profile:v", "high", "-preset", "medium", "-bf", "2", "-g", "30", "-c:a", "aac"}
	for _, c := range []struct{ name, size string }{{"720p", "1280x720"}, {"1080p", "1920x1080"}} {
		f, err := makeTestFile(dir, "h264-bframes-"+c.name+".mp4", c.size, bframes...)
		if err != nil {
			return r, err
		}
		r.cases = append(r.cases, playCase{name: "transcode " + c.name, file: f, transcode: true})
	}
	vp8, err := makeTestFile(dir, "vp8-opus-720p.webm", "1280x720", "-c:v", "libvpx", "-deadline", "realtime", "-b:v", "1500k", "-g", "30", "-c:a", "libopus")
	if err != nil {
		return r, err
	}
	// Demuxing is cheap next to starting a process: ten minutes, so that
	// the work and not the start-up is what the row compares.
	long := filepath.Join(dir, "vp8-opus-720p-10min.webm")
	if b, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "59", "-i", vp8, "-c", "copy", long).CombinedOutput(); err != nil {
		return r, fmt.Errorf("ffmpeg: looping %s: %v: %s", vp8, err, b)
	}
	r.cases = append(r.cases, playCase{name: "passthrough 720p, 10 min", file: long})
	bin, err := buildMediaSubject(dir)
	if err != nil {
		return r, fmt.Errorf("build the media subject: %w", err)
	}
	for i := range runs {
		for _, c := range r.cases {
			sdkFirst := i%2 == 0
			for k := range 2 {
				if (k == 0) == sdkFirst {
					cmd := exec.Command(bin)
					cmd.Env = append(os.Environ(), "MEDIA_BENCH_PLAY="+c.file)
					run, out, err := runMeasured(cmd)
					if err != nil {
						return r, err
					}
					var rep struct {
						WallMicros                 int64
						VideoBitrate, AudioBitrate int
					}
					if err := json.Unmarshal(out, &rep); err != nil {
						return r, fmt.Errorf("media subject printed %q: %w", out, err)
					}
					run.playWall = time.Duration(rep.WallMicros) * time.Microsecond
					r.sdk[c.name] = append(r.sdk[c.name], run)
					r.cmds[c.name] = baselineArgs(c, rep.VideoBitrate, rep.AudioBitrate)
					progress("media run %d/%d, %s: SDK %v CPU, played in %v", i+1, runs, c.name, run.cpu.Round(time.Millisecond), run.playWall.Round(time.Millisecond))
					if c.name == "transcode 1080p" {
						late, err := lateness(bin, c.file)
						if err != nil {
							return r, err
						}
						r.late = append(r.late, late)
						progress("media run %d/%d, %s at real time: video %.0f ms behind (p50), %.0f ms at most, %.2f s CPU", i+1, runs, c.name, late[0], late[1], late[2])
					}
				} else {
					if r.cmds[c.name] == "" { // the SDK's run tells the bitrates
						continue
					}
					run, _, err := runMeasured(exec.Command("ffmpeg", strings.Fields(strings.ReplaceAll(r.cmds[c.name], "FILE", c.file))...))
					if err != nil {
						return r, err
					}
					r.cli[c.name] = append(r.cli[c.name], run)
					progress("media run %d/%d, %s: ffmpeg CLI %v CPU, %v", i+1, runs, c.name, run.cpu.Round(time.Millisecond), run.wall.Round(time.Millisecond))
				}
			}
		}
	}
	r.decode, err = benchDecode(dir, bin, runs)
	return r, err
}

// lateness plays file at its own pace in the media subject and returns
// how far behind their schedule (one frame every 1/30 s from the start)
// the video samples were written: p50 and max, in ms; and the process's
// CPU, in seconds.
func lateness(bin, file string) ([3]float64, error) {
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "MEDIA_BENCH_PLAY="+file, "MEDIA_BENCH_REALTIME=1")
	run, out, err := runMeasured(cmd)
	if err != nil {
		return [3]float64{}, err
	}
	var rep struct{ VideoLateMs []float64 }
	if err := json.Unmarshal(out, &rep); err != nil || len(rep.VideoLateMs) != 2 {
		return [3]float64{}, fmt.Errorf("media subject printed %q: %v", out, err)
	}
	return [3]float64{rep.VideoLateMs[0], rep.VideoLateMs[1], run.cpu.Seconds()}, nil
}

// baselineArgs is the ffmpeg CLI doing the SDK's work on the case: its
// encoders' settings (media/internal/av/encoder.go) at the rates the SDK
// chose, one thread each way as the SDK runs them, into the null muxer; or
// a stream copy for passthrough.
func baselineArgs(c playCase, video, audio int) string {
	if !c.transcode {
		return "-hide_banner -loglevel error -threads 1 -i FILE -c copy -f null -"
	}
	// The SDK's encoder settings (media/internal/av/encoder.go): a keyframe
	// on request only (its interval is 3000 frames, so here the first
	// frame's alone), libwebrtc's Opus complexity, 9.
	v, a := strconv.Itoa(video), strconv.Itoa(audio)
	return "-hide_banner -loglevel error -threads 1 -i FILE -threads 1" +
		" -c:v libvpx -deadline realtime -cpu-used 8 -lag-in-frames 0 -g 3000 -b:v " + v + " -minrate " + v + " -maxrate " + v + " -bufsize " + v +
		" -drop-threshold 30 -max-intra-rate 900 -undershoot-pct 100 -overshoot-pct 15" +
		" -c:a libopus -b:a " + a + " -application voip -frame_duration 20 -compression_level 9 -ar 48000 -ac 2 -sample_fmt s16 -f null -"
}

func cpuSpread(rs []playRun) spread {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = float64(r.cpu) / float64(time.Millisecond)
	}
	return spreadOf(v)
}

func writePlay(b *strings.Builder, r playRows) {
	fmt.Fprintf(b, "### Playing a file: the SDK against the ffmpeg CLI\n\n")
	fmt.Fprintf(b, "%d s files (a 440 Hz tone and a 30 fps test pattern; H.264 High with B-frames + AAC for transcoding; for passthrough, VP8 + Opus WebM looped to ten minutes by stream copy). The SDK runs in a process of its own (the media package's test binary in subject mode, playing the file as fast as it goes, tracks unbound); the ffmpeg CLI does the same work with the same settings (below). Both processes' whole CPU (user + system from wait4), start-up and probing included on both sides. %d runs, interleaved in alternating order; medians with ranges.\n\n", playSeconds, r.runs)
	fmt.Fprintf(b, "| work | SDK CPU | ffmpeg CLI CPU | SDK / CLI | goal |\n|---|---|---|---|---|\n")
	for _, c := range r.cases {
		s, f := cpuSpread(r.sdk[c.name]), cpuSpread(r.cli[c.name])
		goal := "≤ 1.0×"
		fmt.Fprintf(b, "| %s | %s | %s | %.2f× | %s |\n", c.name, s.format("ms", 0), f.format("ms", 0), s.med/f.med, goal)
	}
	for _, c := range r.cases {
		if c.name != "transcode 1080p" {
			continue
		}
		v := make([]float64, len(r.sdk[c.name]))
		for i, run := range r.sdk[c.name] {
			v[i] = float64(playSeconds) / run.playWall.Seconds()
		}
		fmt.Fprintf(b, "\n1080p transcode speed (media seconds per second of playing, SDK): %s (goal ≥ 2×).\n", spreadOf(v).format("×", 2))
		p50, most, cpu := make([]float64, len(r.late)), make([]float64, len(r.late)), make([]float64, len(r.late))
		for i, l := range r.late {
			p50[i], most[i], cpu[i] = l[0], l[1], l[2]*100/playSeconds
		}
		fmt.Fprintf(b, "\nThe same 1080p file played at its own pace (as to a call): how far behind its schedule (frame n due n/30 s after the start) each video sample was written, reading, B-frame reordering, decoding and encoding included: median over the run %s, at most %s (goal ≤ 100 ms); the process used %s of one core meanwhile.\n", spreadOf(p50).format("ms", 0), spreadOf(most).format("ms", 0), spreadOf(cpu).format("%", 0))
	}
	fmt.Fprintf(b, "\nBaselines:\n\n")
	for _, c := range r.cases {
		fmt.Fprintf(b, "- %s: `ffmpeg %s`\n", c.name, r.cmds[c.name])
	}
	b.WriteString("\n")
}
