package agenttest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/metered-ca/realtime-go/agent/agenttest"
)

// BenchmarkTurnTaking times, over b.N calls, what a person notices (issue
// 24's targets): mouth to ear, from the end of a spoken question to the
// first audible sample of the answer (500 ms of it is the endpointing
// delay), and barge-in, from the user's onset over the answer to the
// agent's silence at the user's end. Both through two peers, Opus both
// ways, and offline speech. Reported as medians and 95th percentiles.
func BenchmarkTurnTaking(b *testing.B) {
	var mouthToEar, bargeIn []time.Duration
	for range b.N {
		call := agenttest.New(b)
		stop := startAgent(b, call, "There are three trains to Leeds this morning. The first leaves at nine from platform two. The second leaves at ten.")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		end, heard := ask(ctx, b, call, "Which trains go to Leeds?")
		mouthToEar = append(mouthToEar, heard.Sub(end))
		time.Sleep(time.Second) // the answer is under way
		start, _, err := call.Tone(ctx, 300, 2*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		quiet, err := call.Quiet(ctx, start, 500*time.Millisecond)
		if err != nil {
			b.Fatal(err)
		}
		bargeIn = append(bargeIn, quiet.Sub(start))
		cancel()
		stop()
		call.Close()
	}
	report := func(name string, ds []time.Duration) {
		slices.Sort(ds)
		b.ReportMetric(float64(ds[len(ds)/2])/1e6, name+"-p50-ms")
		b.ReportMetric(float64(ds[min(len(ds)-1, len(ds)*95/100)])/1e6, name+"-p95-ms")
	}
	report("mouth-to-ear", mouthToEar)
	report("barge-in", bargeIn)
}
