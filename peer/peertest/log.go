package peertest

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
)

// FailureLog returns a debug-level logger whose lines the test prints only
// if it fails: the detail of a rare failure without the noise of every
// passing run.
func FailureLog(t testing.TB) *slog.Logger {
	buf := &LogBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("debug log:\n" + buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// LogBuffer collects log output from many goroutines: an io.Writer for a
// slog handler that a test reads back.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
