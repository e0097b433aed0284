package media

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/peer"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// The impairment runs: two Go peers on pion's virtual network (netlab),
// deterministic and bounded. `make test` runs the short forms; with
// NETWORK_LONG=1 (`make soak`) each phase runs longer. NETWORK_REPORT names
// a directory for the capped run's picture (an SVG) and figures; by
// default they go to the test's temporary directory.

func longNetwork() bool { return os.Getenv("NETWORK_LONG") != "" }

// skipUnderRace: these runs measure timing, which the race detector's
// slow-down distorts; make test runs them in a pass without it.
func skipUnderRace(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no impairment runs")
	}
	if raceEnabled {
		t.Skip("timing runs: `make test` runs them without -race (NETWORK_TESTS)")
	}
}

func reportDir(t *testing.T) string {
	if d := os.Getenv("NETWORK_REPORT"); d != "" {
		require.NoError(t, os.MkdirAll(d, 0o755))
		return d
	}
	return t.TempDir()
}

// frameClock records when the receiver decoded each frame.
type frameClock struct {
	mu    sync.Mutex
	video []time.Time
	audio []audioChunk
}

type audioChunk struct {
	at      time.Duration // media time of the chunk
	samples int           // per channel
}

func (c *frameClock) addVideo(at time.Time) {
	c.mu.Lock()
	c.video = append(c.video, at)
	c.mu.Unlock()
}

// videoBetween counts decoded frames in [from, to).
func (c *frameClock) videoBetween(from, to time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, at := range c.video {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}

// longestVideoGap is the longest wait between decoded frames in [from, to).
func (c *frameClock) longestVideoGap(from, to time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var longest time.Duration
	prev := from
	for _, at := range c.video {
		if at.Before(from) || !at.Before(to) {
			continue
		}
		longest = max(longest, at.Sub(prev))
		prev = at
	}
	return max(longest, to.Sub(prev))
}

// receive decodes every track B gets from A into clock.
func (c *frameClock) receive(t *testing.T, ctx context.Context, b *peer.MeteredPeer) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	peer.On(b, func(ev peer.PeerJoined) {
		remote := ev.Peer
		peer.On(remote, func(tr peer.Track) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for f, err := range Frames(ctx, tr.Track) {
					if err != nil {
						return
					}
					if f.Kind == webrtc.RTPCodecTypeVideo {
						c.addVideo(time.Now())
						continue
					}
					c.mu.Lock()
					c.audio = append(c.audio, audioChunk{at: f.Timestamp, samples: len(f.PCM) / max(f.Channels, 1)})
					c.mu.Unlock()
				}
			}()
		})
	})
}

// sample is one point of a run's timeline.
type sample struct {
	at       time.Duration // since the run began
	sendBps  int           // what A put on the wire over the last second
	estimate int           // A's bandwidth estimate towards B
	target   int           // A's video encoder rate
	fps      float64       // frames B decoded over the last second
	capBps   int           // the cap then (0: none)
	videoOut int           // what A's video encoder put out over its last second
}

// TestCappedLinkAdapts sends a 720p transcoded stream over a link capped
// at 300 kb/s: the sender must settle under the cap within 5 s while B
// keeps decoding, and climb back within 10 s once the cap is lifted.
func TestCappedLinkAdapts(t *testing.T) {
	skipUnderRace(t)
	warm, capped, lifted := 6*time.Second, 14*time.Second, 14*time.Second
	if longNetwork() {
		capped, lifted = 60*time.Second, 40*time.Second
	}
	const capBps = 300_000
	clip := testMediaSized(t, "noisy-bframes.mp4", "10", "1280x720")
	player := loopedPlayer(t, clip)
	require.NotNil(t, player.Video.rate, "the 720p H.264 with B-frames is transcoded")

	ctx := peertest.Context(t, warm+capped+lifted+60*time.Second)
	lab := newNetLab(t, peer.Options{}, peer.Options{})
	var clock frameClock
	clock.receive(t, ctx, lab.b)
	stream := peer.NewMediaStream(player.Audio, player.Video)
	require.NoError(t, lab.a.AddStream(stream, nil))
	lab.call(t, ctx, player, &clock, 20*time.Second)
	rb := lab.a.RemotePeers()[0]

	start := time.Now()
	var samples []sample
	var capNow int
	sent := []int64{lab.sentByA()}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	capAt, liftAt := warm, warm+capped
	// Probe bytes and all bytes A sent at the cap and at the lift, and the
	// keyframes B had asked for (a picture given up).
	var probeAt, sentAt [2]int64
	var asksAt [2]uint32
	for now := range tick.C {
		el := now.Sub(start)
		st, err := rb.Stats(ctx)
		require.NoError(t, err)
		switch {
		case el >= capAt && el < liftAt && capNow == 0:
			capNow = capBps
			lab.toB.setCap(capBps)
			probeAt[0], sentAt[0] = int64(st.Probing.BytesSent), lab.sentByA()
			asksAt[0] = lab.keyframeAsksByB(t, ctx)
		case el >= liftAt && capNow != 0:
			capNow = 0
			lab.toB.setCap(noCap)
			probeAt[1], sentAt[1] = int64(st.Probing.BytesSent), lab.sentByA()
			asksAt[1] = lab.keyframeAsksByB(t, ctx)
		}
		sent = append(sent, lab.sentByA())
		sending := player.Video.Sending()
		s := sample{at: el, estimate: st.AvailableOutgoingBitrate, target: sending.TargetBitrate, videoOut: sending.Bitrate, capBps: capNow}
		if n := len(sent); n > 4 {
			s.sendBps = int((sent[n-1] - sent[n-5]) * 8)
		}
		s.fps = float64(clock.videoBetween(now.Add(-time.Second), now))
		samples = append(samples, s)
		if el >= liftAt+lifted {
			break
		}
	}

	// GCC probes above the link's rate and backs off (a sawtooth), so the
	// sender settles around the cap: from 5 s after the cap on, the mean
	// of its one-second rates. How often and how far it goes over is
	// reported.
	var settled []int
	for _, s := range samples {
		if s.at >= capAt+5*time.Second && s.at < liftAt {
			settled = append(settled, s.sendBps)
		}
	}
	settledMean, peak, over := 0, 0, 0
	for _, v := range settled {
		settledMean += v / len(settled)
		peak = max(peak, v)
		if v > capBps {
			over++
		}
	}
	before := 0
	for _, s := range samples {
		if s.at > time.Second && s.at < capAt {
			before = max(before, s.sendBps)
		}
	}
	// Climbed: from when on the rate stays above the mark for 2 s (one
	// probe over the cap just before the lift does not count).
	climbed := func(to int) time.Duration {
		from := time.Duration(-1)
		for _, s := range samples {
			switch {
			case s.at <= liftAt:
			case s.sendBps <= to:
				from = -1
			case from < 0:
				from = s.at
			}
			if from >= 0 && s.at-from >= 2*time.Second {
				return from - liftAt
			}
		}
		return -1
	}
	up15, up2 := climbed(capBps*3/2), climbed(2*capBps)
	// Climbing back: the estimate finds the room again by probing (every
	// 3 s while it holds the encoder back, then twice each result), so by
	// 9–10 s after the lift, more than twice the 3.5 s that takes at
	// worst, it is twice its mean under the cap and past 600 kb/s.
	mean := func(from, to time.Duration, v func(sample) int) int {
		sum, n := 0, 0
		for _, s := range samples {
			if s.at > from && s.at <= to {
				sum, n = sum+v(s), n+1
			}
		}
		return sum / max(n, 1)
	}
	sendOf := func(s sample) int { return s.sendBps }
	estOf := func(s sample) int { return s.estimate }
	// From what they averaged under the cap: a sawtooth peak just before
	// the lift is no baseline.
	sendAtLift, sendAfter := mean(capAt+5*time.Second, liftAt, sendOf), mean(liftAt+8*time.Second, liftAt+10*time.Second, sendOf)
	estAtLift, estAfter := mean(capAt+5*time.Second, liftAt, estOf), mean(liftAt+9*time.Second, liftAt+10*time.Second, estOf)
	gap := clock.longestVideoGap(start.Add(capAt+5*time.Second), start.Add(liftAt))
	dir := reportDir(t)
	require.NoError(t, writeCapSVG(dir+"/capped-720p.svg", samples, capBps))
	report := fmt.Sprintf("capped-720p: %d kb/s before the cap; from 5 s after a %d kb/s cap on, mean %d kb/s, peak %d kb/s, over the cap %d%% of the time; longest wait between decoded frames %v; from their means under the cap to 10 s after it is lifted, sending %d → %d kb/s and estimate %d → %d kb/s; past %d kb/s (held 2 s) %v after the lift, past %d kb/s %v (-1ns: not within the run)\n",
		before/1000, capBps/1000, settledMean/1000, peak/1000, 100*over/max(len(settled), 1), gap.Round(time.Millisecond), sendAtLift/1000, sendAfter/1000, estAtLift/1000, estAfter/1000, capBps*3/2000, up15, 2*capBps/1000, up2)
	st, err := rb.Stats(ctx)
	require.NoError(t, err)
	pr := st.Probing
	// What probing cost while capped: its share of all A sent then.
	cappedProbe, cappedSent := probeAt[1]-probeAt[0], sentAt[1]-sentAt[0]
	report += fmt.Sprintf("probing: %d clusters, %d results, %d of %d padding packets acknowledged, %d kB of the %d kB sent in all; while capped %d kB of %d kB (%.1f%%); B asked for %d keyframes while capped\n",
		pr.Clusters, pr.Results, pr.PacketsReceived, pr.PacketsSent, pr.BytesSent/1000, st.Path.BytesSent/1000,
		cappedProbe/1000, cappedSent/1000, 100*float64(cappedProbe)/float64(max(cappedSent, 1)), asksAt[1]-asksAt[0])
	t.Log(report)
	require.NoError(t, os.WriteFile(dir+"/capped-720p.txt", []byte(report+timeline(samples)), 0o644))
	// For make bench: the figures the targets name, one run's.
	goal := max(2*estAtLift, 600_000)
	var recovered time.Duration = -1
	var fpsSum, fpsN, outSum, targetSum float64
	for _, s := range samples {
		if recovered < 0 && s.at > liftAt && s.estimate >= goal {
			recovered = s.at - liftAt
		}
		if s.at >= capAt+5*time.Second && s.at < liftAt {
			fpsSum, fpsN = fpsSum+s.fps, fpsN+1
			outSum, targetSum = outSum+float64(s.videoOut), targetSum+float64(s.target)
		}
	}
	writeFigures(t, dir+"/capped-720p.json", map[string]float64{
		"cap_bps":               capBps,
		"capped_estimate_ratio": float64(estAtLift) / capBps,
		"capped_fps":            fpsSum / max(fpsN, 1),
		"capped_longest_gap_s":  gap.Seconds(),
		"capped_output_ratio":   outSum / max(targetSum, 1),
		"recovered_s":           recovered.Seconds(),
		"estimate_10s_bps":      float64(estAfter),
		"probe_share_capped":    float64(cappedProbe) / float64(max(cappedSent, 1)),
		"capped_keyframe_asks":  float64(asksAt[1] - asksAt[0]),
	})

	assert.Greater(t, before, 2*capBps, "uncapped, the 720p stream runs well above the cap")
	// Settled: what A sends and its estimate follow the link. The encoders
	// spend 80 % of the estimate (video beside audio) and GCC saws around
	// the link's rate, so the mean sits near the cap (0.96–1.0× here; make bench has the
	// figure); the checks ask only that it is nowhere near what A sent
	// uncapped (5× the cap), and that the estimate is within 2× of it.
	assert.Less(t, settledMean, 2*capBps, "settled near the cap within 5 s")
	assert.Less(t, estAtLift, 2*capBps, "the estimate under the cap follows it")
	assert.Greater(t, estAtLift, capBps/2, "the estimate under the cap uses it")
	assert.Less(t, gap, 4*time.Second, "decoded frames keep flowing under the cap (a stall would be many seconds: 6–8 s before the repairs were fixed)")
	assert.GreaterOrEqual(t, float64(estAfter), 2*float64(estAtLift), "the estimate finds the room again after the lift: twice its capped mean")
	assert.GreaterOrEqual(t, estAfter, 600_000, "and past 600 kb/s")
	assert.GreaterOrEqual(t, float64(sendAfter), 1.25*float64(sendAtLift), "and the sending rate follows it")
}

// writeFigures writes one run's figures as JSON (make bench reads them).
func writeFigures(t *testing.T, path string, figures map[string]float64) {
	b, err := json.Marshal(figures)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

// TestStartupRamp: a source that wants 3 Mb/s on a 2.5 Mb/s link; the
// initial probes find the link, so the estimate passes 2 Mb/s soon after
// the connection is up, where GCC alone took 9 s (8% a second from
// 1 Mb/s). The check allows 3 s, twice the 1.5 s the issue targets; the
// time it took is in the log and in make bench.
func TestStartupRamp(t *testing.T) {
	skipUnderRace(t)
	const link = 2_500_000
	clip := testMediaSized(t, "noisy-bframes.mp4", "10", "1280x720")
	player, err := FromFile(clip, WithLoop(true), WithVideoBitrate(3_000_000))
	require.NoError(t, err)
	t.Cleanup(func() { _ = player.Close() })
	ctx := peertest.Context(t, 60*time.Second)
	lab := newNetLab(t, peer.Options{}, peer.Options{})
	lab.toB.setCap(link)
	var clock frameClock
	clock.receive(t, ctx, lab.b)
	require.NoError(t, lab.a.AddStream(peer.NewMediaStream(player.Audio, player.Video), nil))
	require.NoError(t, lab.a.Join(ctx, "net"))
	require.NoError(t, lab.b.Join(ctx, "net"))
	var rb *peer.RemotePeer
	require.Eventually(t, func() bool {
		if rps := lab.a.RemotePeers(); len(rps) == 1 && rps[0].State() == peer.PeerConnected {
			rb = rps[0]
			return true
		}
		return false
	}, 20*time.Second, 10*time.Millisecond, "A connects to B")
	up := time.Now()
	require.NoError(t, player.Start())
	var reached time.Duration = -1
	var at1500 int
	var trace []string // the estimate every 50 ms, in kb/s
	for time.Since(up) < 5*time.Second && (reached < 0 || at1500 == 0) {
		time.Sleep(50 * time.Millisecond)
		st, err := rb.Stats(ctx)
		require.NoError(t, err)
		trace = append(trace, fmt.Sprintf("%.2fs:%d", time.Since(up).Seconds(), st.AvailableOutgoingBitrate/1000))
		if at1500 == 0 && time.Since(up) >= 1500*time.Millisecond {
			at1500 = st.AvailableOutgoingBitrate
		}
		if reached < 0 && st.AvailableOutgoingBitrate >= 2_000_000 {
			reached = time.Since(up)
		}
	}
	t.Logf("startup: on a %d kb/s link the estimate passed 2000 kb/s %v after the connection was up; %d kb/s at 1.5 s", link/1000, reached.Round(10*time.Millisecond), at1500/1000)
	writeFigures(t, reportDir(t)+"/startup.json", map[string]float64{"reached_2mbps_s": reached.Seconds(), "estimate_1500ms_bps": float64(at1500)})
	if !assert.True(t, reached >= 0 && reached <= 3*time.Second, "the estimate passes 2 Mb/s within 3 s of the connection being up (took %v)", reached) {
		t.Logf("startup trace: %v", trace)
	}
}

func timeline(samples []sample) string {
	out := "t_s\tsend_kbps\testimate_kbps\ttarget_kbps\tfps\tcap_kbps\n"
	for _, s := range samples {
		out += fmt.Sprintf("%.2f\t%d\t%d\t%d\t%.0f\t%d\n", s.at.Seconds(), s.sendBps/1000, s.estimate/1000, s.target/1000, s.fps, s.capBps/1000)
	}
	return out
}

// writeCapSVG draws a run: what the sender sends, its estimate and the
// receiver's decoded frame rate over time, against the cap.
func writeCapSVG(path string, samples []sample, capBps int) error {
	const w, h, left, right, top, bottom = 760, 360, 60, 60, 40, 40
	if len(samples) == 0 {
		return fmt.Errorf("no samples")
	}
	tMax := samples[len(samples)-1].at.Seconds()
	// The scale follows what was sent; an estimate far above it is drawn
	// clipped at the top.
	kMax := 0
	for _, s := range samples {
		kMax = max(kMax, s.sendBps/1000*3/2)
	}
	kMax = (kMax/500 + 1) * 500
	x := func(sec float64) float64 { return left + sec/tMax*(w-left-right) }
	yk := func(k float64) float64 { return h - bottom - min(k, float64(kMax))/float64(kMax)*(h-top-bottom) }
	yf := func(fps float64) float64 { return h - bottom - fps/40*(h-top-bottom) }
	line := func(color string, dash string, pt func(sample) (float64, float64)) string {
		pts := ""
		for _, s := range samples {
			px, py := pt(s)
			pts += strconv.FormatFloat(px, 'f', 1, 64) + "," + strconv.FormatFloat(py, 'f', 1, 64) + " "
		}
		return fmt.Sprintf(`<polyline fill="none" stroke="%s" stroke-width="2" %s points="%s"/>`+"\n", color, dash, pts)
	}
	svg := fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	svg += fmt.Sprintf(`<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	svg += fmt.Sprintf(`<text x="%d" y="20" font-size="14">720p transcoded stream over a link capped at %d kb/s (pion vnet)</text>`+"\n", left, capBps/1000)
	// Shade the capped span.
	var from, to float64 = -1, -1
	for _, s := range samples {
		if s.capBps > 0 {
			if from < 0 {
				from = s.at.Seconds()
			}
			to = s.at.Seconds()
		}
	}
	if from >= 0 {
		svg += fmt.Sprintf(`<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#f3e6e6"/>`+"\n", x(from), top, x(to)-x(from), h-top-bottom)
		svg += fmt.Sprintf(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#b00" stroke-dasharray="6,4"/>`+"\n", x(from), x(to), yk(float64(capBps/1000)), yk(float64(capBps/1000)))
		svg += fmt.Sprintf(`<text x="%.1f" y="%.1f" fill="#b00">cap %d kb/s</text>`+"\n", x(from)+4, yk(float64(capBps/1000))-4, capBps/1000)
	}
	// Axes and ticks.
	svg += fmt.Sprintf(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, h-bottom, w-right, h-bottom)
	svg += fmt.Sprintf(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, h-bottom)
	svg += fmt.Sprintf(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", w-right, top, w-right, h-bottom)
	for k := 0; k <= kMax; k += 500 {
		svg += fmt.Sprintf(`<text x="%d" y="%.1f" text-anchor="end">%d</text>`+"\n", left-4, yk(float64(k))+4, k)
	}
	for f := 0; f <= 40; f += 10 {
		svg += fmt.Sprintf(`<text x="%d" y="%.1f">%d</text>`+"\n", w-right+4, yf(float64(f))+4, f)
	}
	for s := 0.0; s <= tMax; s += 5 {
		svg += fmt.Sprintf(`<text x="%.1f" y="%d" text-anchor="middle">%.0f</text>`+"\n", x(s), h-bottom+16, s)
	}
	svg += fmt.Sprintf(`<text x="%d" y="%d" text-anchor="middle">seconds</text>`+"\n", (w)/2, h-6)
	svg += fmt.Sprintf(`<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">kb/s</text>`+"\n", h/2, h/2)
	svg += fmt.Sprintf(`<text x="%d" y="%d" transform="rotate(90 %d %d)" text-anchor="middle">decoded frames/s</text>`+"\n", w-14, h/2, w-14, h/2)
	svg += line("#1f77b4", "", func(s sample) (float64, float64) { return x(s.at.Seconds()), yk(float64(s.sendBps) / 1000) })
	svg += line("#ff7f0e", `stroke-dasharray="5,3"`, func(s sample) (float64, float64) { return x(s.at.Seconds()), yk(float64(s.estimate) / 1000) })
	svg += line("#2ca02c", "", func(s sample) (float64, float64) { return x(s.at.Seconds()), yf(s.fps) })
	// Legend.
	for i, l := range []struct{ color, name string }{{"#1f77b4", "sent (all packets, kb/s)"}, {"#ff7f0e", "bandwidth estimate (kb/s)"}, {"#2ca02c", "decoded frames/s (right)"}} {
		y := top + 14 + i*16
		svg += fmt.Sprintf(`<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"/><text x="%d" y="%d">%s</text>`+"\n", w-right-210, w-right-190, y-4, y-4, l.color, w-right-186, y, l.name)
	}
	svg += "</svg>\n"
	return os.WriteFile(path, []byte(svg), 0o644)
}

// audioGaps measures the audio B decoded: the longest hole in its media
// time and the share of it that is missing (what a player conceals).
func (c *frameClock) audioGaps() (longest time.Duration, concealed float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.audio) < 2 {
		return 0, 1
	}
	var missing time.Duration
	end := c.audio[0].at
	for _, a := range c.audio {
		if gap := a.at - end; gap > time.Millisecond {
			missing += gap
			longest = max(longest, gap)
		}
		end = a.at + time.Duration(a.samples)*time.Second/48000
	}
	span := end - c.audio[0].at
	return longest, float64(missing) / float64(span)
}

// dataStream sends numbered messages from A to B on a data channel and
// checks they all arrive, in order.
type dataStream struct {
	mu       sync.Mutex
	received []int
	sent     int
}

func (d *dataStream) run(t *testing.T, ctx context.Context, lab *netLab, every time.Duration) (stop func()) {
	opened := make(chan *peer.DataChannel, 1)
	peer.On(lab.a, func(ev peer.PeerJoined) {
		ch, err := ev.Peer.CreateDataChannel("seq", peer.DataChannelOptions{})
		if err != nil {
			return
		}
		peer.On(ch, func(peer.ChannelOpen) { opened <- ch })
	})
	peer.On(lab.b, func(ev peer.PeerJoined) {
		peer.On(ev.Peer, func(o peer.DataChannelOpened) {
			ch := peer.WrapDataChannel(o.Channel, peer.DataChannelOptions{})
			peer.On(ch, func(m peer.ChannelMessage) {
				n, _ := strconv.Atoi(string(m.Data))
				d.mu.Lock()
				d.received = append(d.received, n)
				d.mu.Unlock()
			})
		})
	})
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var ch *peer.DataChannel
		select {
		case ch = <-opened:
		case <-done:
			return
		}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if ch.SendText(ctx, strconv.Itoa(d.sent)) == nil {
				d.mu.Lock()
				d.sent++
				d.mu.Unlock()
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// check waits for the messages in flight, then reports how many arrived
// and whether in order.
func (d *dataStream) check(t *testing.T) (sent, received int, inOrder bool) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.mu.Lock()
		sent, received = d.sent, len(d.received)
		d.mu.Unlock()
		if received >= sent || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	inOrder = true
	for i, n := range d.received {
		if n != i {
			inOrder = false
		}
	}
	return sent, received, inOrder
}

// TestLossyLinkHolds runs a call over a link with 3 % random loss each
// way, 150 ms round trip and ±30 ms of jitter on each leg: no picture
// frozen over 1 s, audio continuous, every data-channel message in order.
func TestLossyLinkHolds(t *testing.T) {
	skipUnderRace(t)
	run := 15 * time.Second
	if longNetwork() {
		run = 90 * time.Second
	}
	clip := testMediaSized(t, "h264-bframes.mp4", "10", "640x360")
	player := loopedPlayer(t, clip)

	ctx := peertest.Context(t, run+60*time.Second)
	lab := newNetLab(t, peer.Options{}, peer.Options{})
	for _, l := range []*link{lab.toA, lab.toB} {
		l.setDelay(75*time.Millisecond, 30*time.Millisecond)
		require.NoError(t, l.setLoss(3))
	}
	var clock frameClock
	clock.receive(t, ctx, lab.b)
	var data dataStream
	stopData := data.run(t, ctx, lab, 20*time.Millisecond)
	require.NoError(t, lab.a.AddStream(peer.NewMediaStream(player.Audio, player.Video), nil))
	lab.call(t, ctx, player, &clock, 30*time.Second)
	start := time.Now()
	select {
	case <-time.After(run):
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	end := time.Now()
	stopData()
	st, err := lab.a.RemotePeers()[0].Stats(ctx)
	require.NoError(t, err)
	sb, err := lab.b.RemotePeers()[0].Stats(ctx)
	require.NoError(t, err)
	var asked uint32
	var repaired uint64
	for _, in := range sb.Inbound {
		asked += in.NACKs
		repaired += in.RetransmittedPacketsReceived
	}

	freeze := clock.longestVideoGap(start, end)
	fps := float64(clock.videoBetween(start, end)) / end.Sub(start).Seconds()
	audioGap, concealed := clock.audioGaps()
	sent, received, inOrder := data.check(t)
	var nacks uint32
	var rtx uint64
	for _, o := range st.Outbound {
		nacks += o.NACKs
		rtx += o.RetransmittedPacketsSent
	}
	report := fmt.Sprintf("lossy (3%% loss each way, 150 ms RTT, ±30 ms jitter, %v): longest frozen picture %v, %.1f decoded frames/s; audio: longest hole %v, %.1f%% concealed; data channel %d/%d in order=%v; receiver sent %d NACKs, sender answered %d with %d retransmissions, %d arrived; path RTT %v\n",
		run, freeze.Round(time.Millisecond), fps, audioGap.Round(time.Millisecond), 100*concealed, received, sent, inOrder, asked, nacks, rtx, repaired, st.Path.RTT.Round(time.Millisecond))
	t.Log(report)
	require.NoError(t, os.WriteFile(reportDir(t)+"/lossy.txt", []byte(report), 0o644))

	assert.Less(t, freeze, time.Second, "no picture frozen longer than 1 s")
	assert.Less(t, audioGap, 200*time.Millisecond, "audio continuous")
	assert.Less(t, concealed, 0.06, "audio concealment stays near the loss rate")
	assert.Greater(t, sent, 100)
	assert.Equal(t, sent, received, "every data-channel message arrives")
	assert.True(t, inOrder, "in order")
	assert.Positive(t, asked, "the receiver asked for lost packets")
	assert.Positive(t, nacks, "the sender heard")
	assert.Positive(t, rtx, "and resent them")
	assert.Positive(t, repaired, "the repairs arrived")
}

// TestRepairsOncePerLoss: over a 600 ms round trip, every 10th video
// packet lost. B's NACK generator (pion's) asks for each lost packet five
// times, 100 ms apart, and does not see the repair arrive on the RTX
// stream; A answers each loss once: the later asks reach it before its
// repair could have arrived, or after the feedback reported it received.
// (Before, every ask was answered: five repairs a loss, which behind a full
// queue kept it full.) B's Frames waits for each repair, as long as the
// round trip makes it take, instead of asking for a keyframe.
func TestRepairsOncePerLoss(t *testing.T) {
	skipUnderRace(t)
	clip := testMediaSized(t, "h264-bframes.mp4", "10", "320x240")
	player := loopedPlayer(t, clip)
	ctx := peertest.Context(t, 60*time.Second)
	lab := newNetLab(t, peer.Options{}, peer.Options{})
	for _, l := range []*link{lab.toA, lab.toB} {
		l.setDelay(300*time.Millisecond, 0)
	}
	var clock frameClock
	clock.receive(t, ctx, lab.b)
	require.NoError(t, lab.a.AddTrack(player.Video, nil, nil))
	lab.call(t, ctx, player, &clock, 30*time.Second)
	rb := lab.a.RemotePeers()[0]
	video := func() peer.OutboundTrackStats {
		st, err := rb.Stats(ctx)
		require.NoError(t, err)
		for _, o := range st.Outbound {
			if o.Kind == "video" {
				return o
			}
		}
		t.Fatal("A sends no video")
		return peer.OutboundTrackStats{}
	}
	before, asked := video(), lab.keyframeAsksByB(t, ctx)
	lab.lossEvery = 10
	lab.lossySSRC.Store(before.SSRC)
	lossFrom := time.Now()
	select {
	case <-time.After(8 * time.Second):
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	lab.lossySSRC.Store(0)
	// The last loss's five asks (0.4 s) and the round trip, twice over.
	time.Sleep(2 * time.Second)
	after, askedAfter := video(), lab.keyframeAsksByB(t, ctx)
	freeze := clock.longestVideoGap(lossFrom, time.Now())
	lost := lab.lost.Load()
	repairs := int64(after.RetransmittedPacketsSent - before.RetransmittedPacketsSent)
	asks := after.NACKs - before.NACKs
	t.Logf("%d packets lost, %d NACK packets heard, %d repairs sent (%.2f a loss); B asked for %d keyframes; longest wait between decoded frames %v",
		lost, asks, repairs, float64(repairs)/float64(max(lost, 1)), askedAfter-asked, freeze.Round(time.Millisecond))
	require.GreaterOrEqual(t, lost, int64(10), "packets were lost")
	assert.GreaterOrEqual(t, repairs, lost, "every loss repaired")
	assert.LessOrEqual(t, repairs, 2*lost, "once each (five times each without the round-trip rule)")
	// Each repair arrives a round trip and a NACK interval (0.7 s) after
	// its loss is seen; Frames waits twice the round trip (1.4 s) for it,
	// so it gives no picture up. (Waiting a fixed 500 ms, it gave up on
	// every loss and asked for a keyframe each time.)
	assert.Zero(t, askedAfter-asked, "every loss repaired in time: no picture given up")
}

// TestNetworkChangeRecovers moves A to another address mid-call (its first
// path goes away, a new one appears): the ICE-restart ladder must bring
// media back on the new path.
func TestNetworkChangeRecovers(t *testing.T) {
	skipUnderRace(t)
	clip := testMediaSized(t, "h264-bframes.mp4", "10", "320x240")
	player := loopedPlayer(t, clip)
	ctx := peertest.Context(t, 120*time.Second)
	lab := newNetLab(t, peer.Options{}, peer.Options{})
	var clock frameClock
	clock.receive(t, ctx, lab.b)
	require.NoError(t, lab.a.AddStream(peer.NewMediaStream(player.Audio, player.Video), nil))
	lab.call(t, ctx, player, &clock, 30*time.Second)
	rb := lab.a.RemotePeers()[0]
	var before peer.Stats
	var err error
	require.Eventually(t, func() bool {
		before, err = rb.Stats(ctx)
		return err == nil && before.Path != nil
	}, 10*time.Second, 50*time.Millisecond, "a selected path")
	require.Equal(t, labA, before.Path.Local.Address)

	moved := time.Now()
	lab.moveA()
	var back time.Time
	require.Eventually(t, func() bool {
		now := time.Now()
		if clock.videoBetween(now.Add(-500*time.Millisecond), now) >= 5 && now.Sub(moved) > time.Second {
			back = now
			return true
		}
		return false
	}, 90*time.Second, 50*time.Millisecond, "media comes back on the new path")
	var after peer.Stats
	require.Eventually(t, func() bool {
		after, err = rb.Stats(ctx)
		return err == nil && after.Path != nil && after.Path.Local.Address == labA2
	}, 10*time.Second, 50*time.Millisecond, "Stats shows the new path")
	report := fmt.Sprintf("network change: media back %v after A's address changed (ICE timeouts: disconnected 2 s, failed 4 s), path now %s:%d\n",
		back.Sub(moved).Round(100*time.Millisecond), after.Path.Local.Address, after.Path.Local.Port)
	t.Log(report)
	require.NoError(t, os.WriteFile(reportDir(t)+"/network-change.txt", []byte(report), 0o644))
}

// TestRecorderAsksForKeyframesAfterLoss: three outages of 800 ms whose
// repairs are lost too (retransmissions dropped until a second after):
// after each the Recorder asks the sender for a keyframe (not only at the
// start; the sender makes keyframes only when asked), and the file it
// writes still probes as video.
func TestRecorderAsksForKeyframesAfterLoss(t *testing.T) {
	skipUnderRace(t)
	clip := testMediaSized(t, "h264-bframes.mp4", "10", "320x240")
	player := loopedPlayer(t, clip)
	ctx := peertest.Context(t, 60*time.Second)
	lab := newNetLab(t, peer.Options{}, peer.Options{})
	path := t.TempDir() + "/lossy.mkv"
	recorded := make(chan *Recorder, 1)
	var video atomic.Uint32 // the video's SSRC
	peer.On(lab.b, func(ev peer.PeerJoined) {
		remote := ev.Peer
		peer.On(remote, func(tr peer.Track) {
			if tr.Track.Kind() != webrtc.RTPCodecTypeVideo {
				return
			}
			rec, err := NewRecorder(path)
			if err == nil && rec.AddTrack(tr.Track) == nil {
				video.Store(uint32(tr.Track.SSRC()))
				recorded <- rec
			}
		})
	})
	require.NoError(t, lab.a.AddTrack(player.Video, nil, nil))
	require.NoError(t, lab.a.Join(ctx, "net"))
	require.NoError(t, lab.b.Join(ctx, "net"))
	require.NoError(t, player.Start())
	var rec *Recorder
	select {
	case rec = <-recorded:
	case <-ctx.Done():
		t.Fatal("no video reached B")
	}
	time.Sleep(2 * time.Second)
	rp := lab.a.RemotePeers()[0]
	pliCount := func() (n uint32) {
		st, err := rp.Stats(ctx)
		require.NoError(t, err)
		for _, o := range st.Outbound {
			n += o.PLIs
		}
		return n
	}
	start := pliCount()
	for range 3 {
		lab.onlySSRC.Store(video.Load())
		lab.blocked.Store(labB, struct{}{})
		time.Sleep(800 * time.Millisecond)
		lab.blocked.Delete(labB)
		time.Sleep(time.Second)
		lab.onlySSRC.Store(0)
		time.Sleep(time.Second)
	}
	plis := pliCount() - start
	require.NoError(t, rec.Close())
	info, err := Probe(path)
	require.NoError(t, err)
	t.Logf("recorder: %d keyframe requests after 3 outages; recording: %s", plis, info)
	// Before the fix none were asked for; an outage NACKs can repair needs
	// none (the sender keeps 1024 packets), so the repairs are lost here.
	assert.GreaterOrEqual(t, plis, uint32(3), "a keyframe asked for after each outage")
	assert.Contains(t, info.String(), "vp8")
}

// loopedPlayer opens clip, looping, and closes it when the test ends.
func loopedPlayer(t *testing.T, clip string) *Player {
	t.Helper()
	player, err := FromFile(clip, WithLoop(true))
	require.NoError(t, err)
	t.Cleanup(func() { _ = player.Close() })
	return player
}

// call joins A and B, starts player and waits, up to within, until B
// decodes its video.
func (lab *netLab) call(t *testing.T, ctx context.Context, player *Player, clock *frameClock, within time.Duration) {
	t.Helper()
	require.NoError(t, lab.a.Join(ctx, "net"))
	require.NoError(t, lab.b.Join(ctx, "net"))
	require.NoError(t, player.Start())
	require.Eventually(t, func() bool { return clock.videoBetween(time.Time{}, time.Now()) > 0 }, within, 50*time.Millisecond, "B decodes video")
}
