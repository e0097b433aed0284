package agenttest_test

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/metered-ca/realtime-go/agent"
	"github.com/metered-ca/realtime-go/agent/agenttest"
	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
)

// cachedTTS speaks from a cache: what a production agent does for its
// greetings and stock phrases, and what keeps a sessions benchmark about
// the sessions.
type cachedTTS struct {
	mu    sync.Mutex
	cache map[string][]int16
}

func (c *cachedTTS) Speak(ctx context.Context, text string) ([]int16, media.AudioFormat, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pcm, ok := c.cache[text]
	if !ok {
		var err error
		if pcm, _, err = media.Speak(ctx, text, media.SpeakOptions{}); err != nil {
			return nil, media.AudioFormat{}, err
		}
		c.cache[text] = pcm
	}
	return pcm, media.AudioFormat{SampleRate: agent.SampleRate, Channels: 1}, nil
}

// cpuTime is this process's user and system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSessions runs AGENT_SESSIONS (50) agent sessions at once in
// this process: in each, a user peer and an agent peer in a channel of
// their own, the agent's Listener (VAD, echo guard, turns) on the user's
// audio, Opus both ways, a scripted model and speech from a cache. Every
// user asks every 4 s (staggered; a recording encoded once, as a browser
// would send it) and hears a two-second answer. Reported:
// the longest audio hole at any user (what reached them, frame to frame),
// its 95th percentile over users, and CPU and memory per session.
func BenchmarkSessions(b *testing.B) {
	n := 50
	if v, err := strconv.Atoi(os.Getenv("AGENT_SESSIONS")); err == nil && v > 0 {
		n = v
	}
	const steady = 30 * time.Second
	tts := &cachedTTS{cache: map[string][]int16{}}
	speech, _, err := media.Speak(context.Background(), "When does the next train leave?", media.SpeakOptions{})
	if err != nil {
		b.Fatal(err)
	}
	// The users are browsers' stand-ins: their question is encoded once
	// (VoIP, a browser microphone's mode) and played as a recording, so
	// the process's CPU is the agents' and what carries their calls.
	question, err := media.EncodeAudio(agent.PCMBytes(speech), media.AudioFormat{SampleRate: agent.SampleRate, Channels: 1})
	if err != nil {
		b.Fatal(err)
	}
	const answer = "The next train leaves at nine from platform two."
	if _, _, err := tts.Speak(context.Background(), answer); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), steady+2*time.Minute)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		calls := make([]*agenttest.Call, n)
		var agents []*agent.Agent
		var peers []*peer.MeteredPeer
		for i := range n {
			calls[i] = agenttest.New(b)
			a := &agent.Agent{
				LLM:    agent.Scripted{Script: func([]agent.Message) []agent.Delta { return []agent.Delta{{Text: answer}} }},
				TTS:    tts,
				NewSTT: func() (agent.STT, error) { return nil, nil },
			}
			p, err := peer.New(peer.Options{URL: calls[i].URL, APIKey: "pk_agent"})
			if err != nil {
				b.Fatal(err)
			}
			if err := a.Start(ctx, p); err != nil {
				b.Fatal(err)
			}
			if err := p.Join(ctx, calls[i].Channel); err != nil {
				b.Fatal(err)
			}
			agents, peers = append(agents, a), append(peers, p)
		}
		for _, c := range calls {
			if err := c.Ready(ctx); err != nil {
				b.Fatal(err)
			}
		}
		start, cpu0 := time.Now(), cpuTime()
		var wg sync.WaitGroup
		for i, c := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(i) * 4 * time.Second / time.Duration(n)) // staggered
				for time.Since(start) < steady-4*time.Second {
					start, _, err := c.PlayEncoded(ctx, question)
					if err != nil {
						return
					}
					time.Sleep(time.Until(start.Add(4 * time.Second)))
				}
			}()
		}
		wg.Wait()
		time.Sleep(time.Until(start.Add(steady)))
		took, cpu := time.Since(start), cpuTime()-cpu0
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		gaps := make([]time.Duration, n)
		for i, c := range calls {
			gaps[i] = c.LongestGap(start.Add(time.Second), start.Add(steady))
		}
		slices.Sort(gaps)
		// Audio the users' receiver reports counted lost: the jitter
		// buffer waits 200 ms for a missing packet before it skips it.
		var lost int64
		for _, p := range peers {
			for _, rp := range p.RemotePeers() {
				if st, err := rp.Stats(ctx); err == nil {
					for _, o := range st.Outbound {
						lost += o.PacketsLost
					}
				}
			}
		}
		b.ReportMetric(float64(lost), "lost-packets")
		b.ReportMetric(float64(gaps[n-1])/1e6, "worst-hole-ms")
		b.ReportMetric(float64(gaps[min(n-1, n*95/100)])/1e6, "p95-hole-ms")
		b.ReportMetric(float64(cpu)/float64(took)/float64(n)*100, "cpu-%-per-session")
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/float64(n)/1024, "heap-KiB-per-session")
		b.ReportMetric(float64(n), "sessions")
		cancel()
		for i := range agents {
			_ = peers[i].Close("")
			_ = agents[i].Close()
			calls[i].Close()
		}
	}
}
