//go:build !ffmpeg7

package ffcheck

/*
#cgo pkg-config: libavcodec
#include <libavcodec/version.h>
#if LIBAVCODEC_VERSION_MAJOR != 59
#error "realtime-go/media: this build is for FFmpeg 5.1 (libavcodec 59, go-astiav v0.16.0), but pkg-config found another FFmpeg. On FFmpeg 7.x: go get github.com/asticode/go-astiav@v0.39.0 and build with -tags ffmpeg7. Or point PKG_CONFIG_PATH at an FFmpeg 5.1 install. See the README's Install section."
#endif
*/
import "C"
