package av

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"

	"github.com/asticode/go-astiav"
)

var logger atomic.Pointer[slog.Logger]

// credentials in URLs FFmpeg prints ("rtsp://user:pass@host").
var userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@`)

// FFmpeg writes to stderr by itself; instead its messages go to the logger
// set with SetLogger (none by default: failures reach callers as errors),
// with credentials in URLs masked.
func init() {
	astiav.SetLogLevel(astiav.LogLevelWarning)
	astiav.SetLogCallback(func(_ astiav.Classer, l astiav.LogLevel, _, msg string) {
		lg := logger.Load()
		if lg == nil {
			return
		}
		msg = userinfo.ReplaceAllString(strings.TrimSpace(msg), "${1}***@")
		level := slog.LevelDebug
		if l <= astiav.LogLevelError {
			level = slog.LevelWarn
		}
		lg.Log(context.Background(), level, msg, "component", "ffmpeg")
	})
}

// SetLogger sends FFmpeg's warnings and errors to l (nil: drop them).
func SetLogger(l *slog.Logger) { logger.Store(l) }
