package av

import (
	"strings"
	"testing"
)

// The build runs on the FFmpeg series its tag names: the lane that builds
// with -tags ffmpeg7 really runs on FFmpeg 7, the default on 5.1.
func TestRunsOnTheSeriesOfItsBinding(t *testing.T) {
	t.Logf("%s; FFmpeg %s, libavcodec %d", Binding, FFmpegVersion(), LibavcodecMajor())
	want := map[bool]int{false: 59, true: 61}[strings.HasPrefix(Binding, "FFmpeg 7")]
	if got := LibavcodecMajor(); got != want {
		t.Fatalf("%s runs on libavcodec %d, want %d", Binding, got, want)
	}
}
