// Package av is the one place realtime-go touches FFmpeg: go-astiav v0.16.0
// (FFmpeg 5.1, libavcodec 59) plus a few lines of cgo for what that binding
// lacks (audio sample planes, libswresample). Everything above it speaks in
// Go slices and plain structs, so an upgrade of the binding or of FFmpeg
// changes this package only.
//
// Every FFmpeg object is owned by one Go value and freed by its Close; the
// live count is kept (Live) so tests can prove nothing leaks.
package av
