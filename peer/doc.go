// Package peer is MeteredPeer: multi-peer WebRTC over Metered Realtime
// Messaging, wire-compatible with the official JavaScript SDK 1.2.0.
//
// A MeteredPeer joins one channel through a signalling.Client, discovers the
// other members through presence and holds one pion PeerConnection per
// member (a RemotePeer). Local tracks added with AddTrack or AddStream go to
// every member, present and future, each announced with its StreamMetadata
// first; received tracks arrive as Track and StreamAdded events carrying the
// sender's metadata. Server-routed messages go out with Send and SendTo and
// arrive as Data events; data channels are opened with
// RemotePeer.CreateDataChannel and wrapped with backpressure by DataChannel.
//
// Negotiation is perfect negotiation as the JS SDK does it, adapted to
// pion, which cannot roll back an offer: the polite side sends its offers
// but applies them only once answered, and both sides give their
// transceivers mids of their own. A signalling drop keeps every RemotePeer:
// after the reconnect each survivor gets a fresh connection
// (ConnectionReset), with local tracks and metadata reattached.
//
// Events are typed and registered by type:
//
//	peer.On(p, func(ev peer.PeerJoined) { … })
//	for ev := range peer.Events[peer.Data](ctx, p) { … }
//
// This package needs no cgo; media sources and sinks live in package media.
package peer
