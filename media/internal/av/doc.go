// Package av is the one place realtime-go touches FFmpeg: go-astiav plus a
// few lines of cgo for what the binding lacks (audio sample planes,
// libswresample). Everything above it speaks in Go slices and plain
// structs, so an upgrade of the binding or of FFmpeg changes this package
// only.
//
// Two FFmpeg series are supported, chosen by a build tag: by default
// FFmpeg 5.1 (libavcodec 59) with go-astiav v0.16.0, the version media's
// go.mod pins; with -tags ffmpeg7, FFmpeg 7.x (libavcodec 61) with a
// go-astiav of the 7.0 series (v0.17 to v0.39), which the application's
// go.mod raises. Only what differs between the two bindings is written
// twice, in binding_ffmpeg5.go and binding_ffmpeg7.go; internal/ffcheck
// fails the build with a plain message when the FFmpeg found does not
// match the tag.
//
// Every FFmpeg object is owned by one Go value and freed by its Close; the
// live count is kept (Live) so tests can prove nothing leaks.
package av

import _ "github.com/metered-ca/realtime-go/media/internal/ffcheck" // the FFmpeg series check
