package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// mediaResults are the media module's benchmarks, run by run: benchmark
// name → unit → one value per run, in run order (the runs interleave).
type mediaResults map[string]map[string][]float64

// med is the median of a metric over the runs.
func (m mediaResults) med(name, unit string) float64 { return spreadOf(m[name][unit]).med }

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)-\d+\s+\d+\s+\d+ ns/op((?:\s+[\d.]+ \S+)*)`)

// benchMedia runs `go test -bench` in the media module runs times.
func benchMedia(runs int) (mediaResults, error) {
	var out []byte
	for i := range runs { // one run of every benchmark at a time: interleaved
		progress("media benchmarks, run %d/%d (go test -bench in media)…", i+1, runs)
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", ".", "-benchtime", "1x", "-count", "1", ".")
		cmd.Dir = "media"
		cmd.Stderr = os.Stderr
		b, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("media benchmarks: %w", err)
		}
		out = append(out, b...)
	}
	res := mediaResults{}
	for _, line := range strings.Split(string(out), "\n") {
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			if res[m[1]] == nil {
				res[m[1]] = map[string][]float64{}
			}
			res[m[1]][f[i+1]] = append(res[m[1]][f[i+1]], v)
		}
	}
	want := []string{"AudioSourcePacing", "FramesVP8", "AudioSource/sdk", "AudioSource/pion"}
	for _, side := range fanOutSides {
		want = append(want, fanOutName(side, 1), fanOutName(side, fanOutViewers))
	}
	for _, name := range want {
		if len(res[name]) == 0 {
			return nil, fmt.Errorf("media benchmarks: no result for %s", name)
		}
	}
	return res, nil
}

// The fan-out benchmark's sides and audiences (media/bench_test.go).
var fanOutSides = []string{"sdk", "pion", "pion-cc"}

const fanOutViewers = 5

func fanOutName(side string, viewers int) string {
	return fmt.Sprintf("FanOut/%s/viewers=%d", side, viewers)
}

// perAddedViewer is each run's CPU per media second for each viewer past
// the first: the difference between the two audiences of the same run.
func perAddedViewer(m mediaResults, side string) []float64 {
	one, many := m[fanOutName(side, 1)]["cpu-ms/media-s"], m[fanOutName(side, fanOutViewers)]["cpu-ms/media-s"]
	v := make([]float64, min(len(one), len(many)))
	for i := range v {
		v[i] = (many[i] - one[i]) / (fanOutViewers - 1)
	}
	return v
}

func writeMedia(b *strings.Builder, m mediaResults, play playRows, runs int) {
	section(b, "Media (FFmpeg 5.1 through go-astiav v0.16.0)")
	writePlay(b, play)
	writeDecode(b, play.decode)
	fmt.Fprintf(b, "### AudioSource against bare pion\n\n`go test -bench AudioSource` in `media`, %d runs interleaved with the other media benchmarks, medians. CPU per second of audio sent over a loopback pion connection, in the benchmark process for both: `AudioSource` taking 16 kHz mono PCM (resampling, Opus encoding, pacing, sending) against bare pion writing the same stream pre-encoded (Opus 48 kHz stereo at 64 kb/s, encoded before the clock starts) every 20 ms; the receiving side, the same for both, reads and discards the RTP.\n\n", runs)
	sdk, pion := spreadOf(m["AudioSource/sdk"]["cpu-ms/audio-s"]), spreadOf(m["AudioSource/pion"]["cpu-ms/audio-s"])
	fmt.Fprintf(b, "| | CPU per audio second |\n|---|---|\n| bare pion, pre-encoded (baseline) | %s |\n| `AudioSource` | %s |\n| ratio | %.2f× (goal ≤ 1.3×) |\n\n", pion.format("ms", 1), sdk.format("ms", 1), sdk.med/pion.med)
	writeFanOut(b, m, runs)
	fmt.Fprintf(b, "### In-process measurements (no baseline yet)\n\n`go test -bench` in `media`, medians of %d runs.\n\n", runs)
	fmt.Fprintf(b, "`AudioSource` pacing: distance of each 20 ms packet's send time from 20 ms after the previous one, 5 s of pushed 16 kHz audio: p50 %.0f µs, p99 %.0f µs.\n\n",
		m.med("AudioSourcePacing", "p50-jitter-µs"), m.med("AudioSourcePacing", "p99-jitter-µs"))
	fmt.Fprintf(b, "`Frames` on a 640x480 VP8 track received over a loopback pion connection, offered at 4× real time (120 frames/s): %.0f frames decoded per second, %.0f µs of process CPU per frame (receiving, jitter buffer and decoding, plus the sender's packetizing).\n\n",
		m.med("FramesVP8", "frames/s"), m.med("FramesVP8", "cpu-µs/frame"))
}

func writeFanOut(b *strings.Builder, m mediaResults, runs int) {
	fmt.Fprintf(b, "### Fan-out: CPU per added viewer against bare pion\n\n`go test -bench FanOut` in `media`, %d runs interleaved with the other media benchmarks; medians with ranges. One 720p VP8 video at 1.5 Mb/s (a file passed through, played at twice real time) goes to 1 and to %d viewers in the benchmark process, each reading and discarding the RTP; CPU is the process's (sender, viewers, everything) per media second, from the moment every viewer has its first packet to the end of the file, and a viewer's cost is the difference between the two audiences of the same run divided by %d. The SDK: a `MeteredPeer` sending the `Player`'s `Track` to `MeteredPeer` viewers, whose connections estimate bandwidth (transport-wide feedback, GCC) and repair loss (NACK/RTX). Bare pion: a `TrackLocalStaticSample` written the same packets at the same pace, on default pion connections, and on pion connections with the same interceptors registered by hand (the same work).\n\n", runs, fanOutViewers, fanOutViewers-1)
	fmt.Fprintf(b, "| | CPU per media second, 1 viewer | %d viewers | per added viewer | SDK / this |\n|---|---|---|---|---|\n", fanOutViewers)
	sdk := spreadOf(perAddedViewer(m, "sdk"))
	for _, row := range []struct{ side, name string }{
		{"pion", "bare pion, default interceptors"},
		{"pion-cc", "bare pion, the SDK's interceptors (baseline)"},
		{"sdk", "realtime-go `MeteredPeer`"},
	} {
		one, many := spreadOf(m[fanOutName(row.side, 1)]["cpu-ms/media-s"]), spreadOf(m[fanOutName(row.side, fanOutViewers)]["cpu-ms/media-s"])
		added := spreadOf(perAddedViewer(m, row.side))
		fmt.Fprintf(b, "| %s | %s | %s | %s | %.2f× |\n", row.name, one.format("ms", 1), many.format("ms", 1), added.format("ms", 2), sdk.med/added.med)
	}
	fmt.Fprintf(b, "\nGoal: per added viewer ≤ 1.0× bare pion doing the same work.\n\n")
}
