//go:build !ffmpeg7

package av

import "github.com/asticode/go-astiav"

// What go-astiav v0.16.0 (FFmpeg 5.1) spells differently from the 7.0
// series; binding_ffmpeg7.go has the same functions.

// Binding names the FFmpeg series and go-astiav line this build uses.
const Binding = "FFmpeg 5.1, go-astiav v0.16"

func channelCount(l astiav.ChannelLayout) int { return l.NbChannels() }

// interrupter aborts a blocking FFmpeg read or open on an input.
type interrupter struct{ i astiav.IOInterrupter }

func newInterrupter(fc *astiav.FormatContext) *interrupter {
	return &interrupter{i: fc.SetInterruptCallback()}
}

func (i *interrupter) interrupt() { i.i.Interrupt() }
func (i *interrupter) free()      {}

func openIOWrite(path string) (*astiav.IOContext, error) {
	return astiav.OpenIOContext(path, astiav.NewIOContextFlags(astiav.IOContextFlagWrite))
}
