// Command bench measures realtime-go through the rms-local binary, against
// baselines taken in the same run (the official JS SDK in Node 20, bare
// pion), and writes the tables to docs/benchmarks.md.
//
//	go run ./interop/cmd/bench -out docs/benchmarks.md
//
// Signalling (sigbench.go, sigrows.go): each client in a process of its
// own, whole-process CPU for both SDKs; receive, publish and round trip.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/metered-ca/realtime-go/interop/internal/rmslocal"
)

func main() {
	out := flag.String("out", "docs/benchmarks.md", "markdown file to write")
	runs := flag.Int("runs", 5, "runs per measurement; the tables show medians and ranges")
	only := flag.String("only", "", `"signalling", "mesh", "play" (with decode), "decode", "network", "firstmedia", "whip", "agent" or "join" (the JS SDK's): run only that section (print it) instead of writing out`)
	flag.Parse()
	if err := run(*out, *runs, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(out string, runs int, only string) error {
	dir, err := os.MkdirTemp("", "sigbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// No rate limit, and room for a whole flood (12,000 messages of 1 KB)
	// in one connection's queue: a receiver still warming up is measured,
	// not cut as a slow consumer (the publisher runs warm).
	srv, err := rmslocal.Start(dir, "-rate-limit", "0", "-max-pending-bytes", fmt.Sprint(64<<20), "-max-pending-messages", "65536")
	if err != nil {
		return err
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	if os.Getenv("MESH_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 1024
	}
	if only == "join" {
		for i := range runs {
			d, stuck, err := joinJS(ctx, srv.URL, 8)
			if err != nil {
				return err
			}
			progress("JS join run %d/%d: %v, %d never opened", i+1, runs, d, stuck)
		}
		return nil
	}
	if only == "play" {
		play, err := benchPlay(dir, runs)
		if err != nil {
			return err
		}
		var b strings.Builder
		writePlay(&b, play)
		writeDecode(&b, play.decode)
		fmt.Print(b.String())
		return nil
	}
	if only == "decode" {
		bin, err := buildMediaSubject(dir)
		if err != nil {
			return err
		}
		rows, err := benchDecode(dir, bin, runs)
		if err != nil {
			return err
		}
		var b strings.Builder
		writeDecode(&b, rows)
		fmt.Print(b.String())
		return nil
	}
	if only == "network" {
		rows, err := benchNetwork(dir, runs)
		if err != nil {
			return err
		}
		var b strings.Builder
		writeNetwork(&b, rows, runs)
		fmt.Print(b.String())
		return nil
	}
	if only == "firstmedia" {
		rows, err := benchFirstMedia(dir, srv.URL, runs)
		if err != nil {
			return err
		}
		var b strings.Builder
		writeFirstMedia(&b, rows, runs)
		fmt.Print(b.String())
		return nil
	}
	if only == "whip" {
		rows, err := benchWHIP(dir, srv.URL, runs)
		if err != nil {
			return err
		}
		var b strings.Builder
		writeWHIP(&b, rows, runs)
		fmt.Print(b.String())
		return nil
	}
	if only == "agent" {
		rows, err := benchAgent(".", 10)
		if err != nil {
			return err
		}
		var b strings.Builder
		writeAgent(&b, rows)
		fmt.Print(b.String())
		return nil
	}
	if only == "mesh" {
		rows, err := benchMesh(ctx, srv.URL, runs)
		if err != nil {
			return err
		}
		var b strings.Builder
		writeMesh(&b, rows)
		fmt.Print(b.String())
		return nil
	}
	bin, err := buildSigbench(dir)
	if err != nil {
		return fmt.Errorf("build sigbench: %w", err)
	}
	sig, err := benchSignalling(ctx, srv.URL, bin, runs)
	if err != nil {
		return err
	}
	progress("allocations per received message (go test -bench Receive in signalling)…")
	allocs, err := benchAllocs(".", runs)
	if err != nil {
		return err
	}
	if only == "signalling" {
		var b strings.Builder
		writeSignalling(&b, sig, allocs)
		fmt.Print(b.String())
		return nil
	}

	var goJoin, rawJoin []time.Duration
	for i := 0; i < joins; i++ {
		progress("join→open data channel %d/%d: MeteredPeer, bare pion…", i+1, joins)
		d, err := joinGo(ctx, srv.URL, i)
		if err != nil {
			return fmt.Errorf("join go: %w", err)
		}
		goJoin = append(goJoin, d)
		d, err = joinRawPion(ctx, srv.URL, i)
		if err != nil {
			return fmt.Errorf("join raw pion: %w", err)
		}
		rawJoin = append(rawJoin, d)
	}
	progress("join→open data channel: JS SDK MeteredPeers in Node…")
	jsJoin, jsStuck, err := joinJS(ctx, srv.URL, joins)
	if err != nil {
		return fmt.Errorf("join js: %w", err)
	}
	mesh, err := benchMesh(ctx, srv.URL, runs)
	if err != nil {
		return err
	}
	firstMedia, err := benchFirstMedia(dir, srv.URL, runs)
	if err != nil {
		return err
	}
	whip, err := benchWHIP(dir, srv.URL, runs)
	if err != nil {
		return err
	}
	var dcGo, dcPion []float64
	const dcRuns = 5
	for i := 0; i < dcRuns; i++ {
		progress("data channel throughput %d/%d: MeteredPeer, bare pion…", i+1, dcRuns)
		g, err := dcThroughputGo(ctx, srv.URL, i)
		if err != nil {
			return fmt.Errorf("dc go: %w", err)
		}
		p, err := dcThroughputPion(ctx)
		if err != nil {
			return fmt.Errorf("dc pion: %w", err)
		}
		dcGo, dcPion = append(dcGo, g), append(dcPion, p)
	}
	progress("load: 1,000 clients across 100 channels…")
	loadRes, err := benchLoad(ctx, 1000, 100, 5, 10*time.Second)
	if err != nil {
		return err
	}
	play, err := benchPlay(dir, runs)
	if err != nil {
		return err
	}
	media, err := benchMedia(runs)
	if err != nil {
		return err
	}
	network, err := benchNetwork(dir, runs)
	if err != nil {
		return err
	}
	agent, err := benchAgent(".", 10)
	if err != nil {
		return err
	}
	return writeTable(out, runs, sig, allocs, percentiles(goJoin), percentiles(rawJoin), percentiles(jsJoin), jsStuck, mesh, firstMedia, whip, agent, media, play, network, loadRes, dcGo, dcPion)
}

// joins is how many times each pair joins in the join benchmark.
const joins = 8

// progress is a line on stderr: make bench runs for minutes.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	node, _ := exec.Command("node", "--version").Output()
	return fmt.Sprintf("%s, %d cores, %s, %s/%s, Node %s", cpu, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, strings.TrimSpace(string(node)))
}

// section starts a section of the table with its title and the machine it
// is measured on: a figure moves with the CPU, and a section can be
// re-measured alone (-only) on another machine.
func section(b *strings.Builder, title string) {
	fmt.Fprintf(b, "\n## %s\n\nMeasured on %s on %s.\n\n", title, time.Now().UTC().Format("2006-01-02"), machine())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func writeTable(out string, runs int, sig sigRows, allocs allocResult, goJoin, rawJoin, jsJoin joinResult, jsStuck int, mesh meshRows, firstMedia firstMediaRows, whip whipRows, agent agentRows, media mediaResults, play playRows, network netRuns, loadRes loadResult, dcGo, dcPion []float64) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\nGenerated by `make bench` on %s. Machine: %s; nothing else ran on it meanwhile, so a subject and its baseline share it only with what the row says (a server, the other end).\n\n", time.Now().UTC().Format("2006-01-02"), machine())
	writeSignalling(&b, sig, allocs)
	section(&b, "Joining a channel to an open data channel")
	fmt.Fprintf(&b, "Two peers start joining one channel at the same moment; the first opens a data channel to the other as soon as it sees it. ")
	fmt.Fprintf(&b, "Time from the start to the channel being open, 8 runs each, same `rms-local`. ")
	fmt.Fprintf(&b, "The floor is bare pion doing the same connect, subscribe and offer/answer/trickle over the same server without any MeteredPeer logic.\n\n")
	fmt.Fprintf(&b, "| | p50 | p90 | p50 vs floor |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| bare pion over the same server (floor) | %s | %s | 1.00× |\n", ms(rawJoin.p50), ms(rawJoin.p90))
	fmt.Fprintf(&b, "| realtime-go `MeteredPeer` ↔ `MeteredPeer` | %s | %s | %.2f× |\n", ms(goJoin.p50), ms(goJoin.p90), float64(goJoin.p50)/float64(rawJoin.p50))
	fmt.Fprintf(&b, "| JS SDK `MeteredPeer` ↔ `MeteredPeer` (Node, @roamhq/wrtc) | %s | %s | %.2f× |\n\n", ms(jsJoin.p50), ms(jsJoin.p90), float64(jsJoin.p50)/float64(rawJoin.p50))
	if jsStuck > 0 {
		fmt.Fprintf(&b, "%d of the JS SDK's %d runs never opened their channel (30 s); the percentiles are of the others.\n\n", jsStuck, joins)
	}
	writeMesh(&b, mesh)
	writeFirstMedia(&b, firstMedia, runs)
	writeWHIP(&b, whip, runs)
	writeAgent(&b, agent)
	section(&b, "Data channel throughput")
	fmt.Fprintf(&b, "64 MiB in 16 KiB messages over one data channel, in one process, both sides kept to IPv4 loopback, %d runs each, interleaved. The baseline is two bare pion connections driven by a hand-written buffered-amount-low loop (1 MiB high, 512 KiB low); the MeteredPeers use `DataChannel.Send` (same marks, an ordered queue). Both vary a lot from run to run on this 2-core machine, hence the ranges.\n\n", len(dcGo))
	fmt.Fprintf(&b, "| | median MB/s | range | median vs baseline |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| bare pion, hand-written loop | %.1f | %.1f–%.1f | 1.00× |\n", medianOf(dcPion), minOf(dcPion), maxOf(dcPion))
	fmt.Fprintf(&b, "| realtime-go `DataChannel.Send` | %.1f | %.1f–%.1f | %.2f× |\n\n", medianOf(dcGo), minOf(dcGo), maxOf(dcGo), medianOf(dcGo)/medianOf(dcPion))
	writeLoad(&b, loadRes)
	writeMedia(&b, media, play, runs)
	writeNetwork(&b, network, runs)
	writeGaps(&b)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	progress("wrote %s", out)
	return os.WriteFile(out, []byte(b.String()), 0o644)
}

func medianOf(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func minOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
