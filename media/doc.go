// Package media turns files, RTSP cameras, V4L2 cameras, microphones and X
// displays into WebRTC tracks, and received tracks into decoded frames and
// recordings. Tracks it makes are pion webrtc.TrackLocal values, so they go
// straight into peer.MeteredPeer.AddTrack; what it reads are pion
// *webrtc.TrackRemote values, as peer.Track events carry them. The peer
// module never imports this one.
//
// Sources:
//   - NewAudioSource: push PCM (any rate and channel count), sent as Opus in
//     real time with a bounded queue, Flush for barge-in, Wait and End;
//   - FromFile: plays a file; Opus, VP8, VP9 and H.264 without B-frames pass
//     through untouched, anything else is transcoded;
//   - FromRTSP: an IP camera, over TCP or UDP, reconnecting when it drops;
//   - FromCamera, FromMicrophone, ScreenShare: libavdevice capture.
//
// Sinks:
//   - Frames: decoded PCM or I420 pictures of a received track;
//   - NewRecorder: writes received tracks to WebM, Matroska or Ogg without
//     re-encoding.
//
// # FFmpeg
//
// This is realtime-go's only cgo module. By default it uses FFmpeg 5.1
// (libavcodec 59, Debian 12's libav*-dev packages) through
// github.com/asticode/go-astiav v0.16.0, the last go-astiav release for
// that series, which go.mod pins. Built with -tags ffmpeg7 it uses FFmpeg
// 7.x (libavcodec 61, Debian 13) through a go-astiav of the 7.0 series
// (v0.17 to v0.39), which the application raises in its own go.mod:
//
//	go get github.com/asticode/go-astiav@v0.39.0
//	go build -tags ffmpeg7 ./...
//
// Everything this package offers behaves the same on both; CI runs the
// whole test suite on each. All FFmpeg calls sit in one internal package,
// and only what the two bindings spell differently is written twice. A
// build whose FFmpeg does not match its tag stops with a message saying
// so. Every FFmpeg object is freed by the Close of the value that owns it.
//
// # Security
//
// FFmpeg opens whatever its URL names and follows references inside media
// (playlists, concat lists, redirects). Handing it a URL or file you did not
// choose can disclose local files or reach hosts inside your network
// (SSRF). So FromFile opens local files only and FromRTSP only RTSP and its
// transports; WithProtocols widens that for inputs you trust. FFmpeg's own
// log goes nowhere unless SetFFmpegLogger is called, and credentials in
// URLs are masked there and in errors.
package media
