package signalling

import (
	"math"
	"math/rand/v2"
	"time"
)

// reconnectDelay is the JS SDK's computeReconnectDelay: attempt n (1-based)
// waits min(initial×mult^(n−1), max), raised to floor, jittered by ±ratio.
// r is uniform in [0, 1).
func reconnectDelay(cfg *config, attempt int, floor time.Duration, r float64) time.Duration {
	exp := max(0, attempt-1)
	base := math.Min(float64(cfg.initialDelay)*math.Pow(cfg.multiplier, float64(exp)), float64(cfg.maxDelay))
	b := math.Max(base, float64(floor))
	delta := b * cfg.jitter * (r*2 - 1)
	ms := math.Floor((b + delta) / float64(time.Millisecond))
	return time.Duration(max(0, ms)) * time.Millisecond
}

func jitterSample() float64 { return rand.Float64() }
