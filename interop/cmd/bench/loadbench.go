package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/metered-ca/realtime-go/interop/internal/load"
	"github.com/metered-ca/realtime-go/interop/internal/rmslocal"
)

type loadResult struct {
	load.Result
	conns, channels int
	rate            float64
	rssPerConn      float64 // KiB
}

// benchLoad runs rms-local in its own process under conns clients across
// channels, each publishing at the server's rate limit.
func benchLoad(ctx context.Context, conns, channels int, rate float64, d time.Duration) (loadResult, error) {
	dir, err := os.MkdirTemp("", "loadbench")
	if err != nil {
		return loadResult{}, err
	}
	defer os.RemoveAll(dir)
	srv, err := rmslocal.Start(dir, "-rate-limit", fmt.Sprint(rate))
	if err != nil {
		return loadResult{}, err
	}
	defer srv.Close()
	before, err := srv.RSS()
	if err != nil {
		return loadResult{}, err
	}
	out := loadResult{conns: conns, channels: channels, rate: rate}
	res, err := load.Run(ctx, load.Config{URL: srv.URL, Conns: conns, Channels: channels, Rate: rate, Duration: d,
		AfterConnect: func() {
			if after, err := srv.RSS(); err == nil {
				out.rssPerConn = float64(after-before) / 1024 / float64(conns)
			}
		}}, func(s string) { fmt.Fprintln(os.Stderr, "  "+s) })
	out.Result = res
	return out, err
}

func writeLoad(b *strings.Builder, r loadResult) {
	section(b, "The local server under load")
	fmt.Fprintf(b, "`rms-local` in its own process, %d signalling clients in this one across %d channels (%d each), every client publishing at the server's rate limit (%.0f/s) for 10 s; each message is checked at every other member of its channel. Clients and server share the machine's 2 cores.\n\n",
		r.conns, r.channels, r.conns/r.channels, r.rate)
	fmt.Fprintf(b, "| acked publishes | failed | deliveries owed | delivered | lost | duplicated | deliveries/s | latency p50 | p99 | server memory per connection |\n|---|---|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(b, "| %d | %d | %d | %d | %d | %d | %.0f | %s | %s | %.0f KiB |\n\n", r.Published, r.Failed, r.Expected, r.Delivered, r.Lost, r.Duplicated, r.DeliveredPerSec, ms(r.P50), ms(r.P99), r.rssPerConn)
}
