package av

import "sync/atomic"

var live atomic.Int64

// Live is the number of FFmpeg-backed values not yet closed.
func Live() int64 { return live.Load() }
