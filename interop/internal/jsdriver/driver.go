// Package jsdriver runs interop/js/*-driver.mjs in Node and talks to it in
// JSON lines: commands in, replies and events out.
package jsdriver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Dir is the interop/js folder.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "js")
}

// Driver is one running Node process.
type Driver struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	nextID int
	wait   map[int]chan Reply
	events chan Event
	done   chan struct{}
	stderr *LockedBuffer
}

// Reply answers one command.
type Reply struct {
	ID     int             `json:"id"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  *JSError        `json:"error"`
}

// JSError is a JS exception, as the driver reports it.
type JSError struct {
	Name      string  `json:"name"`
	Message   string  `json:"message"`
	Size      float64 `json:"size"`
	Cap       float64 `json:"cap"`
	CloseCode float64 `json:"closeCode"`
}

func (e *JSError) Error() string { return "js " + e.Name + ": " + e.Message }

// Event is one event the SDK emitted.
type Event struct {
	Event   string          `json:"event"`
	Payload json.RawMessage `json:"payload"`
}

// Chromium is the browser StartBrowser drives: $CHROMIUM, else Debian's.
func Chromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// StartBrowser runs browser-driver.mjs: the JS SDK inside headless
// Chromium, driven with the same commands as peer-driver.mjs. env adds
// variables (KEY=value) to the driver's environment.
func StartBrowser(env ...string) (*Driver, error) {
	if _, err := os.Stat(Chromium()); err != nil {
		return nil, errors.New("chromium is not installed at " + Chromium() + ": run `make setup`")
	}
	return Start("browser-driver.mjs", env...)
}

// Start runs script (a file in Dir) with node, env added to its
// environment. It fails with a clear message when Node or the packages are
// missing.
func Start(script string, env ...string) (*Driver, error) {
	dir := Dir()
	if _, err := exec.LookPath("node"); err != nil {
		return nil, errors.New("node is not installed: run `make setup`")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@metered-ca", "realtime")); err != nil {
		return nil, errors.New("interop/js/node_modules is missing: run `make setup` (npm ci)")
	}
	cmd := exec.Command("node", script)
	cmd.Dir = dir
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	d := &Driver{cmd: cmd, stdin: stdin, wait: map[int]chan Reply{}, events: make(chan Event, 65536), done: make(chan struct{}), stderr: &LockedBuffer{}}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go d.read(stdout)
	return d, nil
}

func (d *Driver) read(r io.Reader) {
	defer close(d.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var probe struct {
			ID    *int   `json:"id"`
			Event string `json:"event"`
		}
		if json.Unmarshal(line, &probe) != nil {
			continue
		}
		if probe.Event != "" {
			var ev Event
			_ = json.Unmarshal(line, &ev)
			select {
			case d.events <- ev:
			default: // a test that ignores events must not stall the driver
			}
			continue
		}
		var rep Reply
		if json.Unmarshal(line, &rep) == nil && probe.ID != nil {
			d.mu.Lock()
			ch := d.wait[rep.ID]
			delete(d.wait, rep.ID)
			d.mu.Unlock()
			if ch != nil {
				ch <- rep
			}
		}
	}
}

// Do sends one command and waits for its reply. A JS exception comes back
// as *JSError.
func (d *Driver) Do(ctx context.Context, cmd string, args map[string]any) (json.RawMessage, error) {
	d.mu.Lock()
	d.nextID++
	id := d.nextID
	ch := make(chan Reply, 1)
	d.wait[id] = ch
	d.mu.Unlock()
	msg := map[string]any{"id": id, "cmd": cmd}
	for k, v := range args {
		msg[k] = v
	}
	b, _ := json.Marshal(msg)
	if _, err := d.stdin.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("jsdriver: write: %w (stderr: %s)", err, d.stderr.String())
	}
	select {
	case rep := <-ch:
		if !rep.OK {
			return nil, rep.Error
		}
		return rep.Result, nil
	case <-d.done:
		return nil, fmt.Errorf("jsdriver: node exited (stderr: %s)", d.stderr.String())
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Next waits for the next event named name, skipping others.
func (d *Driver) Next(ctx context.Context, name string) (Event, error) {
	for {
		select {
		case ev := <-d.events:
			if ev.Event == name {
				return ev, nil
			}
		case <-ctx.Done():
			return Event{}, fmt.Errorf("jsdriver: no %q event: %w", name, ctx.Err())
		}
	}
}

// Stream is every event, for a test that consumes them all in one place
// (instead of Next).
func (d *Driver) Stream() <-chan Event { return d.events }

// Pending returns (and consumes) the events nobody has read yet.
func (d *Driver) Pending() []Event {
	var out []Event
	for {
		select {
		case ev := <-d.events:
			out = append(out, ev)
		default:
			return out
		}
	}
}

// Stderr is everything the Node process wrote to stderr so far.
func (d *Driver) Stderr() string { return d.stderr.String() }

// Close ends the Node process (it closes its client on stdin EOF).
func (d *Driver) Close() error {
	_ = d.stdin.Close()
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		_ = d.cmd.Process.Kill()
	}
	return d.cmd.Wait()
}

// LockedBuffer is a log sink many goroutines may write: a driver's
// stderr, and the Go side's trace in a test that prints both on failure.
type LockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

// String is everything written so far.
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// Tail is the last n lines written.
func (l *LockedBuffer) Tail(n int) string { return TailLines(l.String(), n) }

// TailLines is the last n lines of s.
func TailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
