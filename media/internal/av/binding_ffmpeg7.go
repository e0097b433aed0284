//go:build ffmpeg7

package av

import "github.com/asticode/go-astiav"

// What the go-astiav 7.0 series (v0.17 to v0.39; FFmpeg 7.x) spells
// differently from v0.16.0; binding_ffmpeg5.go has the same functions.

// Binding names the FFmpeg series and go-astiav line this build uses.
const Binding = "FFmpeg 7.x, go-astiav v0.17–v0.39"

func channelCount(l astiav.ChannelLayout) int { return l.Channels() }

// interrupter aborts a blocking FFmpeg read or open on an input; it is
// freed with the input.
type interrupter struct{ i *astiav.IOInterrupter }

func newInterrupter(fc *astiav.FormatContext) *interrupter {
	i := astiav.NewIOInterrupter()
	fc.SetIOInterrupter(i)
	return &interrupter{i: i}
}

func (i *interrupter) interrupt() { i.i.Interrupt() }
func (i *interrupter) free()      { i.i.Free() }

func openIOWrite(path string) (*astiav.IOContext, error) {
	return astiav.OpenIOContext(path, astiav.NewIOContextFlags(astiav.IOContextFlagWrite), nil, nil)
}
