package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/signalling"
)

// meshResult is one full mesh of n peers in this process: the time from
// every Join starting to every data channel being open, and, once open,
// heap and goroutines per connection end (a RemotePeer, or a bare pion
// PeerConnection), each side's signalling clients included.
type meshResult struct {
	n                int
	took, cpu        time.Duration
	heapKiB, routine float64
}

// meshGo joins n MeteredPeers to one channel; each opens a data channel to
// every peer it sees (both: the two sides of a pair at once, a collision)
// or only to peers whose id sorts after its own (one side).
func meshGo(ctx context.Context, url string, n int, both bool, tag string, opts ...peer.Options) (meshResult, error) {
	before := heapNow()
	peers := make([]*peer.MeteredPeer, n)
	for i := range peers {
		p, err := newMeteredPeer(url, fmt.Sprintf("%s-%02d", tag, i), opts...)
		if err != nil {
			return meshResult{}, err
		}
		defer p.Close("")
		peers[i] = p
	}
	want := int64(n * (n - 1) / 2)
	if both {
		want *= 2
	}
	var opened atomic.Int64
	done := make(chan struct{})
	for i, p := range peers {
		self := fmt.Sprintf("%s-%02d", tag, i)
		peer.On(p, func(ev peer.PeerJoined) {
			peer.On(ev.Peer, func(e peer.NegotiationError) {
				progress("%s→%s: negotiation error: %v", self, ev.Peer.ID(), e.Err)
			})
			if !both && ev.Peer.ID() < self {
				return
			}
			dc, err := ev.Peer.CreateDataChannel("mesh", peer.DataChannelOptions{})
			if err != nil {
				return
			}
			peer.On(dc, func(peer.ChannelOpen) {
				if opened.Add(1) == want {
					close(done)
				}
			})
		})
	}
	channel := "mesh-" + tag
	start, cpu0 := time.Now(), processCPU()
	errs := make(chan error, n)
	for _, p := range peers {
		go func() { errs <- p.Join(ctx, channel) }()
	}
	for range peers {
		if err := <-errs; err != nil {
			return meshResult{}, err
		}
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		states := map[string]int{}
		for _, p := range peers {
			for _, rp := range p.RemotePeers() {
				if rp.PC().ConnectionState() != webrtc.PeerConnectionStateConnected {
					states[fmt.Sprintf("%s→%s %v/%v/%v", p.PeerID(), rp.ID(), rp.State(), rp.PC().ConnectionState(), rp.PC().SignalingState())]++
				}
			}
		}
		return meshResult{}, fmt.Errorf("%d of %d data channels open after a minute; remote peers by state: %v", opened.Load(), want, states)
	}
	took, cpu := time.Since(start), processCPU()-cpu0
	heap, routines := heapNow().since(before, n*(n-1))
	writeHeapProfile("MESH_HEAPPROFILE", "")
	return meshResult{n: n, took: took, cpu: cpu, heapKiB: heap, routine: routines}, nil
}

// meshPion is meshGo's work with bare pion: n signalling clients subscribe
// to one channel, and each pair negotiates one PeerConnection per side
// (default pion API, the lower id offers) over directs with trickle, with a
// data channel from the offerer.
func meshPion(ctx context.Context, url string, n int, tag string) (meshResult, error) {
	api, err := defaultPionAPI()
	if err != nil {
		return meshResult{}, err
	}
	before := heapNow()
	ids := make([]string, n)
	clients := make([]*signalling.Client, n)
	for i := range clients {
		ids[i] = fmt.Sprintf("%s-%02d", tag, i)
		id := ids[i]
		c, err := signalling.New(signalling.Options{URL: url, TokenProvider: func(context.Context) (string, error) { return tokenFor(id), nil }})
		if err != nil {
			return meshResult{}, err
		}
		defer c.Close()
		clients[i] = c
	}
	var opened atomic.Int64
	want := int64(n * (n - 1) / 2)
	done := make(chan struct{})
	var closeMu sync.Mutex
	var pcs []*webrtc.PeerConnection
	var dcsMu sync.Mutex
	var dcs []*webrtc.DataChannel // every channel, both ends
	defer func() {
		closeMu.Lock()
		defer closeMu.Unlock()
		for _, pc := range pcs {
			_ = pc.Close()
		}
	}()
	for i, c := range clients {
		var mu sync.Mutex
		conns := map[string]*webrtc.PeerConnection{}
		conn := func(remote string) *webrtc.PeerConnection { // mu held
			if pc := conns[remote]; pc != nil {
				return pc
			}
			pc, err := api.NewPeerConnection(webrtc.Configuration{})
			if err != nil {
				return nil
			}
			closeMu.Lock()
			pcs = append(pcs, pc)
			closeMu.Unlock()
			pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
				if cand != nil {
					init := cand.ToJSON()
					_ = c.SendAsync(remote, pionSignal{Cand: &init}, nil)
				}
			})
			// Both ends hold their channel with a message handler, as an
			// application does and a MeteredPeer does; without, pion's
			// channels were closed by the time of measuring (a baseline
			// that measured less).
			pc.OnDataChannel(func(d *webrtc.DataChannel) {
				dcsMu.Lock()
				dcs = append(dcs, d)
				dcsMu.Unlock()
				d.OnMessage(func(webrtc.DataChannelMessage) {})
			})
			conns[remote] = pc
			return pc
		}
		signalling.On(c, func(d signalling.Direct) {
			var m pionSignal
			if json.Unmarshal(d.Data, &m) != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if pc := conn(d.From); pc != nil {
				m.apply(c, pc, d.From)
			}
		})
		offer := func(remote string) {
			mu.Lock()
			defer mu.Unlock()
			pc := conn(remote)
			if pc == nil {
				return
			}
			dc, err := pc.CreateDataChannel("mesh", nil)
			if err != nil {
				return
			}
			dcsMu.Lock()
			dcs = append(dcs, dc)
			dcsMu.Unlock()
			dc.OnMessage(func(webrtc.DataChannelMessage) {})
			dc.OnOpen(func() {
				if opened.Add(1) == want {
					close(done)
				}
			})
			o, err := pc.CreateOffer(nil)
			if err != nil || pc.SetLocalDescription(o) != nil {
				return
			}
			_ = c.SendAsync(remote, pionSignal{SDP: pc.LocalDescription()}, nil)
		}
		self := ids[i]
		signalling.On(c, func(p signalling.Presence) {
			for _, j := range p.Joined {
				if j.PeerID > self {
					go offer(j.PeerID)
				}
			}
		})
	}
	channel := "mesh-" + tag
	start, cpu0 := time.Now(), processCPU()
	errs := make(chan error, n)
	for _, c := range clients {
		go func() {
			if err := c.Connect(ctx); err != nil {
				errs <- err
				return
			}
			errs <- c.Subscribe(ctx, channel)
		}()
	}
	for range clients {
		if err := <-errs; err != nil {
			return meshResult{}, err
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		return meshResult{}, fmt.Errorf("%d of %d data channels open: %w", opened.Load(), want, ctx.Err())
	}
	took, cpu := time.Since(start), processCPU()-cpu0
	heap, routines := heapNow().since(before, n*(n-1))
	writeHeapProfile("MESH_HEAPPROFILE", ".pion")
	dcsMu.Lock()
	defer dcsMu.Unlock()
	for _, d := range dcs {
		if d.ReadyState() != webrtc.DataChannelStateOpen {
			return meshResult{}, fmt.Errorf("bare pion: a data channel is %s when measured", d.ReadyState())
		}
	}
	return meshResult{n: n, took: took, cpu: cpu, heapKiB: heap, routine: routines}, nil
}

type heapSample struct {
	heap       uint64
	goroutines int
}

func heapNow() heapSample {
	// Let the previous run's teardown and this one's handshakes settle:
	// the goroutine count unchanged for half a second (10 s at most).
	last, stable := runtime.NumGoroutine(), 0
	for deadline := time.Now().Add(10 * time.Second); stable < 5 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		if g := runtime.NumGoroutine(); g == last {
			stable++
		} else {
			last, stable = g, 0
		}
	}
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return heapSample{heap: m.HeapInuse, goroutines: runtime.NumGoroutine()}
}

// since is heap KiB and goroutines per connection end, from before.
func (s heapSample) since(before heapSample, ends int) (float64, float64) {
	return float64(int64(s.heap)-int64(before.heap)) / 1024 / float64(ends), float64(s.goroutines-before.goroutines) / float64(ends)
}

// meshRows are the peer-connection rows: glare against one side at 2 and
// 8 peers, the 32-peer mesh opened from both sides, and memory per
// connection end against bare pion at 16 peers, each over runs.
type meshRows struct {
	runs                int
	glare               map[glareCase][2][]time.Duration // {one side, both sides}
	mesh32, pion32      []meshResult
	memGo, memPion      []meshResult
	memPeers, meshPeers int
}

// glareCase is a row of the glare table: n peers, their ICE on every
// interface or on IPv4 loopback only (one candidate a side, so nothing
// hides a check that goes unanswered).
type glareCase struct {
	n        int
	loopback bool
}

var glareCases = []glareCase{{2, false}, {8, false}, {8, true}}

func benchMesh(ctx context.Context, url string, runs int) (meshRows, error) {
	r := meshRows{runs: runs, glare: map[glareCase][2][]time.Duration{}, memPeers: 16, meshPeers: 32}
	for i := range runs {
		for _, c := range glareCases {
			g := r.glare[c]
			var opts []peer.Options
			if c.loopback {
				opts = append(opts, peer.Options{SettingEngine: loopbackSettings()})
			}
			for _, both := range []bool{false, true} {
				res, err := meshGo(ctx, url, c.n, both, fmt.Sprintf("g%d-%d-%v-%v", c.n, i, both, c.loopback), opts...)
				if err != nil {
					return r, fmt.Errorf("mesh of %d (both sides %v, loopback %v): %w", c.n, both, c.loopback, err)
				}
				k := 0
				if both {
					k = 1
				}
				g[k] = append(g[k], res.took)
				progress("mesh run %d/%d: %d peers, both sides %v, loopback only %v: all open in %v", i+1, runs, c.n, both, c.loopback, res.took.Round(time.Millisecond))
			}
			r.glare[c] = g
		}
		stop := profileCPU("MESH_CPUPROFILE")
		res, err := meshGo(ctx, url, r.meshPeers, true, fmt.Sprintf("m32-%d", i))
		stop()
		if err != nil {
			return r, fmt.Errorf("mesh of 32: %w", err)
		}
		r.mesh32 = append(r.mesh32, res)
		progress("mesh run %d/%d: 32 peers, both sides: all open in %v, %v CPU", i+1, runs, res.took.Round(time.Millisecond), res.cpu.Round(time.Millisecond))
		p, err := meshPion(ctx, url, r.meshPeers, fmt.Sprintf("p32-%d", i))
		if err != nil {
			return r, fmt.Errorf("bare pion mesh of 32: %w", err)
		}
		r.pion32 = append(r.pion32, p)
		progress("mesh run %d/%d: 32 peers, bare pion, one side: all open in %v, %v CPU", i+1, runs, p.took.Round(time.Millisecond), p.cpu.Round(time.Millisecond))
		goRes, err := meshGo(ctx, url, r.memPeers, false, fmt.Sprintf("mg-%d", i))
		if err != nil {
			return r, err
		}
		pionRes, err := meshPion(ctx, url, r.memPeers, fmt.Sprintf("mp-%d", i))
		if err != nil {
			return r, err
		}
		r.memGo, r.memPion = append(r.memGo, goRes), append(r.memPion, pionRes)
		progress("mesh run %d/%d: 16 peers, one side: MeteredPeer %v, %.0f KiB, %.1f goroutines per end; bare pion %v, %.0f KiB, %.1f goroutines",
			i+1, runs, goRes.took.Round(time.Millisecond), goRes.heapKiB, goRes.routine, pionRes.took.Round(time.Millisecond), pionRes.heapKiB, pionRes.routine)
	}
	return r, nil
}

// defaultPionAPI is one API for all of a bare pion run's connections, with
// pion's default codecs and interceptors, as an application shares one.
func defaultPionAPI() (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir)), nil
}

// processCPU is this process's user + system time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return cpuOf(&ru)
}

// cpuOf is a rusage's user + system time.
func cpuOf(ru *syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func durations(rs []meshResult, f func(meshResult) float64) spread {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return spreadOf(v)
}

func msOf(d []time.Duration) spread {
	v := make([]float64, len(d))
	for i, x := range d {
		v[i] = float64(x) / float64(time.Millisecond)
	}
	return spreadOf(v)
}

func writeMesh(b *strings.Builder, r meshRows) {
	section(b, "Connecting peers")
	fmt.Fprintf(b, "N MeteredPeers in this process join one channel at once over `rms-local`; each opens a data channel to every peer it sees (both sides: the two ends of every pair offer at once, a collision each) or only to peers whose id sorts after its own (one side). Time from the Joins starting to every channel open. %d runs, interleaved; medians with ranges.\n\n", r.runs)
	fmt.Fprintf(b, "| peers | one side | both sides | both / one | goal |\n|---|---|---|---|---|\n")
	for _, c := range glareCases {
		one, both := msOf(r.glare[c][0]), msOf(r.glare[c][1])
		label := fmt.Sprint(c.n)
		if c.loopback {
			label += ", ICE on IPv4 loopback only"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %.2f× | ≤ 1.1× |\n", label, one.format("ms", 0), both.format("ms", 0), both.med/one.med)
	}
	took := durations(r.mesh32, func(m meshResult) float64 { return m.took.Seconds() })
	cpu := durations(r.mesh32, func(m meshResult) float64 { return m.cpu.Seconds() })
	ptook := durations(r.pion32, func(m meshResult) float64 { return m.took.Seconds() })
	pcpu := durations(r.pion32, func(m meshResult) float64 { return m.cpu.Seconds() })
	fmt.Fprintf(b, "\n%d peers, full mesh (496 pairs, 992 connection ends), both sides opening: all open in %s, using %s of CPU (goal ≤ 1.0 s). ", r.meshPeers, took.format("s", 2), cpu.format("s", 1))
	fmt.Fprintf(b, "Bare pion doing the same mesh from one side (signalling clients, default pion API shared by all connections, offer/answer/trickle over directs, one data channel per pair): %s, using %s of CPU.\n\n", ptook.format("s", 2), pcpu.format("s", 1))
	fmt.Fprintf(b, "Memory per connection end, %d peers, one side opening, all open: heap in use (after GC, once goroutines settle) and goroutines after minus before, divided by the %d ends; each side's signalling clients included.\n\n", r.memPeers, r.memPeers*(r.memPeers-1))
	fmt.Fprintf(b, "| | heap per end | goroutines per end |\n|---|---|---|\n")
	gh, ph := durations(r.memGo, func(m meshResult) float64 { return m.heapKiB }), durations(r.memPion, func(m meshResult) float64 { return m.heapKiB })
	gg, pg := durations(r.memGo, func(m meshResult) float64 { return m.routine }), durations(r.memPion, func(m meshResult) float64 { return m.routine })
	fmt.Fprintf(b, "| bare pion (baseline) | %s | %s |\n", ph.format("KiB", 0), pg.format("", 1))
	fmt.Fprintf(b, "| realtime-go `RemotePeer` | %s | %s |\n", gh.format("KiB", 0), gg.format("", 1))
	fmt.Fprintf(b, "| ratio | %.2f× (goal ≤ 1.1×) | %.2f× |\n\n", gh.med/ph.med, gg.med/pg.med)
}

// profileCPU writes a CPU profile to the file the environment variable
// names, if it does, until stop is called: for looking into a result.
func profileCPU(env string) (stop func()) {
	path := os.Getenv(env)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil || pprof.StartCPUProfile(f) != nil {
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// writeHeapProfile writes the live heap to the file the environment
// variable names plus suffix, if it does: for looking into a result.
func writeHeapProfile(env, suffix string) {
	if path := os.Getenv(env); path != "" {
		if f, err := os.Create(path + suffix); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
		if f, err := os.Create(path + suffix + ".goroutines"); err == nil {
			_ = pprof.Lookup("goroutine").WriteTo(f, 1)
			f.Close()
		}
	}
}
