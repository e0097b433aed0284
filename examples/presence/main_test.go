package main

import "testing"

// TestDemoRuns runs the demo end to end on the embedded server.
func TestDemoRuns(t *testing.T) {
	t.Setenv("METERED_API_KEY", "")
	if err := run(); err != nil {
		t.Fatal(err)
	}
}
