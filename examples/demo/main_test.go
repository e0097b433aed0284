package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoRuns runs the demo end to end on the embedded server with a short
// clip, and checks what it prints and records.
func TestDemoRuns(t *testing.T) {
	t.Setenv("METERED_API_KEY", "")
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := run(ctx, 3*time.Second, dir, out); err != nil {
		t.Fatal(err)
	}
	out.Close()
	b, _ := os.ReadFile(out.Name())
	for _, want := range []string{"local RMS server on ws://", "recorded ", "probe: ", "vp8 320x240", "opus 48000 Hz"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("output lacks %q:\n%s", want, b)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "realtime-go-demo-recording.webm")); err != nil {
		t.Error(err)
	}
}
