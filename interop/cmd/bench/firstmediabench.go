package main

// First media (issue 22's cost bound): how long a Go receiver waits for a
// Go sender's first audio and video packets when both join at once, with
// the metadata rule (receive slots, the polite side's first-offer wait:
// docs/design.md) and without it.
// "Without" is the revision before the rule: the subject
// (cmd/firstmedia) is built from the same source file against that
// revision's modules and against this checkout's, the same way, and the
// two run interleaved against one rms-local.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/metered-ca/realtime-go/interop/internal/jsdriver"
)

// firstMediaBaseline is the last commit before the metadata rule.
const firstMediaBaseline = "95ca130"

// firstMediaTrials is how many joins each subject process times.
const firstMediaTrials = 20

// firstMediaRows: for each case (the receiver with or without tracks, the
// sender polite or not), each side's per-run medians in milliseconds.
type firstMediaRows struct {
	cases       []string
	now, before map[string][]float64
	trials      map[string]map[string][]float64 // side → case → every trial
}

// buildFirstMedia builds the subject against the modules under root (a
// checkout of this repository) into bin.
func buildFirstMedia(root, dir, bin string) error {
	mod := filepath.Join(dir, "firstmedia-"+filepath.Base(bin))
	if err := os.MkdirAll(mod, 0o755); err != nil {
		return err
	}
	interop := filepath.Join(jsdriver.Dir(), "..")
	src, err := os.ReadFile(filepath.Join(interop, "cmd", "firstmedia", "main.go"))
	if err != nil {
		return err
	}
	sum, err := os.ReadFile(filepath.Join(interop, "go.sum"))
	if err != nil {
		return err
	}
	var gomod strings.Builder
	gomod.WriteString("module firstmedia\n\ngo 1.26.0\n\nrequire (\n")
	for _, m := range []string{"peer", "protocol", "signalling", "testserver"} {
		fmt.Fprintf(&gomod, "\tgithub.com/metered-ca/realtime-go/%s v0.1.0\n", m)
	}
	gomod.WriteString(")\n\n")
	for _, m := range []string{"peer", "protocol", "signalling", "testserver"} {
		fmt.Fprintf(&gomod, "replace github.com/metered-ca/realtime-go/%s => %s\n", m, filepath.Join(root, m))
	}
	for name, b := range map[string][]byte{"main.go": src, "go.sum": sum, "go.mod": []byte(gomod.String())} {
		if err := os.WriteFile(filepath.Join(mod, name), b, 0o644); err != nil {
			return err
		}
	}
	// The pion versions are the ones each revision's peer module asks for.
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir, tidy.Env = mod, append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := tidy.CombinedOutput(); err != nil {
		return fmt.Errorf("go mod tidy in %s: %v\n%s", mod, err, out)
	}
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir, build.Env = mod, append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", bin, err, out)
	}
	return nil
}

// baselineTree writes the modules of rev into dir/rev (git archive) and
// returns that directory.
func baselineTree(dir, rev string) (string, error) {
	tree := filepath.Join(dir, "tree-"+rev)
	if err := os.MkdirAll(tree, 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command("sh", "-c", "git archive "+rev+" protocol signalling peer testserver | tar -x -C "+tree)
	cmd.Dir = filepath.Join(jsdriver.Dir(), "..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("git archive %s (a shallow clone lacks it: git fetch --unshallow): %v\n%s", rev, err, out)
	}
	return tree, nil
}

func benchFirstMedia(dir, url string, runs int) (firstMediaRows, error) {
	root, err := filepath.Abs(filepath.Join(jsdriver.Dir(), "..", ".."))
	if err != nil {
		return firstMediaRows{}, err
	}
	old, err := baselineTree(dir, firstMediaBaseline)
	if err != nil {
		return firstMediaRows{}, err
	}
	bins := map[string]string{"now": filepath.Join(dir, "firstmedia-now"), "before": filepath.Join(dir, "firstmedia-before")}
	progress("first media: building the subject at this checkout and at %s…", firstMediaBaseline)
	if err := buildFirstMedia(root, dir, bins["now"]); err != nil {
		return firstMediaRows{}, err
	}
	if err := buildFirstMedia(old, dir, bins["before"]); err != nil {
		return firstMediaRows{}, err
	}
	r := firstMediaRows{
		now: map[string][]float64{}, before: map[string][]float64{},
		trials: map[string]map[string][]float64{"now": {}, "before": {}},
	}
	for _, c := range []string{"no remote tracks", "remote tracks"} {
		r.cases = append(r.cases, c+", sender polite", c+", sender impolite")
	}
	for i := range runs {
		for _, c := range []string{"no remote tracks", "remote tracks"} {
			// Alternate which side goes first from run to run.
			sides := []string{"now", "before"}
			if i%2 == 1 {
				sides = []string{"before", "now"}
			}
			for _, side := range sides {
				progress("first media %d/%d: %s, %s…", i+1, runs, c, side)
				cmd := exec.Command(bins[side], "-url", url, "-trials", fmt.Sprint(firstMediaTrials), fmt.Sprintf("-remote-tracks=%t", c == "remote tracks"))
				cmd.Stderr = os.Stderr
				out, err := cmd.Output()
				if err != nil {
					return firstMediaRows{}, fmt.Errorf("first media (%s, %s): %w", side, c, err)
				}
				var res struct {
					FirstMS []float64 `json:"first_ms"`
				}
				if err := json.Unmarshal(out, &res); err != nil {
					return firstMediaRows{}, err
				}
				// The subject alternates: in its even trials the sender
				// has the lower id, which is the polite side.
				var polite, impolite []float64
				for n, ms := range res.FirstMS {
					if n%2 == 0 {
						polite = append(polite, ms)
					} else {
						impolite = append(impolite, ms)
					}
				}
				for row, v := range map[string][]float64{c + ", sender polite": polite, c + ", sender impolite": impolite} {
					if side == "now" {
						r.now[row] = append(r.now[row], medianOf(v))
					} else {
						r.before[row] = append(r.before[row], medianOf(v))
					}
					r.trials[side][row] = append(r.trials[side][row], v...)
				}
			}
		}
	}
	return r, nil
}

// msDurations turns milliseconds into durations.
func msDurations(v []float64) []time.Duration {
	d := make([]time.Duration, len(v))
	for i, x := range v {
		d[i] = time.Duration(x * float64(time.Millisecond))
	}
	return d
}

func writeFirstMedia(b *strings.Builder, r firstMediaRows, runs int) {
	section(b, "First media with the metadata rule")
	fmt.Fprintf(b, "Two Go peers join one channel at the same moment over rms-local; one sends Opus audio and VP8 video (filler frames, one of each every millisecond). The figure is the time from the joins to the receiver's first packet of the later of the two tracks. \"Before\" is the same subject (interop/cmd/firstmedia, one source file, the public API) built against commit %s, the last before the metadata rule (receive slots, and the impolite side's first offer waiting a round trip and 100 ms for the remote's; docs/design.md); \"now\" against this checkout. %d trials per process after one not counted, politeness alternating, so each row has half of them; %d runs of each, interleaved; medians of the per-run medians, with their ranges. The rule's bound: at most one extra round trip when the receiver has no tracks, no change when it has. Both peers and rms-local share this machine's two cores, so on loopback the figures are mostly CPU: SDP handling and the DTLS handshake.\n\n", firstMediaBaseline, firstMediaTrials, runs)
	fmt.Fprintf(b, "| case | now | before | now / before | every trial, now: p50, p90 | every trial, before: p50, p90 |\n|---|---|---|---|---|---|\n")
	for _, c := range r.cases {
		now, before := spreadOf(r.now[c]), spreadOf(r.before[c])
		pNow, pBefore := percentiles(msDurations(r.trials["now"][c])), percentiles(msDurations(r.trials["before"][c]))
		fmt.Fprintf(b, "| %s | %s | %s | %.2f× | %s, %s | %s, %s |\n", c,
			now.format("ms", 0), before.format("ms", 0), now.med/before.med,
			ms(pNow.p50), ms(pNow.p90), ms(pBefore.p50), ms(pBefore.p90))
	}
}
