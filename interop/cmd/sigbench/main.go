// Command sigbench is one side of a signalling benchmark, in a process of
// its own, built on signalling.Client. interop/js/sigbench.mjs is the JS
// SDK's side: same roles, same arguments, same output, same accounting
// (getrusage of the whole process). Nothing is printed on the timed path.
//
//	echo '{"role":"recv","url":"ws://…","apiKey":"pk_…","channel":"c","n":5000}' | sigbench
//
// The settings come as the first line on stdin (a key has no business in a
// process list); the echo role runs until stdin ends.
//
// Roles:
//
//	recv  subscribe to channel, take warm messages untimed and n timed, decoding
//	      each one's data and adding up its seq (what an application does)
//	pub   publish warm messages untimed, then n timed, of size bytes of padding
//	      to channel, window unacked at most
//	echo  subscribe to channel, publish each message's data to channel+"-back"
//	ping  subscribe to channel+"-back"; n times: publish {seq} to channel and
//	      wait for it to come back (after n/10 untimed)
//
// Output: {"ready":true} once subscribed, then one result line,
// {"cpuMicros":…,"wallMicros":…,"rttMicros":[…],"seqSum":…}, for the timed
// part (seqSum: recv only, the sum of every message's seq; concurrent
// publishes arrive out of order, so not only the timed ones').
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/metered-ca/realtime-go/signalling"
)

type config struct {
	Role    string `json:"role"`
	URL     string `json:"url"`
	APIKey  string `json:"apiKey"`
	Channel string `json:"channel"`
	N       int    `json:"n"`
	Warm    int    `json:"warm"`
	Size    int    `json:"size"`
	Window  int    `json:"window"`
}

type payload struct {
	Seq int    `json:"seq"`
	Pad string `json:"pad"`
}

func main() {
	in := bufio.NewReader(os.Stdin)
	first, _ := in.ReadBytes('\n')
	var cfg config
	if err := json.Unmarshal(first, &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "sigbench:", err)
		os.Exit(2)
	}
	if path := os.Getenv("SIGBENCH_CPUPROFILE"); path != "" { // for looking into a result: PATH.ROLE
		if f, err := os.Create(path + "." + cfg.Role); err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(cfg, in); err != nil {
		fmt.Fprintln(os.Stderr, "sigbench:", err)
		os.Exit(1)
	}
}

// cpu is the process's user plus system time, as process.cpuUsage reads it.
func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func line(v any) {
	b, _ := json.Marshal(v)
	os.Stdout.Write(append(b, '\n'))
}

func run(cfg config, in io.Reader) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := signalling.New(signalling.Options{URL: cfg.URL, APIKey: cfg.APIKey})
	if err != nil {
		return err
	}
	defer c.Close()
	// A dropped connection loses messages (the server cut a slow consumer,
	// say): the result would never come, so say why and stop.
	signalling.On(c, func(d signalling.Disconnected) {
		if !d.WillReconnect {
			return // our own Close, at the end
		}
		fmt.Fprintf(os.Stderr, "sigbench: disconnected: %d %s\n", d.Code, d.Reason)
		os.Exit(1)
	})
	if err := c.Connect(ctx); err != nil {
		return err
	}
	var cpu0 time.Duration
	var wall0 time.Time
	start := func() { cpu0, wall0 = cpu(), time.Now() }
	finish := func(rtts []int64, seqSum int) {
		line(map[string]any{"cpuMicros": (cpu() - cpu0).Microseconds(), "wallMicros": time.Since(wall0).Microseconds(), "rttMicros": rtts, "seqSum": seqSum})
	}
	pad := strings.Repeat("x", cfg.Size)

	switch cfg.Role {
	case "recv":
		done := make(chan struct{})
		got, sum := 0, 0
		signalling.On(c, func(m signalling.Message) {
			if m.Channel != cfg.Channel {
				return
			}
			var p payload
			if json.Unmarshal(m.Data, &p) != nil {
				return
			}
			if got == cfg.Warm {
				start()
			}
			sum += p.Seq
			if got++; got == cfg.Warm+cfg.N {
				close(done)
			}
		})
		if err := c.Subscribe(ctx, cfg.Channel); err != nil {
			return err
		}
		line(map[string]bool{"ready": true})
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
		finish(nil, sum)
	case "pub":
		line(map[string]bool{"ready": true})
		if err := publishAll(ctx, c, cfg.Channel, 0, cfg.Warm, max(cfg.Window, 1), pad); err != nil {
			return err
		}
		start()
		if err := publishAll(ctx, c, cfg.Channel, cfg.Warm, cfg.Warm+cfg.N, max(cfg.Window, 1), pad); err != nil {
			return err
		}
		finish(nil, 0)
	case "echo":
		back := cfg.Channel + "-back"
		signalling.On(c, func(m signalling.Message) {
			if m.Channel == cfg.Channel {
				// One message is out at a time, so waiting for the ack here
				// delays nothing.
				_ = c.Publish(ctx, back, m.Data)
			}
		})
		if err := c.Subscribe(ctx, cfg.Channel); err != nil {
			return err
		}
		line(map[string]bool{"ready": true})
		_, _ = io.Copy(io.Discard, in) // until the parent closes it
	case "ping":
		back := make(chan int, 1)
		signalling.On(c, func(m signalling.Message) {
			var p payload
			if m.Channel == cfg.Channel+"-back" && json.Unmarshal(m.Data, &p) == nil {
				back <- p.Seq
			}
		})
		if err := c.Subscribe(ctx, cfg.Channel+"-back"); err != nil {
			return err
		}
		line(map[string]bool{"ready": true})
		rtts := make([]int64, 0, cfg.N)
		for i := -cfg.N / 10; i < cfg.N; i++ {
			if i == 0 {
				start()
			}
			t0 := time.Now()
			if err := c.Publish(ctx, cfg.Channel, payload{Seq: i, Pad: pad}); err != nil {
				return err
			}
			for seq := range back {
				if seq == i {
					break
				}
			}
			if i >= 0 {
				rtts = append(rtts, time.Since(t0).Microseconds())
			}
		}
		finish(rtts, 0)
	default:
		return fmt.Errorf("unknown role %q", cfg.Role)
	}
	return nil
}

// publishAll publishes seq from to to-1, window unacked at most.
func publishAll(ctx context.Context, c *signalling.Client, channel string, from, to, window int, pad string) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := from
	errs := make(chan error, window)
	for range window {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= to {
					return
				}
				if err := c.Publish(ctx, channel, payload{Seq: i, Pad: pad}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
