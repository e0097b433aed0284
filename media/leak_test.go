package media

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metered-ca/realtime-go/media/internal/av"
	"github.com/metered-ca/realtime-go/peer/peertest"
)

// rss is the process's resident set in bytes (Linux).
func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	require.NoError(t, err)
	pages, err := strconv.ParseInt(strings.Fields(string(b))[1], 10, 64)
	require.NoError(t, err)
	return pages * int64(os.Getpagesize())
}

// Opening and closing players (decoders, encoders, resamplers, demuxers)
// and audio sources over and over frees every FFmpeg object and leaves the
// resident set flat.
func TestOpenCloseLoopsDoNotLeak(t *testing.T) {
	file := testMedia(t, "h264-bframes.mp4", "1")
	ctx := peertest.Context(t, 120*time.Second)
	var phase float64
	pcm := sine(200, 16000, 1, 40*time.Millisecond, &phase)
	cycle := func() {
		p, err := FromFile(file) // transcodes: decoders, VP8 and Opus encoders
		require.NoError(t, err)
		require.NoError(t, p.Close())
		s, err := NewAudioSource(AudioFormat{SampleRate: 16000, Channels: 1})
		require.NoError(t, err)
		require.NoError(t, s.Push(ctx, pcm))
		require.NoError(t, s.Close())
	}
	settle := func() (rssBytes int64, heapBytes uint64) {
		runtime.GC()
		debug.FreeOSMemory()
		av.TrimCHeap()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return rss(t), ms.HeapAlloc
	}
	// glibc's per-thread malloc arenas (cgo calls run on many threads)
	// grow for a while and then level off, and the resident set wanders
	// by several MiB either way from one reading to the next: warm up,
	// then read it after every batch and fit a line. A leak shows as a
	// slope; the wander, spread over 800 cycles and nine readings, stays
	// under a third of the bound (TestOpenCloseLoopsDoNotLeak's log).
	const warm, batches, batch = 200, 8, 100
	for i := 0; i < warm; i++ {
		cycle()
	}
	var xs, ys []float64
	r0, h0 := settle()
	xs, ys = append(xs, 0), append(ys, float64(r0))
	var h1 uint64
	for k := 1; k <= batches; k++ {
		for i := 0; i < batch; i++ {
			cycle()
		}
		r, h := settle()
		xs, ys = append(xs, float64(k*batch)), append(ys, float64(r))
		h1 = h
	}
	assert.Zero(t, av.Live(), "every FFmpeg object freed")
	slope := leastSquaresSlope(xs, ys) / 1024 // KiB per cycle
	t.Logf("RSS after %d warm-up cycles %d MiB, after %d more %d MiB; fitted slope %+.1f KiB/cycle; Go heap %d → %d KiB",
		warm, r0>>20, batches*batch, int64(ys[len(ys)-1])>>20, slope, h0>>10, h1>>10)
	assert.Less(t, int64(h1)-int64(h0), int64(1<<20), "the Go heap grows with open/close cycles")
	if !raceEnabled {
		// A leak of 25 KiB a cycle or more crosses this.
		assert.Less(t, slope, 25.0, "RSS still grows with open/close cycles")
	}
}

// leastSquaresSlope is the slope of the line that best fits (xs, ys).
func leastSquaresSlope(xs, ys []float64) float64 {
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(ys))
	var num, den float64
	for i := range xs {
		num += (xs[i] - mx) * (ys[i] - my)
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	return num / den
}
