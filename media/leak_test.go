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
	var heap [3]uint64
	settle := func(i int) int64 {
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap[i] = ms.HeapAlloc
		return rss(t)
	}
	// glibc's per-thread malloc arenas (cgo calls run on many threads)
	// grow for a while and then level off: warm up, then compare two equal
	// runs; a leak shows as the same growth in both.
	const warm, n = 200, 400
	for i := 0; i < warm; i++ {
		cycle()
	}
	r1 := settle(0)
	for i := 0; i < n; i++ {
		cycle()
	}
	r2 := settle(1)
	for i := 0; i < n; i++ {
		cycle()
	}
	r3 := settle(2)
	assert.Zero(t, av.Live(), "every FFmpeg object freed")
	t.Logf("RSS after %d warm-up cycles %d MiB, +%d cycles %d MiB, +%d more %d MiB (last slope %+d KiB/cycle); Go heap %d → %d → %d KiB",
		warm, r1>>20, n, r2>>20, n, r3>>20, (r3-r2)/1024/n, heap[0]>>10, heap[1]>>10, heap[2]>>10)
	assert.Less(t, int64(heap[2])-int64(heap[1]), int64(1<<20), "the Go heap grows with open/close cycles")
	if !raceEnabled {
		// The C allocator's footprint wanders by a few MiB either way; a
		// leak of 25 KiB a cycle or more crosses this.
		assert.Less(t, r3-r2, int64(10<<20), "RSS still grows with open/close cycles")
	}
}
