// Command bench measures realtime-go through the rms-local binary, against
// baselines taken in the same run (the official JS SDK in Node 20, bare
// pion), and writes the tables to docs/benchmarks.md.
//
//	go run ./interop/cmd/bench -out docs/benchmarks.md
//
// Signalling:
// Round trip: a publisher publishes, an echo peer of the same SDK publishes
// the message back, the publisher waits for it; one message at a time.
// Throughput: acked publishes per second with 16 in flight while one peer
// subscribes.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/metered-ca/realtime-go/interop/internal/jsdriver"
	"github.com/metered-ca/realtime-go/interop/internal/rmslocal"
	"github.com/metered-ca/realtime-go/signalling"
)

type result struct {
	p50, p99   time.Duration // round trip
	throughput float64       // acked publishes per second
}

func main() {
	out := flag.String("out", "docs/benchmarks.md", "markdown file to write")
	n := flag.Int("n", 2000, "round trips per run")
	flood := flag.Int("flood", 5000, "publishes per throughput run")
	runs := flag.Int("runs", 3, "runs per client; the table shows medians")
	flag.Parse()
	if err := run(*out, *n, *flood, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "sigbench:", err)
		os.Exit(1)
	}
}

func run(out string, n, flood, runs int) error {
	dir, err := os.MkdirTemp("", "sigbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := rmslocal.Start(dir, "-rate-limit", "0")
	if err != nil {
		return err
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	var goRes, jsRes []result
	for i := 0; i < runs; i++ {
		fmt.Fprintf(os.Stderr, "run %d/%d: Go client…\n", i+1, runs)
		r, err := benchGo(ctx, srv.URL, fmt.Sprintf("bench-go-%d", i), n, flood)
		if err != nil {
			return fmt.Errorf("go: %w", err)
		}
		goRes = append(goRes, r)
		fmt.Fprintf(os.Stderr, "  p50 %v p99 %v, %.0f msg/s\n", r.p50, r.p99, r.throughput)
		fmt.Fprintf(os.Stderr, "run %d/%d: JS SDK in Node…\n", i+1, runs)
		r, err = benchJS(ctx, srv.URL, fmt.Sprintf("bench-js-%d", i), n, flood)
		if err != nil {
			return fmt.Errorf("js: %w", err)
		}
		jsRes = append(jsRes, r)
		fmt.Fprintf(os.Stderr, "  p50 %v p99 %v, %.0f msg/s\n", r.p50, r.p99, r.throughput)
	}
	g, j := median(goRes), median(jsRes)

	const joins = 8
	var goJoin, rawJoin []time.Duration
	for i := 0; i < joins; i++ {
		fmt.Fprintf(os.Stderr, "join→open data channel %d/%d: MeteredPeer, bare pion…\n", i+1, joins)
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
	fmt.Fprintln(os.Stderr, "join→open data channel: JS SDK MeteredPeers in Node…")
	jsJoin, err := joinJS(ctx, srv.URL, joins)
	if err != nil {
		return fmt.Errorf("join js: %w", err)
	}
	var mems []memResult
	for _, size := range []int{8, 32} {
		fmt.Fprintf(os.Stderr, "memory and goroutines per RemotePeer, %d peers…\n", size)
		m, err := perRemotePeer(ctx, srv.URL, size)
		if err != nil {
			return fmt.Errorf("per remote peer: %w", err)
		}
		mems = append(mems, m)
	}
	var dcGo, dcPion []float64
	const dcRuns = 5
	for i := 0; i < dcRuns; i++ {
		fmt.Fprintf(os.Stderr, "data channel throughput %d/%d: MeteredPeer, bare pion…\n", i+1, dcRuns)
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
	fmt.Fprintln(os.Stderr, "load: 1,000 clients across 100 channels…")
	loadRes, err := benchLoad(ctx, 1000, 100, 5, 10*time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "media benchmarks (go test -bench in media)…")
	media, err := benchMedia(runs)
	if err != nil {
		return err
	}
	return writeTable(out, n, flood, runs, g, j, percentiles(goJoin), percentiles(rawJoin), percentiles(jsJoin), mems, media, loadRes, dcGo, dcPion)
}

func benchGo(ctx context.Context, url, channel string, n, flood int) (result, error) {
	newClient := func() (*signalling.Client, error) {
		c, err := signalling.New(signalling.Options{URL: url, APIKey: "pk_bench"})
		if err != nil {
			return nil, err
		}
		return c, c.Connect(ctx)
	}
	pub, err := newClient()
	if err != nil {
		return result{}, err
	}
	defer pub.Close()
	echo, err := newClient()
	if err != nil {
		return result{}, err
	}
	defer echo.Close()
	signalling.On(echo, func(m signalling.Message) {
		go func() { _ = echo.Publish(ctx, m.Channel, m.Data) }()
	})
	got := make(chan int, 16)
	signalling.On(pub, func(m signalling.Message) {
		var v struct{ Seq int }
		if json.Unmarshal(m.Data, &v) == nil {
			got <- v.Seq
		}
	})
	if err := pub.Subscribe(ctx, channel); err != nil {
		return result{}, err
	}
	if err := echo.Subscribe(ctx, channel); err != nil {
		return result{}, err
	}
	rtts := make([]time.Duration, 0, n)
	for i := -n / 10; i < n; i++ { // the first tenth warms up
		t0 := time.Now()
		if err := pub.Publish(ctx, channel, map[string]any{"seq": i, "pad": ""}); err != nil {
			return result{}, err
		}
		for seq := range got {
			if seq == i {
				break
			}
		}
		if i >= 0 {
			rtts = append(rtts, time.Since(t0))
		}
	}
	// Throughput: the echo peer unsubscribes its echo; a plain subscriber stays.
	floodCh := channel + "-flood"
	if err := echo.Subscribe(ctx, floodCh); err != nil {
		return result{}, err
	}
	start := time.Now()
	var wg sync.WaitGroup
	var next int
	var mu sync.Mutex
	var ferr error
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= flood {
					return
				}
				if err := pub.Publish(ctx, floodCh, map[string]any{"seq": -1}); err != nil {
					mu.Lock()
					ferr = err
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if ferr != nil {
		return result{}, ferr
	}
	return summarise(rtts, float64(flood)/time.Since(start).Seconds()), nil
}

func benchJS(ctx context.Context, url, channel string, n, flood int) (result, error) {
	pub, err := jsdriver.Start("signalling-driver.mjs")
	if err != nil {
		return result{}, err
	}
	defer pub.Close()
	echo, err := jsdriver.Start("signalling-driver.mjs")
	if err != nil {
		return result{}, err
	}
	defer echo.Close()
	for _, d := range []*jsdriver.Driver{pub, echo} {
		if _, err := d.Do(ctx, "connect", map[string]any{"url": url, "apiKey": "pk_bench"}); err != nil {
			return result{}, err
		}
		if _, err := d.Do(ctx, "subscribe", map[string]any{"channel": channel}); err != nil {
			return result{}, err
		}
	}
	if _, err := echo.Do(ctx, "echo", map[string]any{"channel": channel}); err != nil {
		return result{}, err
	}
	if _, err := pub.Do(ctx, "pingpong", map[string]any{"channel": channel, "n": n / 10}); err != nil { // warm-up
		return result{}, err
	}
	raw, err := pub.Do(ctx, "pingpong", map[string]any{"channel": channel, "n": n})
	if err != nil {
		return result{}, err
	}
	var us []float64
	if err := json.Unmarshal(raw, &us); err != nil {
		return result{}, err
	}
	rtts := make([]time.Duration, len(us))
	for i, u := range us {
		rtts[i] = time.Duration(u * float64(time.Microsecond))
	}
	if _, err := echo.Do(ctx, "subscribe", map[string]any{"channel": channel + "-flood"}); err != nil {
		return result{}, err
	}
	raw, err = pub.Do(ctx, "flood", map[string]any{"channel": channel + "-flood", "n": flood, "window": 16})
	if err != nil {
		return result{}, err
	}
	var ms float64
	if err := json.Unmarshal(raw, &ms); err != nil {
		return result{}, err
	}
	return summarise(rtts, float64(flood)/(ms/1000)), nil
}

func summarise(rtts []time.Duration, throughput float64) result {
	slices.Sort(rtts)
	pct := func(p float64) time.Duration { return rtts[min(len(rtts)-1, int(p*float64(len(rtts))))] }
	return result{p50: pct(0.50), p99: pct(0.99), throughput: throughput}
}

func median(rs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return result{
		p50:        time.Duration(pick(func(r result) float64 { return float64(r.p50) })),
		p99:        time.Duration(pick(func(r result) float64 { return float64(r.p99) })),
		throughput: pick(func(r result) float64 { return r.throughput }),
	}
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

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func writeTable(out string, n, flood, runs int, g, j result, goJoin, rawJoin, jsJoin joinResult, mems []memResult, media mediaResults, loadRes loadResult, dcGo, dcPion []float64) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\nGenerated by `make bench` on %s. Machine: %s.\n\n", time.Now().UTC().Format("2006-01-02"), machine())
	fmt.Fprintf(&b, "## Signalling through rms-local\n\n")
	fmt.Fprintf(&b, "Both clients talk to the same `rms-local` process (rate limit off) in the same run. ")
	fmt.Fprintf(&b, "Round trip: publish, an echo peer of the same SDK publishes it back, the publisher receives it; %d sequential messages after a warm-up. ", n)
	fmt.Fprintf(&b, "Throughput: %d acked publishes with 16 in flight while one other peer subscribes. Medians of %d runs.\n\n", flood, runs)
	fmt.Fprintf(&b, "| client | round trip p50 | round trip p99 | publishes/s |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| realtime-go `signalling.Client` | %s | %s | %.0f |\n", us(g.p50), us(g.p99), g.throughput)
	fmt.Fprintf(&b, "| `@metered-ca/realtime` 1.2.0 in Node | %s | %s | %.0f |\n", us(j.p50), us(j.p99), j.throughput)
	fmt.Fprintf(&b, "| ratio Go / JS | %.2f× | %.2f× | %.2f× |\n\n", float64(g.p50)/float64(j.p50), float64(g.p99)/float64(j.p99), g.throughput/j.throughput)
	fmt.Fprintf(&b, "A ratio below 1 for latency, or above 1 for throughput, means the Go client is faster.\n\n")
	fmt.Fprintf(&b, "## Joining a channel to an open data channel\n\n")
	fmt.Fprintf(&b, "Two peers start joining one channel at the same moment; the first opens a data channel to the other as soon as it sees it. ")
	fmt.Fprintf(&b, "Time from the start to the channel being open, 8 runs each, same `rms-local`. ")
	fmt.Fprintf(&b, "The floor is bare pion doing the same connect, subscribe and offer/answer/trickle over the same server without any MeteredPeer logic.\n\n")
	fmt.Fprintf(&b, "| | p50 | p90 | p50 vs floor |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| bare pion over the same server (floor) | %s | %s | 1.00× |\n", ms(rawJoin.p50), ms(rawJoin.p90))
	fmt.Fprintf(&b, "| realtime-go `MeteredPeer` ↔ `MeteredPeer` | %s | %s | %.2f× |\n", ms(goJoin.p50), ms(goJoin.p90), float64(goJoin.p50)/float64(rawJoin.p50))
	fmt.Fprintf(&b, "| JS SDK `MeteredPeer` ↔ `MeteredPeer` (Node, @roamhq/wrtc) | %s | %s | %.2f× |\n\n", ms(jsJoin.p50), ms(jsJoin.p90), float64(jsJoin.p50)/float64(rawJoin.p50))
	fmt.Fprintf(&b, "## Cost per RemotePeer\n\n")
	fmt.Fprintf(&b, "N MeteredPeers join one channel in one process: a full mesh of N·(N−1) RemotePeers, each with its own pion PeerConnection, idle (no media, no channel). Heap in use and goroutines after minus before, divided by the RemotePeers (the MeteredPeers' own signalling clients are included in the share).\n\n")
	fmt.Fprintf(&b, "| peers | RemotePeers | goroutines per RemotePeer | heap per RemotePeer |\n|---|---|---|---|\n")
	for _, m := range mems {
		fmt.Fprintf(&b, "| %d | %d | %.1f | %.0f KiB |\n", m.peers, m.remotes, m.goroutinesPerRemote, m.heapKBPerRemote)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "## Data channel throughput\n\n64 MiB in 16 KiB messages over one data channel, in one process, both sides kept to IPv4 loopback, %d runs each, interleaved. The baseline is two bare pion connections driven by a hand-written buffered-amount-low loop (1 MiB high, 512 KiB low); the MeteredPeers use `DataChannel.Send` (same marks, an ordered queue). Both vary a lot from run to run on this 2-core machine, hence the ranges.\n\n", len(dcGo))
	fmt.Fprintf(&b, "| | median MB/s | range | median vs baseline |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| bare pion, hand-written loop | %.1f | %.1f–%.1f | 1.00× |\n", medianOf(dcPion), minOf(dcPion), maxOf(dcPion))
	fmt.Fprintf(&b, "| realtime-go `DataChannel.Send` | %.1f | %.1f–%.1f | %.2f× |\n\n", medianOf(dcGo), minOf(dcGo), maxOf(dcGo), medianOf(dcGo)/medianOf(dcPion))
	writeLoad(&b, loadRes)
	writeMedia(&b, media, runs)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "wrote", out)
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
