// Package bridge connects a Metered room with the WHIP world (RFC 9725):
// a WHIP endpoint (an http.Handler) takes publishers such as OBS,
// GStreamer or a browser into the room of a MeteredPeer, each published
// track forwarded RTP for RTP to every member, with metadata (label,
// source "whip", kind) so that a browser running the JS SDK shows it by
// name.
//
// Nothing is decoded: a publisher's packets are renumbered for each
// member's connection and sent on. Video since the last keyframe is kept,
// because OBS never answers a keyframe request: a member who joins later,
// or who asks for a keyframe, gets it at once. Keyframe requests also go to
// the publisher, at most one a second, for those that answer them.
//
// The package needs pion and no cgo; FFmpeg is never involved.
package bridge
