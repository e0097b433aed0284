package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// agentRows are BenchmarkTurnTaking's figures (agent/agenttest), in ms.
type agentRows struct {
	calls                                  int
	mouthP50, mouthP95, bargeP50, bargeP95 float64
}

var turnTakingMetric = regexp.MustCompile(`([\d.]+) (mouth-to-ear|barge-in)-(p50|p95)-ms`)

// benchAgent runs the turn-taking benchmark: calls calls on this machine,
// an agent built from the toolkit and a user peer.
func benchAgent(root string, calls int) (agentRows, error) {
	progress("voice agent turn-taking, %d calls (go test -bench TurnTaking in agent/agenttest)…", calls)
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkTurnTaking$", "-benchtime", fmt.Sprintf("%dx", calls), "-count", "1", "./agenttest")
	cmd.Dir = filepath.Join(root, "agent")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return agentRows{}, fmt.Errorf("agent benchmark: %w", err)
	}
	r := agentRows{calls: calls}
	into := map[string]*float64{"mouth-to-ear-p50": &r.mouthP50, "mouth-to-ear-p95": &r.mouthP95, "barge-in-p50": &r.bargeP50, "barge-in-p95": &r.bargeP95}
	found := 0
	for _, m := range turnTakingMetric.FindAllStringSubmatch(string(out), -1) {
		if p := into[m[2]+"-"+m[3]]; p != nil {
			*p, _ = strconv.ParseFloat(m[1], 64)
			found++
		}
	}
	if found != len(into) {
		return agentRows{}, fmt.Errorf("agent benchmark: figures missing in:\n%s", out)
	}
	return r, nil
}

func writeAgent(b *strings.Builder, r agentRows) {
	section(b, "Voice agents: turn-taking through two peers")
	fmt.Fprintf(b, "`go test -bench TurnTaking` in `agent/agenttest`, %d calls. Each is a call on this machine: a local server, a user peer and an agent built from the `agent` toolkit (a `Listener` per track, a scripted `Dialogue`, flite speech), Opus both ways. Mouth to ear: from the end of the user's spoken question to the first audible sample of the answer at the user. Barge-in: from the user's onset (a tone) over the answer to the agent's silence at the user.\n\n", r.calls)
	fmt.Fprintf(b, "| | p50 | p95 | issue 24's target |\n|---|---|---|---|\n")
	fmt.Fprintf(b, "| mouth to ear (500 ms of it the endpointing delay) | %.0f ms | %.0f ms | ≤ 1.5 s p50 with recognition (none yet) |\n", r.mouthP50, r.mouthP95)
	fmt.Fprintf(b, "| barge-in | %.0f ms | %.0f ms | ≤ 300 ms p95 |\n\n", r.bargeP50, r.bargeP95)
}
