// Package media turns files, cameras, microphones, screens and RTSP streams
// into WebRTC tracks, and received tracks into decoded frames and recordings,
// using FFmpeg through go-astiav v0.16.0 (FFmpeg 5.1).
//
// It is the only cgo module of realtime-go. This package is being built; see
// the project's issues for status.
package media
