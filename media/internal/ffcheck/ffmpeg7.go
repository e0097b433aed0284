//go:build ffmpeg7

package ffcheck

/*
#cgo pkg-config: libavcodec
#include <libavcodec/version.h>
#if LIBAVCODEC_VERSION_MAJOR != 61
#error "realtime-go/media: -tags ffmpeg7 is for FFmpeg 7.x (libavcodec 61), but pkg-config found another FFmpeg. On FFmpeg 5.1, build without the tag (go-astiav v0.16.0). See the README's Install section."
#endif
*/
import "C"
