package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/interop/internal/jsdriver"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/signalling"
	"github.com/metered-ca/realtime-go/testserver"
)

type joinResult struct{ p50, p90 time.Duration }

type memResult struct {
	peers, remotes      int
	goroutinesPerRemote float64
	heapKBPerRemote     float64
}

func tokenFor(id string) string {
	tok, _ := testserver.MintToken(testserver.DevKeyID, testserver.DevKeySecret, testserver.Claims{Sub: id}, time.Hour)
	return tok
}

func newMeteredPeer(url, id string) (*peer.MeteredPeer, error) {
	return peer.New(peer.Options{URL: url, TokenProvider: func(context.Context) (string, error) { return tokenFor(id), nil }})
}

// joinGo: two Go MeteredPeers join; the first opens a data channel to the
// second as soon as it sees it; time until the channel is open.
func joinGo(ctx context.Context, url string, run int) (time.Duration, error) {
	a, err := newMeteredPeer(url, fmt.Sprint("ga", run))
	if err != nil {
		return 0, err
	}
	defer a.Close("")
	b, err := newMeteredPeer(url, fmt.Sprint("gb", run))
	if err != nil {
		return 0, err
	}
	defer b.Close("")
	open := make(chan struct{}, 1)
	peer.On(a, func(ev peer.PeerJoined) {
		dc, err := ev.Peer.CreateDataChannel("bench", peer.DataChannelOptions{})
		if err == nil {
			peer.On(dc, func(peer.ChannelOpen) { open <- struct{}{} })
		}
	})
	channel := fmt.Sprint("join-bench-go-", run)
	start := time.Now()
	errs := make(chan error, 2)
	go func() { errs <- a.Join(ctx, channel) }()
	go func() { errs <- b.Join(ctx, channel) }()
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			return 0, err
		}
	}
	select {
	case <-open:
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// joinRawPion is the floor: the same server round trips (connect,
// subscribe, presence) and the same offer/answer/trickle over directs, with
// bare pion and no MeteredPeer logic.
func joinRawPion(ctx context.Context, url string, run int) (time.Duration, error) {
	mk := func(id string) (*signalling.Client, error) {
		c, err := signalling.New(signalling.Options{URL: url, TokenProvider: func(context.Context) (string, error) { return tokenFor(id), nil }})
		return c, err
	}
	aID, bID := fmt.Sprint("ra", run), fmt.Sprint("rb", run)
	ca, err := mk(aID)
	if err != nil {
		return 0, err
	}
	defer ca.Close()
	cb, err := mk(bID)
	if err != nil {
		return 0, err
	}
	defer cb.Close()
	pa, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return 0, err
	}
	defer pa.Close()
	pb, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return 0, err
	}
	defer pb.Close()
	type msg struct {
		SDP  *webrtc.SessionDescription `json:"sdp,omitempty"`
		Cand *webrtc.ICECandidateInit   `json:"cand,omitempty"`
	}
	wire := func(c *signalling.Client, pc *webrtc.PeerConnection, to string) {
		pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
			if cand != nil {
				init := cand.ToJSON()
				_ = c.SendAsync(to, msg{Cand: &init}, nil)
			}
		})
		var mu sync.Mutex
		signalling.On(c, func(d signalling.Direct) {
			mu.Lock()
			defer mu.Unlock()
			var m msg
			if json.Unmarshal(d.Data, &m) != nil {
				return
			}
			switch {
			case m.SDP != nil:
				_ = pc.SetRemoteDescription(*m.SDP)
				if m.SDP.Type == webrtc.SDPTypeOffer {
					ans, _ := pc.CreateAnswer(nil)
					_ = pc.SetLocalDescription(ans)
					_ = c.SendAsync(to, msg{SDP: pc.LocalDescription()}, nil)
				}
			case m.Cand != nil:
				_ = pc.AddICECandidate(*m.Cand)
			}
		})
	}
	wire(ca, pa, bID)
	wire(cb, pb, aID)
	open := make(chan struct{}, 1)
	seen := make(chan struct{}, 1)
	signalling.On(ca, func(p signalling.Presence) {
		for _, j := range p.Joined {
			if j.PeerID == bID {
				seen <- struct{}{}
			}
		}
	})
	channel := fmt.Sprint("join-bench-raw-", run)
	start := time.Now()
	errs := make(chan error, 2)
	for _, c := range []*signalling.Client{ca, cb} {
		go func() {
			if err := c.Connect(ctx); err != nil {
				errs <- err
				return
			}
			errs <- c.Subscribe(ctx, channel)
		}()
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			return 0, err
		}
	}
	select {
	case <-seen:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	dc, err := pa.CreateDataChannel("bench", nil)
	if err != nil {
		return 0, err
	}
	dc.OnOpen(func() { open <- struct{}{} })
	offer, err := pa.CreateOffer(nil)
	if err != nil {
		return 0, err
	}
	if err := pa.SetLocalDescription(offer); err != nil {
		return 0, err
	}
	if err := ca.SendAsync(bID, msg{SDP: pa.LocalDescription()}, nil); err != nil {
		return 0, err
	}
	select {
	case <-open:
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// joinJS runs the same measurement with two JS SDK MeteredPeers in Node.
func joinJS(ctx context.Context, url string, runs int) ([]time.Duration, error) {
	var pairs []string
	for i := 0; i < runs; i++ {
		pairs = append(pairs, tokenFor(fmt.Sprint("ja", i))+","+tokenFor(fmt.Sprint("jb", i)))
	}
	cmd := exec.CommandContext(ctx, "node", "join-bench.mjs", url, fmt.Sprint(runs), strings.Join(pairs, ";"))
	cmd.Dir = jsdriver.Dir()
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil && len(out) == 0 {
		return nil, err
	}
	var ms []float64
	if err := json.Unmarshal(out, &ms); err != nil {
		return nil, fmt.Errorf("join-bench.mjs printed %q: %w", out, err)
	}
	d := make([]time.Duration, len(ms))
	for i, m := range ms {
		d[i] = time.Duration(m * float64(time.Millisecond))
	}
	return d, nil
}

func percentiles(d []time.Duration) joinResult {
	slices.Sort(d)
	at := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	return joinResult{p50: at(0.5), p90: at(0.9)}
}

// perRemotePeer joins n MeteredPeers to one channel (a full mesh of
// n·(n−1) RemotePeers, each with its own pion connection, idle: no media,
// no channel) and reports goroutines and heap per RemotePeer.
func perRemotePeer(ctx context.Context, url string, n int) (memResult, error) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	var peers []*peer.MeteredPeer
	defer func() {
		for _, p := range peers {
			_ = p.Close("")
		}
	}()
	channel := fmt.Sprint("mem-bench-", n)
	for i := 0; i < n; i++ {
		p, err := newMeteredPeer(url, fmt.Sprintf("m%d-%d", n, i))
		if err != nil {
			return memResult{}, err
		}
		peers = append(peers, p)
		if err := p.Join(ctx, channel); err != nil {
			return memResult{}, err
		}
	}
	want := n * (n - 1)
	for deadline := time.Now().Add(60 * time.Second); ; {
		got := 0
		for _, p := range peers {
			got += len(p.RemotePeers())
		}
		if got == want {
			break
		}
		if time.Now().After(deadline) {
			return memResult{}, fmt.Errorf("only %d of %d remote peers", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	// The MeteredPeers themselves (signalling clients) are part of the cost
	// too; subtract a solo peer's share by measuring per RemotePeer anyway.
	return memResult{
		peers:               n,
		remotes:             want,
		goroutinesPerRemote: float64(g1-g0) / float64(want),
		heapKBPerRemote:     float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / 1024 / float64(want),
	}, nil
}
