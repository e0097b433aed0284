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

// agentRows are the agent toolkit's benchmarks (agent/agenttest): each
// metric by its name in go test's output.
type agentRows struct {
	calls    int
	metrics  map[string]float64
	sessions []map[string]float64 // BenchmarkSessions at each N
}

var benchMetric = regexp.MustCompile(`([-\d.]+) ([A-Za-z0-9/%-]+)`)

// runAgentBench runs one benchmark of agent/agenttest n times (-benchtime
// nx), with env added, and returns its metrics.
func runAgentBench(root, name string, n int, env ...string) (map[string]float64, error) {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^"+name+"$", "-benchtime", fmt.Sprintf("%dx", n), "-count", "1", "-timeout", "60m", "./agenttest")
	cmd.Dir = filepath.Join(root, "agent")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", name, err, out)
	}
	m := map[string]float64{}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "    ") { // the benchmark's own log (a false interruption's call events): kept
			progress("%s:%s", name, line)
			continue
		}
		if !strings.HasPrefix(line, name) {
			continue
		}
		for _, f := range benchMetric.FindAllStringSubmatch(line, -1) {
			if v, err := strconv.ParseFloat(f[1], 64); err == nil && f[2] != "ns/op" {
				m[f[2]] = v
			}
		}
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%s: no figures in:\n%s", name, out)
	}
	return m, nil
}

// benchAgent runs the voice-agent benchmarks: calls calls of turn-taking
// and of the offline stack, the false barge-ins, and sessions per process
// at 10, 50 and 100.
func benchAgent(root string, calls int) (agentRows, error) {
	r := agentRows{calls: calls, metrics: map[string]float64{}}
	steps := []struct {
		name string
		n    int
		what string
	}{
		{"BenchmarkTurnTaking", calls, "turn-taking"},
		{"BenchmarkOfflineTurn", max(calls/3, 1), "the offline stack, six questions a call"},
		{"BenchmarkFalseBargeIn", 1, "the agent's voice looped back, 50 sentences"},
		{"BenchmarkBackchannels", 1, "20 backchannels"},
	}
	for _, s := range steps {
		progress("voice agent: %s (go test -bench %s in agent/agenttest)…", s.what, s.name)
		m, err := runAgentBench(root, s.name, s.n)
		if err != nil {
			return r, err
		}
		for k, v := range m {
			r.metrics[k] = v
		}
	}
	for _, n := range []int{10, 50, 100} {
		progress("voice agent: %d sessions in one process (go test -bench Sessions)…", n)
		m, err := runAgentBench(root, "BenchmarkSessions", 1, fmt.Sprintf("AGENT_SESSIONS=%d", n))
		if err != nil {
			return r, err
		}
		r.sessions = append(r.sessions, m)
	}
	return r, nil
}

func writeAgent(b *strings.Builder, r agentRows) {
	m := r.metrics
	section(b, "Voice agents through two peers")
	fmt.Fprintf(b, "`go test -bench` in `agent/agenttest`. Each call is on this machine: a local server, a user peer and an agent built from the `agent` toolkit, Opus both ways. Mouth to ear: from the end of the user's spoken question at their microphone to the first audible sample of the answer at the user. Barge-in: from the user's onset (a tone) over the answer to the agent's silence at the user.\n\n")
	fmt.Fprintf(b, "| | measured | issue 24's target |\n|---|---|---|\n")
	fmt.Fprintf(b, "| mouth to ear, a scripted answer (no recognition), %d calls | p50 %.0f ms, p95 %.0f ms | |\n", r.calls, m["mouth-to-ear-p50-ms"], m["mouth-to-ear-p95-ms"])
	fmt.Fprintf(b, "| barge-in, %d calls | p50 %.0f ms, p95 %.0f ms | ≤ 300 ms p95 |\n", r.calls, m["barge-in-p50-ms"], m["barge-in-p95-ms"])
	fmt.Fprintf(b, "| mouth to ear, the offline stack (pocketsphinx, a scripted model, flite), median of %d questions | %.0f ms | ≤ 1.5 s p50 |\n", max(r.calls/3, 1)*6, m["mouth-to-ear-ms"])
	fmt.Fprintf(b, "| … of which the endpointing wait (500 ms after the last speech) | %.0f ms | |\n", m["endpointing-ms"])
	fmt.Fprintf(b, "| … the recogniser's final text after the end of speech (within the wait) | %.0f ms | |\n", m["stt-final-ms"])
	fmt.Fprintf(b, "| … from the turn's end: the model's first token / the answer's audio made / its first packet sent | %.1f / %.0f / %.0f ms | |\n", m["llm-first-token-ms"], m["tts-audio-ms"], m["first-packet-ms"])
	fmt.Fprintf(b, "| … the call (Opus, network, jitter buffers, both ways) | %.0f ms | |\n", m["call-ms"])
	fmt.Fprintf(b, "| sentences recognised exactly through Opus, flite's slt voice | %.1f of 6 | ≥ 4 of 6 |\n", m["exact-of-6"])
	fmt.Fprintf(b, "| the agent's voice looped back into the user's microphone (-6 dB, 120 ms), a reply of 50 sentences: pauses / interruptions until it ended or was cut, and how long it went out before the first | %.0f / %.0f, %.1f s | 0 false barge-ins |\n", m["pauses/50-echoes"], m["interruptions/50-echoes"], m["s-echoed-before-the-first"])
	fmt.Fprintf(b, "| 20 backchannels over the agent (hums and single words), two words to interrupt: pauses / interruptions | %.0f / %.0f | 0 false barge-ins |\n\n", m["pauses/20-backchannels"], m["interruptions/20-backchannels"])
	fmt.Fprintf(b, "Sessions per process (`BenchmarkSessions`, `AGENT_SESSIONS=N`): N agents in N channels of one process, each with its `Listener` (VAD, echo guard, turns) on its user's audio, a scripted model and speech from a cache; their users (the far end, as browsers are) and local servers run in a child process, whose garbage collector runs only past 4 GiB (it stands in for browsers, and its marks held its own network reads back as long as an agent's would: they were counted as the agents' holes; it collects 0 times in a run). Every user asks every 4 s (staggered; a recording encoded once in the VoIP mode a browser sends, `Call.PlayEncoded`) and hears a two-second answer, for 30 s. A hole is the longest time between two frames of the agent's audio reaching a user (20 ms when nothing is late). CPU and heap are the agent process's, per session; the users' CPU beside them.\n\n")
	fmt.Fprintf(b, "| sessions | worst hole at any user | 95th percentile over users | agent process CPU per session (of one core) | Go heap per session | users' CPU per session | issue 24's target |\n|---|---|---|---|---|---|---|\n")
	for _, s := range r.sessions {
		fmt.Fprintf(b, "| %.0f | %.0f ms | %.0f ms | %.1f %% | %.0f KiB | %.1f %% | no hole over 60 ms at 50 |\n", s["sessions"], s["worst-hole-ms"], s["p95-hole-ms"], s["cpu-%-per-session"], s["heap-KiB-per-session"], s["users-cpu-%-per-session"])
	}
	b.WriteString("\n")
}
