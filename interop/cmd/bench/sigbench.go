package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/metered-ca/realtime-go/interop/internal/jsdriver"
	"github.com/metered-ca/realtime-go/signalling"
)

// The signalling benchmarks run each client in a process of its own (Go:
// interop/cmd/sigbench, JS: interop/js/sigbench.mjs), with the same roles,
// the same output, and whole-process CPU from getrusage on both sides. The
// other end of every exchange is this process, the same for both SDKs.

// sdk names a client implementation under test.
type sdk string

const (
	goSDK sdk = "Go"
	jsSDK sdk = "JS"
)

// subjectResult is what a subject process reports for its timed part.
type subjectResult struct {
	CPUMicros  int64   `json:"cpuMicros"`
	WallMicros int64   `json:"wallMicros"`
	RTTMicros  []int64 `json:"rttMicros"`
	SeqSum     int     `json:"seqSum"`
}

// subject is one running sigbench process.
type subject struct {
	cmd   *exec.Cmd
	out   *bufio.Scanner
	stdin io.WriteCloser
	errb  *strings.Builder
}

// buildSigbench compiles the Go subject once, so that both subjects start
// from a ready binary.
func buildSigbench(dir string) (string, error) {
	bin := filepath.Join(dir, "sigbench")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/sigbench")
	cmd.Dir = filepath.Join(jsdriver.Dir(), "..")
	cmd.Stderr = os.Stderr
	return bin, cmd.Run()
}

func startSubject(ctx context.Context, bin string, who sdk, cfg map[string]any) (*subject, error) {
	arg, _ := json.Marshal(cfg)
	var cmd *exec.Cmd
	if who == goSDK {
		cmd = exec.CommandContext(ctx, bin)
	} else {
		cmd = exec.CommandContext(ctx, "node", filepath.Join(jsdriver.Dir(), "sigbench.mjs"))
	}
	s := &subject{cmd: cmd, errb: &strings.Builder{}}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	s.stdin = stdin
	cmd.Stderr = s.errb
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	if _, err := stdin.Write(append(arg, '\n')); err != nil { // the settings, off the command line
		s.close()
		return nil, err
	}
	s.out = bufio.NewScanner(stdout)
	s.out.Buffer(make([]byte, 0, 1<<16), 1<<26)
	if _, err := s.next(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// next reads the subject's next line.
func (s *subject) next() ([]byte, error) {
	if !s.out.Scan() {
		_ = s.cmd.Wait()
		return nil, fmt.Errorf("%s exited: %s", filepath.Base(s.cmd.Path), strings.TrimSpace(s.errb.String()))
	}
	return s.out.Bytes(), nil
}

func (s *subject) result() (subjectResult, error) {
	b, err := s.next()
	if err != nil {
		return subjectResult{}, err
	}
	var r subjectResult
	return r, json.Unmarshal(b, &r)
}

func (s *subject) close() {
	_ = s.stdin.Close()
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// sigBench is one signalling benchmark's settings: n timed messages after
// warm untimed ones, each with size bytes of padding.
type sigBench struct {
	url, bin      string
	n, warm, size int
}

func (b sigBench) connect(ctx context.Context) (*signalling.Client, error) {
	c, err := signalling.New(signalling.Options{URL: b.url, APIKey: "pk_bench"})
	if err != nil {
		return nil, err
	}
	if err := c.Connect(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// receive: the subject takes the messages this process publishes, as
// fast as 16 unacked allow (pace 0) or one every pace, decoding each one's
// data and reading its seq; the sum of them all must come back.
func (b sigBench) receive(ctx context.Context, who sdk, channel string, pace time.Duration) (subjectResult, error) {
	pub, err := b.connect(ctx)
	if err != nil {
		return subjectResult{}, err
	}
	defer pub.Close()
	s, err := startSubject(ctx, b.bin, who, map[string]any{"role": "recv", "url": b.url, "apiKey": "pk_bench", "channel": channel, "n": b.n, "warm": b.warm})
	if err != nil {
		return subjectResult{}, err
	}
	defer s.close()
	if err := publishMany(ctx, pub, channel, b.warm+b.n, b.size, pace); err != nil {
		return subjectResult{}, err
	}
	r, err := s.result()
	if total := b.warm + b.n; err == nil && r.SeqSum != total*(total-1)/2 {
		return r, fmt.Errorf("%s receiver read seq sum %d, want %d", who, r.SeqSum, total*(total-1)/2)
	}
	return r, err
}

// publish: the subject publishes n messages, 16 unacked at most, while this
// process subscribes to them.
func (b sigBench) publish(ctx context.Context, who sdk, channel string) (subjectResult, error) {
	sub, err := b.connect(ctx)
	if err != nil {
		return subjectResult{}, err
	}
	defer sub.Close()
	if err := sub.Subscribe(ctx, channel); err != nil {
		return subjectResult{}, err
	}
	s, err := startSubject(ctx, b.bin, who, map[string]any{"role": "pub", "url": b.url, "apiKey": "pk_bench", "channel": channel, "n": b.n, "warm": b.warm, "size": b.size, "window": 16})
	if err != nil {
		return subjectResult{}, err
	}
	defer s.close()
	return s.result()
}

// roundTrip: an echo and a ping process of the same SDK.
func (b sigBench) roundTrip(ctx context.Context, who sdk, channel string, n int) (subjectResult, error) {
	echo, err := startSubject(ctx, b.bin, who, map[string]any{"role": "echo", "url": b.url, "apiKey": "pk_bench", "channel": channel})
	if err != nil {
		return subjectResult{}, err
	}
	defer echo.close()
	ping, err := startSubject(ctx, b.bin, who, map[string]any{"role": "ping", "url": b.url, "apiKey": "pk_bench", "channel": channel, "n": n})
	if err != nil {
		return subjectResult{}, err
	}
	defer ping.close()
	return ping.result()
}

// publishMany publishes n messages of size bytes of padding: 16 unacked at
// most when pace is 0, else one every pace (64 unacked at most).
func publishMany(ctx context.Context, c *signalling.Client, channel string, n, size int, pace time.Duration) error {
	pad := strings.Repeat("x", size)
	window := 16
	if pace > 0 {
		window = 64
	}
	slots := make(chan struct{}, window)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	start := time.Now()
	for i := 0; i < n; i++ {
		if pace > 0 {
			if d := time.Until(start.Add(time.Duration(i) * pace)); d > 0 {
				time.Sleep(d)
			}
		}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := c.Publish(ctx, channel, map[string]any{"seq": i, "pad": pad}); err != nil {
				once.Do(func() { first = err })
			}
		}()
	}
	wg.Wait()
	return first
}
