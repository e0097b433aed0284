package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// The bridge itself is proven against an RTSP server in the media module's
// tests (TestRTSPBridgeRecorded); here: a camera that is not there ends the
// program with a clear error and no secret in it.
func TestUnreachableCamera(t *testing.T) {
	t.Setenv("METERED_API_KEY", "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := run(ctx, "rtsp://admin:hunter2@127.0.0.1:1/stream1", "cameras")
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a connection error, got %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("the password leaked: %v", err)
	}
}
