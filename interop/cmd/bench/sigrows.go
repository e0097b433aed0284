package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// sigRows are the signalling measurements of every run, per SDK.
type sigRows struct {
	runs                              int
	n, warm, rttN, size               int
	flood, paced, publish, roundTrips map[sdk][]subjectResult
}

// benchSignalling runs every signalling benchmark runs times, interleaved:
// each run measures both SDKs back to back, the order alternating.
func benchSignalling(ctx context.Context, url, bin string, runs int) (sigRows, error) {
	b := sigBench{url: url, bin: bin, n: 10000, warm: 2000, size: 1000}
	rows := sigRows{runs: runs, n: b.n, warm: b.warm, rttN: 2000, size: b.size,
		flood: map[sdk][]subjectResult{}, paced: map[sdk][]subjectResult{}, publish: map[sdk][]subjectResult{}, roundTrips: map[sdk][]subjectResult{}}
	for i := range runs {
		order := []sdk{goSDK, jsSDK}
		if i%2 == 1 {
			order = []sdk{jsSDK, goSDK}
		}
		for _, who := range order {
			ch := fmt.Sprintf("sig-%s-%d", strings.ToLower(string(who)), i)
			steps := []struct {
				name string
				into map[sdk][]subjectResult
				run  func() (subjectResult, error)
			}{
				{"receive flood", rows.flood, func() (subjectResult, error) { return b.receive(ctx, who, ch+"-flood", 0) }},
				{"receive 2000/s", rows.paced, func() (subjectResult, error) { return b.receive(ctx, who, ch+"-paced", time.Second/2000) }},
				{"publish", rows.publish, func() (subjectResult, error) { return b.publish(ctx, who, ch+"-pub") }},
				{"round trip", rows.roundTrips, func() (subjectResult, error) { return b.roundTrip(ctx, who, ch+"-rtt", rows.rttN) }},
			}
			for _, s := range steps {
				r, err := s.run()
				if err != nil {
					return rows, fmt.Errorf("%s %s: %w", who, s.name, err)
				}
				s.into[who] = append(s.into[who], r)
				progress("signalling run %d/%d, %s %s: %.1f µs CPU, %.0f ms", i+1, runs, who, s.name, float64(r.CPUMicros)/float64(max(1, perMessage(s.name, rows))), float64(r.WallMicros)/1000)
			}
		}
	}
	return rows, nil
}

func perMessage(step string, rows sigRows) int {
	if step == "round trip" {
		return rows.rttN
	}
	return rows.n
}

// spread is a median with its range.
type spread struct{ med, lo, hi float64 }

func spreadOf(v []float64) spread {
	s := slices.Clone(v)
	slices.Sort(s)
	return spread{med: s[len(s)/2], lo: s[0], hi: s[len(s)-1]}
}

func (s spread) format(unit string, prec int) string {
	if unit != "" && unit != "×" {
		unit = " " + unit
	}
	return fmt.Sprintf("%.*f%s (%.*f–%.*f)", prec, s.med, unit, prec, s.lo, prec, s.hi)
}

// cpuPerMessage is each run's process CPU per message, in µs.
func cpuPerMessage(rs []subjectResult, n int) spread {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = float64(r.CPUMicros) / float64(n)
	}
	return spreadOf(v)
}

// rate is each run's messages per second of wall time.
func rate(rs []subjectResult, n int) spread {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = float64(n) / (float64(r.WallMicros) / 1e6)
	}
	return spreadOf(v)
}

// rttPercentile is each run's round-trip percentile p, in µs.
func rttPercentile(rs []subjectResult, p float64) spread {
	v := make([]float64, len(rs))
	for i, r := range rs {
		s := slices.Clone(r.RTTMicros)
		slices.Sort(s)
		v[i] = float64(s[min(len(s)-1, int(p*float64(len(s))))])
	}
	return spreadOf(v)
}

func writeSignalling(b *strings.Builder, r sigRows, allocs allocResult) {
	section(b, "Signalling client")
	fmt.Fprintf(b, "Each client runs in a process of its own (`interop/cmd/sigbench` for Go, `interop/js/sigbench.mjs` for the JS SDK in Node), with the same roles and output; nothing is printed on the timed path. CPU is the client process's user + system time from getrusage (Node's `process.cpuUsage` reads the same), over the timed part only, divided by its messages. The other end of each exchange is one Go client in the benchmark process, the same for both SDKs; all talk to one `rms-local` (rate limit off, and room for a whole flood in one connection's queue, so that a receiver is never cut as a slow consumer; a subject whose connection drops fails the run). %d runs, the SDKs interleaved in alternating order; medians with the range over runs.\n\n", r.runs)
	fmt.Fprintf(b, "- receive: %d messages of %d bytes of padding after %d untimed (both runtimes warmed up), published to the subject as fast as 16 unacked publishes allow (flood) or one every 500 µs (2000/s); both subjects decode each message's data and add up its `seq` field (the JS SDK has parsed the data before its handler runs; the Go subject unmarshals `Message.Data` into a struct), and the benchmark checks the sum;\n", r.n, r.size, r.warm)
	fmt.Fprintf(b, "- publish: the subject publishes %d such messages after %d untimed, 16 unacked at most, while the benchmark process subscribes;\n", r.n, r.warm)
	fmt.Fprintf(b, "- round trip: an echo process and a ping process of the same SDK; the ping publishes, the echo publishes it back on another channel, %d sequential messages after %d untimed.\n\n", r.rttN, r.rttN/10)
	fmt.Fprintf(b, "| measure | realtime-go | JS SDK 1.2.0 | Go / JS | goal |\n|---|---|---|---|---|\n")
	row := func(name string, g, j spread, unit string, prec int, goal string) {
		fmt.Fprintf(b, "| %s | %s | %s | %.2f× | %s |\n", name, g.format(unit, prec), j.format(unit, prec), g.med/j.med, goal)
	}
	row("receive CPU per message, flood", cpuPerMessage(r.flood[goSDK], r.n), cpuPerMessage(r.flood[jsSDK], r.n), "µs", 1, "≤ 0.6×")
	row("receive CPU per message, 2000/s", cpuPerMessage(r.paced[goSDK], r.n), cpuPerMessage(r.paced[jsSDK], r.n), "µs", 1, "≤ 0.6×")
	row("publish CPU per message", cpuPerMessage(r.publish[goSDK], r.n), cpuPerMessage(r.publish[jsSDK], r.n), "µs", 1, "≤ 0.5×")
	row("acked publishes per second", rate(r.publish[goSDK], r.n), rate(r.publish[jsSDK], r.n), "/s", 0, "higher is better")
	row("round trip p50", rttPercentile(r.roundTrips[goSDK], 0.5), rttPercentile(r.roundTrips[jsSDK], 0.5), "µs", 0, "lower is better")
	row("round trip p99", rttPercentile(r.roundTrips[goSDK], 0.99), rttPercentile(r.roundTrips[jsSDK], 0.99), "µs", 0, "lower is better")
	fmt.Fprintf(b, "\nAllocations per received message (`go test -bench Receive` in `signalling`, %d runs, medians): the same local WebSocket server writes the same 1 KiB message frames to a `signalling.Client` (parsed and delivered to an `On` handler) and to a bare gorilla/websocket `ReadMessage` loop. Client %.1f, bare read %.1f: %.2f× (goal ≤ 2×).\n\n", allocs.runs, allocs.client, allocs.bare, allocs.client/allocs.bare)
}
