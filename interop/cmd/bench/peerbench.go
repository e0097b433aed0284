package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
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

func tokenFor(id string) string {
	tok, _ := testserver.MintToken(testserver.DevKeyID, testserver.DevKeySecret, testserver.Claims{Sub: id}, time.Hour)
	return tok
}

// newMeteredPeer makes a MeteredPeer on url with id as its peer id; opts
// (at most one) sets the rest.
func newMeteredPeer(url, id string, opts ...peer.Options) (*peer.MeteredPeer, error) {
	var o peer.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	o.URL, o.TokenProvider = url, func(context.Context) (string, error) { return tokenFor(id), nil }
	return peer.New(o)
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

// pionSignal is what the bare pion baselines send each other over directs.
type pionSignal struct {
	SDP  *webrtc.SessionDescription `json:"sdp,omitempty"`
	Cand *webrtc.ICECandidateInit   `json:"cand,omitempty"`
}

// apply applies a signal from remote to pc, answering an offer.
func (m pionSignal) apply(c *signalling.Client, pc *webrtc.PeerConnection, remote string) {
	switch {
	case m.SDP != nil:
		_ = pc.SetRemoteDescription(*m.SDP)
		if m.SDP.Type == webrtc.SDPTypeOffer {
			ans, _ := pc.CreateAnswer(nil)
			_ = pc.SetLocalDescription(ans)
			_ = c.SendAsync(remote, pionSignal{SDP: pc.LocalDescription()}, nil)
		}
	case m.Cand != nil:
		_ = pc.AddICECandidate(*m.Cand)
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
	wire := func(c *signalling.Client, pc *webrtc.PeerConnection, to string) {
		pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
			if cand != nil {
				init := cand.ToJSON()
				_ = c.SendAsync(to, pionSignal{Cand: &init}, nil)
			}
		})
		var mu sync.Mutex
		signalling.On(c, func(d signalling.Direct) {
			mu.Lock()
			defer mu.Unlock()
			var m pionSignal
			if json.Unmarshal(d.Data, &m) == nil {
				m.apply(c, pc, to)
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
	if err := ca.SendAsync(bID, pionSignal{SDP: pa.LocalDescription()}, nil); err != nil {
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
// joinJS also reports the runs whose channel never opened (stuck).
func joinJS(ctx context.Context, url string, runs int) (_ []time.Duration, stuck int, _ error) {
	var pairs []string
	for i := 0; i < runs; i++ {
		pairs = append(pairs, tokenFor(fmt.Sprint("ja", i))+","+tokenFor(fmt.Sprint("jb", i)))
	}
	// The tokens go in on stdin: a process list must not show them.
	cmd := exec.CommandContext(ctx, "node", "join-bench.mjs", url, fmt.Sprint(runs))
	cmd.Stdin = strings.NewReader(strings.Join(pairs, ";") + "\n")
	cmd.Dir = jsdriver.Dir()
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil && len(out) == 0 {
		return nil, 0, err
	}
	var ms []*float64
	if err := json.Unmarshal(out, &ms); err != nil {
		return nil, 0, fmt.Errorf("join-bench.mjs printed %q: %w", out, err)
	}
	var d []time.Duration
	for _, m := range ms {
		if m == nil {
			stuck++
			continue
		}
		d = append(d, time.Duration(*m*float64(time.Millisecond)))
	}
	if len(d) == 0 {
		return nil, stuck, fmt.Errorf("join-bench.mjs: no run opened its channel")
	}
	return d, stuck, nil
}

func percentiles(d []time.Duration) joinResult {
	slices.Sort(d)
	at := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	return joinResult{p50: at(0.5), p90: at(0.9)}
}
