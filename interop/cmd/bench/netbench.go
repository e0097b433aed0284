package main

// Adapting to the link: the impairment tests of media (Go↔Go over pion's
// virtual network) and interop (Go→Chromium through a shaped TURN relay)
// run as subjects, each run writing its figures as JSON (NETWORK_REPORT),
// interleaved so that a slow spell of the machine spreads over all three.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// netSubject is one impairment test and the figures file it writes.
type netSubject struct {
	name, dir, test, file string
	env                   []string
}

var netSubjects = []netSubject{
	{"Go↔Go, pion vnet, 300 kb/s cap", "media", "TestCappedLinkAdapts", "capped-720p.json", nil},
	{"Go→Chromium, TURN relay, 400 kb/s cap", "interop", "TestChromiumOnCappedRelay", "chromium-capped.json", nil},
	{"Go↔Go, pion vnet, 2.5 Mb/s link from the start", "media", "TestStartupRamp", "startup.json", nil},
	// The cost of probing is asked of a 60 s capped run: the probes of the
	// drop at the cap's start weigh less in it than in 14 s.
	{"Go↔Go, pion vnet, 300 kb/s cap for 60 s", "media", "TestCappedLinkAdapts", "capped-720p.json", []string{"NETWORK_LONG=1"}},
}

// netRuns holds each subject's runs: figure name → one value per run.
type netRuns map[string]map[string][]float64

func benchNetwork(dir string, runs int) (netRuns, error) {
	bins := map[string]string{}
	for _, pkg := range []string{"media", "interop"} {
		bin := filepath.Join(dir, pkg+"-net.test")
		cmd := exec.Command("go", "test", "-c", "-o", bin, ".")
		cmd.Dir, cmd.Stderr = pkg, os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("build %s tests: %w", pkg, err)
		}
		bins[pkg] = bin
	}
	// Each run's verbose output is kept, outside the bench's own directory,
	// so that a run out of line with the rest (a freeze, a slow recovery)
	// can be read afterwards: the tests log their timelines.
	logs := filepath.Join(os.TempDir(), "bench-network-"+time.Now().UTC().Format("20060102-150405"))
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, err
	}
	progress("link adaptation: each run's output in %s", logs)
	out := netRuns{}
	for i := range runs {
		for j, s := range netSubjects {
			progress("link adaptation %d/%d: %s…", i+1, runs, s.name)
			report := filepath.Join(dir, fmt.Sprintf("net-%d", i))
			if err := os.MkdirAll(report, 0o755); err != nil {
				return nil, err
			}
			cmd := exec.Command(bins[s.dir], "-test.run", "^"+s.test+"$", "-test.count=1", "-test.v", "-test.timeout=5m")
			cmd.Dir = s.dir
			cmd.Env = append(append(os.Environ(), "NETWORK_REPORT="+report), s.env...)
			b, err := cmd.CombinedOutput()
			name := fmt.Sprintf("run%d-subject%d-%s.log", i+1, j+1, s.test)
			if werr := os.WriteFile(filepath.Join(logs, name), b, 0o644); werr != nil {
				return nil, werr
			}
			// A run whose checks fail still has figures: the table shows them.
			if err != nil {
				progress("  %s failed its checks: %s", s.test, lastLines(string(b), 6))
			}
			raw, err := os.ReadFile(filepath.Join(report, s.file))
			if err != nil {
				return nil, fmt.Errorf("%s wrote no figures: %w", s.test, err)
			}
			var fig map[string]float64
			if err := json.Unmarshal(raw, &fig); err != nil {
				return nil, err
			}
			if out[s.name] == nil {
				out[s.name] = map[string][]float64{}
			}
			for k, v := range fig {
				out[s.name][k] = append(out[s.name][k], v)
			}
			_ = os.Remove(filepath.Join(report, s.file))
		}
	}
	return out, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// netRow is one figure of the table, how it is shown and its target.
type netRow struct {
	figure, label, target string
	show                  func(float64) string
}

func writeNetwork(b *strings.Builder, r netRuns, runs int) {
	section(b, "Adapting to the link")
	fmt.Fprintf(b, "The impairment tests run as subjects, %d runs each, interleaved; each run writes its figures. ", runs)
	fmt.Fprintf(b, "Go↔Go: a 720p transcode over pion's virtual network capped at 300 kb/s (a two-packet bucket, 24 KB queue) for 14 s, then lifted (and for 60 s, for the probing cost the issue asks of a 60 s run). ")
	fmt.Fprintf(b, "Go→Chromium: 640×360 transcoded video through the local TURN relay shaped to 400 kb/s, then lifted. ")
	fmt.Fprintf(b, "Recovered: the estimate at twice its mean under the cap and past 600 kb/s. A run below its target is not hidden: the range shows it.\n\n")
	kbps := func(v float64) string { return fmt.Sprintf("%.0f kb/s", v/1000) }
	x := func(v float64) string { return fmt.Sprintf("%.2f×", v) }
	sec := func(v float64) string {
		if v < 0 {
			return "never"
		}
		return fmt.Sprintf("%.1f s", v)
	}
	pct := func(v float64) string { return fmt.Sprintf("%.1f %%", 100*v) }
	n := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	rows := map[string][]netRow{
		netSubjects[0].name: {
			{"recovered_s", "recovered after the lift", "≤ 6 s", sec},
			{"estimate_10s_bps", "estimate 10 s after the lift", "≥ 80 % of link and encoder", kbps},
			{"capped_estimate_ratio", "mean estimate under the cap / cap", "0.8–1.1×", x},
			{"capped_fps", "decoded frames/s under the cap", "≥ 15", n},
			{"capped_longest_gap_s", "longest freeze under the cap", "≤ 1 s", sec},
			{"capped_keyframe_asks", "keyframes the receiver asked for under the cap (a picture given up)", "", n},
			{"capped_output_ratio", "encoder output / target under the cap", "≤ 1.1×", x},
			{"probe_share_capped", "probe bytes while capped (the target is the 60 s run's)", "", pct},
		},
		netSubjects[1].name: {
			{"recovered_s", "recovered after the lift", "≤ 6 s", sec},
			{"estimate_10s_bps", "estimate 10 s after the lift", "", kbps},
			{"capped_estimate_ratio", "mean estimate under the cap / cap", "0.8–1.1×", x},
			{"capped_fps", "Chromium's decoded frames/s under the cap", "≥ 15", n},
			{"probe_ack_ratio_arrived", "probe packets Chromium acknowledged, of those the relay let through", "≥ 80 %", pct},
			{"probe_lost_at_relay", "probe packets the relay's full queue refused", "", pct},
			{"probe_ack_ratio", "probe packets Chromium acknowledged, of all sent", "", pct},
			{"probe_share", "probe bytes of all sent", "≤ 2 %", pct},
			{"plis", "Chromium's PLIs over the run", "no extra", n},
			{"frames_dropped_onset", "Chromium's frames dropped in the cap's first 8 s (5 Mb/s to 400 kb/s)", "", n},
			{"frames_dropped_elsewhere", "Chromium's frames dropped at any other time (where the probes go)", "0", n},
		},
		netSubjects[2].name: {
			{"reached_2mbps_s", "estimate past 2 Mb/s after the connection is up", "≤ 1.5 s", sec},
			{"estimate_1500ms_bps", "estimate 1.5 s after the connection is up", "", kbps},
		},
		netSubjects[3].name: {
			{"probe_share_capped", "probe bytes while capped", "≤ 2 %", pct},
			{"capped_estimate_ratio", "mean estimate under the cap / cap", "0.8–1.1×", x},
			{"capped_fps", "decoded frames/s under the cap", "≥ 15", n},
			{"capped_longest_gap_s", "longest freeze under the cap", "≤ 1 s", sec},
			{"capped_keyframe_asks", "keyframes the receiver asked for under the cap", "", n},
			{"recovered_s", "recovered after the lift", "≤ 6 s", sec},
		},
	}
	fmt.Fprintf(b, "| case | figure | median | range | target |\n|---|---|---|---|---|\n")
	for _, s := range netSubjects {
		for _, row := range rows[s.name] {
			v := r[s.name][row.figure]
			if len(v) == 0 {
				continue
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s–%s | %s |\n", s.name, row.label, row.show(medianOf(v)), row.show(minOf(v)), row.show(maxOf(v)), row.target)
		}
	}
	fmt.Fprintf(b, "\n")
}
