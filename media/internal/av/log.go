package av

import "github.com/asticode/go-astiav"

// FFmpeg writes warnings to stderr by itself; only errors are worth it for
// a library (a caller sees failures as returned errors).
func init() { astiav.SetLogLevel(astiav.LogLevelError) }
