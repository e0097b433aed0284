package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// mediaResults are the medians of the media module's benchmarks: benchmark
// name → unit → value.
type mediaResults map[string]map[string]float64

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)-\d+\s+\d+\s+\d+ ns/op((?:\s+[\d.]+ \S+)*)`)

// benchMedia runs `go test -bench` in the media module runs times and takes
// the median of every metric.
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
	all := map[string]map[string][]float64{}
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
			if all[m[1]] == nil {
				all[m[1]] = map[string][]float64{}
			}
			all[m[1]][f[i+1]] = append(all[m[1]][f[i+1]], v)
		}
	}
	res := mediaResults{}
	for name, units := range all {
		res[name] = map[string]float64{}
		for unit, vs := range units {
			sort.Float64s(vs)
			res[name][unit] = vs[len(vs)/2]
		}
	}
	for _, want := range []string{"AudioSourcePacing", "FramesVP8", "AudioSource/sdk", "AudioSource/pion"} {
		if res[want] == nil {
			return nil, fmt.Errorf("media benchmarks: no result for %s", want)
		}
	}
	return res, nil
}

func writeMedia(b *strings.Builder, m mediaResults, play playRows, runs int) {
	fmt.Fprintf(b, "## Media (FFmpeg 5.1 through go-astiav v0.16.0)\n\n")
	writePlay(b, play)
	fmt.Fprintf(b, "### AudioSource against bare pion\n\n`go test -bench AudioSource` in `media`, %d runs interleaved with the other media benchmarks, medians. CPU per second of audio sent over a loopback pion connection, in the benchmark process for both: `AudioSource` taking 16 kHz mono PCM (resampling, Opus encoding, pacing, sending) against bare pion writing the same stream pre-encoded (Opus 48 kHz stereo at 64 kb/s, encoded before the clock starts) every 20 ms; the receiving side, the same for both, reads and discards the RTP.\n\n", runs)
	sdk, pion := m["AudioSource/sdk"]["cpu-ms/audio-s"], m["AudioSource/pion"]["cpu-ms/audio-s"]
	fmt.Fprintf(b, "| | CPU per audio second |\n|---|---|\n| bare pion, pre-encoded (baseline) | %.1f ms |\n| `AudioSource` | %.1f ms |\n| ratio | %.2f× (goal ≤ 1.3×) |\n\n", pion, sdk, sdk/pion)
	fmt.Fprintf(b, "### In-process measurements (no baseline yet)\n\n`go test -bench` in `media`, medians of %d runs.\n\n", runs)
	fmt.Fprintf(b, "`AudioSource` pacing: distance of each 20 ms packet's send time from 20 ms after the previous one, 5 s of pushed 16 kHz audio: p50 %.0f µs, p99 %.0f µs.\n\n",
		m["AudioSourcePacing"]["p50-jitter-µs"], m["AudioSourcePacing"]["p99-jitter-µs"])
	fmt.Fprintf(b, "`Frames` on a 640x480 VP8 track received over a loopback pion connection, offered at 4× real time (120 frames/s): %.0f frames decoded per second, %.0f µs of process CPU per frame (receiving, jitter buffer and decoding, plus the sender's packetizing).\n",
		m["FramesVP8"]["frames/s"], m["FramesVP8"]["cpu-µs/frame"])
}
