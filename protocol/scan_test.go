package protocol

import (
	"bytes"
	"testing"
)

// Every byte value at every offset of a run long enough for several words:
// a stop byte (a backslash or a control character) ends the plain run
// exactly where it stands, any other byte leaves the run whole.
func TestPlainRunFindsEveryStopByte(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 1, 7, 8, 9, 31} {
		for at := 0; at < size; at++ {
			for c := 0; c < 256; c++ {
				if c == '"' {
					continue // IndexByte ends a run at the quote before plainRun sees it
				}
				run := bytes.Repeat([]byte{'a'}, size)
				run[at] = byte(c)
				want := size
				if c < 0x20 || c == '\\' {
					want = at
				}
				if got := plainRun(run); got != want {
					t.Fatalf("size %d, byte %#x at %d: plain run %d, want %d", size, c, at, got, want)
				}
			}
		}
	}
	// Bytes just beside the stops' values in every lane, and UTF-8.
	run := []byte("!#[]]^ \x7f\xff\x80é€😀 ]]]]]]]]")
	if got := plainRun(run); got != len(run) {
		t.Fatalf("plain run %d of %d", got, len(run))
	}
}
