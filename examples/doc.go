// Package examples holds realtime-go's runnable programs, one per use case.
// Each meets its counterpart on the local RMS server started in process, or
// on the Metered service when METERED_API_KEY is set; each has a test that
// runs it.
//
//	go run ./examples/demo          what `make demo` runs: play a clip, record it, watch in a browser
//	go run ./examples/presence      presence, channel messages, direct messages
//	go run ./examples/datachannel   a peer-to-peer data channel echo
//	go run ./examples/voiceagent    an AI voice agent's loop: Frames in, AudioSource out, barge-in
//	go run ./examples/player FILE   a media file into a channel, watched by another peer
//	go run ./examples/camerabridge RTSP_URL   an IP camera into a channel
//	go run ./examples/recorder      record what other peers send
//	go run ./examples/multistream   camera and screen as two streams with metadata
package examples
