//go:build race

package media

// raceEnabled: the race detector keeps history that grows the resident
// set, so RSS bounds are checked in the non-race pass (make test runs one).
const raceEnabled = true
