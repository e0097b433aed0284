package main

import (
	"context"
	"testing"
	"time"
)

func TestRuns(t *testing.T) {
	t.Setenv("METERED_API_KEY", "")
	t.Setenv("DISPLAY", "") // the test clips stand in for the devices
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx); err != nil {
		t.Fatal(err)
	}
}
