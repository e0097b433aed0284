package main

import (
	"context"
	"testing"
	"time"
)

func TestRuns(t *testing.T) {
	t.Setenv("METERED_API_KEY", "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, "", 2*time.Second); err != nil {
		t.Fatal(err)
	}
}
