// Package examples holds runnable programs that show realtime-go at work.
// Each runs against the embedded local server by default and against the
// real Metered service when METERED_API_KEY is set.
//
//	go run ./examples/demo
package examples
