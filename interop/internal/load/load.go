// Package load drives a local RMS server with many signalling clients at
// once: Conns connections across Channels channels, each publishing at Rate
// messages a second for Duration, every message checked on arrival at each
// other subscriber for loss, duplication and latency.
package load

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/metered-ca/realtime-go/signalling"
)

// Config is one load run.
type Config struct {
	URL      string
	Conns    int
	Channels int
	Rate     float64 // publishes a second per connection
	Duration time.Duration
	// AfterConnect, if set, runs once every client is connected and
	// subscribed, before publishing starts (to measure the server then).
	AfterConnect func()
}

// Result is what a run measured.
type Result struct {
	Published, Failed int64 // acked publishes; publishes that returned an error
	Expected          int64 // deliveries the acked publishes owe (one per other subscriber)
	Delivered         int64
	Lost, Duplicated  int64
	DeliveredPerSec   float64
	P50, P99          time.Duration
	ConnectTime       time.Duration
}

type msg struct {
	From string `json:"f"`
	Seq  int    `json:"s"`
	At   int64  `json:"t"` // UnixNano when sent
}

type client struct {
	c       *signalling.Client
	channel string
	mu      sync.Mutex
	seen    map[string]map[int]int // sender → seq → count
	lat     []time.Duration
	acked   []int
}

// Run performs one load run; progress goes to progress (may be nil).
func Run(ctx context.Context, cfg Config, progress func(string)) (Result, error) {
	if progress == nil {
		progress = func(string) {}
	}
	var res Result
	clients := make([]*client, cfg.Conns)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Conns)
	sem := make(chan struct{}, 64) // connect in waves
	for i := range clients {
		cl := &client{channel: fmt.Sprintf("load-%d", i%cfg.Channels), seen: map[string]map[int]int{}}
		clients[i] = cl
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := signalling.New(signalling.Options{URL: cfg.URL, APIKey: "pk_load"})
			if err != nil {
				errs <- err
				return
			}
			cl.c = c
			signalling.On(c, func(m signalling.Message) {
				var v msg
				if json.Unmarshal(m.Data, &v) != nil {
					return
				}
				at := time.Now()
				cl.mu.Lock()
				if cl.seen[v.From] == nil {
					cl.seen[v.From] = map[int]int{}
				}
				cl.seen[v.From][v.Seq]++
				cl.lat = append(cl.lat, at.Sub(time.Unix(0, v.At)))
				cl.mu.Unlock()
			})
			if err := c.Connect(ctx); err != nil {
				errs <- err
				return
			}
			if err := c.Subscribe(ctx, cl.channel); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	defer func() {
		for _, cl := range clients {
			if cl.c != nil {
				cl.c.Close()
			}
		}
	}()
	for err := range errs {
		return res, fmt.Errorf("load: connecting: %w", err)
	}
	res.ConnectTime = time.Since(start)
	if cfg.AfterConnect != nil {
		cfg.AfterConnect()
	}
	progress(fmt.Sprintf("%d clients connected in %s; publishing for %s", cfg.Conns, res.ConnectTime.Round(time.Millisecond), cfg.Duration))

	var published, failed atomic.Int64
	runCtx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	sendStart := time.Now()
	for _, cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for seq := 0; ; seq++ {
				select {
				case <-runCtx.Done():
					return
				case <-tick.C:
				}
				b := msg{From: cl.c.PeerID(), Seq: seq, At: time.Now().UnixNano()}
				pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
				err := cl.c.Publish(pctx, cl.channel, b)
				cancel()
				if err != nil {
					failed.Add(1)
					continue
				}
				published.Add(1)
				cl.mu.Lock()
				cl.acked = append(cl.acked, seq)
				cl.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	time.Sleep(time.Second) // the last deliveries
	elapsed := time.Since(sendStart)

	// Per channel: every acked publish is owed to each other member, once.
	byChannel := map[string][]*client{}
	for _, cl := range clients {
		byChannel[cl.channel] = append(byChannel[cl.channel], cl)
	}
	var lat []time.Duration
	for _, members := range byChannel {
		for _, sender := range members {
			for _, recv := range members {
				if recv == sender {
					continue
				}
				recv.mu.Lock()
				got := recv.seen[sender.c.PeerID()]
				for _, seq := range sender.acked {
					res.Expected++
					switch n := got[seq]; {
					case n == 0:
						res.Lost++
					case n > 1:
						res.Duplicated++
					}
				}
				recv.mu.Unlock()
			}
		}
	}
	for _, cl := range clients {
		cl.mu.Lock()
		lat = append(lat, cl.lat...)
		for _, counts := range cl.seen {
			for _, n := range counts {
				res.Delivered += int64(n)
			}
		}
		cl.mu.Unlock()
	}
	res.Published, res.Failed = published.Load(), failed.Load()
	res.DeliveredPerSec = float64(res.Delivered) / elapsed.Seconds()
	if len(lat) > 0 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		res.P50, res.P99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	return res, nil
}
