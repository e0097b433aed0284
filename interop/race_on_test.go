//go:build race

package interop

// raceEnabled: the timing runs (TestChromiumOnCappedRelay) measure rates
// the race detector's slow-down distorts; make test runs them without it.
const raceEnabled = true
