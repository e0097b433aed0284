// Package rmslocal builds and runs the rms-local binary for tests that want
// the real command, not the in-process library.
package rmslocal

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Server is a running rms-local process.
type Server struct {
	URL string
	cmd *exec.Cmd
}

// Start builds rms-local into dir and runs it with args on a free port.
func Start(dir string, args ...string) (*Server, error) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	bin := filepath.Join(dir, "rms-local")
	build := exec.Command("go", "build", "-o", bin, "./cmd/rms-local")
	build.Dir = filepath.Join(root, "testserver")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build rms-local: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		for sc.Scan() {
		}
	}()
	select {
	case l, ok := <-line:
		url, found := strings.CutPrefix(l, "listening on ")
		if !ok || !found {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, errors.New("rms-local: unexpected first line " + l)
		}
		return &Server{URL: url, cmd: cmd}, nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, errors.New("rms-local did not start")
	}
}

// RSS is the server process's resident set in bytes (Linux).
func (s *Server) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			_, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10, err
		}
	}
	return 0, errors.New("rms-local: no VmRSS")
}

// Close stops the server with SIGINT (graceful) and waits for it.
func (s *Server) Close() error {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		return <-done
	}
}
