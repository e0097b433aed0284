package main

import (
	"os"
	"path/filepath"
)

// findSDK looks for the JS SDK that `make setup` installs, from the
// repository or below it.
func findSDK() string {
	for _, dir := range []string{".", "..", "../..", "../../.."} {
		p := filepath.Join(dir, "interop", "js", "node_modules", "@metered-ca", "realtime", "dist", "index.mjs")
		if _, err := os.Stat(p); err == nil {
			abs, _ := filepath.Abs(p)
			return abs
		}
	}
	return ""
}
