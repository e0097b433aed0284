package agenttest_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/metered-ca/realtime-go/agent"
	"github.com/metered-ca/realtime-go/agent/agenttest"
	"github.com/metered-ca/realtime-go/media"
	"github.com/metered-ca/realtime-go/peer"
	"github.com/stretchr/testify/require"
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
// this process: in each, an agent peer in a channel of its own, its
// Listener (VAD, echo guard, turns) on the user's audio, Opus both ways, a
// scripted model and speech from a cache. The users are the agents' far
// end, as browsers are: they and their servers run in a child process
// (sessionUsers), so that what they cost and how the scheduler treats
// them are not the agent process's, as in a real deployment. Every user
// asks every 4 s (staggered; a recording encoded once, as a browser would
// send it) and hears a two-second answer. Reported: the longest audio
// hole at any user (what reached them, frame to frame), its 95th
// percentile over users, and the agent process's CPU and memory per
// session (the users' CPU beside it).
func BenchmarkSessions(b *testing.B) {
	n := 50
	if v, err := strconv.Atoi(os.Getenv("AGENT_SESSIONS")); err == nil && v > 0 {
		n = v
	}
	tts := &cachedTTS{cache: map[string][]int16{}}
	const answer = "The next train leaves at nine from platform two."
	if _, _, err := tts.Speak(context.Background(), answer); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), sessionsSteady+2*time.Minute)
		users, err := startSessionUsers(ctx, n)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		var agents []*agent.Agent
		var peers []*peer.MeteredPeer
		for _, c := range users.calls {
			a := &agent.Agent{
				LLM:    agent.Scripted{Script: func([]agent.Message) []agent.Delta { return []agent.Delta{{Text: answer}} }},
				TTS:    tts,
				NewSTT: func() (agent.STT, error) { return nil, nil },
			}
			p, err := peer.New(peer.Options{URL: c.url, APIKey: "pk_agent"})
			if err != nil {
				b.Fatal(err)
			}
			if err := a.Start(ctx, p); err != nil {
				b.Fatal(err)
			}
			if err := p.Join(ctx, c.channel); err != nil {
				b.Fatal(err)
			}
			agents, peers = append(agents, a), append(peers, p)
		}
		if err := users.say("go"); err != nil {
			b.Fatal(err)
		}
		if _, err := users.expect("ready"); err != nil {
			b.Fatal(err)
		}
		start, cpu0 := time.Now(), cpuTime()
		report, err := users.expect("holes")
		if err != nil {
			b.Fatal(err)
		}
		took, cpu := time.Since(start), cpuTime()-cpu0
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		var gaps []time.Duration
		var usersCPU time.Duration
		var usersGCs, usersAlloc int64
		for i, f := range strings.Fields(report) {
			v, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				b.Fatalf("users' report %q: %v", report, err)
			}
			switch i {
			case 0:
				usersCPU = time.Duration(v)
			case 1:
				usersGCs = v
			case 2:
				usersAlloc = v
			default:
				gaps = append(gaps, time.Duration(v))
			}
		}
		if len(gaps) != n {
			b.Fatalf("users reported %d holes for %d sessions", len(gaps), n)
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
		b.ReportMetric(float64(usersCPU)/float64(took)/float64(n)*100, "users-cpu-%-per-session")
		b.ReportMetric(float64(usersGCs), "users-gcs")
		b.ReportMetric(float64(usersAlloc)/(1<<20), "users-alloc-MB")
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/float64(n)/1024, "heap-KiB-per-session")
		b.ReportMetric(float64(n), "sessions")
		for i := range agents {
			_ = peers[i].Close("")
			_ = agents[i].Close()
		}
		if err := users.close(); err != nil {
			b.Fatal(err)
		}
		cancel()
	}
}

// sessionsSteady is how long the sessions benchmark measures.
const sessionsSteady = 30 * time.Second

// sessionUsers is the child process BenchmarkSessions runs its users in,
// spoken to a line at a time.
type sessionUsers struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	calls []struct{ url, channel string }
}

// startSessionUsers starts n users, each with a server and a channel of
// its own, and reads where the agents join them.
func startSessionUsers(ctx context.Context, n int) (*sessionUsers, error) {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSessionUsers$", "-test.count=1")
	// The users stand in for browsers, whose collectors are not what is
	// measured: theirs runs only past 4 GiB (a 50-session run allocates
	// about 130 MB there), so that a mark of theirs, which held their
	// network reads back 60-120 ms, is not counted as an agent's hole.
	cmd.Env = append(os.Environ(), "AGENT_SESSION_USERS="+strconv.Itoa(n), "GOGC=off", "GOMEMLIMIT=4GiB")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	u := &sessionUsers{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	for len(u.calls) < n {
		line, err := u.expect("call")
		if err != nil {
			_ = u.close()
			return nil, err
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			_ = u.close()
			return nil, fmt.Errorf("users: a call line %q", line)
		}
		u.calls = append(u.calls, struct{ url, channel string }{f[0], f[1]})
	}
	return u, nil
}

func (u *sessionUsers) say(word string) error {
	_, err := fmt.Fprintln(u.in, word)
	return err
}

// expect reads lines until one starting with word, and returns the rest.
func (u *sessionUsers) expect(word string) (string, error) {
	for u.out.Scan() {
		if rest, ok := strings.CutPrefix(u.out.Text(), word); ok {
			return strings.TrimSpace(rest), nil
		}
	}
	return "", fmt.Errorf("users: ended before %q: %v", word, u.out.Err())
}

// close ends the users (their calls close) and waits for the process.
func (u *sessionUsers) close() error {
	_ = u.in.Close()
	for u.out.Scan() {
	}
	return u.cmd.Wait()
}

// TestSessionUsers is BenchmarkSessions' child process, and does nothing
// as a test. It starts AGENT_SESSION_USERS calls and prints where each
// is; on "go" (the agents have joined) it waits until every user hears
// its agent, prints "ready", has each ask every 4 s for sessionsSteady,
// and prints "holes", its CPU time (ns), its collections while the users
// asked, the bytes it allocated in all and each user's longest hole (ns);
// it ends when its input does.
func TestSessionUsers(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("AGENT_SESSION_USERS"))
	if n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sessionsSteady+2*time.Minute)
	defer cancel()
	speech, _, err := media.Speak(ctx, "When does the next train leave?", media.SpeakOptions{})
	require.NoError(t, err)
	// The question is encoded once (VoIP, a browser microphone's mode)
	// and played as a recording, as a browser would send it.
	question, err := media.EncodeAudio(agent.PCMBytes(speech), media.AudioFormat{SampleRate: agent.SampleRate, Channels: 1})
	require.NoError(t, err)
	calls := make([]*agenttest.Call, n)
	for i := range calls {
		calls[i] = agenttest.New(t)
		fmt.Printf("call %s %s\n", calls[i].URL, calls[i].Channel)
	}
	in := bufio.NewScanner(os.Stdin)
	require.True(t, in.Scan() && in.Text() == "go", "the agents joined")
	for _, c := range calls {
		require.NoError(t, c.Ready(ctx))
	}
	fmt.Println("ready")
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	start, cpu0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 4 * time.Second / time.Duration(n)) // staggered
			for time.Since(start) < sessionsSteady-4*time.Second {
				start, _, err := c.PlayEncoded(ctx, question)
				if err != nil {
					return
				}
				time.Sleep(time.Until(start.Add(4 * time.Second)))
			}
		})
	}
	wg.Wait()
	time.Sleep(time.Until(start.Add(sessionsSteady)))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	report := []string{strconv.FormatInt(int64(cpuTime()-cpu0), 10), strconv.Itoa(int(ms.NumGC - ms0.NumGC)), strconv.FormatUint(ms.TotalAlloc, 10)}
	for _, c := range calls {
		report = append(report, strconv.FormatInt(int64(c.LongestGap(start.Add(time.Second), start.Add(sessionsSteady))), 10))
	}
	fmt.Println("holes", strings.Join(report, " "))
	for in.Scan() {
	}
}
